/** Tensors: construction, zeros, and how ndarray views are recognised and gathered. */
import { describe, it, expect } from 'vitest';
import ndarray from 'ndarray';
import { asTensor, isNdArrayView, shapeSize, tensor, zeros } from '../src/index.js';

describe('tensor()', () => {
  it('wraps a Float32Array without copying it', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = tensor(data, [2, 3]);
    expect(t.data).toBe(data);
    expect(t.shape).toEqual([2, 3]);
  });
  it('copies a plain array of numbers into a new Float32Array', () => {
    const t = tensor([1, 2.5, -3], [3]);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t.data)).toEqual([1, 2.5, -3]);
  });
  it('copies the shape, so changing the caller\'s array later has no effect', () => {
    const shape = [2, 2];
    const t = tensor(new Float32Array(4), shape);
    shape[0] = 9;
    expect(t.shape).toEqual([2, 2]);
  });
  it('accepts a scalar shape [] with one element', () => {
    expect(tensor(new Float32Array([7]), []).shape).toEqual([]);
  });
});

describe('zeros()', () => {
  it('allocates a zero-filled tensor of the shape', () => {
    const t = zeros([2, 3, 4]);
    expect(t.shape).toEqual([2, 3, 4]);
    expect(t.data.length).toBe(24);
    expect(t.data.every((v) => v === 0)).toBe(true);
    expect(t.data.buffer).toBeInstanceOf(ArrayBuffer);
  });
  it('puts the data in a SharedArrayBuffer with { shared: true }', () => {
    const t = zeros([5], { shared: true });
    expect(t.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(t.data.length).toBe(5);
  });
});

describe('shapeSize()', () => {
  it('is the product of the dimensions, 1 for a scalar', () => {
    expect(shapeSize([2, 3, 4])).toBe(24);
    expect(shapeSize([])).toBe(1);
  });
});

describe('asTensor()', () => {
  it('returns a contiguous tensor object itself, without copying', () => {
    const t = tensor(new Float32Array(6), [2, 3]);
    expect(asTensor(t, 'x')).toBe(t);
  });
  it('accepts a contiguous ndarray covering its data without copying the data', () => {
    const data = new Float32Array(6);
    const t = asTensor(ndarray(data, [2, 3]), 'x');
    expect(t.data).toBe(data);
    expect(t.shape).toEqual([2, 3]);
  });
  it('recognises ndarray views structurally', () => {
    expect(isNdArrayView(ndarray(new Float32Array(4), [2, 2]))).toBe(true);
    expect(isNdArrayView({ shape: [4], data: new Float32Array(4), stride: [1], offset: 0 })).toBe(true);
    expect(isNdArrayView(tensor(new Float32Array(4), [4]))).toBe(false);
    expect(isNdArrayView(null)).toBe(false);
  });
  it('gathers transposed, offset and negative-stride views in row-major order, leaving the source alone', () => {
    const source = Float32Array.from({ length: 24 }, (_, i) => i);
    const before = new Float32Array(source);
    const base = ndarray(source, [2, 3, 4]);
    const views = [base.transpose(2, 0, 1), base.lo(1, 1, 1), base.hi(2, 2, 3).lo(0, 1, 1), base.step(-1, 1, -2), base.step(1, -1, -1).transpose(1, 0, 2)];
    for (const view of views) {
      const t = asTensor(view, 'x');
      expect(t.shape).toEqual(view.shape);
      const expected: number[] = [];
      const [a, b, c] = view.shape as [number, number, number];
      for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let k = 0; k < c; k++) expected.push(view.get(i, j, k));
      expect(Array.from(t.data)).toEqual(expected);
      expect(t.data).not.toBe(source);
    }
    expect(source).toEqual(before);
  });
  it('copies an offset view even when its elements happen to be contiguous', () => {
    const source = Float32Array.from({ length: 8 }, (_, i) => i);
    const t = asTensor(ndarray(source, [2, 2], [2, 1], 4), 'x');
    expect(Array.from(t.data)).toEqual([4, 5, 6, 7]);
    expect(t.data).not.toBe(source);
  });
});
