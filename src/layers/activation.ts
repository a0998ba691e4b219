/**
 * Element-wise activations. After a convolution inside a Sequential, ReLU and ReLU6 are not run
 * as separate passes: the container fuses them into the convolution's output write.
 */
import { readNumber, readOptions } from '../checks.js';
import { checkShape, type Tensor, type TensorLike } from '../tensor.js';
import type { FusedActivation } from './conv.js';
import { checkGradientShape, Module, reuseBuffer, savedFor, type InPlaceCapable } from './module.js';
import { currentPlanBackend, type PlanStep } from './compile.js';
import { asTensor } from '../tensor.js';
import { planOutput } from './plan-memory.js';
import { wasmRuntimeIfAvailable, type BackendChoice } from '../ops/backend.js';
import { runActivation, type ActKernel } from '../wasm/activation-run.js';

export abstract class ElementwiseModule extends Module implements InPlaceCapable {
  /** The last train-mode forward's input (null in eval mode). */
  private savedInput: Tensor | null = null;
  private trainOutput: Float32Array | null = null;
  private gradInputBuffer: Float32Array | null = null;

  /** Writes f(x[i]) into y[i] for every i (x and y may be the same array): the JS tier, float64. */
  protected abstract apply(x: Float32Array, y: Float32Array): void;

  /** The wasm kernel computing this activation on the wasm tier (float32 lanes); null: JS on both tiers. */
  protected wasmKernel(): ActKernel | null {
    return null;
  }

  /** f on the tier of `backend` (undefined: the global choice). */
  private applyOnTier(x: Float32Array, y: Float32Array, backend: BackendChoice | undefined): void {
    const kernel = this.wasmKernel();
    const runtime = kernel === null ? null : wasmRuntimeIfAvailable(backend, 'activation');
    if (runtime === null) this.apply(x, y);
    else runActivation(runtime, kernel!, x, y);
  }

  /**
   * Writes dx[i] = f'(x[i])·dy[i] for every i, from the forward's input x (PyTorch's backward
   * rule for the activation). An activation without one cannot be trained.
   */
  protected gradient(x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    void x; void dy; void dx;
    throw new TypeError(`${this.constructor.name} cannot be trained: it has no gradient rule`);
  }

  forward(x: TensorLike): Tensor {
    const input = asTensor(x, 'input');
    if (!this.training) {
      this.savedInput = null;
      const y = new Float32Array(input.data.length);
      this.applyOnTier(input.data, y, undefined);
      return { shape: input.shape.slice(), data: y };
    }
    this.trainOutput = reuseBuffer(this.trainOutput, input.data.length);
    this.applyOnTier(input.data, this.trainOutput, undefined);
    this.savedInput = input;
    return { shape: input.shape.slice(), data: this.trainOutput };
  }

  override backward(gradOutput: TensorLike): Tensor {
    const input = savedFor(this.savedInput, this);
    const dy = asTensor(gradOutput, 'gradOutput');
    checkGradientShape(dy, input.shape, this);
    this.gradInputBuffer = reuseBuffer(this.gradInputBuffer, dy.data.length);
    this.gradient(input.data, dy.data, this.gradInputBuffer);
    return { shape: input.shape.slice(), data: this.gradInputBuffer };
  }

  outputShape(inputShape: readonly number[]): number[] {
    checkShape(inputShape, 'input', 0);
    return inputShape.slice();
  }

  override plan(inputShape: readonly number[]): PlanStep {
    checkShape(inputShape, 'input', 0);
    const out = planOutput(inputShape, 'output');
    const backend = currentPlanBackend(); // the compile's tier, kept for every run
    return {
      outputShape: out.shape,
      output: out,
      run: (input) => {
        this.applyOnTier(input.data, out.data, backend);
        return out;
      },
    };
  }

  override producesNewTensor(): boolean {
    return true;
  }

  forwardInPlace(x: Tensor): Tensor {
    this.applyOnTier(x.data, x.data, undefined);
    return x;
  }

  planInPlace(inputShape: readonly number[]): PlanStep {
    checkShape(inputShape, 'input', 0);
    const backend = currentPlanBackend();
    return {
      outputShape: inputShape.slice(),
      output: 'input',
      run: (input) => {
        this.applyOnTier(input.data, input.data, backend);
        return input;
      },
    };
  }
}

/** `nn.ReLU`. NaN passes through, as in PyTorch. */
export class ReLU extends ElementwiseModule {
  /** The code a convolution uses to apply this activation in its output write. */
  readonly fusedActivation: FusedActivation = 'relu';

  protected apply(x: Float32Array, y: Float32Array): void {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      y[i] = v < 0 ? 0 : v;
    }
  }

  /** PyTorch's threshold_backward on the result: the gradient passes where the output is > 0. */
  protected override gradient(x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    for (let i = 0; i < x.length; i++) dx[i] = x[i]! > 0 ? dy[i]! : 0;
  }
}

/** `nn.ReLU6`: min(max(x, 0), 6). */
export class ReLU6 extends ElementwiseModule {
  readonly fusedActivation: FusedActivation = 'relu6';

  protected apply(x: Float32Array, y: Float32Array): void {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      y[i] = v < 0 ? 0 : v > 6 ? 6 : v;
    }
  }

  /** PyTorch's hardtanh_backward: the gradient passes where 0 < x < 6. */
  protected override gradient(x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      dx[i] = v > 0 && v < 6 ? dy[i]! : 0;
    }
  }
}

/** `nn.LeakyReLU(negativeSlope = 0.01)`: x > 0 ? x : negativeSlope·x. */
export class LeakyReLU extends ElementwiseModule {
  readonly negativeSlope: number;

  constructor(negativeSlope: number | { negativeSlope?: number } = 0.01) {
    super();
    // An options object is read like every other (own names only; `{ slope: 0.2 }` is an unknown option, not 0.01).
    const slope = typeof negativeSlope === 'object' && negativeSlope !== null
      ? readOptions(negativeSlope, ['negativeSlope'], 'LeakyReLU').negativeSlope
      : negativeSlope;
    this.negativeSlope = readNumber(slope, 'LeakyReLU: negativeSlope', 0.01);
  }

  protected apply(x: Float32Array, y: Float32Array): void {
    const slope = this.negativeSlope;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      // PyTorch's rule, x > 0 ? x : slope·x: with a negative slope, −0 maps to +0 and +0 to −0.
      y[i] = v > 0 ? v : slope * v;
    }
  }

  /** PyTorch's leaky_relu_backward: x > 0 ? dy : slope·dy. */
  protected override gradient(x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    const slope = this.negativeSlope;
    for (let i = 0; i < x.length; i++) dx[i] = x[i]! > 0 ? dy[i]! : slope * dy[i]!;
  }

  override extraRepr(): string {
    return `negative_slope=${this.negativeSlope}`;
  }
}

/**
 * `nn.Hardswish`: x · relu6(x + 3) / 6, computed as PyTorch's CPU kernel does (x · min(max(x + 3, 0), 6) / 6):
 * in float64 then rounded on the JS tier, in float32 (as PyTorch) on the wasm tier. NaN passes through.
 */
export class Hardswish extends ElementwiseModule {
  protected override wasmKernel(): ActKernel {
    return 'act_hardswish_f32';
  }

  protected apply(x: Float32Array, y: Float32Array): void {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      const t = v + 3;
      y[i] = (v * (t < 0 ? 0 : t > 6 ? 6 : t)) / 6;
    }
  }

  /** PyTorch's hardswish_backward: 0 below −3, dy·(x/3 + 1/2) up to 3, dy above. */
  protected override gradient(x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      dx[i] = v < -3 ? 0 : v <= 3 ? dy[i]! * (v / 3 + 0.5) : dy[i]!;
    }
  }
}

/** `nn.Hardsigmoid`: relu6(x + 3) / 6. NaN passes through. */
export class Hardsigmoid extends ElementwiseModule {
  protected apply(x: Float32Array, y: Float32Array): void {
    for (let i = 0; i < x.length; i++) {
      const t = x[i]! + 3;
      y[i] = (t < 0 ? 0 : t > 6 ? 6 : t) / 6;
    }
  }

  /** PyTorch's hardsigmoid_backward: dy/6 strictly inside (−3, 3), else 0. */
  protected override gradient(x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      dx[i] = v > -3 && v < 3 ? dy[i]! / 6 : 0;
    }
  }
}

/**
 * `nn.Sigmoid`: 1 / (1 + exp(−x)). JS tier: in float64 then rounded (exact 0 and 1 only where
 * float32 rounds there); wasm tier: float32 lanes with a polynomial exp (src/wasm/emit/activation.ts),
 * within 2 ulp of that.
 */
export class Sigmoid extends ElementwiseModule {
  protected override wasmKernel(): ActKernel {
    return 'act_sigmoid_f32';
  }

  protected apply(x: Float32Array, y: Float32Array): void {
    for (let i = 0; i < x.length; i++) y[i] = 1 / (1 + Math.exp(-x[i]!));
  }

  /** dy·σ(x)·(1 − σ(x)). */
  protected override gradient(x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    for (let i = 0; i < x.length; i++) {
      const s = 1 / (1 + Math.exp(-x[i]!));
      dx[i] = dy[i]! * s * (1 - s);
    }
  }
}

/**
 * `nn.SiLU` (swish): x · sigmoid(x) = x / (1 + exp(−x)). JS tier: float64 then rounded; wasm
 * tier: x · sigmoid(x) in float32 lanes, within a few ulp (−0 below x = −87, where PyTorch's
 * float32 exp overflows to give −0 as well).
 */
export class SiLU extends ElementwiseModule {
  protected override wasmKernel(): ActKernel {
    return 'act_silu_f32';
  }

  protected apply(x: Float32Array, y: Float32Array): void {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      y[i] = v / (1 + Math.exp(-v));
    }
  }

  /** dy·σ(x)·(1 + x·(1 − σ(x))), PyTorch's silu_backward. */
  protected override gradient(x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      const s = 1 / (1 + Math.exp(-v));
      dx[i] = dy[i]! * s * (1 + v * (1 - s));
    }
  }
}

/** `nn.Identity`: returns its input (it is what `foldBatchNorm` leaves in a BatchNorm's place). */
export class Identity extends Module {
  forward(x: TensorLike): Tensor {
    return asTensor(x, 'input');
  }

  outputShape(inputShape: readonly number[]): number[] {
    checkShape(inputShape, 'input', 0);
    return inputShape.slice();
  }

  override plan(inputShape: readonly number[]): PlanStep {
    checkShape(inputShape, 'input', 0);
    return { outputShape: inputShape.slice(), output: 'input', run: (input) => input };
  }

  override backward(gradOutput: TensorLike): Tensor {
    return asTensor(gradOutput, 'gradOutput');
  }
}

/** The activation a convolution can fuse in place of `m`, or null. */
export function fusedActivationOf(m: Module): FusedActivation | null {
  return m instanceof ReLU || m instanceof ReLU6 ? m.fusedActivation : null;
}
