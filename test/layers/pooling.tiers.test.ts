import { describe, expect, it } from 'vitest';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, poolOutputSize, type Tensor } from '../../src/index.js';
import { randomTensor, rng } from '../helpers.js';

/**
 * Independent reference: builds the padded plane explicitly (filled with `fill`) and reduces each
 * window of it, one output at a time.
 */
function naivePool(
  x: Tensor, k: [number, number], s: [number, number], pad: { top: number; bottom: number; left: number; right: number },
  d: [number, number], outH: number, outW: number, fill: number, reduce: (values: number[]) => number,
): Float32Array {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  // Enough room for ceil-mode windows that run past the padded edge.
  const H = h + pad.top + pad.bottom + k[0] * d[0] + s[0];
  const W = w + pad.left + pad.right + k[1] * d[1] + s[1];
  const out = new Float32Array(n * c * outH * outW);
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    const padded = new Array<number>(H * W).fill(NaN);
    for (let i = 0; i < h + pad.top + pad.bottom; i++) for (let j = 0; j < w + pad.left + pad.right; j++) padded[i * W + j] = fill;
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) padded[(i + pad.top) * W + j + pad.left] = x.data[plane * h * w + i * w + j]!;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const values: number[] = [];
        for (let p = 0; p < k[0]; p++) for (let q = 0; q < k[1]; q++) values.push(padded[(oy * s[0] + p * d[0]) * W + ox * s[1] + q * d[1]]!);
        out[o++] = reduce(values.filter((v) => !Number.isNaN(v)));
      }
    }
  }
  return out;
}

const max = (v: number[]): number => Math.max(...v);

describe('MaxPool2d', () => {
  const cases: [string, ConstructorParameters<typeof MaxPool2d>[0], number[], [number, number], [number, number], { top: number; bottom: number; left: number; right: number }, [number, number]][] = [
    ['k2 (stride = kernel)', 2, [2, 3, 8, 9], [2, 2], [2, 2], { top: 0, bottom: 0, left: 0, right: 0 }, [1, 1]],
    ['k3 s2 p1', { kernelSize: 3, stride: 2, padding: 1 }, [1, 2, 9, 8], [3, 3], [2, 2], { top: 1, bottom: 1, left: 1, right: 1 }, [1, 1]],
    ['k3 s2 ceil', { kernelSize: 3, stride: 2, ceilMode: true }, [1, 2, 8, 10], [3, 3], [2, 2], { top: 0, bottom: 0, left: 0, right: 0 }, [1, 1]],
    ['k[2,3] s[1,2] d2 p[1,1]', { kernelSize: [2, 3], stride: [1, 2], dilation: 2, padding: [1, 1] }, [1, 2, 7, 9], [2, 3], [1, 2], { top: 1, bottom: 1, left: 1, right: 1 }, [2, 2]],
    ['TF SAME 2x2 s2 on odd size', { kernelSize: 2, stride: 2, padding: { top: 0, bottom: 1, left: 0, right: 1 } }, [1, 3, 7, 7], [2, 2], [2, 2], { top: 0, bottom: 1, left: 0, right: 1 }, [1, 1]],
    ['TF SAME 2x2 s1', { kernelSize: 2, stride: 1, padding: { top: 0, bottom: 1, left: 0, right: 1 } }, [2, 2, 5, 6], [2, 2], [1, 1], { top: 0, bottom: 1, left: 0, right: 1 }, [1, 1]],
  ];
  for (const [label, options, shape, k, s, pad, d] of cases) {
    it(`${label}: matches a padded-plane reference (padding never wins)`, () => {
      const pool = new MaxPool2d(options);
      // All-negative inputs make a padded zero win if padding were treated as 0.
      const x = randomTensor(shape, rng(shape.length * 7 + shape[2]!));
      x.data.forEach((v, i) => (x.data[i] = -Math.abs(v) - 0.1));
      const y = pool.forward(x);
      const [outH, outW] = y.shape.slice(-2) as [number, number];
      expect(y.data).toEqual(naivePool(x, k, s, pad, d, outH, outW, -Infinity, max));
      expect(pool.outputShape(shape)).toEqual(y.shape);
    });
  }

  it('output sizes follow PyTorch (ceil mode drops a window that would start in the right padding)', () => {
    expect(poolOutputSize(8, 0, 0, 3, 2, 1, false)).toBe(3);
    expect(poolOutputSize(8, 0, 0, 3, 2, 1, true)).toBe(4);
    expect(poolOutputSize(5, 1, 1, 2, 2, 1, true)).toBe(3); // ceil gives 4, but the 4th would start at 6 >= 5 + 1
    expect(new MaxPool2d({ kernelSize: 2, stride: 2, padding: { top: 0, bottom: 1, left: 0, right: 1 } }).outputShape([1, 1, 207, 207])).toEqual([1, 1, 104, 104]);
    expect(new MaxPool2d({ kernelSize: 2, stride: 1, padding: { top: 0, bottom: 1, left: 0, right: 1 } }).outputShape([1, 1, 13, 13])).toEqual([1, 1, 13, 13]);
  });

  it('NaN propagates; bad options are rejected with the parameter named', () => {
    const x: Tensor = { shape: [1, 1, 2, 2], data: new Float32Array([1, NaN, 3, 2]) };
    expect(Number.isNaN(new MaxPool2d(2).forward(x).data[0])).toBe(true);
    for (const at of [0, 3]) {
      const data = new Float32Array([1, 5, 3, 2]);
      data[at] = NaN;
      expect(Number.isNaN(new MaxPool2d(2).forward({ shape: [1, 1, 2, 2], data }).data[0]), `NaN at ${at}`).toBe(true);
      expect(Number.isNaN(new MaxPool2d({ kernelSize: 3, padding: 1 }).forward({ shape: [1, 1, 2, 2], data }).data[0]), `3x3 NaN at ${at}`).toBe(true);
    }
    expect(() => new MaxPool2d({ kernelSize: 2, padding: 2 })).toThrow(/padding should be at most half/);
    expect(() => new MaxPool2d({ kernelSize: 2, stride: 1, padding: { top: 2, bottom: 0, left: 0, right: 0 } }).forward(x)).toThrow(/row 0 would pool over padding only/);
    expect(() => new MaxPool2d({ kernelSize: 3 }).forward(x)).toThrow(/output size must be at least 1x1/);
    expect(() => new MaxPool2d({ kernelSize: 2, padding: { top: 0, bottom: 1 } as never })).toThrow(/padding.left must be a non-negative integer/);
    expect(() => new MaxPool2d({ kernel: 2 } as never)).toThrow(/unknown option "kernel"/);
  });
});

describe('AvgPool2d', () => {
  it('count_include_pad=True divides by the padded window (PyTorch default)', () => {
    // 1 channel 3x3 of ones, k3 s1 p1: corners see 4 ones out of 9 cells.
    const x: Tensor = { shape: [1, 1, 3, 3], data: new Float32Array(9).fill(1) };
    const y = new AvgPool2d({ kernelSize: 3, stride: 1, padding: 1 }).forward(x);
    expect(Array.from(y.data)).toEqual([4 / 9, 6 / 9, 4 / 9, 6 / 9, 1, 6 / 9, 4 / 9, 6 / 9, 4 / 9].map(Math.fround));
    const exclude = new AvgPool2d({ kernelSize: 3, stride: 1, padding: 1, countIncludePad: false }).forward(x);
    expect(Array.from(exclude.data)).toEqual(new Array(9).fill(1));
    const override = new AvgPool2d({ kernelSize: 3, stride: 1, padding: 1, divisorOverride: 2 }).forward(x);
    expect(override.data[4]).toBe(4.5);
  });

  it('matches a padded-plane reference, including ceil mode windows past the padded edge', () => {
    const x = randomTensor([2, 2, 7, 8], rng(3));
    // ceil mode: PyTorch divides by the window clipped to the padded input (count_include_pad).
    const pool = new AvgPool2d({ kernelSize: 3, stride: 2, padding: 1, ceilMode: true });
    const y = pool.forward(x);
    expect(y.shape).toEqual([2, 2, 4, 5]);
    const paddedCount = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
    expect(Array.from(y.data).map((v) => v.toFixed(5))).toEqual(
      Array.from(naivePool(x, [3, 3], [2, 2], { top: 1, bottom: 1, left: 1, right: 1 }, [1, 1], 4, 5, 0, paddedCount)).map((v) => v.toFixed(5)),
    );
  });
});

describe('AdaptiveAvgPool2d', () => {
  it('(1) is the global mean; (2, 3) uses floor/ceil bin edges', () => {
    const x = randomTensor([2, 3, 5, 7], rng(4));
    const y = new AdaptiveAvgPool2d(1).forward(x);
    expect(y.shape).toEqual([2, 3, 1, 1]);
    for (let p = 0; p < 6; p++) {
      let s = 0;
      for (let i = 0; i < 35; i++) s += x.data[p * 35 + i]!;
      expect(y.data[p]).toBe(Math.fround(s / 35));
    }
    const z = new AdaptiveAvgPool2d([2, 3]).forward({ shape: [1, 5, 7], data: x.data.subarray(0, 35) });
    expect(z.shape).toEqual([1, 2, 3]);
    // Row bins [0,3) and [2,5); column bins [0,3), [2,5), [4,7).
    let s = 0;
    for (let i = 2; i < 5; i++) for (let j = 2; j < 5; j++) s += x.data[i * 7 + j]!;
    expect(z.data[4]).toBe(Math.fround(s / 9));
  });
});
