/**
 * The residual blocks of torchvision's mobile networks: a body (a Sequential) whose output gets the
 * block's input added when stride is 1 and the channel count is kept. They differ in the body's
 * attribute name, which is their state-dict prefix: MobileNetV2 `conv`, MobileNetV3 and
 * EfficientNet `block`, MNASNet `layers`. EfficientNet's MBConv passes the body through
 * `stochastic_depth` before the add (the identity in eval mode).
 */
import { asTensor, describeValue, type Tensor, type TensorLike } from '../../tensor.js';
import { BatchNorm2d, type BatchNorm2dOptions } from '../batchnorm.js';
import { Conv2d } from '../conv.js';
import { ReLU, ReLU6, Hardswish, SiLU, Hardsigmoid, Sigmoid } from '../activation.js';
import { Generator } from '../init.js';
import { MAX_DIMENSION, readBoolean, readEnum, readInteger, readNumber, readOptions } from '../../checks.js';
import { checkInput, Module, type ForwardAsyncOptions, checkForwardAsyncOptions } from '../module.js';
import { currentPlanBackend, type PlanStep } from '../compile.js';
import { wasmRuntimeIfAvailable } from '../../ops/backend.js';
import { Sequential } from '../sequential.js';
import { tracedOutputShape, type ChildCall, type TracedModule } from '../trace.js';
import { Conv2dNormActivation } from './conv-norm-activation.js';
import { addInto, addOnTier } from './elementwise.js';
import { SqueezeExcitation } from './squeeze-excitation.js';
import { StochasticDepth } from './stochastic-depth.js';

/** torchvision's `_make_divisible(v, divisor)`: v rounded to the nearest multiple, never below 90% of v nor below `minValue`. */
export function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  readNumber(v, 'makeDivisible: v', 0, { min: 0 });
  readInteger(divisor, 'makeDivisible: divisor', 8);
  readNumber(minValue, 'makeDivisible: minValue', divisor, { min: 0, max: MAX_DIMENSION });
  let result = Math.max(minValue, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (result < 0.9 * v) result += divisor;
  return result;
}

export abstract class ResidualBlock extends Module implements TracedModule {
  /** Whether forward adds the input to the body's output (stride 1 and as many channels out as in). */
  readonly useResConnect: boolean;

  protected constructor(private readonly bodyName: string, body: Sequential, useResConnect: boolean) {
    super();
    this.useResConnect = useResConnect;
    this.registerModule(bodyName, body);
  }

  get body(): Sequential {
    return this.getChild(this.bodyName);
  }

  /** The module between body and add (EfficientNet's stochastic depth), if any. */
  protected beforeAdd(): Module | null {
    return null;
  }

  override producesNewTensor(): boolean {
    return true;
  }

  traceChildren(inputShape: readonly number[], call: ChildCall): readonly number[] {
    let shape = call(this.bodyName, inputShape);
    const extra = this.beforeAdd();
    if (extra !== null && this.useResConnect) shape = call(this.namedChildren().find(([, m]) => m === extra)![0], shape);
    return shape;
  }

  outputShape(inputShape: readonly number[]): number[] {
    return tracedOutputShape(this, inputShape);
  }

  private finish(input: Tensor, y: Tensor): Tensor {
    if (!this.useResConnect) return y;
    const extra = this.beforeAdd();
    let result = extra === null ? y : extra.forward(y);
    // The body starts with a convolution, so `result` is never the caller's input; guard anyway.
    // In train mode the body's output buffer belongs to its last layer (kept for backward): copy.
    if (result.data === input.data || this.training) result = { shape: result.shape.slice(), data: result.data.slice() };
    addInto(result.data, input.data);
    return result;
  }

  /** ∂loss/∂input: the body's gradient, plus gradOutput itself through the residual path. */
  override backward(gradOutput: TensorLike): Tensor {
    const dy = asTensor(gradOutput, 'gradOutput');
    const extra = this.useResConnect ? this.beforeAdd() : null;
    const dBody = extra === null ? dy : extra.backward(dy);
    const dx = this.body.backward(dBody);
    if (!this.useResConnect) return dx;
    const out = { shape: dx.shape.slice(), data: dx.data.slice() };
    addInto(out.data, dy.data);
    return out;
  }

  forward(x: TensorLike): Tensor {
    const input = checkInput(x, this.constructor.name, [4], '[N, C, H, W]');
    return this.finish(input, this.body.forward(input));
  }

  override async forwardAsync(x: TensorLike, options: ForwardAsyncOptions = {}): Promise<Tensor> {
    checkForwardAsyncOptions(options);
    const input = checkInput(x, this.constructor.name, [4], '[N, C, H, W]');
    return this.finish(input, await this.body.forwardAsync(input, options));
  }

  override plan(inputShape: readonly number[]): PlanStep {
    const outputShape = this.outputShape(inputShape);
    const body = this.body.plan(inputShape);
    const extra = this.useResConnect ? this.beforeAdd() : null;
    const extraStep = extra === null ? null : extra.plan(body.outputShape);
    if (!this.useResConnect) return body;
    const backend = currentPlanBackend(); // the compile's tier, kept for every run
    // The sum is written into the body's output (its last step's buffer, or what it passes on).
    const bodyOutput = body.output ?? null;
    const extraOutput = extraStep === null ? 'input' : extraStep.output ?? null;
    return {
      outputShape,
      output: extraOutput === 'input' ? bodyOutput : extraOutput,
      run: (input) => {
        let y = body.run(input);
        if (extraStep !== null) y = extraStep.run(y);
        if (y.data === input.data) throw new Error(`${this.constructor.name}: planned body returned its input`);
        const runtime = wasmRuntimeIfAvailable(backend, this.constructor.name);
        addOnTier(runtime, y.data, input.data, y.data);
        return y;
      },
    };
  }
}

/** One value of torchvision's MobileNetV2 `inverted_residual_setting` applied: a single block. */
export class InvertedResidual extends ResidualBlock {
  readonly stride: number;

  constructor(inp: number, oup: number, stride: number, expandRatio: number, generator: Generator) {
    readInteger(inp, 'InvertedResidual: inp');
    readInteger(oup, 'InvertedResidual: oup');
    if (stride !== 1 && stride !== 2) throw new RangeError(`InvertedResidual: stride must be 1 or 2, got ${describeValue(stride)}`);
    readNumber(expandRatio, 'InvertedResidual: expandRatio', 1, { min: 0, minExclusive: true, max: 1024 });
    checkGenerator(generator, 'InvertedResidual');
    const hidden = Math.round(inp * expandRatio);
    const layers: Module[] = [];
    if (expandRatio !== 1) {
      layers.push(new Conv2dNormActivation({ inChannels: inp, outChannels: hidden, kernelSize: 1, activation: new ReLU6(), generator }));
    }
    layers.push(
      new Conv2dNormActivation({ inChannels: hidden, outChannels: hidden, stride, groups: hidden, activation: new ReLU6(), generator }),
      new Conv2d({ inChannels: hidden, outChannels: oup, kernelSize: 1, bias: false, generator }),
      new BatchNorm2d(oup),
    );
    super('conv', new Sequential(...layers), stride === 1 && inp === oup);
    this.stride = stride;
  }
}

/** One row of torchvision's MobileNetV3 configuration (`InvertedResidualConfig`), channels already adjusted. */
const V3_CONFIG_NAMES = ['inputChannels', 'kernel', 'expandedChannels', 'outChannels', 'useSe', 'activation', 'stride', 'dilation'];

/** Throws unless `generator` is a Generator (the blocks draw their initial weights from it). */
function checkGenerator(generator: unknown, block: string): void {
  if (!(generator instanceof Generator)) throw new TypeError(`${block}: generator must be a Generator, got ${describeValue(generator)}`);
}

export interface InvertedResidualV3Config {
  inputChannels: number;
  kernel: number;
  expandedChannels: number;
  outChannels: number;
  useSe: boolean;
  /** 'HS' (hardswish) or 'RE' (ReLU). */
  activation: 'HS' | 'RE';
  stride: number;
  dilation: number;
}

/** MobileNetV3's block: expand, depthwise, optional squeeze-excitation (hardsigmoid), linear projection; child `block`. */
export class InvertedResidualV3 extends ResidualBlock {
  readonly config: Readonly<InvertedResidualV3Config>;

  constructor(callerConfig: InvertedResidualV3Config, norm: BatchNorm2dOptions, generator: Generator) {
    const cnf = readOptions<InvertedResidualV3Config>(callerConfig, V3_CONFIG_NAMES, 'InvertedResidualV3: config') as InvertedResidualV3Config;
    for (const name of ['inputChannels', 'kernel', 'expandedChannels', 'outChannels', 'dilation'] as const) readInteger(cnf[name], `InvertedResidualV3: ${name}`);
    readBoolean(cnf.useSe, 'InvertedResidualV3: useSe', false);
    readEnum(cnf.activation, 'InvertedResidualV3: activation', ['HS', 'RE'], 'RE');
    readOptions(norm, ['eps', 'momentum'], 'InvertedResidualV3: norm');
    checkGenerator(generator, 'InvertedResidualV3');
    if (cnf.stride !== 1 && cnf.stride !== 2) throw new RangeError(`InvertedResidualV3: stride must be 1 or 2, got ${describeValue(cnf.stride)}`);
    const act = (): Module => (cnf.activation === 'HS' ? new Hardswish() : new ReLU());
    const layers: Module[] = [];
    if (cnf.expandedChannels !== cnf.inputChannels) {
      layers.push(new Conv2dNormActivation({ inChannels: cnf.inputChannels, outChannels: cnf.expandedChannels, kernelSize: 1, norm, activation: act(), generator }));
    }
    layers.push(
      new Conv2dNormActivation({
        inChannels: cnf.expandedChannels,
        outChannels: cnf.expandedChannels,
        kernelSize: cnf.kernel,
        stride: cnf.dilation > 1 ? 1 : cnf.stride,
        dilation: cnf.dilation,
        groups: cnf.expandedChannels,
        norm,
        activation: act(),
        generator,
      }),
    );
    if (cnf.useSe) {
      const squeeze = makeDivisible(Math.floor(cnf.expandedChannels / 4), 8);
      layers.push(new SqueezeExcitation(cnf.expandedChannels, squeeze, { activation: new ReLU(), scaleActivation: new Hardsigmoid(), generator }));
    }
    layers.push(new Conv2dNormActivation({ inChannels: cnf.expandedChannels, outChannels: cnf.outChannels, kernelSize: 1, norm, activation: null, generator }));
    super('block', new Sequential(...layers), cnf.stride === 1 && cnf.inputChannels === cnf.outChannels);
    this.config = { ...cnf };
  }
}

/** MNASNet's `_InvertedResidual`: 1×1 expand, k×k depthwise, 1×1 project (plain layers, child `layers`). */
export class MnasInvertedResidual extends ResidualBlock {
  constructor(inCh: number, outCh: number, kernelSize: number, stride: number, expansion: number, bnMomentum: number, generator: Generator) {
    readInteger(inCh, 'MnasInvertedResidual: inCh');
    readInteger(outCh, 'MnasInvertedResidual: outCh');
    readInteger(expansion, 'MnasInvertedResidual: expansion', undefined, 1, 1024);
    readNumber(bnMomentum, 'MnasInvertedResidual: bnMomentum', 0.1, { min: 0, max: 1 });
    checkGenerator(generator, 'MnasInvertedResidual');
    if (stride !== 1 && stride !== 2) throw new RangeError(`MnasInvertedResidual: stride must be 1 or 2, got ${describeValue(stride)}`);
    if (kernelSize !== 3 && kernelSize !== 5) throw new RangeError(`MnasInvertedResidual: kernelSize must be 3 or 5, got ${describeValue(kernelSize)}`);
    const mid = inCh * expansion;
    const norm = { momentum: bnMomentum };
    super(
      'layers',
      new Sequential(
        new Conv2d({ inChannels: inCh, outChannels: mid, kernelSize: 1, bias: false, generator }),
        new BatchNorm2d(mid, norm),
        new ReLU(),
        new Conv2d({ inChannels: mid, outChannels: mid, kernelSize, padding: Math.floor(kernelSize / 2), stride, groups: mid, bias: false, generator }),
        new BatchNorm2d(mid, norm),
        new ReLU(),
        new Conv2d({ inChannels: mid, outChannels: outCh, kernelSize: 1, bias: false, generator }),
        new BatchNorm2d(outCh, norm),
      ),
      inCh === outCh && stride === 1,
    );
  }
}

/** One EfficientNet `MBConvConfig` row for a single block (channels adjusted, stride of this block). */
export interface MBConvConfig {
  expandRatio: number;
  kernel: number;
  stride: number;
  inputChannels: number;
  outChannels: number;
}

/**
 * EfficientNet's MBConv: expand (SiLU), depthwise (SiLU), squeeze-excitation (SiLU, sigmoid),
 * linear projection; child `block`, then `stochastic_depth` on the residual path.
 */
export class MBConv extends ResidualBlock {
  constructor(callerConfig: MBConvConfig, stochasticDepthProb: number, norm: BatchNorm2dOptions, generator: Generator) {
    const cnf = readOptions<MBConvConfig>(callerConfig, ['expandRatio', 'kernel', 'stride', 'inputChannels', 'outChannels'], 'MBConv: config') as MBConvConfig;
    for (const name of ['kernel', 'inputChannels', 'outChannels'] as const) readInteger(cnf[name], `MBConv: ${name}`);
    readNumber(cnf.expandRatio, 'MBConv: expandRatio', 1, { min: 0, minExclusive: true, max: 1024 });
    readNumber(stochasticDepthProb, 'MBConv: stochasticDepthProb', 0, { min: 0, max: 1 });
    readOptions(norm, ['eps', 'momentum'], 'MBConv: norm');
    checkGenerator(generator, 'MBConv');
    if (cnf.stride !== 1 && cnf.stride !== 2) throw new RangeError(`MBConv: stride must be 1 or 2, got ${describeValue(cnf.stride)}`);
    const expanded = makeDivisible(cnf.inputChannels * cnf.expandRatio, 8);
    const layers: Module[] = [];
    if (expanded !== cnf.inputChannels) {
      layers.push(new Conv2dNormActivation({ inChannels: cnf.inputChannels, outChannels: expanded, kernelSize: 1, norm, activation: new SiLU(), generator }));
    }
    layers.push(
      new Conv2dNormActivation({ inChannels: expanded, outChannels: expanded, kernelSize: cnf.kernel, stride: cnf.stride, groups: expanded, norm, activation: new SiLU(), generator }),
      new SqueezeExcitation(expanded, Math.max(1, Math.floor(cnf.inputChannels / 4)), { activation: new SiLU(), scaleActivation: new Sigmoid(), generator }),
      new Conv2dNormActivation({ inChannels: expanded, outChannels: cnf.outChannels, kernelSize: 1, norm, activation: null, generator }),
    );
    super('block', new Sequential(...layers), cnf.stride === 1 && cnf.inputChannels === cnf.outChannels);
    this.registerModule('stochastic_depth', new StochasticDepth(stochasticDepthProb, 'row'));
  }

  protected override beforeAdd(): Module {
    return this.getChild('stochastic_depth');
  }
}
