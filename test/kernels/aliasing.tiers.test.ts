/**
 * Aliasing, immutability, determinism and ndarray views, on one configuration per dispatch
 * branch (and non-zero padding modes):
 * - the caller's input, weight and bias data are unchanged by every entry point;
 * - `out` is honoured: the same object comes back, every element is written (it is prefilled
 *   with a sentinel), nothing is accumulated into what it held;
 * - `out` sharing memory with input/weight/bias is rejected by every entry point;
 * - repeated calls are bitwise identical;
 * - real scijs ndarray views (transpose, hi/lo with an offset, step(-1)) for input, weight and
 *   bias give bitwise the result of their contiguous equivalents;
 * - unbatched `[Cin, H, W]` input gives `[Cout, Hout, Wout]`, equal to the batched result.
 */
import { describe, it, expect } from 'vitest';
import ndarray, { type NdArray } from 'ndarray';
import {
  conv2d,
  conv2dGeometry,
  depthwiseConv2d,
  pointwiseConv2d,
  referenceConv2d,
  type Conv2dOptions,
  type KernelPath,
  type Tensor,
} from '../../src/index.js';
import { kernelSetup } from '../../src/kernels/dispatch.js';
import { expectBitwiseEqual, expectClose, randomTensor, rng } from '../helpers.js';

interface Case {
  name: string;
  x: number[];
  w: number[];
  options: Omit<Conv2dOptions, 'bias' | 'out'>;
  path: KernelPath;
}

const CASES: Case[] = [
  { name: 'depthwise 3x3 s1 K=2', x: [2, 4, 9, 10], w: [8, 1, 3, 3], options: { groups: 4, padding: 1, activation: 'relu' }, path: 'depthwise3x3s1' },
  { name: 'depthwise 3x3 s2', x: [1, 4, 9, 10], w: [4, 1, 3, 3], options: { groups: 4, padding: 1, stride: 2 }, path: 'depthwise3x3s2' },
  { name: 'depthwise 5x5 d2 K=2', x: [2, 3, 8, 7], w: [6, 1, 5, 5], options: { groups: 3, padding: [2, 3], dilation: 2 }, path: 'depthwise' },
  { name: 'pointwise s1', x: [2, 8, 5, 6], w: [12, 8, 1, 1], options: { activation: 'relu6' }, path: 'pointwise' },
  { name: 'pointwise s2 g2', x: [1, 8, 7, 6], w: [6, 4, 1, 1], options: { stride: 2, groups: 2 }, path: 'pointwise' },
  { name: 'grouped 3x3 s2 g2', x: [2, 6, 7, 7], w: [8, 3, 3, 3], options: { groups: 2, padding: 1, stride: 2 }, path: 'grouped' },
  { name: 'grouped 4x2 asym pad', x: [1, 3, 6, 9], w: [5, 3, 4, 2], options: { padding: { top: 2, bottom: 0, left: 1, right: 3 } }, path: 'grouped' },
  { name: 'grouped reflect same', x: [2, 3, 6, 6], w: [4, 3, 3, 3], options: { padding: 'same', paddingMode: 'reflect' }, path: 'grouped' },
  { name: 'depthwise circular pad 2 (padded copy, then 3x3 s1)', x: [1, 3, 5, 6], w: [3, 1, 3, 3], options: { groups: 3, padding: 2, paddingMode: 'circular' }, path: 'depthwise3x3s1' },
  { name: 'depthwise 2x4 s[1,3] circular', x: [2, 2, 5, 9], w: [6, 1, 2, 4], options: { groups: 2, stride: [1, 3], padding: [1, 2], paddingMode: 'circular' }, path: 'depthwise' },
  { name: 'depthwise replicate same', x: [1, 3, 5, 6], w: [3, 1, 3, 3], options: { groups: 3, padding: 'same', paddingMode: 'replicate' }, path: 'depthwise3x3s1' },
];

const random = rng(4242);
const copy = (a: Float32Array) => new Float32Array(a);

function make(c: Case) {
  const x = randomTensor(c.x, random);
  const w = randomTensor(c.w, random);
  const bias = randomTensor([c.w[0]!], random).data;
  const outShape = conv2dGeometry(c.x, c.w, c.options).outputShape;
  return { x, w, bias, outShape };
}

/** The entry points a case fits, each as (input, weight, options) → Tensor. */
function entryPoints(c: Case): [string, (x: Tensor | NdArray<Float32Array>, w: Tensor | NdArray<Float32Array>, o: Conv2dOptions) => Tensor][] {
  const list: [string, (x: Tensor | NdArray<Float32Array>, w: Tensor | NdArray<Float32Array>, o: Conv2dOptions) => Tensor][] = [
    ['conv2d', conv2d],
    ['referenceConv2d', referenceConv2d],
  ];
  if (c.options.groups === c.x[1] && c.w[1] === 1) {
    list.push(['depthwiseConv2d', (x, w, o) => {
      const { groups: _groups, ...rest } = o;
      return depthwiseConv2d(x, w, rest);
    }]);
  }
  if (c.path === 'pointwise') {
    list.push(['pointwiseConv2d', (x, w, o) => {
      const { groups, stride, bias, activation, out } = o;
      return pointwiseConv2d(x, w, { groups, stride, bias, activation, out });
    }]);
  }
  return list;
}

describe('the cases take their intended branch', () => {
  for (const c of CASES) {
    it(c.name, () => {
      expect(kernelSetup(conv2dGeometry(c.x, c.w, c.options)).path).toBe(c.path);
    });
  }
});

describe('immutability: input, weight and bias data unchanged', () => {
  for (const c of CASES) {
    for (const [fnName, fn] of entryPoints(c)) {
      it(`${fnName}: ${c.name}`, () => {
        const { x, w, bias } = make(c);
        const [x0, w0, b0] = [copy(x.data), copy(w.data), copy(bias)];
        fn(x, w, { ...c.options, bias });
        fn(x, w, { ...c.options, bias: { shape: [bias.length], data: bias } });
        expectBitwiseEqual(x.data, x0, 'input');
        expectBitwiseEqual(w.data, w0, 'weight');
        expectBitwiseEqual(bias, b0, 'bias');
      });
    }
  }
});

describe('out is honoured: same object, every element written, nothing accumulated', () => {
  for (const c of CASES) {
    for (const [fnName, fn] of entryPoints(c)) {
      for (const sentinel of [NaN, 12345.5]) {
        it(`${fnName}: ${c.name}, out prefilled with ${sentinel}`, () => {
          const { x, w, bias, outShape } = make(c);
          const expected = referenceConv2d(x, w, { ...c.options, bias });
          const out: Tensor = { shape: outShape.slice(), data: new Float32Array(expected.data.length).fill(sentinel) };
          const dataBefore = out.data;
          const y = fn(x, w, { ...c.options, bias, out });
          expect(y).toBe(out);
          expect(y.data).toBe(dataBefore);
          expect(y.shape).toEqual(outShape);
          expectClose(y, expected, 1e-4, `${fnName} ${c.name}`);
          // Called again into the same out: results must not depend on what out held.
          const again = fn(x, w, { ...c.options, bias, out });
          expectBitwiseEqual(again.data, copy(y.data), 'second call into the same out');
        });
      }
    }
  }
});

describe('out sharing memory with input, weight or bias is rejected by every entry point', () => {
  for (const c of CASES) {
    for (const [fnName, fn] of entryPoints(c)) {
      it(`${fnName}: ${c.name}`, () => {
        const { x, w, bias, outShape } = make(c);
        const size = outShape.reduce((a, b) => a * b, 1);
        // Big enough backing arrays so that `out` can overlap each argument in turn.
        const xBacking = new Float32Array(x.data.length + size);
        xBacking.set(x.data);
        const xAliased = { shape: x.shape, data: xBacking.subarray(0, x.data.length) };
        const outOverX = { shape: outShape, data: xBacking.subarray(x.data.length - 1, x.data.length - 1 + size) };
        expect(() => fn(xAliased, w, { ...c.options, bias, out: outOverX })).toThrow(/out must not share memory with input/);

        const wBacking = new Float32Array(w.data.length + size);
        wBacking.set(w.data);
        const wAliased = { shape: w.shape, data: wBacking.subarray(0, w.data.length) };
        const outOverW = { shape: outShape, data: wBacking.subarray(w.data.length - 1, w.data.length - 1 + size) };
        expect(() => fn(x, wAliased, { ...c.options, bias, out: outOverW })).toThrow(/out must not share memory with weight/);

        const bBacking = new Float32Array(bias.length + size);
        bBacking.set(bias);
        const bAliased = bBacking.subarray(0, bias.length);
        const outOverB = { shape: outShape, data: bBacking.subarray(bias.length - 1, bias.length - 1 + size) };
        expect(() => fn(x, w, { ...c.options, bias: bAliased, out: outOverB })).toThrow(RangeError);
        expect(() => fn(x, w, { ...c.options, bias: bAliased, out: outOverB })).toThrow(/out must not share memory with bias/);
        // Nothing was written through the rejected outs.
        expectBitwiseEqual(xBacking.subarray(0, x.data.length), x.data, 'input after rejected call');
        expectBitwiseEqual(wBacking.subarray(0, w.data.length), w.data, 'weight after rejected call');
      });
    }
  }
});

describe('out overlapping the memory behind a non-contiguous view is rejected by every entry point', () => {
  for (const c of CASES) {
    for (const [fnName, fn] of entryPoints(c)) {
      it(`${fnName}: ${c.name}`, () => {
        const { x, w, bias, outShape } = make(c);
        const size = outShape.reduce((a, b) => a * b, 1);
        const [n, ci, h, wd] = c.x as [number, number, number, number];
        const xBacking = new Float32Array(x.data.length + size);
        const xView = ndarray(xBacking, [n, h, wd, ci]).transpose(0, 3, 1, 2);
        const outOverX = { shape: outShape, data: xBacking.subarray(1, 1 + size) };
        expect(() => fn(xView, w, { ...c.options, bias, out: outOverX })).toThrow(/out must not share memory with input/);
        const [o, i, kh, kw] = c.w as [number, number, number, number];
        const wBacking = new Float32Array(w.data.length + size);
        const wView = ndarray(wBacking, [kh, kw, i, o]).transpose(3, 2, 0, 1);
        const outOverW = { shape: outShape, data: wBacking.subarray(1, 1 + size) };
        expect(() => fn(x, wView, { ...c.options, bias, out: outOverW })).toThrow(/out must not share memory with weight/);
        expect(xBacking.every((v) => v === 0) && wBacking.every((v) => v === 0), 'nothing written').toBe(true);
      });
    }
  }
});

describe('pointwiseConv2d with a 2-D [Cout, Cin] weight view', () => {
  it('gives the 4-D result and rejects an out over the view\'s memory', () => {
    const x = randomTensor([2, 6, 4, 5], random);
    const backing = randomArray(6 * 9 + 360);
    const view = ndarray(backing, [6, 9]).transpose(1, 0); // [9, 6] over backing[0..54), column-major
    const expected = conv2d(x, { shape: [9, 6, 1, 1], data: contiguous(view).data });
    expectBitwiseEqual(pointwiseConv2d(x, view).data, expected.data, '2-D view weight');
    const before = new Float32Array(backing);
    const overlapping = { shape: [2, 9, 4, 5], data: backing.subarray(50, 410) };
    expect(() => pointwiseConv2d(x, view, { out: overlapping })).toThrow(/out must not share memory with weight/);
    expectBitwiseEqual(backing, before, 'backing unchanged');
  });
});

describe('NaN and Infinity propagate like the reference (no zero-skipping shortcuts)', () => {
  for (const c of CASES) {
    it(`conv2d: ${c.name}`, () => {
      const { x, w, bias } = make(c);
      x.data[Math.floor(x.data.length / 3)] = NaN;
      x.data[Math.floor((2 * x.data.length) / 3)] = Infinity;
      w.data[w.data.length - 1] = 0; // 0 · Infinity is NaN, not 0
      const got = conv2d(x, w, { ...c.options, bias }).data;
      const ref = referenceConv2d(x, w, { ...c.options, bias }).data;
      let special = 0;
      for (let i = 0; i < ref.length; i++) {
        const r = ref[i]!;
        if (!Number.isFinite(r)) {
          special++;
          expect(Object.is(got[i], r) || (Number.isNaN(got[i]) && Number.isNaN(r)), `index ${i}: got ${got[i]}, expected ${r}`).toBe(true);
        } else {
          expect(Math.abs(got[i]! - r) <= 1e-4 * (1 + Math.abs(r)), `index ${i}: got ${got[i]}, expected ${r}`).toBe(true);
        }
      }
      expect(special).toBeGreaterThan(0);
    });
  }
});

describe('determinism: repeated calls are bitwise identical', () => {
  for (const c of CASES) {
    for (const [fnName, fn] of entryPoints(c)) {
      it(`${fnName}: ${c.name}`, () => {
        const { x, w, bias } = make(c);
        const first = fn(x, w, { ...c.options, bias });
        for (let i = 0; i < 3; i++) {
          // Fresh but equal arrays, so no state tied to the objects can matter.
          const again = fn({ shape: x.shape, data: copy(x.data) }, { shape: w.shape, data: copy(w.data) }, { ...c.options, bias: copy(bias) });
          expectBitwiseEqual(again.data, first.data, `${fnName} call ${i + 2}`);
        }
      });
    }
  }
});

/** Contiguous copy of an ndarray view, read element by element with `get` (independent of sepconv). */
function contiguous(view: NdArray<Float32Array>): Tensor {
  const shape = view.shape.slice();
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < data.length; flat++) {
    data[flat] = view.get(...index);
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      if (++index[axis]! < shape[axis]!) break;
      index[axis] = 0;
    }
  }
  return { shape, data };
}

function randomArray(length: number): Float32Array {
  const data = new Float32Array(length);
  for (let i = 0; i < length; i++) data[i] = random() * 2 - 1;
  return data;
}

/** Three views of the same logical NCHW shape: transposed from NHWC, an offset window, flipped. */
function inputViews(shape: number[]): [string, NdArray<Float32Array>][] {
  const [n, c, h, w] = shape as [number, number, number, number];
  const nhwc = ndarray(randomArray(n * h * w * c), [n, h, w, c]).transpose(0, 3, 1, 2);
  const window = ndarray(randomArray(n * (c + 1) * (h + 3) * (w + 2)), [n, c + 1, h + 3, w + 2]).lo(0, 1, 2, 1).hi(n, c, h, w);
  const flipped = ndarray(randomArray(n * c * h * w), [n, c, h, w]).step(1, -1, 1, -1);
  const everyOther = ndarray(randomArray(n * c * h * 2 * w), [n, c, h, 2 * w]).step(1, 1, 1, 2);
  return [
    ['transpose(0,3,1,2) of NHWC', nhwc],
    ['lo/hi window (offset)', window],
    ['step(1,-1,1,-1) (negative strides)', flipped],
    ['step(...,2) (every other column)', everyOther],
  ];
}

/** Weight views: from TensorFlow's HWIO layout by transpose, an offset window, flipped kernels. */
function weightViews(shape: number[]): [string, NdArray<Float32Array>][] {
  const [o, i, kh, kw] = shape as [number, number, number, number];
  const hwio = ndarray(randomArray(kh * kw * i * o), [kh, kw, i, o]).transpose(3, 2, 0, 1);
  const window = ndarray(randomArray((o + 2) * i * kh * kw + 5), [o + 2, i, kh, kw], [i * kh * kw, kh * kw, kw, 1], 5).lo(1).hi(o);
  const flipped = ndarray(randomArray(o * i * kh * kw), [o, i, kh, kw]).step(-1, 1, -1, -1);
  return [
    ['transpose(3,2,0,1) of HWIO', hwio],
    ['lo/hi window with offset', window],
    ['step(-1,1,-1,-1)', flipped],
  ];
}

function biasViews(cout: number): [string, NdArray<Float32Array>][] {
  return [
    ['step(-1)', ndarray(randomArray(cout), [cout]).step(-1)],
    ['step(3) with offset', ndarray(randomArray(3 * cout + 1), [3 * cout + 1]).lo(1).step(3)],
  ];
}

describe('ndarray views give bitwise the result of their contiguous equivalents', () => {
  for (const c of CASES) {
    const { x, w, bias } = make(c);
    for (const [fnName, fn] of entryPoints(c)) {
      for (const [viewName, view] of inputViews(c.x)) {
        it(`input ${viewName}: ${fnName} ${c.name}`, () => {
          const before = copy(view.data);
          const fromView = fn(view, w, { ...c.options, bias });
          expectBitwiseEqual(fromView.data, fn(contiguous(view), w, { ...c.options, bias }).data, viewName);
          expectBitwiseEqual(view.data, before, 'view data unchanged');
        });
      }
      for (const [viewName, view] of weightViews(c.w)) {
        it(`weight ${viewName}: ${fnName} ${c.name}`, () => {
          const before = copy(view.data);
          const fromView = fn(x, view, { ...c.options, bias });
          expectBitwiseEqual(fromView.data, fn(x, contiguous(view), { ...c.options, bias }).data, viewName);
          expectBitwiseEqual(view.data, before, 'view data unchanged');
        });
      }
      for (const [viewName, view] of biasViews(c.w[0]!)) {
        it(`bias ${viewName}: ${fnName} ${c.name}`, () => {
          const fromView = fn(x, w, { ...c.options, bias: view });
          expectBitwiseEqual(fromView.data, fn(x, w, { ...c.options, bias: contiguous(view).data }).data, viewName);
        });
      }
    }
  }
  it('a view of the expected values is checked against referenceConv2d too (not only self-consistency)', () => {
    const c = CASES[5]!;
    const view = inputViews(c.x)[0]![1];
    const { w, bias } = make(c);
    expectClose(conv2d(view, w, { ...c.options, bias }), referenceConv2d(contiguous(view), w, { ...c.options, bias }), 1e-4);
  });
});

describe('unbatched [Cin, H, W] input', () => {
  for (const c of CASES) {
    for (const [fnName, fn] of entryPoints(c)) {
      it(`${fnName}: ${c.name}`, () => {
        const { x, w, bias } = make(c);
        const single = { shape: c.x.slice(1), data: x.data.slice(0, c.x.slice(1).reduce((a, b) => a * b, 1)) };
        const batched = fn({ shape: [1, ...single.shape], data: single.data }, w, { ...c.options, bias });
        const unbatched = fn(single, w, { ...c.options, bias });
        expect(unbatched.shape).toEqual(batched.shape.slice(1));
        expect(unbatched.shape.length).toBe(3);
        expectBitwiseEqual(unbatched.data, batched.data, 'unbatched vs batched');
        // out must then be unbatched too.
        const out = { shape: unbatched.shape.slice(), data: new Float32Array(unbatched.data.length).fill(NaN) };
        expect(fn(single, w, { ...c.options, bias, out })).toBe(out);
        expectBitwiseEqual(out.data, unbatched.data, 'unbatched into out');
        expect(() => fn(single, w, { ...c.options, bias, out: { shape: batched.shape, data: new Float32Array(batched.data.length) } })).toThrow(RangeError);
      });
    }
  }
  it('an unbatched ndarray view works too', () => {
    const view = ndarray(randomArray(5 * 6 * 3), [5, 6, 3]).transpose(2, 0, 1); // [3, 5, 6]
    const w = randomTensor([4, 3, 3, 3], random);
    const y = conv2d(view, w, { padding: 1 });
    expect(y.shape).toEqual([4, 5, 6]);
    expectClose(y, referenceConv2d(contiguous(view), w, { padding: 1 }), 1e-4);
  });
});
