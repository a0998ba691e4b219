/**
 * Losses with PyTorch's definitions, each returning the loss and its gradient with respect to the
 * prediction in one call (there is no autograd graph: the gradient is what `model.backward` takes).
 *
 *   crossEntropy: F.cross_entropy(logits [N, C], target class indices [N], reduction, label_smoothing)
 *   mseLoss:      F.mse_loss(input, target, reduction)
 *
 * Sums run in float64. `gradLoss` is the upstream gradient of the loss (default 1; one per sample
 * for reduction 'none'), as in `loss.backward(gradLoss)`.
 */
import { asTensor, describeValue, type Tensor, type TensorLike } from '../tensor.js';
import { readEnum, readNumber, readOptions } from '../checks.js';
import { callerData, checkOut } from '../kernels/validate.js';

export type Reduction = 'mean' | 'sum' | 'none';

export interface LossOptions {
  /** 'mean' (default) averages over the batch, 'sum' adds, 'none' returns one loss per sample. */
  reduction?: Reduction;
  /** Write the gradient here (the prediction's shape) instead of allocating it. */
  out?: Tensor;
  /** The upstream gradient of the loss: a number, or one per sample with reduction 'none'. */
  gradLoss?: number | ArrayLike<number>;
}

export interface CrossEntropyOptions extends LossOptions {
  /** ε in [0, 1]: the target becomes (1 − ε)·one-hot + ε/C (PyTorch's label_smoothing). */
  labelSmoothing?: number;
}

export type MseLossOptions = LossOptions;

/** A reduced loss and ∂loss/∂prediction. */
export interface LossResult {
  loss: number;
  gradient: Tensor;
}

/** Per-sample (or per-element) losses and ∂(Σ gradLoss·loss)/∂prediction. */
export interface LossResultNone {
  loss: Float32Array;
  gradient: Tensor;
}

const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

/** The upstream gradient for each of `count` losses (reduction 'none') or for the one reduced loss. */
function upstream(gradLoss: unknown, reduction: Reduction, count: number, fn: string): (i: number) => number {
  if (gradLoss === undefined) return () => 1;
  if (typeof gradLoss === 'number') {
    if (!Number.isFinite(gradLoss)) throw new RangeError(`${fn}: gradLoss must be finite, got ${describeValue(gradLoss)}`);
    return () => gradLoss;
  }
  if (reduction !== 'none') throw new TypeError(`${fn}: gradLoss must be a number for reduction '${reduction}', got ${describeValue(gradLoss)}`);
  const values = gradLoss as ArrayLike<number>;
  if (typeof values !== 'object' || values === null || typeof values.length !== 'number' || values.length !== count) {
    throw new RangeError(`${fn}: gradLoss must be a number or hold ${count} values (one per loss), got ${describeValue(gradLoss)}`);
  }
  const copy = new Float64Array(count); // read once: a getter or a later write cannot change what was checked
  for (let i = 0; i < count; i++) {
    const value = values[i];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new RangeError(`${fn}: gradLoss[${i}] must be a finite number, got ${describeValue(value)}`);
    }
    copy[i] = value;
  }
  return (i) => copy[i]!;
}

/** The caller's `out` (checked: shape, and no shared memory with the inputs) or a new gradient tensor. */
function gradientTensor(out: Tensor | undefined, shape: readonly number[], inputs: readonly TensorLike[], names: readonly string[]): Tensor {
  if (out === undefined) return { shape: shape.slice(), data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
  return checkOut(out, shape, inputs.map(callerData), names);
}

/**
 * Cross-entropy of `logits` `[N, C]` (or `[C]` for one sample) against class indices `target`
 * (N integers in [0, C)), with PyTorch's label smoothing: per sample
 * (1 − ε)·(−log p_target) + (ε/C)·Σ_c(−log p_c), p = softmax(logits). The gradient is
 * (p − (1 − ε)·onehot − ε/C)·gradLoss, divided by N for 'mean'.
 */
export function crossEntropy(logits: TensorLike, target: ArrayLike<number>, options?: CrossEntropyOptions & { reduction?: 'mean' | 'sum' }): LossResult;
export function crossEntropy(logits: TensorLike, target: ArrayLike<number>, options: CrossEntropyOptions & { reduction: 'none' }): LossResultNone;
export function crossEntropy(logits: TensorLike, target: ArrayLike<number>, options?: CrossEntropyOptions): LossResult | LossResultNone;
export function crossEntropy(logits: TensorLike, target: ArrayLike<number>, options: CrossEntropyOptions = {}): LossResult | LossResultNone {
  const fn = 'crossEntropy';
  const o = readOptions<CrossEntropyOptions>(options, ['reduction', 'labelSmoothing', 'out', 'gradLoss'], fn);
  const reduction = readEnum(o.reduction, `${fn}: reduction`, REDUCTIONS, 'mean');
  const smoothing = readNumber(o.labelSmoothing, `${fn}: labelSmoothing`, 0, { min: 0, max: 1 });
  const x = asTensor(logits, 'logits');
  if (x.shape.length !== 1 && x.shape.length !== 2) {
    throw new RangeError(`${fn}: logits must be [N, C] or [C], got shape ${describeValue(x.shape)}`);
  }
  const [n, c] = (x.shape.length === 2 ? x.shape : [1, x.shape[0]]) as [number, number];
  if (typeof target !== 'object' || target === null || typeof (target as ArrayLike<number>).length !== 'number' || target.length !== n) {
    throw new RangeError(`${fn}: target must hold ${n} class indices (one per row of logits), got ${describeValue(target)}`);
  }
  for (let i = 0; i < n; i++) {
    const t = target[i];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= c) {
      throw new RangeError(`${fn}: target[${i}] must be a class index in [0, ${c}), got ${describeValue(t)}`);
    }
  }
  const scale = upstream(o.gradLoss, reduction, n, fn);
  const gradient = gradientTensor(o.out, x.shape, [logits], ['logits']);
  const losses = reduction === 'none' ? new Float32Array(n) : null;
  const divisor = reduction === 'mean' ? n : 1;
  const data = x.data;
  const g = gradient.data;
  let total = 0;
  for (let row = 0; row < n; row++) {
    const base = row * c;
    let max = -Infinity;
    for (let k = 0; k < c; k++) max = Math.max(max, data[base + k]!);
    let sumExp = 0;
    for (let k = 0; k < c; k++) sumExp += Math.exp(data[base + k]! - max);
    const logSumExp = max + Math.log(sumExp);
    const t = target[row]!;
    let sumNegLog = 0;
    for (let k = 0; k < c; k++) sumNegLog += logSumExp - data[base + k]!;
    const loss = (1 - smoothing) * (logSumExp - data[base + t]!) + (smoothing / c) * sumNegLog;
    if (losses !== null) losses[row] = loss;
    total += loss;
    const s = scale(row) / divisor;
    for (let k = 0; k < c; k++) {
      const p = Math.exp(data[base + k]! - logSumExp);
      g[base + k] = (p - (k === t ? 1 - smoothing : 0) - smoothing / c) * s;
    }
  }
  if (losses !== null) return { loss: losses, gradient };
  return { loss: total / divisor, gradient };
}

/**
 * Mean squared error between `input` and `target` (same shape): per element (x − y)²; the
 * gradient is 2(x − y)·gradLoss, divided by the element count for 'mean'.
 */
export function mseLoss(input: TensorLike, target: TensorLike, options?: MseLossOptions & { reduction?: 'mean' | 'sum' }): LossResult;
export function mseLoss(input: TensorLike, target: TensorLike, options: MseLossOptions & { reduction: 'none' }): LossResultNone;
export function mseLoss(input: TensorLike, target: TensorLike, options?: MseLossOptions): LossResult | LossResultNone;
export function mseLoss(input: TensorLike, target: TensorLike, options: MseLossOptions = {}): LossResult | LossResultNone {
  const fn = 'mseLoss';
  const o = readOptions<MseLossOptions>(options, ['reduction', 'out', 'gradLoss'], fn);
  const reduction = readEnum(o.reduction, `${fn}: reduction`, REDUCTIONS, 'mean');
  const x = asTensor(input, 'input');
  const y = asTensor(target, 'target');
  if (x.shape.length !== y.shape.length || x.shape.some((d, i) => d !== y.shape[i])) {
    throw new RangeError(`${fn}: target must have the input's shape ${describeValue(x.shape)}, got ${describeValue(y.shape)}`);
  }
  const count = x.data.length;
  const scale = upstream(o.gradLoss, reduction, count, fn);
  const gradient = gradientTensor(o.out, x.shape, [input, target], ['input', 'target']);
  const losses = reduction === 'none' ? new Float32Array(count) : null;
  const divisor = reduction === 'mean' ? count : 1;
  const g = gradient.data;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const d = x.data[i]! - y.data[i]!;
    if (losses !== null) losses[i] = d * d;
    total += d * d;
    g[i] = (2 * d * scale(i)) / divisor;
  }
  if (losses !== null) return { loss: losses, gradient };
  return { loss: total / divisor, gradient };
}
