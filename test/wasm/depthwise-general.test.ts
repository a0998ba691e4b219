/**
 * The wasm general depthwise kernel (src/wasm/emit/depthwise-general.ts, dispatcher path `depthwise`):
 * a seeded sweep of kernel sizes 1..7 (square and not), strides 1..3 per axis, dilations 1..2,
 * channel multipliers 1..3, symmetric and asymmetric paddings, widths at the SIMD tile edges
 * (4k − 1, 4k, 4k + 1) and tiny planes, batch 3, every activation, bias or none; outputs
 * prefilled with a sentinel; against the float64 reference and the JS tier; bitwise repeats,
 * channel splits bitwise equal to one call, padding modes, and special values.
 */
import { describe, expect, it } from 'vitest';
import { conv2d, conv2dBackward, conv2dGeometry, prepareConv2d, referenceConv2d, referenceConv2dBackward, selectKernelPath, type Conv2dOptions, type Tensor } from '../../src/index.js';
import { expectBitwiseEqual, expectClose, randomTensor, rng } from '../helpers.js';
import { wasmRuntimeFor } from '../../src/ops/backend.js';

const SENTINEL = 12345.5;
const activations = ['none', 'relu', 'relu6'] as const;

/** wasm output (sentinel-prefilled) vs the reference and the JS tier; returns the wasm output. */
function check(x: Tensor, w: Tensor, options: Conv2dOptions, label: string): Tensor {
  const geometry = conv2dGeometry(x.shape, w.shape, options);
  expect(selectKernelPath(geometry), label).toBe('depthwise');
  const expected = referenceConv2d(x, w, options);
  const out = { shape: expected.shape.slice(), data: new Float32Array(expected.data.length).fill(SENTINEL) };
  const y = conv2d(x, w, { ...options, out, backend: 'wasm' });
  expect(out.data.indexOf(SENTINEL), `${label}: an output never written`).toBe(-1);
  expectClose(y, expected, 1e-5, label);
  expectClose(y, conv2d(x, w, { ...options, backend: 'js' }), 1e-5, `${label} vs js tier`);
  return y;
}

describe('wasm general depthwise: a seeded sweep (outputs prefilled with a sentinel)', () => {
  const random = rng(523);
  const kernels: [number, number][] = [[1, 1], [2, 2], [3, 3], [5, 5], [7, 7], [1, 3], [3, 1], [2, 5], [4, 3]];
  for (const [kh, kw] of kernels) {
    it(`kernel ${kh}×${kw}: strides 1..3, dilations 1..2, K 1..3, paddings, W = 4k ± 1, batch 3`, () => {
      let i = 0;
      for (const [sh, sw] of [[1, 1], [2, 2], [3, 3], [1, 2], [2, 1]] as const) {
        for (const [dh, dw] of [[1, 1], [2, 2], [1, 2]] as const) {
          for (const width of [1, 3, 7, 8, 9, 13]) {
            const height = 2 + (i % 6);
            const pads = [[0, 0, 0, 0], [1, 1, 1, 1], [2, 0, 1, 3], [0, 2, 3, 1]][i % 4]!;
            const [top, bottom, left, right] = pads;
            i++;
            const spanH = dh * (kh - 1) + 1;
            const spanW = dw * (kw - 1) + 1;
            if (height + top + bottom < spanH || width + left + right < spanW) continue;
            const multiplier = 1 + (i % 3);
            const channels = 2;
            const x = randomTensor([3, channels, height, width], random);
            const w = randomTensor([channels * multiplier, 1, kh, kw], random);
            const bias = i % 3 === 2 ? undefined : randomTensor([channels * multiplier], random).data;
            const options: Conv2dOptions = {
              groups: channels, stride: [sh, sw], dilation: [dh, dw], padding: { top, bottom, left, right }, bias, activation: activations[i % 3],
            };
            const geometry = conv2dGeometry(x.shape, w.shape, options);
            if (selectKernelPath(geometry) !== 'depthwise') continue; // 3×3 s1/s2 with small pads: the dw3x3 family
            check(x, w, options, `${kh}x${kw} s${sh},${sw} d${dh},${dw} H=${height} W=${width} pads=${pads.join(',')} K=${multiplier}`);
          }
        }
      }
    });
  }

  it('output heights 1..9 and widths 1..9: row groups of 4, 2 and 1 in every combination, each horizontal stride', () => {
    const random = rng(909);
    for (let height = 1; height <= 9; height++) {
      for (let width = 1; width <= 9; width++) {
        for (const sw of [1, 2, 3]) {
          const x = randomTensor([2, 2, height, sw * width], random);
          const w = randomTensor([4, 1, 5, 5], random);
          const options: Conv2dOptions = { groups: 2, padding: 2, stride: [1, sw], bias: randomTensor([4], random).data, activation: activations[(height + width) % 3] };
          check(x, w, options, `5x5 s1,${sw} ${height}×${sw * width}`);
        }
      }
    }
  });

  it('5×5 stride 1 and 2 (MobileNetV3, MNASNet, EfficientNet) on 56×56 and 28×29 planes, 3 images', () => {
    const random = rng(17);
    for (const [height, width] of [[56, 56], [28, 29]] as const) {
      for (const stride of [1, 2]) {
        const x = randomTensor([3, 4, height, width], random);
        const w = randomTensor([4, 1, 5, 5], random);
        check(x, w, { groups: 4, stride, padding: 2, bias: randomTensor([4], random).data, activation: 'relu6' }, `5x5 ${height}x${width} s${stride}`);
      }
    }
  });

  it('3×3 with padding 2 and dilation 2 (not the dw3x3 family), and padding modes', () => {
    const random = rng(23);
    const x = randomTensor([2, 3, 11, 9], random);
    const w = randomTensor([6, 1, 3, 3], random);
    check(x, w, { groups: 3, padding: 2 }, '3x3 pad 2');
    check(x, w, { groups: 3, padding: 2, dilation: 2 }, '3x3 dilation 2');
    for (const paddingMode of ['reflect', 'replicate', 'circular'] as const) {
      check(x, randomTensor([3, 1, 5, 5], random), { groups: 3, padding: 2, paddingMode }, `5x5 ${paddingMode}`);
    }
  });
});

describe('wasm general depthwise: determinism and channel splits', () => {
  it('repeats bitwise, and output-channel ranges computed separately equal one call bitwise', () => {
    const random = rng(41);
    const x = randomTensor([2, 4, 17, 19], random);
    const w = randomTensor([8, 1, 5, 5], random);
    const options = { groups: 4, stride: 2, padding: 2, bias: randomTensor([8], random).data, activation: 'relu' as const, backend: 'wasm' as const };
    const plan = prepareConv2d(w, options);
    const first = plan.run(x);
    expectBitwiseEqual(plan.run(x).data, first.data, 'repeat');
    expectBitwiseEqual(conv2d(x, w, options).data, first.data, 'one-shot conv2d');
    const split = { shape: first.shape.slice(), data: new Float32Array(first.data.length).fill(SENTINEL) };
    for (const [start, end] of [[0, 3], [3, 4], [4, 8]] as const) plan.runChannels(x, split.data, start, end);
    expectBitwiseEqual(split.data, first.data, 'channel ranges [0,3) [3,4) [4,8)');
  });

  it('NaN and infinities pass through; a −0 bias acts as +0', () => {
    const x: Tensor = { shape: [1, 1, 3, 5], data: Float32Array.from([NaN, 1, 2, Infinity, -1, 0, -0, 3, 1, 1, 2, 2, -Infinity, 4, 5]) };
    const w: Tensor = { shape: [1, 1, 1, 2], data: Float32Array.from([1, 0.5]) };
    const options = { groups: 1, bias: Float32Array.from([-0]) };
    const y = conv2d(x, w, { ...options, backend: 'wasm' });
    const expected = conv2d(x, w, { ...options, backend: 'js' });
    expect(selectKernelPath(conv2dGeometry(x.shape, w.shape, options))).toBe('depthwise');
    for (let i = 0; i < y.data.length; i++) {
      if (Number.isNaN(expected.data[i]!)) expect(y.data[i]).toBeNaN();
      else expect(Object.is(y.data[i], expected.data[i]), `element ${i}: ${y.data[i]} vs ${expected.data[i]}`).toBe(true);
    }
  });
});

describe('wasm depthwise gradWeight (dwg_gradw)', () => {
  it('matches the JS tier and the float64 reference across strides, dilations, multipliers and tile tails', () => {
    const random = rng(61);
    for (const [kh, kw, stride, dilation, width] of [[3, 3, 1, 1, 13], [3, 3, 2, 1, 14], [5, 5, 1, 1, 9], [5, 5, 2, 1, 17], [3, 2, 3, 1, 11], [3, 3, 1, 2, 10]] as const) {
      const x = randomTensor([2, 3, 9, width], random);
      const w = randomTensor([6, 1, kh, kw], random);
      const options = { groups: 3, stride, dilation, padding: 1 };
      const y = referenceConv2d(x, w, options);
      const dy = randomTensor(y.shape, random);
      const label = `${kh}x${kw} s${stride} d${dilation} W=${width}`;
      const wasm = conv2dBackward(dy, x, w, { ...options, backend: 'wasm', needs: { input: false, weight: true, bias: false } }).gradWeight!;
      const js = conv2dBackward(dy, x, w, { ...options, backend: 'js', needs: { input: false, weight: true, bias: false } }).gradWeight!;
      const reference = referenceConv2dBackward(dy, x, w, options).gradWeight!;
      expectClose(wasm, reference, 1e-4, `${label} vs reference`);
      expectClose(wasm, js, 1e-4, `${label} vs js tier`);
      expectBitwiseEqual(conv2dBackward(dy, x, w, { ...options, backend: 'wasm', needs: { input: false, weight: true, bias: false } }).gradWeight!.data, wasm.data, `${label} repeat`);
    }
  });

  it('an infinity in an input column no tap reads does not reach the gradient', () => {
    // Stride 2, kernel 3, no padding, W = 8: outputs read columns 0..6, never column 7.
    const x = randomTensor([1, 1, 5, 8], rng(3));
    for (let r = 0; r < 5; r++) x.data[r * 8 + 7] = Infinity;
    const w = randomTensor([1, 1, 3, 3], rng(4));
    const options = { groups: 1, stride: 2 };
    const dy = randomTensor(referenceConv2d({ shape: [1, 1, 5, 8], data: new Float32Array(40) }, w, options).shape, rng(5));
    const gradWeight = conv2dBackward(dy, x, w, { ...options, backend: 'wasm' }).gradWeight!;
    expect(Array.from(gradWeight.data).every(Number.isFinite), `gradWeight ${Array.from(gradWeight.data)}`).toBe(true);
    expectClose(gradWeight, referenceConv2dBackward(dy, x, w, options).gradWeight!, 1e-4, 'with an unread infinity');
  });
});

describe('dwg_gradw3 (three taps per pass) against dwg_gradw (one tap per pass)', () => {
  it('gives the same bits for kw = 3 and 6, strides 1..3, dilations 1..2, tile tails', () => {
    const rt = wasmRuntimeFor('wasm', 'test')!;
    const random = rng(77);
    for (const [kh, kw, sh, sw, dh, dw, ho, wo] of [[3, 3, 1, 1, 1, 1, 7, 9], [3, 3, 2, 2, 1, 1, 5, 6], [2, 6, 1, 3, 2, 1, 4, 5], [3, 3, 1, 2, 2, 2, 3, 11]] as const) {
      const wp = sw * (wo + 4) + dw * kw + 8;
      const hp = sh * ho + dh * kh + 1;
      const plane = rt.arena.alloc(4 * wp * hp);
      const dy = rt.arena.alloc(4 * ho * wo);
      const one = rt.arena.alloc(4 * kh * kw);
      const three = rt.arena.alloc(4 * kh * kw);
      rt.write(plane, randomTensor([wp * hp], random).data);
      rt.write(dy, randomTensor([ho * wo], random).data);
      rt.kernels.dwg_gradw(plane, wp, dy, ho, wo, kh, kw, sh, sw, dh, dw, one);
      rt.kernels.dwg_gradw3(plane, wp, dy, ho, wo, kh, kw, sh, sw, dh, dw, three);
      expectBitwiseEqual(rt.view(three, kh * kw), rt.view(one, kh * kw), `${kh}x${kw} s${sh},${sw} d${dh},${dw} ${ho}x${wo}`);
      for (const address of [three, one, dy, plane]) rt.arena.release(address);
    }
  });
});
