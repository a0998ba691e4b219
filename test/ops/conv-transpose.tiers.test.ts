/**
 * convTranspose2d and convTranspose2dBackward against an independent float64 definition (each
 * input value scattered through the filter) and its finite differences, on random
 * configurations (stride, padding, outputPadding below stride or below dilation, dilation,
 * groups, unbatched, batch > 1); the validation; repeatability.
 */
import { describe, expect, it } from 'vitest';
import { convTranspose2d, convTranspose2dBackward, convTranspose2dGeometry, convTransposeOutputSize } from '../../src/index.js';
import type { ConvTranspose2dOptions, Tensor } from '../../src/index.js';
import { expectBitwiseEqual, randomTensor, rng } from '../helpers.js';

interface Config {
  x: number[];
  w: number[];
  options: { stride: [number, number]; padding: [number, number]; outputPadding: [number, number]; dilation: [number, number]; groups: number };
}

/** y[n, g·opg + o, i·s + u·d − p, j·s + v·d − p] += x[n, c, i, j] · w[c, o, u, v], in float64. */
function referenceTranspose(c: Config, x: ArrayLike<number>, w: ArrayLike<number>): { shape: number[]; data: Float64Array } {
  const batched = c.x.length === 4;
  const [N, Cin, H, W] = batched ? c.x : [1, ...c.x];
  const [, opg, kH, kW] = c.w as [number, number, number, number];
  const { stride, padding, outputPadding, dilation, groups } = c.options;
  const Ho = (H! - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kH - 1) + outputPadding[0] + 1;
  const Wo = (W! - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kW - 1) + outputPadding[1] + 1;
  const Cout = opg * groups;
  const cpg = Cin! / groups;
  const y = new Float64Array(N! * Cout * Ho * Wo);
  for (let n = 0; n < N!; n++) {
    for (let ci = 0; ci < Cin!; ci++) {
      const g = Math.floor(ci / cpg);
      for (let i = 0; i < H!; i++) {
        for (let j = 0; j < W!; j++) {
          const xv = x[((n * Cin! + ci) * H! + i) * W! + j]!;
          for (let o = 0; o < opg; o++) {
            for (let u = 0; u < kH; u++) {
              const r = i * stride[0] + u * dilation[0] - padding[0];
              if (r < 0 || r >= Ho) continue;
              for (let v = 0; v < kW; v++) {
                const s = j * stride[1] + v * dilation[1] - padding[1];
                if (s < 0 || s >= Wo) continue;
                y[((n * Cout + g * opg + o) * Ho + r) * Wo + s] += xv * w[((ci * opg + o) * kH + u) * kW + v]!;
              }
            }
          }
        }
      }
    }
  }
  return { shape: batched ? [N!, Cout, Ho, Wo] : [Cout, Ho, Wo], data: y };
}

function randomConfigs(count: number, seed: number): Config[] {
  const random = rng(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const configs: Config[] = [];
  while (configs.length < count) {
    const groups = pick([1, 1, 2, 3]);
    const cin = groups * pick([1, 2]);
    const opg = pick([1, 2, 3]);
    const kh = pick([1, 2, 3]);
    const kw = pick([1, 3, 4]);
    const stride: [number, number] = [pick([1, 2, 3]), pick([1, 2])];
    const dilation: [number, number] = [pick([1, 2]), pick([1, 3])];
    const outputPadding: [number, number] = [pick([0, 1, 2]), pick([0, 1, 2])];
    const padding: [number, number] = [pick([0, 1, 2]), pick([0, 1])];
    const h = pick([1, 2, 3, 5]);
    const w = pick([1, 3, 4, 6]);
    const x = random() < 0.2 ? [cin, h, w] : [pick([1, 2]), cin, h, w];
    const c: Config = { x, w: [cin, opg, kh, kw], options: { stride, padding, outputPadding, dilation, groups } };
    try {
      convTranspose2dGeometry(c.x, c.w, c.options);
    } catch {
      continue;
    }
    configs.push(c);
  }
  return configs;
}

const name = (c: Config): string => `x=[${c.x}] w=[${c.w}] ${JSON.stringify(c.options)}`;

function expectNear(actual: Float32Array, expected: Float64Array, tol: number, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)))) {
      throw new Error(`${label}: mismatch at flat index ${i}: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

describe('convTranspose2d and its backward against the float64 definition', () => {
  const configs = randomConfigs(60, 77);
  it('covers outputPadding ≥ stride (below dilation)', () => {
    expect(configs.some((c) => c.options.outputPadding.some((op, a) => op >= c.options.stride[a]!))).toBe(true);
  });
  configs.forEach((c, index) => {
    it(name(c), () => {
      const random = rng(900 + index);
      const x = randomTensor(c.x, random);
      const w = randomTensor(c.w, random);
      const bias = randomTensor([c.w[1]! * c.options.groups], random).data;
      const ref = referenceTranspose(c, x.data, w.data);
      const y = convTranspose2d(x, w, c.options);
      expect(y.shape).toEqual(ref.shape);
      expectNear(y.data, ref.data, 1e-5, 'forward');
      const yb = convTranspose2d(x, w, { ...c.options, bias });
      const pixels = ref.shape[ref.shape.length - 1]! * ref.shape[ref.shape.length - 2]!;
      const cout = bias.length;
      expectNear(yb.data, ref.data.map((v, k) => v + bias[Math.floor(k / pixels) % cout]!), 1e-5, 'forward with bias');
      // L = Σ dy ⊙ y is linear in x and in w: central differences are exact up to rounding.
      const dy = randomTensor(ref.shape, random);
      const lossOf = (xv: Float64Array, wv: Float64Array): number => {
        const out = referenceTranspose(c, xv, wv).data;
        let sum = 0;
        for (let k = 0; k < out.length; k++) sum += out[k]! * dy.data[k]!;
        return sum;
      };
      const x64 = Float64Array.from(x.data);
      const w64 = Float64Array.from(w.data);
      const fd = (target: Float64Array): Float64Array => {
        const grad = new Float64Array(target.length);
        for (let k = 0; k < target.length; k++) {
          const saved = target[k]!;
          target[k] = saved + 0.5;
          const plus = lossOf(x64, w64);
          target[k] = saved - 0.5;
          const minus = lossOf(x64, w64);
          target[k] = saved;
          grad[k] = plus - minus;
        }
        return grad;
      };
      const grads = convTranspose2dBackward(dy, x, w, c.options);
      expect(grads.gradInput!.shape).toEqual(c.x);
      expectNear(grads.gradInput!.data, fd(x64), 1e-5, 'gradInput');
      expectNear(grads.gradWeight!.data, fd(w64), 1e-5, 'gradWeight');
      const db = new Float64Array(cout);
      for (let k = 0; k < dy.data.length; k++) db[Math.floor(k / pixels) % cout] += dy.data[k]!;
      expectNear(grads.gradBias!.data, db, 1e-5, 'gradBias');
      const again = convTranspose2dBackward(dy, x, w, c.options);
      expectBitwiseEqual(again.gradInput!.data, grads.gradInput!.data, 'repeatable');
      expectBitwiseEqual(again.gradWeight!.data, grads.gradWeight!.data, 'repeatable');
    });
  });
});

describe('convTranspose2d options and validation', () => {
  const random = rng(3);
  const x = randomTensor([2, 4, 5, 5], random);
  const w = randomTensor([4, 3, 3, 3], random);
  const options: ConvTranspose2dOptions = { stride: 2, padding: 1, outputPadding: 1, groups: 2 };

  it('output size follows PyTorch: (H − 1)·s − 2p + d·(k − 1) + op + 1', () => {
    expect(convTransposeOutputSize(5, 2, 1, 1, 3, 1)).toBe(10);
    expect(convTranspose2d(x, w, options).shape).toEqual([2, 6, 10, 10]);
    expect(convTranspose2d({ shape: [4, 5, 5], data: x.data.slice(0, 100) }, w, options).shape).toEqual([6, 10, 10]);
  });

  it('out: writes into and returns the given tensor; grad*Out and accumulate as conv2dBackward', () => {
    const out = { shape: [2, 6, 10, 10], data: new Float32Array(1200) };
    expect(convTranspose2d(x, w, { ...options, out })).toBe(out);
    expectBitwiseEqual(out.data, convTranspose2d(x, w, options).data, 'out');
    const dy = randomTensor([2, 6, 10, 10], random);
    const full = convTranspose2dBackward(dy, x, w, options);
    const gradWeightOut = { shape: [4, 3, 3, 3], data: new Float32Array(108).fill(1) };
    convTranspose2dBackward(dy, x, w, { ...options, needs: { input: false, bias: false }, gradWeightOut, accumulate: true });
    expectBitwiseEqual(gradWeightOut.data, full.gradWeight!.data.map((v) => Math.fround(v + 1)), 'accumulate');
    const only = convTranspose2dBackward(dy, x, w, { ...options, needs: { weight: false, bias: false } });
    expect(only.gradWeight).toBeNull();
    expectBitwiseEqual(only.gradInput!.data, full.gradInput!.data, 'needs');
  });

  it('rejects bad calls before any work, naming the parameter', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ stride: 2, outputPadding: 2 }, /outputPadding must be smaller than either stride or dilation: outputPadding\[0\]=2, stride\[0\]=2, dilation\[0\]=1/],
      [{ stride: 1, dilation: 2, outputPadding: [0, 2] }, /outputPadding\[1\]=2, stride\[1\]=1, dilation\[1\]=2/],
      [{ padding: 4 }, /output size must be at least 1x1, got -1x-1/],
      [{ padding: 'same' }, /padding of a transposed convolution must be an integer or a pair/],
      [{ padding: { top: 1, bottom: 1, left: 1, right: 1 } }, /padding of a transposed convolution must be an integer or a pair/],
      [{ groups: 3 }, /in_channels must be divisible by groups/],
      [{ paddingMode: 'reflect' }, /unknown option "paddingMode"/],
      [{ outputPadding: -1 }, /outputPadding must be a non-negative integer/],
      [{ bias: new Float32Array(5) }, /bias length must equal out_channels = 3/],
      [{ out: { shape: [2, 3, 7, 6], data: new Float32Array(252) } }, /out.shape must be \[2, 3, 7, 7\], got \[2, 3, 7, 6\]/],
    ];
    for (const [opts, message] of bad) {
      expect(() => convTranspose2d(x, w, opts as ConvTranspose2dOptions), message.source).toThrow(message);
    }
    expect(() => convTranspose2d(x, randomTensor([3, 3, 3, 3], random))).toThrow(/weight.shape\[0\] must equal in_channels = 4/);
    const memory = new Float32Array(400);
    const xShared = { shape: x.shape, data: memory.subarray(0, 200) };
    expect(() => convTranspose2d(xShared, w, { out: { shape: [2, 3, 7, 7], data: memory.subarray(100, 394) } })).toThrow(/out must not share memory with input/);
    const dy: Tensor = { shape: [2, 6, 10, 9], data: new Float32Array(1080) };
    expect(() => convTranspose2dBackward(dy, x, w, options)).toThrow(/gradOutput.shape must be the forward output's shape \[2, 6, 10, 10\], got \[2, 6, 10, 9\]/);
    expect(() => convTranspose2dBackward({ shape: [2, 6, 10, 10], data: new Float32Array(1200) }, x, w, { ...options, out: undefined, needs: { input: 'no' } } as never)).toThrow(/needs.input must be a boolean/);
  });
});
