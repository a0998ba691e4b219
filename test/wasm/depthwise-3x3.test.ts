/**
 * The wasm depthwise 3×3 kernels (src/wasm/emit/depthwise-3x3.ts) at their SIMD tile edges: W = 4k − 1,
 * 4k, 4k + 1, H = 1..5, each pad 0 or 1 per side, batch 2, channel multiplier 1 and 2, bias or
 * none, every activation; outputs prefilled with a sentinel; against the float64 reference and
 * the JS tier; bitwise repeats; plans; NaN, infinities and signed zeros through the epilogue.
 */
import { describe, expect, it } from 'vitest';
import { conv2d, prepareConv2d, referenceConv2d, selectKernelPath, type Conv2dOptions, type Tensor } from '../../src/index.js';
import { expectBitwiseEqual, expectClose, randomTensor, rng } from '../helpers.js';
import { conv2dGeometry } from '../../src/geometry.js';
import { wasmRuntimeFor } from '../../src/ops/backend.js';
import { depthwise3x3s1Path, depthwise3x3s2Path } from '../../src/wasm/depthwise-3x3-path.js';

const SENTINEL = 12345.5;
const activations = ['none', 'relu', 'relu6'] as const;

function sentinelOut(shape: readonly number[]): Tensor {
  return { shape: shape.slice(), data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(SENTINEL) };
}

/** wasm output (sentinel-prefilled) vs the reference and the JS tier; returns the wasm output. */
function check(x: Tensor, w: Tensor, options: Conv2dOptions, label: string): Tensor {
  const expected = referenceConv2d(x, w, options);
  const out = sentinelOut(expected.shape);
  const y = conv2d(x, w, { ...options, out, backend: 'wasm' });
  expect(y).toBe(out);
  const left = out.data.indexOf(SENTINEL);
  expect(left, `${label}: output ${left} never written`).toBe(-1);
  expectClose(y, expected, 1e-5, label);
  expectClose(y, conv2d(x, w, { ...options, backend: 'js' }), 1e-5, `${label} vs js tier`);
  return y;
}

describe('wasm depthwise 3x3 at the SIMD tile edges (outputs prefilled with a sentinel)', () => {
  const random = rng(311);
  for (const stride of [1, 2] as const) {
    for (const k of [1, 2, 3, 5]) {
      for (const width of [4 * k - 1, 4 * k, 4 * k + 1]) {
        it(`stride ${stride}, W=${width}, H=1..5, pads 0/1 per side, batch 2, K=1 and 2`, () => {
          let i = 0;
          for (let height = 1; height <= 5; height++) {
            for (const pads of [[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 0, 1], [0, 1, 1, 0]] as const) {
              const [top, bottom, left, right] = pads;
              if (height + top + bottom < 3 || width + left + right < 3) continue;
              const multiplier = 1 + (i % 2);
              const channels = 3;
              const x = randomTensor([2, channels, height, width], random);
              const w = randomTensor([channels * multiplier, 1, 3, 3], random);
              const bias = i % 3 === 2 ? undefined : randomTensor([channels * multiplier], random).data;
              const options: Conv2dOptions = {
                groups: channels, stride, padding: { top, bottom, left, right }, bias, activation: activations[i % 3],
              };
              i++;
              const label = `s${stride} H=${height} W=${width} pads=${pads.join(',')} K=${multiplier}`;
              expect(selectKernelPath({ ...geometryOf(x, w, options) } as never), label).toBe(stride === 1 ? 'depthwise3x3s1' : 'depthwise3x3s2');
              check(x, w, options, label);
            }
          }
        });
      }
    }
  }
});

describe('wasm depthwise 3×3 row groups (4, 2 and 1 output rows side by side)', () => {
  it('output heights 1..11 (every combination of groups) and widths 1..6, both strides, every output written once and right', () => {
    const random = rng(412);
    for (const stride of [1, 2] as const) {
      for (let outHeight = 1; outHeight <= 11; outHeight++) {
        for (const outWidth of [1, 3, 4, 6]) {
          const height = stride * (outHeight - 1) + 1; // padding 1: Ho = floor((H + 2 − 3) / s) + 1
          const width = stride * (outWidth - 1) + 1;
          const x = randomTensor([2, 3, height, width], random);
          const w = randomTensor([3, 1, 3, 3], random);
          const options: Conv2dOptions = { groups: 3, stride, padding: 1, bias: randomTensor([3], random).data, activation: activations[outHeight % 3] };
          const label = `s${stride} Ho=${outHeight} Wo=${outWidth}`;
          const y = check(x, w, options, label);
          expect(y.shape, label).toEqual([2, 3, outHeight, outWidth]);
        }
      }
    }
  });
});

/** Just enough of the geometry for selectKernelPath (its conditions read these fields only). */
function geometryOf(x: Tensor, w: Tensor, o: Conv2dOptions): object {
  const p = o.padding as { top: number; bottom: number; left: number; right: number };
  const s = o.stride as number;
  return {
    groups: o.groups, inChannels: x.shape[1], kernelH: 3, kernelW: 3, dilationH: 1, dilationW: 1,
    padTop: p.top, padBottom: p.bottom, padLeft: p.left, padRight: p.right, strideH: s, strideW: s, outChannels: w.shape[0],
  };
}

describe('wasm depthwise 3x3 on larger planes', () => {
  it('57×61 and 112×112 planes, stride 1 and 2, pads 1, K=2, 3 images, within float32 rounding of the reference', () => {
    const random = rng(9);
    for (const [height, width] of [[57, 61], [112, 112]] as const) {
      for (const stride of [1, 2]) {
        const x = randomTensor([3, 2, height, width], random);
        const w = randomTensor([4, 1, 3, 3], random);
        check(x, w, { groups: 2, stride, padding: 1, bias: randomTensor([4], random).data, activation: 'relu' }, `${height}x${width} s${stride}`);
      }
    }
  });
});

describe('wasm depthwise 3x3: repeats, plans, special values', () => {
  it('bitwise identical repeats, and a plan (packed weights kept) gives the same bits as one-shot calls', () => {
    const random = rng(5);
    for (const stride of [1, 2]) {
      const x = randomTensor([2, 8, 17, 23], random);
      const w = randomTensor([16, 1, 3, 3], random);
      const options: Conv2dOptions = { groups: 8, stride, padding: 1, bias: randomTensor([16], random).data, activation: 'relu6' };
      const a = conv2d(x, w, { ...options, backend: 'wasm' });
      const b = conv2d(x, w, { ...options, backend: 'wasm' });
      expectBitwiseEqual(a.data, b.data, `repeat s${stride}`);
      const plan = prepareConv2d(w, { ...options, backend: 'wasm' });
      expectBitwiseEqual(plan.run(x).data, a.data, `plan s${stride}`);
      expectBitwiseEqual(plan.run(x).data, a.data, `plan again s${stride}`);
    }
  });

  it('NaN and infinities propagate, a −0 bias acts as +0, relu keeps NaN as the JS tier does', () => {
    const x: Tensor = { shape: [1, 2, 3, 6], data: new Float32Array(36).fill(0) };
    x.data[7] = NaN;
    x.data[18 + 9] = Infinity;
    const w: Tensor = { shape: [2, 1, 3, 3], data: new Float32Array(18).fill(-0) };
    w.data[4] = 1;
    w.data[9 + 4] = -1;
    for (const activation of activations) {
      const options: Conv2dOptions = { groups: 2, padding: 1, bias: new Float32Array([-0, -0]), activation };
      const wasm = conv2d(x, w, { ...options, backend: 'wasm' });
      const js = conv2d(x, w, { ...options, backend: 'js' });
      // equal bits except NaN payloads (0·∞ makes a NaN whose sign bit differs between engines)
      const canonical = (a: Float32Array) => a.map((v) => (Number.isNaN(v) ? NaN : v));
      expectBitwiseEqual(canonical(wasm.data), canonical(js.data), activation);
      // output (0, 5) of channel 0 reads only zeros, (1, 1) reads the NaN
      expect(Object.is(wasm.data[5], 0), `${activation}: −0 bias + −0 products gives +0`).toBe(true);
      expect(wasm.data[7], `${activation}: NaN kept`).toBeNaN();
      expect(wasm.data[18 + 9], `${activation}: −∞ through the centre tap`).toBe(activation === 'none' ? -Infinity : 0);
    }
  });
});

describe('wasm depthwise 3×3 by bands of output rows (runPixels, the compiled pool\'s row slices)', () => {
  it('any cut of the rows gives the bits of the whole plane, both strides, pads 0 and 1, batch 2', () => {
    const rt = wasmRuntimeFor('wasm', 'test')!;
    const random = rng(77);
    for (const [path, stride] of [[depthwise3x3s1Path, 1], [depthwise3x3s2Path, 2]] as const) {
      for (const [height, width, pad] of [[9, 7, 1], [10, 13, 1], [8, 6, 0], [5, 5, 1], [12, 9, 0]] as const) {
        const channels = 3;
        const x = randomTensor([2, channels, height, width], random);
        const w = randomTensor([channels, 1, 3, 3], random);
        const bias = randomTensor([channels], random).data;
        const g = conv2dGeometry(x.shape, w.shape, { groups: channels, stride, padding: pad });
        const { outHeight: Ho, outWidth: Wo } = g;
        const outFloats = 2 * channels * Ho * Wo;
        const xs = rt.arena.alloc(4 * x.data.length);
        const weights = rt.arena.alloc(path.weightBytes(g, rt));
        const scratch = rt.arena.alloc(path.scratchBytes(g));
        const whole = rt.arena.alloc(4 * outFloats);
        const banded = rt.arena.alloc(4 * outFloats);
        rt.write(xs, x.data);
        path.packWeights(rt, g, w.data, bias, weights);
        path.run(rt, g, 2, weights, xs, whole, scratch, 0, channels, 0, 2);
        const expected = rt.view(whole, outFloats).slice();
        for (const cuts of [[0, Ho], [0, 1, Ho], [0, Ho - 1, Ho], [0, Math.floor(Ho / 2), Ho], [0, 1, 2, 3, Ho].filter((r, i, a) => r <= Ho && (i === 0 || r > a[i - 1]!))]) {
          rt.view(banded, outFloats).fill(Number.NaN);
          for (let i = 0; i + 1 < cuts.length; i++) {
            path.runPixels!(rt, g, 2, weights, xs, banded, scratch, 0, channels, 0, 2, cuts[i]! * Wo, cuts[i + 1]! * Wo);
          }
          expectBitwiseEqual(rt.view(banded, outFloats), expected, `s${stride} ${height}×${width} pad ${pad} rows cut at ${cuts.join(',')}`);
        }
        expect(() => path.runPixels!(rt, g, 0, weights, xs, banded, scratch, 0, channels, 0, 2, 1, Wo)).toThrow(RangeError);
        for (const block of [banded, whole, scratch, weights, xs]) rt.arena.release(block);
      }
    }
  });
});
