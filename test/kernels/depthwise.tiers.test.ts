/**
 * The depthwise path: the specialised 3×3 stride-1/stride-2 plane kernels and the general plane
 * kernel, called directly (with offsets, sentinel-filled outputs and poisoned memory around the
 * input plane), then the whole path through the dispatcher (batch, channel multiplier, bias,
 * activation, channel ranges), always against `referenceConv2d`.
 */
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { depthwise3x3s1 } from '../../src/kernels/depthwise-3x3s1.js';
import { depthwise3x3s2 } from '../../src/kernels/depthwise-3x3s2.js';
import { depthwisePlane } from '../../src/kernels/depthwise.js';
import { conv2d, depthwiseConv2d } from '../../src/ops/conv2d.js';
import { executeConv2d, selectKernelPath } from '../../src/kernels/dispatch.js';
import { conv2dGeometry } from '../../src/geometry.js';
import { referenceConv2d } from '../../src/kernels/reference.js';
import { Scratch } from '../../src/kernels/scratch.js';
import { validateConv2d } from '../../src/kernels/validate.js';
import type { Activation } from '../../src/epilogue.js';
import type { Tensor } from '../../src/tensor.js';
import { ACTS, expectBitwiseEqual, expectClose, randomTensor, rng } from '../helpers.js';

/** Every combination of top, bottom, left, right in {0, 1}. */
const PADS = Array.from({ length: 16 }, (_, m) => ({ top: m & 1, bottom: (m >> 1) & 1, left: (m >> 2) & 1, right: (m >> 3) & 1 }));
const padName = (p: { top: number; bottom: number; left: number; right: number }): string => `${p.top}.${p.bottom}.${p.left}.${p.right}`;
/** 1..9, then around two-row/two-column steps of a larger plane. */
const SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 15, 16, 17];

type PlaneKernel = (
  x: Float32Array, xOff: number, H: number, W: number, w: Float32Array, wOff: number,
  padTop: number, padLeft: number, bias: number, act: number,
  y: Float32Array, yOff: number, Ho: number, Wo: number,
) => void;

const general = (stride: number): PlaneKernel => (x, xOff, H, W, w, wOff, padTop, padLeft, bias, act, y, yOff, Ho, Wo) =>
  depthwisePlane(x, xOff, H, W, w, wOff, 3, 3, stride, stride, 1, 1, padTop, padLeft, bias, act, y, yOff, Ho, Wo);

const KERNELS: readonly [string, number, PlaneKernel][] = [
  ['depthwise3x3s1', 1, depthwise3x3s1],
  ['depthwise3x3s2', 2, depthwise3x3s2],
  ['depthwisePlane s1', 1, general(1)],
  ['depthwisePlane s2', 2, general(2)],
];

const POISON = 1e30;
const GUARD = 7;

/**
 * Runs one plane kernel on a plane placed inside larger arrays: memory around the input plane
 * holds a huge value (reading it would wreck the result) and the output array is NaN-filled, so
 * the test sees both stray reads and any write outside (or missing inside) the output plane.
 */
function checkPlane(
  kernel: PlaneKernel, label: string, H: number, W: number, stride: number,
  pad: { top: number; bottom: number; left: number; right: number }, seed: number,
): number {
  const g = conv2dGeometry([1, 1, H, W], [1, 1, 3, 3], { stride, padding: pad });
  const { outHeight: Ho, outWidth: Wo } = g;
  const random = rng(seed);
  const input = randomTensor([1, 1, H, W], random);
  const weight = randomTensor([1, 1, 3, 3], random);
  const bias = Math.fround(random() * 2 - 1);
  const x = new Float32Array(H * W + 2 * GUARD).fill(POISON);
  x.set(input.data, GUARD);
  const w = new Float32Array(9 + 5).fill(POISON);
  w.set(weight.data, 3);
  let checked = 0;
  for (const [act, code] of ACTS) {
    const expected = referenceConv2d(input, weight, { stride, padding: pad, bias: new Float32Array([bias]), activation: act });
    const y = new Float32Array(Ho * Wo + 2 * GUARD).fill(NaN);
    kernel(x, GUARD, H, W, w, 3, pad.top, pad.left, bias, code, y, GUARD, Ho, Wo);
    const name = `${label} act=${act}`;
    for (let k = 0; k < GUARD; k++) {
      if (!Number.isNaN(y[k]!) || !Number.isNaN(y[GUARD + Ho * Wo + k]!)) throw new Error(`${name}: wrote outside the output plane`);
    }
    const plane = y.subarray(GUARD, GUARD + Ho * Wo);
    for (let k = 0; k < plane.length; k++) {
      if (Number.isNaN(plane[k]!)) throw new Error(`${name}: output (${Math.floor(k / Wo)}, ${k % Wo}) not written`);
    }
    expectClose({ shape: expected.shape, data: plane }, expected, 1e-5, name);
    // And against the general kernel on the same plane (the specialised kernels' other oracle).
    const viaGeneral = new Float32Array(Ho * Wo);
    depthwisePlane(x, GUARD, H, W, w, 3, 3, 3, stride, stride, 1, 1, pad.top, pad.left, bias, code, viaGeneral, 0, Ho, Wo);
    expectClose({ shape: expected.shape, data: plane }, { shape: expected.shape, data: viaGeneral }, 1e-5, `${name} vs depthwisePlane`);
    checked++;
  }
  return checked;
}

describe('depthwise plane kernels vs referenceConv2d (offsets, NaN sentinel, poisoned surroundings)', () => {
  for (const [label, stride, kernel] of KERNELS) {
    for (const pad of PADS) {
      for (const H of SIZES) {
        it(`${label} H=${H} W=${SIZES.join('|')} k=3 s=${stride} p=${padName(pad)}`, () => {
          let seed = H * 1000 + pad.top * 8 + pad.bottom * 4 + pad.left * 2 + pad.right;
          let checked = 0;
          for (const W of SIZES) {
            const Hp = H + pad.top + pad.bottom;
            const Wp = W + pad.left + pad.right;
            if (Hp < 3 || Wp < 3) continue;
            checked += checkPlane(kernel, `${label} x=[${H},${W}] s=${stride} p=${padName(pad)}`, H, W, stride, pad, seed++);
          }
          if (H + pad.top + pad.bottom >= 3) expect(checked).toBeGreaterThan(0);
        });
      }
    }
  }
});

describe('depthwisePlane (general kernel): other sizes, strides, dilations and wide padding', () => {
  const cases: { k: [number, number]; s: [number, number]; d: [number, number]; pad: { top: number; bottom: number; left: number; right: number } }[] = [];
  for (const k of [[1, 1], [2, 2], [3, 3], [5, 5], [3, 5], [2, 4], [7, 7], [3, 9]] as [number, number][]) {
    for (const s of [[1, 1], [2, 2], [3, 3], [1, 2]] as [number, number][]) {
      for (const d of [[1, 1], [2, 2], [1, 3]] as [number, number][]) {
        cases.push({ k, s, d, pad: { top: 2, bottom: 1, left: 0, right: 3 } });
        cases.push({ k, s, d, pad: { top: 0, bottom: 0, left: 1, right: 1 } });
      }
    }
  }
  for (const { k, s, d, pad } of cases) {
    it(`k=${k.join('x')} s=${s.join('x')} d=${d.join('x')} p=${padName(pad)} x=[1..11,1..11]`, () => {
      const random = rng(k[0] * 100 + s[0] * 10 + d[1] + pad.top);
      for (const H of [1, 2, 4, 7, 11]) {
        for (const W of [1, 3, 6, 8, 11]) {
          const opts = { stride: s, dilation: d, padding: pad };
          const spanH = d[0] * (k[0] - 1) + 1;
          const spanW = d[1] * (k[1] - 1) + 1;
          if (H + pad.top + pad.bottom < spanH || W + pad.left + pad.right < spanW) continue;
          const g = conv2dGeometry([1, 1, H, W], [1, 1, k[0], k[1]], opts);
          const input = randomTensor([1, 1, H, W], random);
          const weight = randomTensor([1, 1, k[0], k[1]], random);
          const bias = Math.fround(random() - 0.5);
          for (const [act, code] of ACTS) {
            const expected = referenceConv2d(input, weight, { ...opts, bias: new Float32Array([bias]), activation: act });
            const x = new Float32Array(H * W + 2 * GUARD).fill(POISON);
            x.set(input.data, GUARD);
            const y = new Float32Array(g.outHeight * g.outWidth + 2 * GUARD).fill(NaN);
            depthwisePlane(x, GUARD, H, W, weight.data, 0, k[0], k[1], s[0], s[1], d[0], d[1], pad.top, pad.left, bias, code, y, GUARD, g.outHeight, g.outWidth);
            const label = `x=[${H},${W}] k=${k.join('x')} s=${s.join('x')} d=${d.join('x')} p=${padName(pad)} act=${act}`;
            expect(Number.isNaN(y[GUARD - 1]!) && Number.isNaN(y[GUARD + g.outHeight * g.outWidth]!), `${label}: wrote outside the plane`).toBe(true);
            expectClose({ shape: expected.shape, data: y.subarray(GUARD, GUARD + g.outHeight * g.outWidth) }, expected, 1e-5, label);
          }
        }
      }
    });
  }
});

describe('depthwisePlane wide rows (row buffer growth)', () => {
  for (const [W, k, s] of [[150, 5, 1], [300, 3, 3], [97, 7, 1]] as [number, number, number][]) {
    it(`x=[1,2,6,${W}] k=${k} s=${s} d=1 p=${k >> 1}`, () => {
      const random = rng(W);
      const input = randomTensor([1, 2, 6, W], random);
      const weight = randomTensor([2, 1, k, k], random);
      const options = { stride: s, padding: k >> 1, groups: 2, bias: randomTensor([2], random).data, activation: 'relu6' as const };
      expect(selectKernelPath(conv2dGeometry(input.shape, weight.shape, options))).toBe('depthwise');
      expectClose(conv2d(input, weight, options), referenceConv2d(input, weight, options), 1e-5, `W=${W}`);
    });
  }
});

/** Random depthwise problems through the dispatcher: batch, multiplier, bias, activation. */
describe('depthwise path through conv2d vs referenceConv2d', () => {
  const random = rng(20261128);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const configs: { N: number; C: number; K: number; H: number; W: number; k: number; s: number; pad: ReturnType<typeof pick<(typeof PADS)[number]>>; bias: boolean; act: Activation; d: number }[] = [];
  for (const s of [1, 2]) {
    for (const pad of PADS) {
      for (let r = 0; r < 4; r++) {
        configs.push({ N: 1 + Math.floor(random() * 3), C: 1 + Math.floor(random() * 3), K: 1 + Math.floor(random() * 3), H: pick([1, 2, 3, 5, 8, 13, 18]), W: pick([1, 2, 4, 7, 9, 16, 19]), k: 3, s, pad, bias: random() < 0.5, act: pick(['none', 'relu', 'relu6'] as const), d: 1 });
      }
    }
  }
  for (let r = 0; r < 24; r++) {
    configs.push({ N: 1 + Math.floor(random() * 2), C: 2, K: pick([1, 2, 3]), H: pick([6, 9, 12]), W: pick([5, 10, 13]), k: pick([3, 5]), s: pick([1, 2, 3]), pad: { top: pick([0, 1, 2]), bottom: pick([0, 2]), left: pick([0, 1, 2]), right: pick([0, 1, 3]) }, bias: random() < 0.5, act: pick(['none', 'relu', 'relu6'] as const), d: pick([1, 2]) });
  }
  for (const cfg of configs) {
    const { N, C, K, H, W, k, s, pad, bias, act, d } = cfg;
    const name = `x=[${N},${C},${H},${W}] k=${k} s=${s} d=${d} p=${padName(pad)} K=${K} bias=${bias} act=${act}`;
    const spanH = d * (k - 1) + 1;
    if (H + pad.top + pad.bottom < spanH || W + pad.left + pad.right < spanH) continue;
    it(name, () => {
      const rand = rng(N * 7 + C * 11 + K * 13 + H * 17 + W * 19 + s * 23);
      const input = randomTensor([N, C, H, W], rand);
      const weight = randomTensor([C * K, 1, k, k], rand);
      const options = { stride: s, dilation: d, padding: pad, groups: C, bias: bias ? randomTensor([C * K], rand).data : null, activation: act };
      const expected = referenceConv2d(input, weight, options);
      const actual = conv2d(input, weight, options);
      expectClose(actual, expected, 1e-5, name);
      const { groups: _groups, ...dwOptions } = options;
      expectBitwiseEqual(depthwiseConv2d(input, weight, dwOptions).data, actual.data, `${name} depthwiseConv2d`);
    });
  }
});

describe('depthwise dispatch', () => {
  const g = (s: number, pad: { top: number; bottom: number; left: number; right: number }, k = 3, d = 1) =>
    conv2dGeometry([1, 4, 10, 10], [8, 1, k, k], { stride: s, padding: pad, groups: 4, dilation: d });
  for (const pad of PADS) {
    it(`3x3 p=${padName(pad)} goes to the specialised kernels`, () => {
      expect(selectKernelPath(g(1, pad))).toBe('depthwise3x3s1');
      expect(selectKernelPath(g(2, pad))).toBe('depthwise3x3s2');
    });
  }
  it('5x5, dilated and wide-padded depthwise go to the general kernel', () => {
    expect(selectKernelPath(g(1, { top: 2, bottom: 2, left: 2, right: 2 }, 5))).toBe('depthwise');
    expect(selectKernelPath(g(1, { top: 2, bottom: 2, left: 2, right: 2 }, 3, 2))).toBe('depthwise');
    expect(selectKernelPath(g(1, { top: 2, bottom: 0, left: 1, right: 1 }))).toBe('depthwise');
    expect(selectKernelPath(g(3, { top: 1, bottom: 1, left: 1, right: 1 }))).toBe('depthwise');
  });
});

describe('depthwise channel ranges and determinism', () => {
  const shapes: [string, number[], number[], number, number][] = [
    ['s1', [2, 3, 11, 10], [6, 1, 3, 3], 1, 1],
    ['s2', [2, 3, 11, 10], [9, 1, 3, 3], 2, 1],
    ['general', [2, 3, 11, 10], [6, 1, 5, 5], 1, 2],
  ];
  for (const [label, xs, ws, stride, padding] of shapes) {
    it(`${label} x=[${xs.join(',')}] w=[${ws.join(',')}] s=${stride} p=${padding}: any channel split gives bitwise the same output`, () => {
      const random = rng(99);
      const input = randomTensor(xs, random);
      const weight = randomTensor(ws, random);
      const options = { stride, padding, groups: xs[1]!, bias: randomTensor([ws[0]!], random).data, activation: 'relu6' as const };
      const call = validateConv2d(input, weight, options);
      const whole = new Float32Array(call.geometry.outputShape.reduce((a, b) => a * b, 1));
      executeConv2d(call, whole, new Scratch());
      const Cout = ws[0]!;
      for (let cut = 1; cut < Cout; cut++) {
        const split = new Float32Array(whole.length).fill(NaN);
        executeConv2d(call, split, new Scratch(), 0, cut);
        executeConv2d(call, split, new Scratch(), cut, Cout);
        expectBitwiseEqual(split, whole, `${label} split at ${cut}`);
      }
      const single = new Float32Array(whole.length).fill(NaN);
      for (let o = Cout - 1; o >= 0; o--) executeConv2d(call, single, new Scratch(), o, o + 1);
      expectBitwiseEqual(single, whole, `${label} one channel at a time`);
    });
    it(`${label} x=[${xs.join(',')}] w=[${ws.join(',')}]: repeated calls are bitwise identical and inputs unchanged`, () => {
      const random = rng(7);
      const input = randomTensor(xs, random);
      const weight = randomTensor(ws, random);
      const inputCopy = input.data.slice();
      const weightCopy = weight.data.slice();
      const options = { stride, padding, groups: xs[1]! };
      const first: Tensor = conv2d(input, weight, options);
      for (let r = 0; r < 3; r++) expectBitwiseEqual(conv2d(input, weight, options).data, first.data, `${label} repeat ${r}`);
      expectBitwiseEqual(input.data, inputCopy, 'input unchanged');
      expectBitwiseEqual(weight.data, weightCopy, 'weight unchanged');
    });
  }
});

describe('depthwise special values', () => {
  it('x=[1,1,4,5] k=3 s=1|2 p=1: infinities propagate as in the reference (no 0*Infinity from padding)', () => {
    for (const stride of [1, 2]) {
      const input = randomTensor([1, 1, 4, 5], rng(5));
      input.data[0] = Infinity;
      input.data[19] = -Infinity;
      const weight = randomTensor([1, 1, 3, 3], rng(6));
      for (const activation of ['none', 'relu', 'relu6'] as const) {
        const options = { stride, padding: 1, groups: 1, activation };
        const expected = referenceConv2d(input, weight, options);
        const actual = conv2d(input, weight, options);
        for (let k = 0; k < expected.data.length; k++) {
          const e = expected.data[k]!;
          const a = actual.data[k]!;
          if (Number.isNaN(e) || !Number.isFinite(e)) expect(a, `s=${stride} ${activation} index ${k}`).toBe(e);
          else expect(Math.abs(a - e), `s=${stride} ${activation} index ${k}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(e)));
        }
      }
    }
  });
  it('x=[1,2,6,6] k=3 s=1 p=1: NaN inputs stay NaN through relu and relu6', () => {
    const input = randomTensor([1, 2, 6, 6], rng(8));
    input.data[14] = NaN;
    const weight = randomTensor([2, 1, 3, 3], rng(9));
    for (const activation of ['relu', 'relu6'] as const) {
      const expected = referenceConv2d(input, weight, { padding: 1, groups: 2, activation });
      const actual = conv2d(input, weight, { padding: 1, groups: 2, activation });
      for (let k = 0; k < expected.data.length; k++) {
        expect(Number.isNaN(actual.data[k]!), `${activation} index ${k}`).toBe(Number.isNaN(expected.data[k]!));
      }
    }
  });
});

describe('generated depthwise row loops', () => {
  it('src/kernels/gen/depthwise-3x3-rows.ts is what tools/gen-depthwise.mjs generates', () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
    const result = spawnSync(process.execPath, [resolve(root, 'tools/gen-depthwise.mjs'), '--check'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
