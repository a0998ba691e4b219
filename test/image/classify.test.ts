/**
 * softmax against a float64 reference along every dimension; topk/topkPerRow against a full sort;
 * topClasses and the ImageNet class list.
 */
import { describe, expect, it } from 'vitest';
import { softmax, topClasses, topk, topkPerRow } from '../../src/image/classify.js';
import { imagenetClasses } from '../../src/image/imagenet-classes.js';
import { tensor } from '../../src/tensor.js';
import { rng } from '../helpers.js';

function referenceSoftmax(data: Float32Array, shape: number[], dim: number): Float64Array {
  const out = new Float64Array(data.length);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let flat = 0; flat < data.length; flat++) {
    const coordinate = Math.floor(flat / strides[dim]!) % shape[dim]!;
    const start = flat - coordinate * strides[dim]!;
    const values = Array.from({ length: shape[dim]! }, (_, k) => data[start + k * strides[dim]!]!);
    const m = Math.max(...values);
    const denominator = values.reduce((s, v) => s + Math.exp(v - m), 0);
    out[flat] = Math.exp(data[flat]! - m) / denominator;
  }
  return out;
}

describe('softmax', () => {
  it('matches a float64 reference along every dimension, negative dims too', () => {
    const random = rng(5);
    const shape = [2, 3, 4, 5];
    const data = Float32Array.from({ length: 120 }, () => (random() - 0.5) * 20);
    for (let dim = -4; dim < 4; dim++) {
      const y = softmax(tensor(data, shape), dim);
      expect(y.shape).toEqual(shape);
      const want = referenceSoftmax(data, shape, (dim + 4) % 4);
      for (let i = 0; i < 120; i++) expect(Math.abs(y.data[i]! - want[i]!)).toBeLessThan(1e-7);
    }
  });

  it('the last dimension by default; large logits stay finite; rows sum to 1', () => {
    const x = tensor(new Float32Array([1000, 999, -1000, 3, 3, 3]), [2, 3]);
    const y = softmax(x);
    expect(Array.from(y.data.subarray(0, 3)).map((v) => +v.toFixed(6))).toEqual([0.731059, 0.268941, 0]);
    expect(Array.from(y.data.subarray(3))).toEqual([1 / 3, 1 / 3, 1 / 3].map(Math.fround));
  });

  it('NaN in a slice gives NaN for that slice only; the input is not modified', () => {
    const data = new Float32Array([1, Number.NaN, 2, 0, 0, 0]);
    const y = softmax(tensor(data, [2, 3]));
    expect(Array.from(y.data.subarray(0, 3)).every(Number.isNaN)).toBe(true);
    expect(Array.from(y.data.subarray(3))).toEqual([1 / 3, 1 / 3, 1 / 3].map(Math.fround));
    expect(Number.isNaN(data[1])).toBe(true);
    expect(data[0]).toBe(1);
  });

  it('checks its arguments', () => {
    expect(() => softmax(tensor([1, 2], [2]), 1)).toThrow(/dim must be an integer from -1 to 0/);
    expect(() => softmax(tensor([1], []))).toThrow(/at least one dimension/);
    expect(() => softmax({ shape: [2], data: [1, 2] } as never)).toThrow(/Float32Array/);
  });
});

describe('topk', () => {
  it('matches a full sort on random rows, every k', () => {
    const random = rng(6);
    for (let trial = 0; trial < 20; trial++) {
      const n = 1 + Math.floor(random() * 60);
      // Few distinct values, so ties are common.
      const data = Float32Array.from({ length: n }, () => Math.floor(random() * 8) - 4);
      const sorted = Array.from(data, (value, index) => ({ index, value })).sort((a, b) => b.value - a.value || a.index - b.index);
      for (let k = 0; k <= n; k++) expect(topk(tensor(data, [1, n]), k)).toEqual(sorted.slice(0, k));
    }
  });

  it('NaN ranks first (as in torch.topk), then the largest', () => {
    const t = tensor(new Float32Array([1, Number.NaN, 5, -Infinity, Infinity]), [5]);
    const top = topk(t, 5);
    expect(top.map((e) => e.index)).toEqual([1, 4, 2, 0, 3]);
  });

  it('one row only; topkPerRow for a batch', () => {
    const t = tensor(new Float32Array([0, 3, 1, 9, 2, 5]), [2, 3]);
    expect(() => topk(t, 1)).toThrow(/must hold one row .* \(2 rows\); use topkPerRow/);
    expect(topkPerRow(t, 2)).toEqual([
      [{ index: 1, value: 3 }, { index: 2, value: 1 }],
      [{ index: 0, value: 9 }, { index: 2, value: 5 }],
    ]);
    expect(topk(tensor([4, 7], [1, 1, 2]), 1)).toEqual([{ index: 1, value: 7 }]);
  });

  it('checks k', () => {
    const t = tensor([1, 2, 3], [3]);
    expect(() => topk(t, 4)).toThrow(/topk: k must be a non-negative integer up to 3, got 4/);
    expect(() => topk(t, 1.5)).toThrow(RangeError);
    expect(() => topk(t, '2' as never)).toThrow(TypeError);
  });
});

describe('topClasses and imagenetClasses', () => {
  it("torchvision's 1000 class names, in output order", () => {
    expect(imagenetClasses.length).toBe(1000);
    expect(new Set(imagenetClasses).size).toBe(1000);
    expect(imagenetClasses[0]).toBe('tench');
    expect(imagenetClasses[281]).toBe('tabby');
    expect(imagenetClasses[999]).toBe('toilet tissue');
    expect(Object.isFrozen(imagenetClasses)).toBe(true);
  });

  it('labelled probabilities, top 5 by default', () => {
    const logits = new Float32Array(1000);
    logits[281] = 10;
    logits[282] = 9;
    logits[7] = 8;
    const top = topClasses(tensor(logits, [1, 1000]));
    expect(top.length).toBe(5);
    expect(top.slice(0, 3).map((c) => [c.index, c.label])).toEqual([[281, 'tabby'], [282, 'tiger cat'], [7, 'cock']]);
    const e = Math.exp;
    const total = e(10) + e(9) + e(8) + 997;
    expect(top[0]!.probability).toBeCloseTo(e(10) / total, 6);
  });

  it('custom labels and k; indices past the labels are named by number', () => {
    const top = topClasses(tensor([0.1, 2, 0.5], [3]), { k: 3, labels: ['cat', 'dog'] });
    expect(top.map((c) => c.label)).toEqual(['dog', '2', 'cat']);
    expect(() => topClasses(tensor([1], [1]), { labels: 'cat' as never })).toThrow(/labels must be an array of strings/);
    expect(() => topClasses(tensor([1], [1]), { top: 1 } as never)).toThrow(/unknown option "top"/);
  });
});
