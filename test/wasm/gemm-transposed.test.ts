/**
 * The transposed 1×1 kernel (src/wasm/emit/gemm-transposed.ts: pixels splatted, weights as
 * vectors, for planes of few pixels) gives the bits of the regular GEMM (gemm-tile.ts) for every
 * output: partial panels of channels, every pixel-tile size, depths 1..64, bias or none, the
 * clamp of a fused activation, channel slices from any channel and pixel slices; and the layers
 * that take it agree with the float64 reference.
 */
import { describe, expect, it } from 'vitest';
import { conv2d, referenceConv2d } from '../../src/index.js';
import { conv2dGeometry } from '../../src/geometry.js';
import { wasmRuntimeFor } from '../../src/ops/backend.js';
import { packRows, packedBytes, gemmRows, sgemmRows } from '../../src/wasm/gemm.js';
import { packPanels, panelBytes, sgemmTransposed, usesTransposedGemm, TRANSPOSED_MAX_PIXELS } from '../../src/wasm/gemm-transposed.js';
import { pointwisePath } from '../../src/wasm/pointwise.js';
import { expectBitwiseEqual, expectClose, randomTensor, rng } from '../helpers.js';

describe('wasm transposed 1×1 kernel', () => {
  it('equals the regular GEMM bitwise: channels 1..19, pixels 1..20, 49 and 196, depths 1, 3, 17, 64, clamps', () => {
    const rt = wasmRuntimeFor('wasm', 'test')!;
    const next = rng(5);
    const mr = gemmRows(rt);
    for (const k of [1, 3, 17, 64]) {
      for (const channels of [1, 2, 7, 8, 9, 16, 19]) {
        for (const pixels of [1, 2, 3, 4, 5, 6, 7, 11, 13, 20, 49, 196]) {
          const w = new Float32Array(channels * k).map(() => next() * 2 - 1);
          const bias = next() < 0.3 ? null : new Float32Array(channels).map(() => next() * 2 - 1);
          if (bias !== null) bias[0] = -0;
          const x = new Float32Array(k * pixels).map(() => next() * 4 - 2);
          const [min, max] = next() < 0.5 ? [-Infinity, Infinity] : [0, 6];
          const xs = rt.arena.alloc(4 * x.length);
          const regular = rt.arena.alloc(packedBytes(channels, k, mr));
          const panels = rt.arena.alloc(panelBytes(channels, k));
          const table = rt.arena.alloc(4 * k);
          const y1 = rt.arena.alloc(4 * channels * pixels);
          const y2 = rt.arena.alloc(4 * channels * pixels + 16);
          rt.write(xs, x);
          packRows(rt.f32(), regular >>> 2, mr, w, 0, k, channels, k, bias, 0);
          packPanels(rt.f32(), panels >>> 2, w, 0, channels, k, bias, 0);
          const ints = rt.i32();
          for (let c = 0; c < k; c++) ints[(table >>> 2) + c] = 4 * c * pixels;
          sgemmRows(rt, 0, channels, pixels, k, regular, xs, table, y1, 4 * pixels, min, max);
          rt.view(y2, channels * pixels + 4).fill(Number.NaN);
          sgemmTransposed(rt, 0, channels, 0, pixels, k, panels, xs, y2, 4 * pixels, min, max);
          const label = `k=${k} channels=${channels} pixels=${pixels}`;
          expectBitwiseEqual(rt.view(y2, channels * pixels), rt.view(y1, channels * pixels), label);
          expect(rt.view(y2 + 4 * channels * pixels, 4).every(Number.isNaN), `${label}: wrote past the end`).toBe(true);
          // slices: channels cut anywhere (inside a panel too), pixels anywhere
          rt.view(y2, channels * pixels).fill(Number.NaN);
          const cut = Math.min(channels, 1 + (k % 8));
          const split = pixels >> 1;
          for (const [c0, c1] of [[0, cut], [cut, channels]]) {
            sgemmTransposed(rt, c0, c1, 0, split, k, panels, xs, y2, 4 * pixels, min, max);
            sgemmTransposed(rt, c0, c1, split, pixels, k, panels, xs, y2, 4 * pixels, min, max);
          }
          expectBitwiseEqual(rt.view(y2, channels * pixels), rt.view(y1, channels * pixels), `${label}, sliced`);
          for (const block of [y2, y1, table, panels, regular, xs]) rt.arena.release(block);
        }
      }
    }
  });

  it('serves 1×1 layers up to TRANSPOSED_MAX_PIXELS pixels (batch 2, bias, relu6) and agrees with the reference', () => {
    const random = rng(9);
    for (const [cin, cout, h, w] of [[24, 40, 7, 7], [16, 19, 14, 14], [9, 8, 1, 1], [32, 64, 20, 20], [8, 16, 21, 20]] as const) {
      const x = randomTensor([2, cin, h, w], random);
      const weight = randomTensor([cout, cin, 1, 1], random);
      const bias = randomTensor([cout], random).data;
      const g = conv2dGeometry(x.shape, weight.shape, {});
      expect(usesTransposedGemm(g), `${h}×${w}`).toBe(h * w <= TRANSPOSED_MAX_PIXELS);
      const y = conv2d(x, weight, { bias, activation: 'relu6', backend: 'wasm' });
      expectClose(y, referenceConv2d(x, weight, { bias, activation: 'relu6' }), 1e-5, `${cin}→${cout} ${h}×${w}`);
    }
    // the path's own entry points: a pixel slice and a channel slice give the whole layer's bits
    const rt = wasmRuntimeFor('wasm', 'test')!;
    const x = randomTensor([1, 20, 7, 7], random);
    const weight = randomTensor([40, 20, 1, 1], random);
    const g = conv2dGeometry(x.shape, weight.shape, {});
    const xs = rt.arena.alloc(4 * x.data.length);
    const packed = rt.arena.alloc(pointwisePath.weightBytes(g, rt));
    const scratch = rt.arena.alloc(pointwisePath.scratchBytes(g));
    const whole = rt.arena.alloc(4 * 40 * 49);
    const parts = rt.arena.alloc(4 * 40 * 49);
    rt.write(xs, x.data);
    pointwisePath.packWeights(rt, g, weight.data, null, packed);
    pointwisePath.run(rt, g, 0, packed, xs, whole, scratch, 0, 40, 0, 1);
    pointwisePath.run(rt, g, 0, packed, xs, parts, scratch, 0, 13, 0, 1);
    pointwisePath.run(rt, g, 0, packed, xs, parts, scratch, 13, 40, 0, 1);
    expectBitwiseEqual(rt.view(parts, 40 * 49), rt.view(whole, 40 * 49), 'channel slices');
    rt.view(parts, 40 * 49).fill(0);
    pointwisePath.runPixels!(rt, g, 0, packed, xs, parts, scratch, 0, 40, 0, 1, 0, 24);
    pointwisePath.runPixels!(rt, g, 0, packed, xs, parts, scratch, 0, 40, 0, 1, 24, 49);
    expectBitwiseEqual(rt.view(parts, 40 * 49), rt.view(whole, 40 * 49), 'pixel slices');
    for (const block of [parts, whole, scratch, packed, xs]) rt.arena.release(block);
  });
});
