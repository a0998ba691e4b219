/**
 * torchvision's `SqueezeExcitation` (Hu et al., arXiv:1709.01507): per channel, a scale computed
 * from the globally pooled input by two 1×1 convolutions — `fc1`, activation, `fc2`, scale
 * activation — multiplies the input. Children in torchvision's order: `avgpool`, `fc1`, `fc2`,
 * `activation`, `scale_activation` (state-dict keys `fc1.weight`, `fc1.bias`, `fc2.weight`, `fc2.bias`).
 */
import { asTensor, describeValue, type Tensor, type TensorLike } from '../../tensor.js';
import { readInteger, readOptions } from '../../checks.js';
import { fusedActivationOf } from '../activation.js';
import { Conv2d } from '../conv.js';
import type { Generator } from '../init.js';
import { checkGradientShape, checkInput, isInPlaceCapable, Module, savedFor, type InPlaceCapable } from '../module.js';
import { currentPlanBackend, type PlanStep } from '../compile.js';
import { wasmRuntimeIfAvailable } from '../../ops/backend.js';
import { AdaptiveAvgPool2d } from '../pooling.js';
import { tracedOutputShape, type ChildCall, type TracedModule } from '../trace.js';
import { scaleChannels, scaleChannelsOnTier } from './elementwise.js';
import { planOutput } from '../plan-memory.js';

export interface SqueezeExcitationOptions {
  /** δ in the paper: ReLU (MobileNetV3) or SiLU (EfficientNet). */
  activation: Module;
  /** σ in the paper: Hardsigmoid (MobileNetV3) or Sigmoid (EfficientNet). */
  scaleActivation: Module;
  generator: Generator;
}

export class SqueezeExcitation extends Module implements TracedModule, InPlaceCapable {
  readonly inputChannels: number;
  readonly squeezeChannels: number;

  constructor(inputChannels: number, squeezeChannels: number, callerOptions: SqueezeExcitationOptions) {
    super();
    readInteger(inputChannels, 'SqueezeExcitation: inputChannels');
    readInteger(squeezeChannels, 'SqueezeExcitation: squeezeChannels');
    const options = readOptions<SqueezeExcitationOptions>(callerOptions, ['activation', 'scaleActivation', 'generator'], 'SqueezeExcitation') as SqueezeExcitationOptions;
    this.inputChannels = inputChannels;
    this.squeezeChannels = squeezeChannels;
    for (const [name, m] of [['activation', options.activation], ['scaleActivation', options.scaleActivation]] as const) {
      if (!(m instanceof Module) || !isInPlaceCapable(m)) throw new TypeError(`SqueezeExcitation: ${name} must be an element-wise module, got ${describeValue(m)}`);
    }
    const { generator } = options;
    this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.registerModule('fc1', new Conv2d({ inChannels: inputChannels, outChannels: squeezeChannels, kernelSize: 1, generator }));
    this.registerModule('fc2', new Conv2d({ inChannels: squeezeChannels, outChannels: inputChannels, kernelSize: 1, generator }));
    this.registerModule('activation', options.activation);
    this.registerModule('scale_activation', options.scaleActivation);
  }

  private get parts(): { pool: AdaptiveAvgPool2d; fc1: Conv2d; fc2: Conv2d; act: Module & InPlaceCapable; scaleAct: Module & InPlaceCapable } {
    return {
      pool: this.getChild('avgpool'),
      fc1: this.getChild('fc1'),
      fc2: this.getChild('fc2'),
      act: this.getChild('activation'),
      scaleAct: this.getChild('scale_activation'),
    };
  }

  traceChildren(inputShape: readonly number[], call: ChildCall): readonly number[] {
    let s = call('avgpool', inputShape);
    s = call('fc1', s);
    s = call('activation', s);
    s = call('fc2', s);
    s = call('scale_activation', s);
    if (s.length !== inputShape.length || s[s.length - 3] !== inputShape[inputShape.length - 3]) {
      throw new RangeError(`SqueezeExcitation: the scale ${describeValue(s)} does not fit the input ${describeValue(inputShape)}`);
    }
    return inputShape.slice();
  }

  outputShape(inputShape: readonly number[]): number[] {
    return tracedOutputShape(this, inputShape);
  }

  override producesNewTensor(): boolean {
    return true;
  }

  /** The per-channel scale σ(fc2(δ(fc1(avgpool(x))))), shape [N, C, 1, 1]. */
  scale(x: Tensor): Tensor {
    const { pool, fc1, fc2, act, scaleAct } = this.parts;
    const fused = fusedActivationOf(act);
    let s = pool.forward(x);
    s = fused !== null ? fc1.forwardFused(s, fused) : act.forwardInPlace(fc1.forward(s));
    return scaleAct.forwardInPlace(fc2.forward(s));
  }

  /** What backward needs from the last train-mode forward: the input and the scale. */
  private saved: { input: Tensor; scale: Float32Array } | null = null;

  private run(x: TensorLike, inPlace: boolean): Tensor {
    const input = checkInput(x, 'SqueezeExcitation', [4], '[N, C, H, W]');
    this.outputShape(input.shape);
    if (this.training) {
      // Every child through its own forward, so each keeps what its backward needs; never in place.
      const { pool, fc1, fc2, act, scaleAct } = this.parts;
      const scale = scaleAct.forward(fc2.forward(act.forward(fc1.forward(pool.forward(input))))).data.slice();
      this.saved = { input, scale };
      const out = new Float32Array(input.data.length);
      scaleChannels(input.data, scale, out, input.shape[2]! * input.shape[3]!);
      return { shape: input.shape.slice(), data: out };
    }
    this.saved = null;
    const s = this.scale(input);
    const out = inPlace ? input.data : new Float32Array(input.data.length);
    scaleChannels(input.data, s.data, out, input.shape[2]! * input.shape[3]!);
    return inPlace ? input : { shape: input.shape.slice(), data: out };
  }

  forward(x: TensorLike): Tensor {
    return this.run(x, false);
  }

  /**
   * y = x·s with s = σ(fc2(δ(fc1(avgpool(x))))) per channel: ∂x = ∂y·s + avgpool'(∂s), where
   * ∂s[n, c] = Σ over H, W of ∂y·x runs back through the scale branch's children.
   */
  override backward(gradOutput: TensorLike): Tensor {
    const { input, scale } = savedFor(this.saved, this);
    const dy = asTensor(gradOutput, 'gradOutput');
    checkGradientShape(dy, input.shape, this);
    const [n, c, h, w] = input.shape as [number, number, number, number];
    const plane = h * w;
    const dScale = new Float32Array(n * c);
    for (let p = 0; p < n * c; p++) {
      let sum = 0;
      for (let i = p * plane; i < (p + 1) * plane; i++) sum += dy.data[i]! * input.data[i]!;
      dScale[p] = sum;
    }
    const { pool, fc1, fc2, act, scaleAct } = this.parts;
    let g: Tensor = { shape: [n, c, 1, 1], data: dScale };
    g = pool.backward(fc1.backward(act.backward(fc2.backward(scaleAct.backward(g)))));
    const dx = new Float32Array(input.data.length);
    scaleChannels(dy.data, scale, dx, plane);
    for (let i = 0; i < dx.length; i++) dx[i] = dx[i]! + g.data[i]!;
    return { shape: input.shape.slice(), data: dx };
  }

  forwardInPlace(x: Tensor): Tensor {
    return this.run(x, !this.training);
  }

  private planInto(inputShape: readonly number[], inPlace: boolean): PlanStep {
    const outputShape = this.outputShape(inputShape);
    const { pool, fc1, fc2, act, scaleAct } = this.parts;
    const fused = fusedActivationOf(act);
    const poolStep = pool.plan(inputShape);
    const fc1Step = fused !== null ? fc1.planFused(poolStep.outputShape, fused) : fc1.plan(poolStep.outputShape);
    const actStep = fused !== null ? null : act.planInPlace(fc1Step.outputShape);
    const fc2Step = fc2.plan(fc1Step.outputShape);
    const scaleStep = scaleAct.planInPlace(fc2Step.outputShape);
    const out = inPlace ? null : planOutput(outputShape, 'SqueezeExcitation output');
    const plane = inputShape[2]! * inputShape[3]!;
    const backend = currentPlanBackend(); // the compile's tier, kept for every run
    return {
      outputShape,
      output: out ?? 'input',
      run: (input) => {
        let s = fc1Step.run(poolStep.run(input));
        if (actStep !== null) s = actStep.run(s);
        s = scaleStep.run(fc2Step.run(s));
        const target = out ?? input;
        const runtime = wasmRuntimeIfAvailable(backend, 'SqueezeExcitation');
        scaleChannelsOnTier(runtime, input.data, s.data, target.data, plane);
        return target;
      },
    };
  }

  override plan(inputShape: readonly number[]): PlanStep {
    return this.planInto(inputShape, false);
  }

  planInPlace(inputShape: readonly number[]): PlanStep {
    return this.planInto(inputShape, true);
  }
}
