/**
 * conv2dBackward and its reference: the reference against finite differences of the float64
 * forward reference on random configurations (every padding form and mode, groups, stride,
 * dilation, unbatched, batch > 1), conv2dBackward against the reference, and the API: `needs`,
 * preallocated outputs, `accumulate`, aliasing and repeatability.
 */
import { describe, expect, it } from 'vitest';
import { conv2dBackward, conv2dGeometry, referenceConv2dBackward } from '../../src/index.js';
import type { Conv2dBackwardOptions, PaddingMode, Padding, Tensor } from '../../src/index.js';
import { referenceConvolve } from '../../src/kernels/reference.js';
import { countTypedArrays, expectBitwiseEqual, expectClose, randomTensor, rng } from '../helpers.js';

interface Config {
  x: number[];
  w: number[];
  options: Conv2dBackwardOptions;
}

/** L = Σ dy ⊙ conv(x, w) in float64. */
function loss(c: Config, x: Float64Array, w: Float64Array, dy: Float32Array): number {
  const g = conv2dGeometry(c.x, c.w, c.options);
  const y = new Float64Array(dy.length);
  referenceConvolve(g, x, w, null, 0, y);
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += y[i]! * dy[i]!;
  return sum;
}

/** Central differences of L with respect to every element of `which` (L is linear in each, so they are exact up to rounding). */
function finiteDifferences(c: Config, x: Tensor, w: Tensor, dy: Tensor, which: 'input' | 'weight'): Float64Array {
  const x64 = Float64Array.from(x.data);
  const w64 = Float64Array.from(w.data);
  const target = which === 'input' ? x64 : w64;
  const grad = new Float64Array(target.length);
  const h = 0.5;
  for (let k = 0; k < target.length; k++) {
    const saved = target[k]!;
    target[k] = saved + h;
    const plus = loss(c, x64, w64, dy.data);
    target[k] = saved - h;
    const minus = loss(c, x64, w64, dy.data);
    target[k] = saved;
    grad[k] = (plus - minus) / (2 * h);
  }
  return grad;
}

function expectCloseTo64(actual: Float32Array, expected: Float64Array, tol: number, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    if (!(err <= tol * (1 + Math.abs(expected[i]!)))) {
      throw new Error(`${label}: mismatch at flat index ${i}: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

const MODES: PaddingMode[] = ['zeros', 'reflect', 'replicate', 'circular'];

/** Random small configurations that PyTorch accepts. */
function randomConfigs(count: number, seed: number): Config[] {
  const random = rng(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const configs: Config[] = [];
  while (configs.length < count) {
    const groups = pick([1, 1, 2, 3]);
    const cin = groups * pick([1, 2]);
    const cout = groups * pick([1, 2]);
    const kh = pick([1, 2, 3]);
    const kw = pick([1, 3, 4]);
    const stride: [number, number] = [pick([1, 2, 3]), pick([1, 2])];
    const dilation: [number, number] = [pick([1, 2]), pick([1, 3])];
    const h = pick([3, 4, 6, 7]);
    const w = pick([3, 5, 8]);
    const mode = pick(MODES);
    const stride1 = stride[0] === 1 && stride[1] === 1;
    const padding: Padding = pick<Padding>([
      0, 1, [1, 2], 'valid', stride1 ? 'same' : 2,
      { top: pick([0, 1, 2]), bottom: pick([0, 1, 2]), left: pick([0, 1, 2]), right: pick([0, 1, 3]) },
    ]);
    const batch = pick([1, 2, 3]);
    const unbatched = random() < 0.2;
    const x = unbatched ? [cin, h, w] : [batch, cin, h, w];
    const options: Conv2dBackwardOptions = { stride, dilation, padding, groups, paddingMode: mode };
    try {
      conv2dGeometry(x, [cout, cin / groups, kh, kw], options);
    } catch {
      continue;
    }
    configs.push({ x, w: [cout, cin / groups, kh, kw], options });
  }
  return configs;
}

const name = (c: Config): string => `x=[${c.x}] w=[${c.w}] ${JSON.stringify(c.options)}`;

describe('referenceConv2dBackward = finite differences of the float64 forward reference', () => {
  randomConfigs(40, 12).forEach((c, index) => {
    it(name(c), () => {
      const random = rng(100 + index);
      const x = randomTensor(c.x, random);
      const w = randomTensor(c.w, random);
      const g = conv2dGeometry(c.x, c.w, c.options);
      const dy = randomTensor(g.outputShape, random);
      const grads = referenceConv2dBackward(dy, x, w, c.options);
      expect(grads.gradInput!.shape).toEqual(c.x);
      expectCloseTo64(grads.gradInput!.data, finiteDifferences(c, x, w, dy, 'input'), 1e-6, 'gradInput');
      expectCloseTo64(grads.gradWeight!.data, finiteDifferences(c, x, w, dy, 'weight'), 1e-6, 'gradWeight');
      const db = new Float64Array(g.outChannels);
      const pixels = g.outHeight * g.outWidth;
      for (let k = 0; k < dy.data.length; k++) db[Math.floor(k / pixels) % g.outChannels] += dy.data[k]!;
      expectCloseTo64(grads.gradBias!.data, db, 1e-6, 'gradBias');
    });
  });
});

describe('conv2dBackward = referenceConv2dBackward on random configurations', () => {
  randomConfigs(80, 34).forEach((c, index) => {
    it(name(c), () => {
      const random = rng(500 + index);
      const x = randomTensor(c.x, random);
      const w = randomTensor(c.w, random);
      const dy = randomTensor(conv2dGeometry(c.x, c.w, c.options).outputShape, random);
      const xCopy = x.data.slice();
      const wCopy = w.data.slice();
      const dyCopy = dy.data.slice();
      const got = conv2dBackward(dy, x, w, c.options);
      const ref = referenceConv2dBackward(dy, x, w, c.options);
      expectClose(got.gradInput!, ref.gradInput!, 1e-5, 'gradInput');
      expectClose(got.gradWeight!, ref.gradWeight!, 1e-5, 'gradWeight');
      expectClose(got.gradBias!, ref.gradBias!, 1e-5, 'gradBias');
      expectBitwiseEqual(x.data, xCopy, 'input unchanged');
      expectBitwiseEqual(w.data, wCopy, 'weight unchanged');
      expectBitwiseEqual(dy.data, dyCopy, 'gradOutput unchanged');
      const again = conv2dBackward(dy, x, w, c.options);
      expectBitwiseEqual(again.gradInput!.data, got.gradInput!.data, 'gradInput repeatable');
      expectBitwiseEqual(again.gradWeight!.data, got.gradWeight!.data, 'gradWeight repeatable');
    });
  });
});

describe('conv2dBackward options', () => {
  const random = rng(7);
  const x = randomTensor([2, 4, 6, 5], random);
  const w = randomTensor([6, 2, 3, 3], random);
  const options: Conv2dBackwardOptions = { padding: 1, groups: 2, paddingMode: 'reflect' };
  const dy = randomTensor([2, 6, 6, 5], random);
  const full = conv2dBackward(dy, x, w, options);

  it('needs: computes only what is asked, the rest is null', () => {
    for (const needs of [{ input: false }, { weight: false }, { bias: false }, { input: false, weight: false, bias: false }, {}]) {
      const got = conv2dBackward(dy, x, w, { ...options, needs });
      expect(got.gradInput === null).toBe(needs.input === false);
      expect(got.gradWeight === null).toBe(needs.weight === false);
      expect(got.gradBias === null).toBe(needs.bias === false);
      if (got.gradInput) expectBitwiseEqual(got.gradInput.data, full.gradInput!.data, 'gradInput');
      if (got.gradWeight) expectBitwiseEqual(got.gradWeight.data, full.gradWeight!.data, 'gradWeight');
    }
  });

  it('grad*Out: writes into and returns the given tensors', () => {
    const gradInputOut = { shape: [2, 4, 6, 5], data: new Float32Array(240).fill(9) };
    const gradWeightOut = { shape: [6, 2, 3, 3], data: new Float32Array(108).fill(9) };
    const gradBiasOut = { shape: [6], data: new Float32Array(6).fill(9) };
    const got = conv2dBackward(dy, x, w, { ...options, gradInputOut, gradWeightOut, gradBiasOut });
    expect(got.gradInput).toBe(gradInputOut);
    expect(got.gradWeight).toBe(gradWeightOut);
    expect(got.gradBias).toBe(gradBiasOut);
    expectBitwiseEqual(gradInputOut.data, full.gradInput!.data, 'gradInput');
    expectBitwiseEqual(gradWeightOut.data, full.gradWeight!.data, 'gradWeight');
    expectBitwiseEqual(gradBiasOut.data, full.gradBias!.data, 'gradBias');
  });

  it('accumulate: adds into the given tensors', () => {
    const gradInputOut = { shape: [2, 4, 6, 5], data: new Float32Array(240).fill(0.5) };
    const gradWeightOut = { shape: [6, 2, 3, 3], data: new Float32Array(108).fill(0.5) };
    const gradBiasOut = { shape: [6], data: new Float32Array(6).fill(0.5) };
    conv2dBackward(dy, x, w, { ...options, gradInputOut, gradWeightOut, gradBiasOut, accumulate: true });
    const plusHalf = (t: Tensor): Tensor => ({ shape: t.shape, data: t.data.map((v) => Math.fround(v + 0.5)) });
    expectBitwiseEqual(gradInputOut.data, plusHalf(full.gradInput!).data, 'gradInput');
    expectBitwiseEqual(gradWeightOut.data, plusHalf(full.gradWeight!).data, 'gradWeight');
    expectBitwiseEqual(gradBiasOut.data, plusHalf(full.gradBias!).data, 'gradBias');
    const fresh = conv2dBackward(dy, x, w, { ...options, accumulate: true });
    expectBitwiseEqual(fresh.gradWeight!.data, full.gradWeight!.data, 'no out: from zero');
  });

  it('accepts the forward options object (bias, activation none)', () => {
    const got = conv2dBackward(dy, x, w, { ...options, bias: new Float32Array(6), activation: 'none' });
    expectBitwiseEqual(got.gradInput!.data, full.gradInput!.data, 'gradInput');
  });

  it('unbatched input gives an unbatched gradInput equal to batch item 0', () => {
    const x0 = { shape: [4, 6, 5], data: x.data.slice(0, 120) };
    const dy0 = { shape: [6, 6, 5], data: dy.data.slice(0, 180) };
    const got = conv2dBackward(dy0, x0, w, options);
    const batched = conv2dBackward({ shape: [1, 6, 6, 5], data: dy0.data }, { shape: [1, 4, 6, 5], data: x0.data }, w, options);
    expect(got.gradInput!.shape).toEqual([4, 6, 5]);
    expectBitwiseEqual(got.gradInput!.data, batched.gradInput!.data, 'gradInput');
    expectBitwiseEqual(got.gradWeight!.data, batched.gradWeight!.data, 'gradWeight');
  });

  it('rejects bad calls before any work, naming the parameter', () => {
    const bad: [Conv2dBackwardOptions | Record<string, unknown>, RegExp][] = [
      [{ ...options, activation: 'relu' }, /activation must be 'none'/],
      [{ ...options, out: { shape: [2, 6, 6, 5], data: new Float32Array(360) } }, /unknown option "out"/],
      [{ ...options, needs: { grad: true } }, /unknown option "grad"/],
      [{ ...options, needs: { input: 1 } }, /needs.input must be a boolean/],
      [{ ...options, needs: 'all' }, /needs must be an object/],
      [{ ...options, accumulate: 'yes' }, /accumulate must be a boolean/],
      [{ ...options, gradInputOut: { shape: [2, 4, 6, 6], data: new Float32Array(288) } }, /gradInputOut.shape must be \[2, 4, 6, 5\]/],
      [{ ...options, gradWeightOut: { shape: [6, 2, 3, 3], data: w.data } }, /gradWeightOut must not share memory with weight/],
      [{ ...options, gradInputOut: { shape: [2, 4, 6, 5], data: new Float32Array(dy.data.buffer, 0, 240) } }, /gradInputOut must not share memory with gradOutput/],
      [{ ...options, gradBiasOut: { shape: [5], data: new Float32Array(5) } }, /gradBiasOut.shape must be \[6\]/],
      [{ ...options, gradBiasOut: new Float32Array(6) }, /gradBiasOut must be a Tensor \(\{ shape, data: Float32Array \}\) of shape \[6\], got Float32Array/],
      [{ ...options, needs: { bias: false }, gradBiasOut: { shape: [6], data: new Float32Array(6) } }, /gradBiasOut was given but needs.bias is false/],
    ];
    for (const [opts, message] of bad) {
      expect(() => conv2dBackward(dy, x, w, opts as Conv2dBackwardOptions), message.source).toThrow(message);
    }
    const shared = new Float32Array(400);
    expect(() =>
      conv2dBackward(dy, x, w, {
        ...options,
        gradInputOut: { shape: [2, 4, 6, 5], data: shared.subarray(0, 240) },
        gradWeightOut: { shape: [6, 2, 3, 3], data: shared.subarray(200, 308) },
      }),
    ).toThrow(/gradWeightOut must not share memory with gradInputOut/);
    expect(() => conv2dBackward({ shape: [2, 6, 6, 4], data: new Float32Array(288) }, x, w, options)).toThrow(
      /gradOutput.shape must be the forward output's shape \[2, 6, 6, 5\], got \[2, 6, 6, 4\]/,
    );
    expect(() => conv2dBackward(dy, x, w, { ...options, groups: 3 })).toThrow(RangeError);
  });
});

describe('conv2dBackward steady state', () => {
  it('allocates no typed arrays with preallocated outputs (every path, both tiers)', () => {
    const random = rng(21);
    const cases: [number[], number[], Conv2dBackwardOptions][] = [
      [[2, 8, 9, 9], [8, 1, 3, 3], { groups: 8, padding: 1 }],
      [[2, 8, 9, 9], [16, 1, 3, 3], { groups: 8, padding: 1, stride: 2 }],
      [[2, 8, 9, 9], [8, 1, 5, 5], { groups: 8, padding: 2 }],
      [[2, 8, 9, 9], [12, 8, 1, 1], {}],
      [[2, 8, 9, 9], [12, 4, 1, 1], { stride: 2, groups: 2 }],
      [[2, 8, 9, 9], [12, 8, 3, 3], { padding: 1 }],
      [[2, 8, 9, 9], [12, 8, 3, 3], { padding: 1, stride: 2, paddingMode: 'reflect' }],
    ];
    for (const backend of ['wasm', 'js'] as const) {
      for (const [xs, ws, options] of cases) {
        const x = randomTensor(xs, random);
        const w = randomTensor(ws, random);
        const dy = randomTensor(conv2dGeometry(xs, ws, options).outputShape, random);
        const outs = {
          gradInputOut: { shape: xs, data: new Float32Array(x.data.length) },
          gradWeightOut: { shape: ws, data: new Float32Array(w.data.length) },
          gradBiasOut: { shape: [ws[0]!], data: new Float32Array(ws[0]!) },
        };
        const call = (): void => {
          conv2dBackward(dy, x, w, { ...options, ...outs, backend });
          conv2dBackward(dy, x, w, { ...options, ...outs, backend, accumulate: true });
        };
        call();
        expect(countTypedArrays(call), `${backend} x=[${xs}] w=[${ws}] ${JSON.stringify(options)}`).toBe(0);
      }
    }
  });
});
