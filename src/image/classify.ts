/**
 * From a classifier's logits to an answer: `softmax`, `topk`, `topkPerRow` and `topClasses`
 * (labelled probabilities, ImageNet's class names by default).
 */
import { describeValue, optional, readInteger, readOptions } from '../checks.js';
import { type Tensor, asTensor } from '../tensor.js';
import { imagenetClasses } from './imagenet-classes.js';

export interface TopK {
  /** Position along the last dimension (the class index). */
  index: number;
  value: number;
}

export interface TopClass {
  index: number;
  /** The class name from `labels` (ImageNet's by default); `String(index)` past the end of the list. */
  label: string;
  probability: number;
}

function normaliseDim(dim: unknown, rank: number, fn: string): number {
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < -rank || dim >= rank) {
    throw new RangeError(`${fn}: dim must be an integer from ${-rank} to ${rank - 1} for a tensor of rank ${rank}, got ${describeValue(dim)}`);
  }
  return dim < 0 ? dim + rank : dim;
}

/**
 * `torch.softmax(t, dim)`: exp(x − max) / Σ exp(x − max) along `dim` (default the last), in
 * float64, stored as float32, in a new tensor of the same shape. A slice containing +Infinity or NaN
 * gives NaN, as torch does.
 */
export function softmax(t: Tensor, dim = -1): Tensor {
  const x = asTensor(t, 'softmax: t');
  const rank = x.shape.length;
  if (rank === 0) throw new RangeError('softmax: t must have at least one dimension, got a scalar (shape [])');
  const d = normaliseDim(dim, rank, 'softmax');
  const size = x.shape[d]!;
  let inner = 1;
  for (let i = d + 1; i < rank; i++) inner *= x.shape[i]!;
  const outer = size === 0 || inner === 0 ? 0 : x.data.length / (size * inner);
  const out = new Float32Array(x.data.length);
  const src = x.data;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * size * inner + i;
      let max = -Infinity;
      for (let k = 0; k < size; k++) {
        const v = src[base + k * inner]!;
        if (v > max || Number.isNaN(v)) max = v;
        if (Number.isNaN(v)) break;
      }
      let sum = 0;
      for (let k = 0; k < size; k++) sum += Math.exp(src[base + k * inner]! - max);
      for (let k = 0; k < size; k++) out[base + k * inner] = Math.exp(src[base + k * inner]! - max) / sum;
    }
  }
  return { shape: x.shape.slice(), data: out };
}

/** Orders NaN first (as torch.topk treats it as the largest), then larger values, then smaller indices. */
function before(a: number, ai: number, b: number, bi: number): boolean {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an !== bn) return an;
  if (!an && a !== b) return a > b;
  return ai < bi;
}

/** The k largest of row[0..n): a partial insertion sort into k slots (k is small in practice). */
function topOfRow(row: Float32Array, k: number): TopK[] {
  if (k === 0) return [];
  const index = new Int32Array(k);
  const value = new Float64Array(k);
  let filled = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (filled === k && !before(v, i, value[k - 1]!, index[k - 1]!)) continue;
    let j = filled < k ? filled++ : k - 1;
    while (j > 0 && before(v, i, value[j - 1]!, index[j - 1]!)) {
      value[j] = value[j - 1]!;
      index[j] = index[j - 1]!;
      j--;
    }
    value[j] = v;
    index[j] = i;
  }
  return Array.from({ length: k }, (_, j) => ({ index: index[j]!, value: value[j]! }));
}

function rows(t: Tensor, fn: string): { x: Tensor; count: number; length: number } {
  const x = asTensor(t, `${fn}: t`);
  if (x.shape.length === 0) throw new RangeError(`${fn}: t must have at least one dimension, got a scalar (shape [])`);
  const length = x.shape[x.shape.length - 1]!;
  return { x, count: length === 0 ? 0 : x.data.length / length, length };
}

/**
 * The `k` largest values along the last dimension of a single row — a tensor of shape [C], [1, C]
 * or [1, …, 1, C] — largest first, as `[{ index, value }]`. Ties keep the smaller index first; NaN
 * counts as the largest value (as in torch.topk). For a batch of several rows use `topkPerRow`.
 */
export function topk(t: Tensor, k: number): TopK[] {
  const { x, count, length } = rows(t, 'topk');
  const kk = readInteger(k, 'topk: k', undefined, 0, length);
  if (count !== 1) {
    throw new RangeError(`topk: t must hold one row (shape [C] or [1, C]), got shape ${describeValue(x.shape)} (${count} rows); use topkPerRow for a batch`);
  }
  return topOfRow(x.data, kk);
}

/** `topk` for every row of a tensor [..., C]: one `[{ index, value }]` list per row, in row order. */
export function topkPerRow(t: Tensor, k: number): TopK[][] {
  const { x, count, length } = rows(t, 'topkPerRow');
  const kk = readInteger(k, 'topkPerRow: k', undefined, 0, length);
  const data = x.data;
  const out: TopK[][] = [];
  for (let r = 0; r < count; r++) out.push(topOfRow(data.subarray(r * length, (r + 1) * length), kk));
  return out;
}

export interface TopClassesOptions {
  /** How many classes (default 5, at most the number of outputs). */
  k?: number;
  /** Class names by output index (default `imagenetClasses`). */
  labels?: readonly string[];
}

/**
 * The most probable classes of one image's logits (shape [C] or [1, C]): softmax, then top-k,
 * labelled. `topClasses(model.forward(x))` gives ImageNet's top five.
 */
export function topClasses(logits: Tensor, options?: TopClassesOptions): TopClass[] {
  const o = readOptions<TopClassesOptions>(options, ['k', 'labels'], 'topClasses');
  const labels = optional(o.labels, imagenetClasses);
  if (!Array.isArray(labels)) {
    throw new TypeError(`topClasses: options.labels must be an array of strings, got ${describeValue(labels)}`);
  }
  const { length } = rows(logits, 'topClasses');
  const k = readInteger(o.k, 'topClasses: options.k', Math.min(5, length), 0, length);
  return topk(softmax(logits), k).map(({ index, value }) => {
    const label = labels[index];
    return { index, label: typeof label === 'string' ? label : String(index), probability: value };
  });
}
