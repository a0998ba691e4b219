/** `nn.BatchNorm2d` for inference: normalises with the running statistics. */
import { checkShape, describeValue, shapeSize, type Tensor, type TensorLike } from '../tensor.js';
import { ACT_NONE, ACT_RELU6, activationCode } from '../kernels/epilogue.js';
import { checkInput, Module, type InPlaceCapable, type PlanStep } from './module.js';
import { positiveInteger } from '../kernels/geometry.js';
import { checkElements, checkShapeElements, readBoolean, readNumber, readOptions } from '../kernels/validate.js';
import type { FusableModule, FusedActivation } from './conv.js';
import type { Int64Tensor, StateTensor } from '../int64.js';
import { parameterData } from './init.js';

export interface BatchNorm2dOptions {
  eps?: number;
  /** Kept for PyTorch parity and shown by toString; inference never updates the statistics. */
  momentum?: number;
  /** Learnable per-channel scale (`weight`, init 1) and shift (`bias`, init 0). */
  affine?: boolean;
}

/** Formats a small number as Python does (`1e-05`), so reprs match PyTorch's. */
function pythonFloat(v: number): string {
  if (v !== 0 && Math.abs(v) < 1e-4) return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(v);
}

/**
 * y = (x − running_mean) / sqrt(running_var + eps) · weight + bias, per channel. State-dict keys:
 * `weight`, `bias` (when affine), `running_mean`, `running_var`, `num_batches_tracked`
 * (an int64 scalar, as PyTorch's; a loaded dictionary may omit it since inference does not use it).
 */
export class BatchNorm2d extends Module implements InPlaceCapable, FusableModule {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  /** The number of training batches seen: an int64 scalar (`BigInt64Array` of length 1), as in PyTorch. */
  readonly numBatchesTracked: Int64Tensor;

  constructor(numFeatures: number, callerOptions: BatchNorm2dOptions = {}) {
    super();
    // Own properties only, read once: nothing inherited is an option.
    const options = readOptions<BatchNorm2dOptions>(callerOptions, ['eps', 'momentum', 'affine'], 'BatchNorm2d');
    this.numFeatures = checkElements(positiveInteger(numFeatures, 'numFeatures'), 'BatchNorm2d: numFeatures (per-channel statistics)');
    this.eps = readNumber(options.eps, 'BatchNorm2d: eps', 1e-5, { min: 0 });
    // PyTorch's running-average factor: a fraction.
    this.momentum = readNumber(options.momentum, 'BatchNorm2d: momentum', 0.1, { min: 0, max: 1 });
    this.affine = readBoolean(options.affine, 'BatchNorm2d: affine', true);
    const c = this.numFeatures;
    this.weight = this.affine ? { shape: [c], data: parameterData(c, 'BatchNorm2d weight').fill(1) } : null;
    this.bias = this.affine ? { shape: [c], data: parameterData(c, 'BatchNorm2d bias') } : null;
    this.runningMean = { shape: [c], data: parameterData(c, 'BatchNorm2d running_mean') };
    this.runningVar = { shape: [c], data: parameterData(c, 'BatchNorm2d running_var').fill(1) };
    this.numBatchesTracked = { shape: [], data: new BigInt64Array(1) };
  }

  protected override ownParameters(): [string, Tensor | null][] {
    return this.affine ? [['weight', this.weight], ['bias', this.bias]] : [];
  }

  protected override ownBuffers(): [string, StateTensor][] {
    return [['running_mean', this.runningMean], ['running_var', this.runningVar], ['num_batches_tracked', this.numBatchesTracked]];
  }

  protected override optionalBuffers(): readonly string[] {
    return ['num_batches_tracked'];
  }

  /**
   * The equivalent per-channel affine map y = scale·x + shift, computed in float64 from the
   * current state (what folding into a convolution uses).
   */
  scaleShift(): { scale: Float64Array; shift: Float64Array } {
    const c = this.numFeatures;
    const scale = new Float64Array(c);
    const shift = new Float64Array(c);
    for (let i = 0; i < c; i++) {
      const gamma = this.weight ? this.weight.data[i]! : 1;
      const beta = this.bias ? this.bias.data[i]! : 0;
      const s = gamma / Math.sqrt(this.runningVar.data[i]! + this.eps);
      scale[i] = s;
      shift[i] = beta - this.runningMean.data[i]! * s;
    }
    return { scale, shift };
  }

  /** y = x·scale + shift per channel, then the activation (0 none, 1 relu, 2 relu6); y may be x. */
  private apply(x: Tensor, y: Float32Array, scale: Float64Array, shift: Float64Array, act: number): void {
    const batched = x.shape.length === 4;
    const batch = batched ? x.shape[0]! : 1;
    const c = this.numFeatures;
    const plane = batched ? x.shape[2]! * x.shape[3]! : x.shape[1]! * x.shape[2]!;
    const data = x.data;
    const high = act === ACT_RELU6 ? 6 : Infinity;
    let index = 0;
    for (let n = 0; n < batch; n++) {
      for (let ch = 0; ch < c; ch++) {
        const s = scale[ch]!;
        const t = shift[ch]!;
        const end = index + plane;
        if (act === ACT_NONE) {
          for (let i = index; i < end; i++) y[i] = data[i]! * s + t;
        } else {
          // NaN fails both comparisons and passes through, as in the fused conv epilogue.
          for (let i = index; i < end; i++) {
            const v = data[i]! * s + t;
            y[i] = v < 0 ? 0 : v > high ? high : v;
          }
        }
        index = end;
      }
    }
  }

  forward(x: TensorLike): Tensor {
    return this.forwardFusedInto(x, undefined, false);
  }

  /** BatchNorm then ReLU/ReLU6 in one pass (a Sequential does this for BN followed by an activation). */
  forwardFused(x: TensorLike, activation: FusedActivation): Tensor {
    return this.forwardFusedInto(x, activation, false);
  }

  async forwardAsyncFused(x: TensorLike, activation: FusedActivation): Promise<Tensor> {
    return this.forwardFused(x, activation);
  }

  private forwardFusedInto(x: TensorLike, activation: FusedActivation | undefined, inPlace: boolean): Tensor {
    const input = checkInput(x, 'BatchNorm2d', [3, 4], '[N, C, H, W] or [C, H, W]');
    this.outputShape(input.shape);
    const y = inPlace ? input.data : new Float32Array(input.data.length);
    const { scale, shift } = this.scaleShift();
    this.apply(input, y, scale, shift, activation === undefined ? ACT_NONE : activationCode(activation));
    return inPlace ? input : { shape: input.shape.slice(), data: y };
  }

  outputShape(inputShape: readonly number[]): number[] {
    checkShape(inputShape, 'input');
    const channels = inputShape.length === 4 ? inputShape[1] : inputShape.length === 3 ? inputShape[0] : undefined;
    if (channels !== this.numFeatures) {
      throw new RangeError(
        `BatchNorm2d: expected input [N, ${this.numFeatures}, H, W] or [${this.numFeatures}, H, W], got shape ${describeValue(inputShape)}`,
      );
    }
    return inputShape.slice();
  }

  override producesNewTensor(): boolean {
    return true;
  }

  forwardInPlace(x: Tensor, activation?: FusedActivation): Tensor {
    return this.forwardFusedInto(x, activation, true);
  }

  planInPlace(inputShape: readonly number[], activation?: FusedActivation): PlanStep {
    return this.planInto(inputShape, null, activation);
  }

  override plan(inputShape: readonly number[]): PlanStep {
    const outputShape = this.outputShape(inputShape);
    return this.planInto(inputShape, { shape: outputShape, data: new Float32Array(checkShapeElements(outputShape, 'BatchNorm2d output')) }, undefined);
  }

  planFused(inputShape: readonly number[], activation: FusedActivation): PlanStep {
    const outputShape = this.outputShape(inputShape);
    return this.planInto(inputShape, { shape: outputShape, data: new Float32Array(checkShapeElements(outputShape, 'BatchNorm2d output')) }, activation);
  }

  /** A planned step writing into `out`, or into its input when `out` is null. */
  private planInto(inputShape: readonly number[], out: Tensor | null, activation: FusedActivation | undefined): PlanStep {
    const outputShape = this.outputShape(inputShape);
    const act = activation === undefined ? ACT_NONE : activationCode(activation);
    let version = this.stateVersion;
    let { scale, shift } = this.scaleShift();
    return {
      outputShape,
      run: (input) => {
        if (version !== this.stateVersion) {
          ({ scale, shift } = this.scaleShift());
          version = this.stateVersion;
        }
        const target = out ?? input;
        this.apply(input, target.data, scale, shift, act);
        return target;
      },
    };
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pythonFloat(this.eps)}, momentum=${this.momentum}, affine=${this.affine ? 'True' : 'False'}, track_running_stats=True`;
  }
}
