/**
 * referenceConv2d, the source of truth for every fast path, checked against an independent
 * computation: padding built from ndarray slices (numpy's np.pad definitions: reflected,
 * replicated and wrapped slices assigned with ndarray-ops), then the convolution as a sum of
 * strided, dilated shifted views of the padded input scaled by one weight each, in float64.
 * Small hand-worked examples pin the conventions down.
 */
import { describe, it, expect } from 'vitest';
import ndarray, { type NdArray } from 'ndarray';
import ops from 'ndarray-ops';
import { referenceConv2d, type Activation, type PaddingMode, type Tensor } from '../../src/index.js';
import { configOptions, expectClose, pytorchAccepts, pytorchOutputSize, pytorchSides, randomTensor, rng, type SpatialConfig } from '../helpers.js';

interface Config extends SpatialConfig {
  n: number | null; // null: unbatched input
  cin: number;
  cout: number;
  groups: number;
  padding: 'same' | 'valid' | number | [number, number] | { top: number; bottom: number; left: number; right: number };
  bias: boolean;
  activation: Activation;
}

/** Pads the last axis of a 4-D float64 array by (before, after) using slices, like np.pad. */
function padLastAxis(src: NdArray<Float64Array>, before: number, after: number, mode: PaddingMode): NdArray<Float64Array> {
  const [a, b, c, size] = src.shape as [number, number, number, number];
  const dst = ndarray(new Float64Array(a * b * c * (size + before + after)), [a, b, c, size + before + after]);
  ops.assigns(dst, 0);
  const cols = (x: NdArray<Float64Array>, from: number, count: number) => x.lo(0, 0, 0, from).hi(a, b, c, count);
  ops.assign(cols(dst, before, size), src);
  if (mode === 'zeros') return dst;
  if (mode === 'circular') {
    if (before > 0) ops.assign(cols(dst, 0, before), cols(src, size - before, before));
    if (after > 0) ops.assign(cols(dst, before + size, after), cols(src, 0, after));
  } else if (mode === 'reflect') {
    // Mirror about the edge element, which is not repeated: left = src[before..1], right = src[size-2..].
    if (before > 0) ops.assign(cols(dst, 0, before), cols(src, 1, before).step(1, 1, 1, -1));
    if (after > 0) ops.assign(cols(dst, before + size, after), cols(src, size - 1 - after, after).step(1, 1, 1, -1));
  } else {
    for (let k = 0; k < before; k++) ops.assign(cols(dst, k, 1), cols(src, 0, 1));
    for (let k = 0; k < after; k++) ops.assign(cols(dst, before + size + k, 1), cols(src, size - 1, 1));
  }
  return dst;
}

/** y = act(bias + Σ w[o,c,p,q] · xpad[:, g·cpg + c, p·dh :: sh, q·dw :: sw]) with ndarray-ops. */
function independentConv(x: Tensor, weight: Tensor, bias: Float32Array | null, c: Config): Tensor {
  const n = c.n ?? 1;
  const pad = pytorchSides(c);
  const x64 = ndarray(Float64Array.from(x.data), [n, c.cin, c.h, c.w]);
  // Pad W, then swap axes to pad H with the same routine.
  const padW = padLastAxis(x64, pad.left, pad.right, c.mode);
  const padHW = padLastAxis(padW.transpose(0, 1, 3, 2), pad.top, pad.bottom, c.mode).transpose(0, 1, 3, 2);
  const { ho, wo } = pytorchOutputSize(c);
  const y = ndarray(new Float64Array(n * c.cout * ho * wo), [n, c.cout, ho, wo]);
  ops.assigns(y, 0);
  const term = ndarray(new Float64Array(n * ho * wo), [n, ho, wo]);
  const w = ndarray(weight.data, [c.cout, c.cin / c.groups, c.kh, c.kw]);
  const cpg = c.cin / c.groups;
  const opg = c.cout / c.groups;
  for (let o = 0; o < c.cout; o++) {
    const yo = y.pick(null, o);
    const group = Math.floor(o / opg);
    for (let ci = 0; ci < cpg; ci++) {
      const plane = padHW.pick(null, group * cpg + ci);
      for (let p = 0; p < c.kh; p++) {
        for (let q = 0; q < c.kw; q++) {
          const shifted = plane.lo(0, p * c.dilation[0], q * c.dilation[1]).step(1, c.stride[0], c.stride[1]).hi(n, ho, wo);
          ops.muls(term, shifted, w.get(o, ci, p, q));
          ops.addeq(yo, term);
        }
      }
    }
    if (bias) ops.addseq(yo, bias[o]!);
  }
  if (c.activation !== 'none') ops.maxseq(y, 0);
  if (c.activation === 'relu6') ops.minseq(y, 6);
  const shape = c.n === null ? [c.cout, ho, wo] : [n, c.cout, ho, wo];
  return { shape, data: Float32Array.from(y.data) };
}

function describeConfig(c: Config): string {
  const x = c.n === null ? [c.cin, c.h, c.w] : [c.n, c.cin, c.h, c.w];
  return `x=[${x}] w=[${c.cout},${c.cin / c.groups},${c.kh},${c.kw}] s=${c.stride} d=${c.dilation} p=${JSON.stringify(c.padding)} ${c.mode} g=${c.groups}${c.bias ? ' bias' : ''} ${c.activation}`;
}

/** A seeded set of valid configurations; every padding form and mode, groups, bias and activation appear. */
function configurations(count: number, seed: number): Config[] {
  const random = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const modes: PaddingMode[] = ['zeros', 'reflect', 'replicate', 'circular'];
  const activations: Activation[] = ['none', 'relu', 'relu6'];
  const configs: Config[] = [];
  while (configs.length < count) {
    const i = configs.length;
    const groups = pick([1, 1, 2, 3]);
    const cin = groups * int(1, 3);
    const cout = groups * int(1, 3);
    const stride: [number, number] = [int(1, 3), int(1, 3)];
    const paddingForms: Config['padding'][] = [
      'valid',
      'same',
      int(0, 3),
      [int(0, 3), int(0, 2)],
      { top: int(0, 3), bottom: int(0, 3), left: int(0, 3), right: int(0, 3) },
    ];
    const c: Config = {
      n: pick([null, 1, 2]),
      cin,
      cout,
      groups,
      h: int(1, 9),
      w: int(1, 9),
      kh: int(1, 4),
      kw: int(1, 4),
      stride: i % 5 === 1 ? [1, 1] : stride, // keep 'same' reachable
      dilation: [int(1, 3), int(1, 2)],
      padding: paddingForms[i % 5]!,
      mode: modes[Math.floor(i / 5) % 4]!,
      bias: random() < 0.6,
      // A large bias shift makes relu6 clip from above too.
      activation: activations[i % 3]!,
    };
    if (pytorchAccepts(c)) configs.push(c);
  }
  return configs;
}

describe('referenceConv2d vs an independent ndarray-ops computation', () => {
  const random = rng(20261128);
  for (const c of configurations(60, 7)) {
    it(describeConfig(c), () => {
      const xShape = c.n === null ? [c.cin, c.h, c.w] : [c.n, c.cin, c.h, c.w];
      const x = randomTensor(xShape, random);
      const weight = randomTensor([c.cout, c.cin / c.groups, c.kh, c.kw], random);
      // Scaled up so that relu6 has values above 6 to clip.
      for (let i = 0; i < x.data.length; i++) x.data[i]! *= 4;
      const bias = c.bias ? randomTensor([c.cout], random).data : null;
      const options = configOptions(c, bias);
      const expected = independentConv(x, weight, bias, c);
      expectClose(referenceConv2d(x, weight, options), expected, 1e-5, describeConfig(c));
    });
  }
  it('the configurations cover every padding form, mode, activation, groups, bias and unbatched input', () => {
    const configs = configurations(60, 7);
    const has = (f: (c: Config) => boolean) => configs.some(f);
    for (const mode of ['zeros', 'reflect', 'replicate', 'circular']) expect(has((c) => c.mode === mode), mode).toBe(true);
    for (const act of ['none', 'relu', 'relu6']) expect(has((c) => c.activation === act), act).toBe(true);
    expect(has((c) => c.padding === 'same' && (c.kh % 2 === 0 || c.dilation[0] > 1))).toBe(true);
    expect(has((c) => c.padding === 'valid')).toBe(true);
    expect(has((c) => typeof c.padding === 'object' && !Array.isArray(c.padding) && c.padding.top !== c.padding.bottom)).toBe(true);
    expect(has((c) => c.groups > 1)).toBe(true);
    expect(has((c) => c.stride[0] !== c.stride[1])).toBe(true);
    expect(has((c) => c.dilation[0] > 1)).toBe(true);
    expect(has((c) => c.bias) && has((c) => !c.bias)).toBe(true);
    expect(has((c) => c.n === null) && has((c) => c.n === 2)).toBe(true);
  });
});

describe('referenceConv2d: hand-worked examples', () => {
  const row = { shape: [1, 1, 1, 3], data: new Float32Array([0, 1, 2]) };
  const identity = { shape: [1, 1, 1, 1], data: new Float32Array([1]) };
  const padRow = (mode: PaddingMode) => Array.from(referenceConv2d(row, identity, { padding: [0, 2], paddingMode: mode }).data);
  it('[0, 1, 2] padded by 2 in each mode (PyTorch F.pad)', () => {
    expect(padRow('zeros')).toEqual([0, 0, 0, 1, 2, 0, 0]);
    expect(padRow('reflect')).toEqual([2, 1, 0, 1, 2, 1, 0]);
    expect(padRow('replicate')).toEqual([0, 0, 0, 1, 2, 2, 2]);
    expect(padRow('circular')).toEqual([1, 2, 0, 1, 2, 0, 1]);
  });
  it('circular padding equal to the size wraps a whole period', () => {
    expect(Array.from(referenceConv2d(row, identity, { padding: [0, 3], paddingMode: 'circular' }).data)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
  });
  it('is a cross-correlation (the kernel is not flipped)', () => {
    const x = { shape: [1, 1, 1, 4], data: new Float32Array([1, 2, 3, 4]) };
    const w = { shape: [1, 1, 1, 2], data: new Float32Array([10, 1]) };
    expect(Array.from(referenceConv2d(x, w).data)).toEqual([12, 23, 34]);
  });
  it("'same' with an even kernel puts the extra padding at the bottom/right", () => {
    // 2-wide kernel [1, 0] picks the left element of each window; total padding 1 goes on the right.
    const x = { shape: [1, 1, 1, 3], data: new Float32Array([5, 6, 7]) };
    const pickLeft = { shape: [1, 1, 1, 2], data: new Float32Array([1, 0]) };
    const pickRight = { shape: [1, 1, 1, 2], data: new Float32Array([0, 1]) };
    expect(Array.from(referenceConv2d(x, pickLeft, { padding: 'same' }).data)).toEqual([5, 6, 7]);
    expect(Array.from(referenceConv2d(x, pickRight, { padding: 'same' }).data)).toEqual([6, 7, 0]);
  });
  it('groups: output channel o reads the input channels of group floor(o / (Cout/groups))', () => {
    // 4 input channels holding 1, 10, 100, 1000; groups 2; each of 4 outputs sums its group's channels once.
    const x = { shape: [4, 1, 1], data: new Float32Array([1, 10, 100, 1000]) };
    const w = { shape: [4, 2, 1, 1], data: new Float32Array([1, 1, 2, 2, 1, 1, 3, 3]) };
    expect(Array.from(referenceConv2d(x, w, { groups: 2 }).data)).toEqual([11, 22, 1100, 3300]);
  });
  it('depthwise with multiplier K: output channel c·K + q reads input channel c', () => {
    const x = { shape: [1, 2, 1, 1], data: new Float32Array([1, 10]) };
    const w = { shape: [6, 1, 1, 1], data: new Float32Array([1, 2, 3, 4, 5, 6]) };
    expect(Array.from(referenceConv2d(x, w, { groups: 2 }).data)).toEqual([1, 2, 3, 40, 50, 60]);
  });
  it('bias is added before the activation; relu6 clips at 0 and 6', () => {
    const x = { shape: [1, 1, 1, 3], data: new Float32Array([-1, 2, 9]) };
    const w = { shape: [1, 1, 1, 1], data: new Float32Array([1]) };
    const bias = new Float32Array([0.5]);
    expect(Array.from(referenceConv2d(x, w, { bias, activation: 'relu' }).data)).toEqual([0, 2.5, 9.5]);
    expect(Array.from(referenceConv2d(x, w, { bias, activation: 'relu6' }).data)).toEqual([0, 2.5, 6]);
    expect(Array.from(referenceConv2d(x, w, { bias, activation: 'none' }).data)).toEqual([-0.5, 2.5, 9.5]);
  });
  it('NaN passes through the activation (as in PyTorch)', () => {
    const x = { shape: [1, 1, 1, 2], data: new Float32Array([NaN, -1]) };
    const w = { shape: [1, 1, 1, 1], data: new Float32Array([1]) };
    const y = referenceConv2d(x, w, { activation: 'relu' }).data;
    expect(Number.isNaN(y[0])).toBe(true);
    expect(y[1]).toBe(0);
  });
  it('accumulates in float64: small terms that float32 accumulation would drop are kept', () => {
    // 1 first, then 63 terms of 1e-8: in float32, 1 + 1e-8 rounds back to 1 every time.
    const k = 64;
    const x = { shape: [1, k, 1, 1], data: new Float32Array(k).fill(1e-8) };
    x.data[0] = 1;
    const w = { shape: [1, k, 1, 1], data: new Float32Array(k).fill(1) };
    const y = referenceConv2d(x, w).data[0]!;
    expect(y).toBe(Math.fround(1 + 63 * Math.fround(1e-8)));
    expect(y).toBeGreaterThan(1);
  });
});
