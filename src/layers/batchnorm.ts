/** `nn.BatchNorm2d` for inference: normalises with the running statistics. */
import { describeValue, shapeSize, type Tensor, type TensorLike } from '../tensor.js';
import { checkInput, Module, type InPlaceCapable, type PlanStep } from './module.js';
import { checkOptions, positiveInteger } from './conv.js';

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
 * (a scalar; a loaded dictionary may omit it since inference does not use it).
 */
export class BatchNorm2d extends Module implements InPlaceCapable {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;

  constructor(numFeatures: number, options: BatchNorm2dOptions = {}) {
    super();
    checkOptions(options, ['eps', 'momentum', 'affine'], 'BatchNorm2d');
    this.numFeatures = positiveInteger(numFeatures, 'numFeatures');
    this.eps = options.eps ?? 1e-5;
    if (typeof this.eps !== 'number' || !(this.eps >= 0)) throw new RangeError(`eps must be a non-negative number, got ${describeValue(options.eps)}`);
    this.momentum = options.momentum ?? 0.1;
    this.affine = options.affine ?? true;
    if (typeof this.affine !== 'boolean') throw new TypeError(`affine must be a boolean, got ${describeValue(options.affine)}`);
    const c = this.numFeatures;
    this.weight = this.affine ? { shape: [c], data: new Float32Array(c).fill(1) } : null;
    this.bias = this.affine ? { shape: [c], data: new Float32Array(c) } : null;
    this.runningMean = { shape: [c], data: new Float32Array(c) };
    this.runningVar = { shape: [c], data: new Float32Array(c).fill(1) };
    this.numBatchesTracked = { shape: [], data: new Float32Array(1) };
  }

  protected override ownParameters(): [string, Tensor | null][] {
    return this.affine ? [['weight', this.weight], ['bias', this.bias]] : [];
  }

  protected override ownBuffers(): [string, Tensor][] {
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

  private apply(x: Tensor, y: Float32Array, scale: Float64Array, shift: Float64Array): void {
    const batched = x.shape.length === 4;
    const batch = batched ? x.shape[0]! : 1;
    const c = this.numFeatures;
    const plane = batched ? x.shape[2]! * x.shape[3]! : x.shape[1]! * x.shape[2]!;
    const data = x.data;
    let index = 0;
    for (let n = 0; n < batch; n++) {
      for (let ch = 0; ch < c; ch++) {
        const s = scale[ch]!;
        const t = shift[ch]!;
        const end = index + plane;
        for (let i = index; i < end; i++) y[i] = data[i]! * s + t;
        index = end;
      }
    }
  }

  forward(x: TensorLike): Tensor {
    const input = checkInput(x, 'BatchNorm2d', [3, 4], '[N, C, H, W] or [C, H, W]');
    this.outputShape(input.shape);
    const y = new Float32Array(input.data.length);
    const { scale, shift } = this.scaleShift();
    this.apply(input, y, scale, shift);
    return { shape: input.shape.slice(), data: y };
  }

  outputShape(inputShape: readonly number[]): number[] {
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

  forwardInPlace(x: Tensor): Tensor {
    this.outputShape(x.shape);
    const { scale, shift } = this.scaleShift();
    this.apply(x, x.data, scale, shift);
    return x;
  }

  planInPlace(inputShape: readonly number[]): PlanStep {
    return this.planInto(inputShape, null);
  }

  override plan(inputShape: readonly number[]): PlanStep {
    const outputShape = this.outputShape(inputShape);
    return this.planInto(inputShape, { shape: outputShape, data: new Float32Array(shapeSize(outputShape)) });
  }

  /** A planned step writing into `out`, or into its input when `out` is null. */
  private planInto(inputShape: readonly number[], out: Tensor | null): PlanStep {
    const outputShape = this.outputShape(inputShape);
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
        this.apply(input, target.data, scale, shift);
        return target;
      },
    };
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pythonFloat(this.eps)}, momentum=${this.momentum}, affine=${this.affine ? 'True' : 'False'}, track_running_stats=True`;
  }
}
