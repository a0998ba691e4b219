/**
 * `nn.BatchNorm2d`. In eval mode it normalises with the running statistics (or, with
 * `trackRunningStats: false`, with each batch's own); in train mode with the batch's mean and
 * biased variance, updating the running statistics with the unbiased variance and `momentum`
 * (null: a cumulative average), exactly as PyTorch does, and keeping what backward needs.
 */
import { checkShape, describeValue, type Tensor, type TensorLike } from '../tensor.js';
import { ACT_NONE, ACT_RELU6, activationCode } from '../epilogue.js';
import { checkGradientShape, checkInput, Module, reuseBuffer, savedFor, type InPlaceCapable } from './module.js';
import type { PlanStep } from './compile.js';
import { Parameter } from './parameter.js';
import { activationGradientInto } from './activation-gradient.js';
import { asTensor } from '../tensor.js';
import { positiveInteger } from '../geometry.js';
import { checkElements, readBoolean, readNumber, readOptions } from '../kernels/validate.js';
import type { FusableModule, FusedActivation } from './conv.js';
import type { Int64Tensor, StateTensor } from '../int64.js';
import { parameterData } from './init.js';
import { planOutput } from './plan-memory.js';

export interface BatchNorm2dOptions {
  eps?: number;
  /**
   * The running statistics' update factor in train mode (default 0.1): running = (1 − m)·running +
   * m·batch. null gives PyTorch's cumulative moving average (m = 1/num_batches_tracked).
   */
  momentum?: number | null;
  /** Learnable per-channel scale (`weight`, init 1) and shift (`bias`, init 0). */
  affine?: boolean;
  /**
   * Keep running statistics (default true). Without them, as in PyTorch, there are no
   * `running_mean`/`running_var`/`num_batches_tracked` buffers and every forward pass normalises
   * with the batch's own mean and biased variance over N, H and W.
   */
  trackRunningStats?: boolean;
}

/** The mean of channel `ch` of an NCHW batch (float64 sum over N, H and W). */
function channelMean(x: Float32Array, batch: number, c: number, plane: number, ch: number): number {
  let sum = 0;
  for (let n = 0; n < batch; n++) {
    const start = (n * c + ch) * plane;
    for (let i = start; i < start + plane; i++) sum += x[i]!;
  }
  return sum / (batch * plane);
}

/** Σ (x − mean)² over channel `ch` (the two-pass variance's numerator). */
function channelSquares(x: Float32Array, batch: number, c: number, plane: number, ch: number, mean: number): number {
  let squares = 0;
  for (let n = 0; n < batch; n++) {
    const start = (n * c + ch) * plane;
    for (let i = start; i < start + plane; i++) squares += (x[i]! - mean) ** 2;
  }
  return squares;
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
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  /** What backward needs from the last train-mode forward (null in eval mode). */
  private saved: { shape: number[]; xhat: Float32Array; invStd: Float64Array; output: Tensor; activation: FusedActivation | undefined } | null = null;
  private trainOutput: Float32Array | null = null;
  private trainXhat: Float32Array | null = null;
  private gradInputBuffer: Float32Array | null = null;
  readonly trackRunningStats: boolean;
  /**
   * The running statistics. With `trackRunningStats: false` they stay at their initial values,
   * unused and outside the state dict (PyTorch sets them to None).
   */
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  /** The number of training batches seen: an int64 scalar (`BigInt64Array` of length 1), as in PyTorch. */
  readonly numBatchesTracked: Int64Tensor;

  constructor(numFeatures: number, callerOptions: BatchNorm2dOptions = {}) {
    super();
    // Own properties only, read once: nothing inherited is an option.
    const options = readOptions<BatchNorm2dOptions>(callerOptions, ['eps', 'momentum', 'affine', 'trackRunningStats'], 'BatchNorm2d');
    this.numFeatures = checkElements(positiveInteger(numFeatures, 'numFeatures'), 'BatchNorm2d: numFeatures (per-channel statistics)');
    this.eps = readNumber(options.eps, 'BatchNorm2d: eps', 1e-5, { min: 0 });
    // PyTorch's running-average factor: a fraction.
    this.momentum = options.momentum === null ? null : readNumber(options.momentum, 'BatchNorm2d: momentum', 0.1, { min: 0, max: 1 });
    this.affine = readBoolean(options.affine, 'BatchNorm2d: affine', true);
    const c = this.numFeatures;
    this.weight = this.affine ? new Parameter([c], parameterData(c, 'BatchNorm2d weight').fill(1)) : null;
    this.bias = this.affine ? new Parameter([c], parameterData(c, 'BatchNorm2d bias')) : null;
    this.trackRunningStats = readBoolean(options.trackRunningStats, 'BatchNorm2d: trackRunningStats', true);
    this.runningMean = { shape: [c], data: parameterData(c, 'BatchNorm2d running_mean') };
    this.runningVar = { shape: [c], data: parameterData(c, 'BatchNorm2d running_var').fill(1) };
    this.numBatchesTracked = { shape: [], data: new BigInt64Array(1) };
  }

  protected override ownParameters(): [string, Parameter | null][] {
    return this.affine ? [['weight', this.weight], ['bias', this.bias]] : [];
  }

  protected override ownBuffers(): [string, StateTensor][] {
    if (!this.trackRunningStats) return [];
    return [['running_mean', this.runningMean], ['running_var', this.runningVar], ['num_batches_tracked', this.numBatchesTracked]];
  }

  protected override optionalBuffers(): readonly string[] {
    return ['num_batches_tracked'];
  }

  /**
   * The equivalent per-channel affine map y = scale·x + shift, computed in float64 from the
   * current state (what folding into a convolution uses). Needs running statistics.
   */
  /** @internal */
  override inferenceAffine(channels: number): { scale: Float64Array; shift: Float64Array } | null {
    // Batch statistics depend on the input: such a layer is no fixed affine map.
    return this.trackRunningStats && channels === this.numFeatures ? this.scaleShift() : null;
  }

  scaleShift(): { scale: Float64Array; shift: Float64Array } {
    if (!this.trackRunningStats) {
      throw new TypeError('BatchNorm2d: scaleShift needs running statistics; with trackRunningStats: false each batch is normalised with its own');
    }
    return this.affineFor(this.runningMean.data, this.runningVar.data);
  }

  /** scale = weight / √(var + eps), shift = bias − mean·scale, per channel, in float64. */
  private affineFor(mean: ArrayLike<number>, variance: ArrayLike<number>): { scale: Float64Array; shift: Float64Array } {
    const c = this.numFeatures;
    const scale = new Float64Array(c);
    const shift = new Float64Array(c);
    for (let i = 0; i < c; i++) {
      const gamma = this.weight ? this.weight.data[i]! : 1;
      const beta = this.bias ? this.bias.data[i]! : 0;
      const s = gamma / Math.sqrt(variance[i]! + this.eps);
      scale[i] = s;
      shift[i] = beta - mean[i]! * s;
    }
    return { scale, shift };
  }

  /**
   * The affine map normalising `x` with its own per-channel mean and biased variance over N, H
   * and W (two passes, in float64), as PyTorch does without running statistics. Like PyTorch, it
   * needs more than one value per channel.
   */
  private batchScaleShift(x: Tensor): { scale: Float64Array; shift: Float64Array } {
    const [batch, c, h, w] = x.shape as [number, number, number, number];
    const plane = h * w;
    const count = batch * plane;
    if (count === 1) {
      throw new RangeError(`BatchNorm2d: expected more than 1 value per channel to normalise a batch with its own statistics, got input shape ${describeValue(x.shape)}`);
    }
    const mean = new Float64Array(c);
    const variance = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      const m = channelMean(x.data, batch, c, plane, ch);
      mean[ch] = m;
      variance[ch] = channelSquares(x.data, batch, c, plane, ch, m) / count;
    }
    return this.affineFor(mean, variance);
  }

  /** The affine map for input `x`: from the running statistics, or from the batch's own. */
  private scaleShiftFor(x: Tensor): { scale: Float64Array; shift: Float64Array } {
    return this.trackRunningStats ? this.scaleShift() : this.batchScaleShift(x);
  }

  /** y = x·scale + shift per channel, then the activation (0 none, 1 relu, 2 relu6); y may be x. */
  private apply(x: Tensor, y: Float32Array, scale: Float64Array, shift: Float64Array, act: number): void {
    const batch = x.shape[0]!;
    const c = this.numFeatures;
    const plane = x.shape[2]! * x.shape[3]!;
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
    const input = checkInput(x, 'BatchNorm2d', [3, 4], '[N, C, H, W]');
    this.outputShape(input.shape);
    if (this.training) return this.forwardTraining(input, activation);
    this.saved = null;
    const y = inPlace ? input.data : new Float32Array(input.data.length);
    const { scale, shift } = this.scaleShiftFor(input);
    this.apply(input, y, scale, shift, activation === undefined ? ACT_NONE : activationCode(activation));
    return inPlace ? input : { shape: input.shape.slice(), data: y };
  }

  /**
   * Train mode: normalise with the batch's mean and biased variance (float64 sums), update the
   * running statistics (unbiased variance) and num_batches_tracked, keep x̂ and 1/σ for backward.
   */
  private forwardTraining(input: Tensor, activation: FusedActivation | undefined): Tensor {
    const [batch, c, h, w] = input.shape as [number, number, number, number];
    const plane = h * w;
    const count = batch * plane;
    if (count === 1) {
      throw new RangeError(`BatchNorm2d: expected more than 1 value per channel when training, got input shape ${describeValue(input.shape)}`);
    }
    const size = input.data.length;
    this.trainOutput = reuseBuffer(this.trainOutput, size);
    this.trainXhat = reuseBuffer(this.trainXhat, size);
    const invStd = this.saved !== null && this.saved.invStd.length === c ? this.saved.invStd : new Float64Array(c);
    const x = input.data;
    const y = this.trainOutput;
    const xhat = this.trainXhat;
    let factor = 0;
    if (this.trackRunningStats) {
      this.numBatchesTracked.data[0]! += 1n;
      factor = this.momentum ?? 1 / Number(this.numBatchesTracked.data[0]!);
    }
    const act = activation === undefined ? ACT_NONE : activationCode(activation);
    for (let ch = 0; ch < c; ch++) {
      const mean = channelMean(x, batch, c, plane, ch);
      const squares = channelSquares(x, batch, c, plane, ch, mean);
      const variance = squares / count;
      const inv = 1 / Math.sqrt(variance + this.eps);
      invStd[ch] = inv;
      const gamma = this.weight ? this.weight.data[ch]! : 1;
      const beta = this.bias ? this.bias.data[ch]! : 0;
      for (let n = 0; n < batch; n++) {
        const start = (n * c + ch) * plane;
        for (let i = start; i < start + plane; i++) {
          const xh = (x[i]! - mean) * inv;
          xhat[i] = xh;
          const v = xh * gamma + beta;
          y[i] = act === ACT_NONE ? v : v < 0 ? 0 : act === ACT_RELU6 && v > 6 ? 6 : v;
        }
      }
      if (this.trackRunningStats) {
        const rm = this.runningMean.data;
        const rv = this.runningVar.data;
        rm[ch] = (1 - factor) * rm[ch]! + factor * mean;
        rv[ch] = (1 - factor) * rv[ch]! + factor * (squares / (count - 1));
      }
    }
    if (this.trackRunningStats) this.stateVersion++;
    const output = { shape: input.shape.slice(), data: y };
    this.saved = { shape: input.shape.slice(), xhat, invStd, output, activation };
    return output;
  }

  /**
   * The train-mode gradient, per channel with M = N·H·W values: dβ = Σ dy, dγ = Σ dy·x̂ (added into
   * the parameters' grad), dx = γ/σ · (dy − dβ/M − x̂·dγ/M). A fused ReLU/ReLU6 is differentiated first.
   */
  override backward(gradOutput: TensorLike): Tensor {
    const saved = savedFor(this.saved, this);
    const dyTensor = asTensor(gradOutput, 'gradOutput');
    checkGradientShape(dyTensor, saved.shape, this);
    const [batch, c, h, w] = saved.shape as [number, number, number, number];
    const plane = h * w;
    const count = batch * plane;
    this.gradInputBuffer = reuseBuffer(this.gradInputBuffer, dyTensor.data.length);
    const dx = this.gradInputBuffer;
    let dy = dyTensor.data;
    if (saved.activation !== undefined) {
      // dx doubles as the masked gradient's home: each element is read before it is overwritten below.
      activationGradientInto(saved.activation, dy, saved.output.data, dx);
      dy = dx;
    }
    const xhat = saved.xhat;
    for (let ch = 0; ch < c; ch++) {
      let sumDy = 0;
      let sumDyXhat = 0;
      for (let n = 0; n < batch; n++) {
        const start = (n * c + ch) * plane;
        for (let i = start; i < start + plane; i++) {
          sumDy += dy[i]!;
          sumDyXhat += dy[i]! * xhat[i]!;
        }
      }
      if (this.weight !== null && this.weight.requiresGrad) this.weight.grad[ch] += sumDyXhat;
      if (this.bias !== null && this.bias.requiresGrad) this.bias.grad[ch] += sumDy;
      const gamma = this.weight ? this.weight.data[ch]! : 1;
      const k = gamma * saved.invStd[ch]!;
      const meanDy = sumDy / count;
      const meanDyXhat = sumDyXhat / count;
      for (let n = 0; n < batch; n++) {
        const start = (n * c + ch) * plane;
        for (let i = start; i < start + plane; i++) dx[i] = k * (dy[i]! - meanDy - xhat[i]! * meanDyXhat);
      }
    }
    return { shape: saved.shape.slice(), data: dx };
  }

  outputShape(inputShape: readonly number[]): number[] {
    checkShape(inputShape, 'input', 0);
    // PyTorch 1.13's BatchNorm2d takes 4-D input only ("expected 4D input"); an unbatched
    // [C, H, W] needs an explicit batch dimension of 1.
    if (inputShape.length !== 4 || inputShape[1] !== this.numFeatures) {
      throw new RangeError(
        `BatchNorm2d: expected input [N, ${this.numFeatures}, H, W] (4-D; add a batch dimension of 1 to an unbatched [C, H, W], as PyTorch requires), got shape ${describeValue(inputShape)}`,
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
    return this.planInto(inputShape, planOutput(outputShape, 'BatchNorm2d output'), undefined);
  }

  planFused(inputShape: readonly number[], activation: FusedActivation): PlanStep {
    const outputShape = this.outputShape(inputShape);
    return this.planInto(inputShape, planOutput(outputShape, 'BatchNorm2d output'), activation);
  }

  /** A planned step writing into `out`, or into its input when `out` is null. */
  private planInto(inputShape: readonly number[], out: Tensor | null, activation: FusedActivation | undefined): PlanStep {
    const outputShape = this.outputShape(inputShape);
    const act = activation === undefined ? ACT_NONE : activationCode(activation);
    const track = this.trackRunningStats;
    let version = this.stateVersion;
    let { scale, shift } = track ? this.scaleShift() : { scale: new Float64Array(0), shift: new Float64Array(0) };
    return {
      outputShape,
      output: out ?? 'input',
      run: (input) => {
        if (!track) {
          // Batch statistics: read from this input before anything overwrites it.
          ({ scale, shift } = this.batchScaleShift(input));
        } else if (version !== this.stateVersion) {
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
    return `${this.numFeatures}, eps=${pythonFloat(this.eps)}, momentum=${this.momentum === null ? 'None' : this.momentum}, affine=${this.affine ? 'True' : 'False'}, track_running_stats=${this.trackRunningStats ? 'True' : 'False'}`;
  }
}
