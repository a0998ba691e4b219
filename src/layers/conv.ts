/**
 * Convolution layers with PyTorch `nn.Conv2d` semantics, plus the three classes this project
 * started from: depthwise, pointwise and depthwise-separable convolutions.
 */
import { describeValue, shapeSize, type Tensor, type TensorLike } from '../tensor.js';
import { conv2d } from '../ops/conv2d.js';
import { conv2dBackward } from '../ops/conv2d-backward.js';
import { activationGradient } from './activation-gradient.js';
import { Parameter } from './parameter.js';
import { prepareLayerConv2d, type Conv2dPlan } from '../ops/plan.js';
import type { FusedActivation } from '../epilogue.js';
import {
  checkPaddingMode,
  conv2dGeometry,
  positiveInteger,
  resolvePadding,
  resolvePair,
  type ExplicitPadding,
  type IntPair,
  type Padding,
  type PaddingMode,
} from '../geometry.js';
import { readOptions, type Conv2dOptions } from '../kernels/validate.js';
import { checkGradientShape, checkInput, Module, reuseBuffer, savedFor, type ForwardAsyncOptions, checkForwardAsyncOptions } from './module.js';
import { currentPlanBackend, planChain, type PlanStep } from './compile.js';
import { asTensor, checkShape } from '../tensor.js';
import { parameterData, resolveGenerator, uniformFanIn, type InitOptions } from './init.js';
import { planOutput, trackPlanResources } from './plan-memory.js';
import { MAX_DIMENSION, optional } from '../checks.js';
import { convModuleOptions, type ConvModuleArgs } from './positional.js';

/** An activation a convolution can apply in its output write (fused, no extra pass). */
export type { FusedActivation };

export interface Conv2dLayerOptions extends InitOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: IntPair;
  stride?: IntPair;
  /** Every form `conv2d` takes: an int, `[h, w]`, `'same'`, `'valid'` or `{ top, bottom, left, right }`. */
  padding?: Padding;
  dilation?: IntPair;
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
}

function pairRepr(p: readonly [number, number]): string {
  return `(${p[0]}, ${p[1]})`;
}

function paddingRepr(spec: Padding | undefined, resolved: ExplicitPadding): string | null {
  if (spec === 'same' || spec === 'valid') return `padding=${spec}`;
  const { top, bottom, left, right } = resolved;
  if (top === bottom && left === right) return top === 0 && left === 0 ? null : `padding=(${top}, ${left})`;
  return `padding={top: ${top}, bottom: ${bottom}, left: ${left}, right: ${right}}`;
}

/** Any module that can apply a ReLU/ReLU6 in its own last output write. */
export interface FusableModule {
  forwardFused(x: TensorLike, activation: FusedActivation): Tensor;
  forwardAsyncFused(x: TensorLike, activation: FusedActivation, options: ForwardAsyncOptions): Promise<Tensor>;
  planFused(inputShape: readonly number[], activation: FusedActivation): PlanStep;
}

export function isFusable(m: Module): m is Module & FusableModule {
  return typeof (m as Partial<FusableModule>).forwardFused === 'function';
}

const CONV_OPTION_NAMES = [
  'inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode', 'seed', 'generator',
];

/**
 * `nn.Conv2d`: weight `[outChannels, inChannels/groups, kH, kW]`, optional bias `[outChannels]`,
 * both initialised U(-1/sqrt(fanIn), 1/sqrt(fanIn)) with fanIn = (inChannels/groups)·kH·kW.
 * Configuration is public and resolved: pairs are `[h, w]` and `padding` is explicit per side
 * (the form passed is kept in `paddingSpec`).
 */
export class Conv2d extends Module implements FusableModule {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: ExplicitPadding;
  readonly paddingSpec: Padding;
  readonly dilation: readonly [number, number];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  readonly weight: Parameter;
  /** Null when built with `bias: false`. */
  readonly bias: Parameter | null;
  /** What backward needs from the last train-mode forward (null in eval mode). */
  private saved: { input: Tensor; output: Tensor; activation: FusedActivation | undefined } | null = null;
  /** Train-mode buffers reused across steps: the forward output and the input gradient. */
  private trainOutput: Float32Array | null = null;
  private gradInputBuffer: Float32Array | null = null;
  private activationGradBuffer: Float32Array | null = null;

  /** `new Conv2d({ inChannels, outChannels, kernelSize, ...options })`, or PyTorch's `new Conv2d(inChannels, outChannels, kernelSize, options?)`. */
  constructor(...args: ConvModuleArgs<Conv2dLayerOptions>) {
    super();
    // Own properties only, read once: nothing inherited is an option.
    const options = readOptions<Conv2dLayerOptions>(convModuleOptions(args, CONV_OPTION_NAMES, new.target.name), CONV_OPTION_NAMES, new.target.name);
    this.inChannels = positiveInteger(options.inChannels, 'inChannels');
    this.outChannels = positiveInteger(options.outChannels, 'outChannels');
    if (options.kernelSize === undefined) throw new TypeError(`${new.target.name}: kernelSize is required`);
    this.kernelSize = resolvePair(options.kernelSize, 'kernelSize', 1);
    this.stride = resolvePair(options.stride, 'stride', 1);
    this.dilation = resolvePair(options.dilation, 'dilation', 1);
    this.paddingSpec = optional(options.padding, 0);
    this.padding = resolvePadding(this.paddingSpec, this.kernelSize, this.stride, this.dilation);
    this.groups = positiveInteger(optional(options.groups, 1), 'groups');
    if (this.inChannels % this.groups !== 0) {
      throw new RangeError(`inChannels must be divisible by groups: inChannels=${this.inChannels}, groups=${this.groups}`);
    }
    if (this.outChannels % this.groups !== 0) {
      throw new RangeError(`outChannels must be divisible by groups: outChannels=${this.outChannels}, groups=${this.groups}`);
    }
    this.paddingMode = checkPaddingMode(optional(options.paddingMode, 'zeros'));
    const hasBias = optional(options.bias, true);
    if (typeof hasBias !== 'boolean') throw new TypeError(`bias must be a boolean, got ${describeValue(options.bias)}`);
    const generator = resolveGenerator(options);
    const cinPerGroup = this.inChannels / this.groups;
    const weightShape = [this.outChannels, cinPerGroup, this.kernelSize[0], this.kernelSize[1]];
    const fanIn = cinPerGroup * this.kernelSize[0] * this.kernelSize[1];
    this.weight = new Parameter(weightShape, uniformFanIn(parameterData(shapeSize(weightShape), `${new.target.name} weight of shape [${weightShape.join(', ')}]`), fanIn, generator));
    this.bias = hasBias
      ? new Parameter([this.outChannels], uniformFanIn(parameterData(this.outChannels, 'bias'), fanIn, generator))
      : null;
  }

  get hasBias(): boolean {
    return this.bias !== null;
  }

  override producesNewTensor(): boolean {
    return true;
  }

  /**
   * Multiplies output channel o by scale[o] and adds shift[o] (weights and bias, computed in
   * float64), creating the bias if the layer had none. This is how a following BatchNorm is folded
   * in; it changes this layer, so `foldBatchNorm` applies it to a copy.
   */
  /** @internal */
  override trailingConvolution(): Conv2d {
    return this;
  }

  applyChannelAffine(scale: ArrayLike<number>, shift: ArrayLike<number>): void {
    const cout = this.outChannels;
    if (scale.length !== cout || shift.length !== cout) {
      throw new RangeError(`applyChannelAffine: scale and shift must have outChannels = ${cout} values, got ${scale.length} and ${shift.length}`);
    }
    const w = this.weight.data;
    const perChannel = w.length / cout;
    for (let o = 0; o < cout; o++) {
      const s = scale[o]!;
      for (let i = o * perChannel; i < (o + 1) * perChannel; i++) w[i] = w[i]! * s;
    }
    const bias = this.bias ?? new Parameter([cout], new Float32Array(cout));
    for (let o = 0; o < cout; o++) bias.data[o] = bias.data[o]! * scale[o]! + shift[o]!;
    (this as { bias: Parameter | null }).bias = bias;
    this.stateVersion++;
  }

  protected override ownParameters(): [string, Parameter | null][] {
    return [['weight', this.weight], ['bias', this.bias]];
  }

  /**
   * The train-mode forward: the convolution into a reused buffer, keeping the input (and, with a
   * fused activation, the output) for backward.
   */
  private forwardTraining(input: Tensor, activation: FusedActivation | undefined): Tensor {
    const shape = this.outputShape(input.shape);
    this.trainOutput = reuseBuffer(this.trainOutput, shapeSize(shape));
    const output = conv2d(input, this.weight, { ...this.convOptions(activation), out: { shape, data: this.trainOutput } });
    this.saved = { input, output, activation };
    return output;
  }

  /**
   * Adds ∂loss/∂weight and ∂loss/∂bias for the last train-mode forward into `weight.grad` and
   * `bias.grad` (frozen parameters are skipped) and returns ∂loss/∂input, for every kernel path
   * and padding mode (conv2dBackward). A fused ReLU/ReLU6 is differentiated first.
   */
  override backward(gradOutput: TensorLike): Tensor {
    const saved = savedFor(this.saved, this);
    let dy = asTensor(gradOutput, 'gradOutput');
    checkGradientShape(dy, saved.output.shape, this);
    if (saved.activation !== undefined) {
      this.activationGradBuffer = reuseBuffer(this.activationGradBuffer, dy.data.length);
      dy = activationGradient(saved.activation, dy, saved.output, this.activationGradBuffer);
    }
    this.gradInputBuffer = reuseBuffer(this.gradInputBuffer, saved.input.data.length);
    // \`accumulate\` adds into every out, so the reused input-gradient buffer starts from zero.
    this.gradInputBuffer.fill(0);
    const weightGrad = this.weight.requiresGrad;
    const biasGrad = this.bias !== null && this.bias.requiresGrad;
    const grads = conv2dBackward(dy, saved.input, this.weight, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
      paddingMode: this.paddingMode,
      needs: { input: true, weight: weightGrad, bias: biasGrad },
      gradInputOut: { shape: saved.input.shape, data: this.gradInputBuffer },
      ...(weightGrad ? { gradWeightOut: this.weight.gradTensor() } : {}),
      ...(biasGrad ? { gradBiasOut: this.bias!.gradTensor() } : {}),
      accumulate: true,
    });
    return grads.gradInput!;
  }

  /** The options this layer passes to `conv2d` (and to a pool's `conv2d`). */
  convOptions(activation?: FusedActivation): Conv2dOptions {
    const options: Conv2dOptions = {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
      paddingMode: this.paddingMode,
      bias: this.bias,
    };
    if (activation !== undefined) options.activation = activation;
    return options;
  }

  private checkChannels(x: Tensor): void {
    const channels = x.shape.length === 4 ? x.shape[1] : x.shape[0];
    if (channels !== this.inChannels) {
      throw new RangeError(
        `${this.constructor.name}: expected input with ${this.inChannels} channels, got shape ${describeValue(x.shape)} (${channels} channels)`,
      );
    }
  }

  forward(x: TensorLike): Tensor {
    const input = checkInput(x, this.constructor.name, [3, 4], '[N, C, H, W] or [C, H, W]');
    this.checkChannels(input);
    if (this.training) return this.forwardTraining(input, undefined);
    this.saved = null;
    return conv2d(input, this.weight, this.convOptions());
  }

  forwardFused(x: TensorLike, activation: FusedActivation): Tensor {
    const input = checkInput(x, this.constructor.name, [3, 4], '[N, C, H, W] or [C, H, W]');
    this.checkChannels(input);
    if (this.training) return this.forwardTraining(input, activation);
    this.saved = null;
    return conv2d(input, this.weight, this.convOptions(activation));
  }

  override async forwardAsync(x: TensorLike, options: ForwardAsyncOptions = {}): Promise<Tensor> {
    checkForwardAsyncOptions(options);
    // Train mode runs on this thread: backward needs the state the synchronous forward keeps.
    if (options.pool === undefined || this.training) return this.forward(x);
    const input = checkInput(x, this.constructor.name, [3, 4], '[N, C, H, W] or [C, H, W]');
    this.checkChannels(input);
    return options.pool.conv2d(input, this.weight, this.convOptions());
  }

  async forwardAsyncFused(x: TensorLike, activation: FusedActivation, options: ForwardAsyncOptions): Promise<Tensor> {
    if (options.pool === undefined || this.training) return this.forwardFused(x, activation);
    const input = checkInput(x, this.constructor.name, [3, 4], '[N, C, H, W] or [C, H, W]');
    this.checkChannels(input);
    return options.pool.conv2d(input, this.weight, this.convOptions(activation));
  }

  outputShape(inputShape: readonly number[]): number[] {
    checkShape(inputShape, 'input', 0);
    if (inputShape.length !== 3 && inputShape.length !== 4) {
      throw new RangeError(`${this.constructor.name}: input must be [N, C, H, W] or [C, H, W], got shape ${describeValue(inputShape)}`);
    }
    const channels = inputShape.length === 4 ? inputShape[1] : inputShape[0];
    if (channels !== this.inChannels) {
      throw new RangeError(`${this.constructor.name}: expected input with ${this.inChannels} channels, got shape ${describeValue(inputShape)}`);
    }
    return conv2dGeometry(inputShape, this.weight.shape, this.convOptions()).outputShape.slice();
  }

  override plan(inputShape: readonly number[]): PlanStep {
    return planConv(this, inputShape, undefined);
  }

  planFused(inputShape: readonly number[], activation: FusedActivation): PlanStep {
    return planConv(this, inputShape, activation);
  }

  override extraRepr(): string {
    const parts = [`${this.inChannels}`, `${this.outChannels}`, `kernel_size=${pairRepr(this.kernelSize)}`];
    // PyTorch always prints the stride, and the rest only when not the default.
    parts.push(`stride=${pairRepr(this.stride)}`);
    const padding = paddingRepr(this.paddingSpec, this.padding);
    if (padding !== null) parts.push(padding);
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) parts.push(`dilation=${pairRepr(this.dilation)}`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (this.bias === null) parts.push('bias=False');
    if (this.paddingMode !== 'zeros') parts.push(`padding_mode=${this.paddingMode}`);
    return parts.join(', ');
  }
}

/**
 * A planned convolution: weights packed once by `prepareLayerConv2d`, the output tensor allocated once,
 * both reused by every run. A `loadStateDict` into the layer is picked up before the next run.
 */
function planConv(layer: Conv2d, inputShape: readonly number[], activation: FusedActivation | undefined): PlanStep {
  const outputShape = layer.outputShape(inputShape);
  const out = planOutput(outputShape, 'output');
  // The tier of the compile in progress, kept for the re-preparations a weight reload triggers.
  const backend = currentPlanBackend();
  const prepare = (): Conv2dPlan => prepareLayerConv2d(layer.weight, backend === undefined ? layer.convOptions(activation) : { ...layer.convOptions(activation), backend });
  let prepared = prepare();
  trackPlanResources({ bytes: () => prepared.scratchBytes, dispose: () => prepared.dispose() });
  let version = layer.stateVersion;
  let hadBias = layer.bias !== null;
  return {
    outputShape,
    output: out,
    run: (input) => {
      if (version !== layer.stateVersion) {
        if (hadBias === (layer.bias !== null)) prepared.setWeights(layer.weight, layer.bias);
        else prepared = prepare();
        version = layer.stateVersion;
        hadBias = layer.bias !== null;
      }
      return prepared.run(input, out);
    },
  };
}

export interface DepthwiseConv2dLayerOptions extends InitOptions {
  inChannels: number;
  /** Channel multiplier K: outChannels = inChannels·K. */
  kernelsPerLayer?: number;
  kernelSize?: IntPair;
  stride?: IntPair;
  padding?: Padding;
  dilation?: IntPair;
  bias?: boolean;
  paddingMode?: PaddingMode;
}

/**
 * The seed's `depthwise_conv(nin, kernels_per_layer)`:
 * `nn.Conv2d(nin, nin*kernels_per_layer, kernel_size=3, padding=1, groups=nin)`.
 */
export class DepthwiseConv2d extends Conv2d {
  readonly kernelsPerLayer: number;

  constructor(callerOptions: DepthwiseConv2dLayerOptions) {
    // Own properties only, read once: nothing inherited is an option.
    const options = readOptions<DepthwiseConv2dLayerOptions>(callerOptions, ['inChannels', 'kernelsPerLayer', 'kernelSize', 'stride', 'padding', 'dilation', 'bias', 'paddingMode', 'seed', 'generator'], 'DepthwiseConv2d');
    const inChannels = positiveInteger(options.inChannels, 'inChannels');
    const kernelsPerLayer = positiveInteger(optional(options.kernelsPerLayer, 1), 'kernelsPerLayer');
    if (inChannels * kernelsPerLayer > MAX_DIMENSION) {
      throw new RangeError(
        `DepthwiseConv2d: inChannels × kernelsPerLayer = ${inChannels} × ${describeValue(kernelsPerLayer)} output channels is more than sepconv's limit of ${MAX_DIMENSION}`,
      );
    }
    super({
      inChannels,
      outChannels: inChannels * kernelsPerLayer,
      kernelSize: optional(options.kernelSize, 3),
      stride: optional(options.stride, 1),
      padding: optional(options.padding, 1),
      dilation: options.dilation ?? 1,
      groups: inChannels,
      bias: optional(options.bias, true),
      paddingMode: optional(options.paddingMode, 'zeros'),
      seed: options.seed,
      generator: options.generator,
    });
    this.kernelsPerLayer = kernelsPerLayer;
  }
}

export interface PointwiseConv2dLayerOptions extends InitOptions {
  inChannels: number;
  outChannels: number;
  stride?: IntPair;
  groups?: number;
  bias?: boolean;
}

/** The seed's `pointwise_conv(nin, nout)`: `nn.Conv2d(nin, nout, kernel_size=1)`. */
export class PointwiseConv2d extends Conv2d {
  constructor(callerOptions: PointwiseConv2dLayerOptions) {
    // Own properties only, read once: nothing inherited is an option.
    const options = readOptions<PointwiseConv2dLayerOptions>(callerOptions, ['inChannels', 'outChannels', 'stride', 'groups', 'bias', 'seed', 'generator'], 'PointwiseConv2d');
    super({
      inChannels: options.inChannels as number,
      outChannels: options.outChannels as number,
      kernelSize: 1,
      stride: optional(options.stride, 1),
      groups: optional(options.groups, 1),
      bias: optional(options.bias, true),
      seed: options.seed,
      generator: options.generator,
    });
  }
}

export interface DepthwiseSeparableConv2dLayerOptions extends InitOptions {
  inChannels: number;
  kernelsPerLayer?: number;
  outChannels: number;
  kernelSize?: IntPair;
  stride?: IntPair;
  padding?: Padding;
  dilation?: IntPair;
  /** Both children's bias, or each one's (`{ depthwise: false, pointwise: true }` is the usual trained form). */
  bias?: boolean | { readonly depthwise: boolean; readonly pointwise: boolean };
  paddingMode?: PaddingMode;
}

/**
 * The seed's `depthwise_separable_conv(nin, kernels_per_layer, nout)`: child `depthwise`
 * (`DepthwiseConv2d`) then child `pointwise` (`Conv2d(nin*kernels_per_layer, nout, 1)`), with
 * nothing in between. `bias` applies to both children, as in the seed. One generator initialises
 * the depthwise child first, then the pointwise one.
 */
export class DepthwiseSeparableConv2d extends Module implements FusableModule {
  readonly inChannels: number;
  readonly kernelsPerLayer: number;
  readonly outChannels: number;

  get depthwise(): DepthwiseConv2d {
    return this.getChild('depthwise');
  }

  get pointwise(): PointwiseConv2d {
    return this.getChild('pointwise');
  }
  /** @internal */
  override trailingConvolution(): Conv2d {
    return this.pointwise;
  }


  constructor(callerOptions: DepthwiseSeparableConv2dLayerOptions) {
    super();
    // Own properties only, read once: nothing inherited is an option.
    const options = readOptions<DepthwiseSeparableConv2dLayerOptions>(callerOptions, ['inChannels', 'kernelsPerLayer', 'outChannels', 'kernelSize', 'stride', 'padding', 'dilation', 'bias', 'paddingMode', 'seed', 'generator'], 'DepthwiseSeparableConv2d');
    this.inChannels = positiveInteger(options.inChannels, 'inChannels');
    this.kernelsPerLayer = positiveInteger(optional(options.kernelsPerLayer, 1), 'kernelsPerLayer');
    this.outChannels = positiveInteger(options.outChannels, 'outChannels');
    const generator = resolveGenerator(options);
    const bias = optional(options.bias, true);
    const depthwiseBias = typeof bias === 'object' && bias !== null ? bias.depthwise : bias;
    const pointwiseBias = typeof bias === 'object' && bias !== null ? bias.pointwise : bias;
    this.registerModule(
      'depthwise',
      new DepthwiseConv2d({
        inChannels: this.inChannels,
        kernelsPerLayer: this.kernelsPerLayer,
        kernelSize: optional(options.kernelSize, 3),
        stride: optional(options.stride, 1),
        padding: optional(options.padding, 1),
        dilation: options.dilation ?? 1,
        bias: depthwiseBias,
        paddingMode: optional(options.paddingMode, 'zeros'),
        generator,
      }),
    );
    this.registerModule(
      'pointwise',
      new PointwiseConv2d({ inChannels: this.inChannels * this.kernelsPerLayer, outChannels: this.outChannels, bias: pointwiseBias, generator }),
    );
  }

  override producesNewTensor(): boolean {
    return true;
  }

  forward(x: TensorLike): Tensor {
    return this.pointwise.forward(this.depthwise.forward(x));
  }

  forwardFused(x: TensorLike, activation: FusedActivation): Tensor {
    return this.pointwise.forwardFused(this.depthwise.forward(x), activation);
  }

  override backward(gradOutput: TensorLike): Tensor {
    return this.depthwise.backward(this.pointwise.backward(gradOutput));
  }

  override async forwardAsync(x: TensorLike, options: ForwardAsyncOptions = {}): Promise<Tensor> {
    checkForwardAsyncOptions(options);
    const y = await this.depthwise.forwardAsync(x, options);
    return this.pointwise.forwardAsync(y, options);
  }

  async forwardAsyncFused(x: TensorLike, activation: FusedActivation, options: ForwardAsyncOptions): Promise<Tensor> {
    const y = await this.depthwise.forwardAsync(x, options);
    return this.pointwise.forwardAsyncFused(y, activation, options);
  }

  outputShape(inputShape: readonly number[]): number[] {
    return this.pointwise.outputShape(this.depthwise.outputShape(inputShape));
  }

  override plan(inputShape: readonly number[]): PlanStep {
    return planChain(inputShape, [(shape) => this.depthwise.plan(shape), (shape) => this.pointwise.plan(shape)]);
  }

  planFused(inputShape: readonly number[], activation: FusedActivation): PlanStep {
    return planChain(inputShape, [(shape) => this.depthwise.plan(shape), (shape) => this.pointwise.planFused(shape, activation)]);
  }
}
