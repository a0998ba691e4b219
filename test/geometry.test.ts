/** Shape and padding arithmetic, checked against enumeration and known PyTorch figures. */
import { describe, it, expect } from 'vitest';
import { conv2dGeometry, convOutputSize, resolvePadding, resolvePair } from '../src/index.js';

/** Output length by counting the window positions that fit in the padded input. */
function countWindows(size: number, before: number, after: number, kernel: number, stride: number, dilation: number): number {
  let count = 0;
  for (let start = 0; start + dilation * (kernel - 1) <= size + before + after - 1; start += stride) count++;
  return count;
}

describe('convOutputSize', () => {
  it('equals the number of window positions, for every small size/padding/kernel/stride/dilation', () => {
    for (let size = 1; size <= 9; size++)
      for (let before = 0; before <= 3; before++)
        for (let after = 0; after <= 3; after++)
          for (let kernel = 1; kernel <= 5; kernel++)
            for (let stride = 1; stride <= 3; stride++)
              for (let dilation = 1; dilation <= 3; dilation++) {
                const windows = countWindows(size, before, after, kernel, stride, dilation);
                const got = convOutputSize(size, before, after, kernel, stride, dilation);
                if (windows > 0) expect(got, `size=${size} pad=${before},${after} k=${kernel} s=${stride} d=${dilation}`).toBe(windows);
                else expect(got).toBeLessThan(1);
              }
  });
  it('matches known PyTorch shapes (MobileNetV1 layers, ResNet stem)', () => {
    expect(conv2dGeometry([1, 3, 224, 224], [32, 3, 3, 3], { stride: 2, padding: 1 }).outputShape).toEqual([1, 32, 112, 112]);
    expect(conv2dGeometry([1, 512, 14, 14], [512, 1, 3, 3], { stride: 2, padding: 1, groups: 512 }).outputShape).toEqual([1, 512, 7, 7]);
    expect(conv2dGeometry([1, 3, 224, 224], [64, 3, 7, 7], { stride: 2, padding: 3 }).outputShape).toEqual([1, 64, 112, 112]);
    expect(conv2dGeometry([2, 16, 10, 10], [8, 16, 3, 3], { dilation: 2 }).outputShape).toEqual([2, 8, 6, 6]);
  });
});

describe("padding='same'", () => {
  it('keeps the size at stride 1 for every kernel and dilation, extra padding bottom/right', () => {
    for (let kh = 1; kh <= 6; kh++)
      for (let kw = 1; kw <= 6; kw++)
        for (const dilation of [1, 2, 3]) {
          const g = conv2dGeometry([1, 1, 9, 8], [1, 1, kh, kw], { padding: 'same', dilation });
          expect([g.outHeight, g.outWidth]).toEqual([9, 8]);
          const totalH = dilation * (kh - 1);
          const totalW = dilation * (kw - 1);
          expect(g.padTop).toBe(Math.floor(totalH / 2));
          expect(g.padTop + g.padBottom).toBe(totalH);
          expect(g.padLeft).toBe(Math.floor(totalW / 2));
          expect(g.padLeft + g.padRight).toBe(totalW);
          expect(g.padBottom - g.padTop).toBeGreaterThanOrEqual(0);
        }
  });
});

describe('resolvePair / resolvePadding', () => {
  it('turns an int into a pair, keeps a pair, applies the fallback', () => {
    expect(resolvePair(3, 'stride', 1)).toEqual([3, 3]);
    expect(resolvePair([1, 2], 'stride', 1)).toEqual([1, 2]);
    expect(resolvePair(undefined, 'stride', 1)).toEqual([1, 1]);
    expect(resolvePair(0, 'padding', 0, 0)).toEqual([0, 0]);
  });
  it('resolves every padding form to four sides', () => {
    const k: [number, number] = [3, 5];
    const one: [number, number] = [1, 1];
    expect(resolvePadding(undefined, k, one, one)).toEqual({ top: 0, bottom: 0, left: 0, right: 0 });
    expect(resolvePadding('valid', k, one, one)).toEqual({ top: 0, bottom: 0, left: 0, right: 0 });
    expect(resolvePadding(2, k, one, one)).toEqual({ top: 2, bottom: 2, left: 2, right: 2 });
    expect(resolvePadding([1, 3], k, one, one)).toEqual({ top: 1, bottom: 1, left: 3, right: 3 });
    expect(resolvePadding({ top: 0, bottom: 1, left: 2, right: 3 }, k, one, one)).toEqual({ top: 0, bottom: 1, left: 2, right: 3 });
    expect(resolvePadding('same', [4, 5], one, [1, 2])).toEqual({ top: 1, bottom: 2, left: 4, right: 4 });
  });
});

describe('conv2dGeometry', () => {
  it('resolves every field of a batched call', () => {
    const g = conv2dGeometry([2, 6, 11, 13], [9, 2, 3, 4], {
      stride: [2, 3],
      dilation: [1, 2],
      groups: 3,
      padding: { top: 1, bottom: 0, left: 2, right: 1 },
      paddingMode: 'replicate',
    });
    expect(g).toEqual({
      batched: true,
      batch: 2,
      inChannels: 6,
      inHeight: 11,
      inWidth: 13,
      outChannels: 9,
      kernelH: 3,
      kernelW: 4,
      strideH: 2,
      strideW: 3,
      dilationH: 1,
      dilationW: 2,
      padTop: 1,
      padBottom: 0,
      padLeft: 2,
      padRight: 1,
      groups: 3,
      paddingMode: 'replicate',
      outHeight: Math.floor((11 + 1 - 2 - 1) / 2) + 1,
      outWidth: Math.floor((13 + 3 - 6 - 1) / 3) + 1,
      outputShape: [2, 9, 5, 4],
    });
  });
  it('treats a 3-D input as unbatched: batch 1, output [Cout, Hout, Wout]', () => {
    const g = conv2dGeometry([4, 5, 5], [8, 1, 3, 3], { groups: 4, padding: 1 });
    expect(g.batched).toBe(false);
    expect(g.batch).toBe(1);
    expect(g.outputShape).toEqual([8, 5, 5]);
  });
  it('defaults: stride 1, dilation 1, no padding, groups 1, zeros mode', () => {
    const g = conv2dGeometry([1, 2, 5, 5], [3, 2, 3, 3]);
    expect([g.strideH, g.strideW, g.dilationH, g.dilationW, g.groups, g.paddingMode]).toEqual([1, 1, 1, 1, 1, 'zeros']);
    expect([g.padTop, g.padBottom, g.padLeft, g.padRight]).toEqual([0, 0, 0, 0]);
  });
  it('accepts the reflect/circular limits (pad = size − 1 / pad = size) and the 1×1 output edge', () => {
    expect(conv2dGeometry([1, 1, 3, 3], [1, 1, 1, 1], { padding: 2, paddingMode: 'reflect' }).outputShape).toEqual([1, 1, 7, 7]);
    expect(conv2dGeometry([1, 1, 3, 3], [1, 1, 1, 1], { padding: 3, paddingMode: 'circular' }).outputShape).toEqual([1, 1, 9, 9]);
    expect(conv2dGeometry([1, 1, 3, 3], [1, 1, 3, 3]).outputShape).toEqual([1, 1, 1, 1]);
  });
  it('does not modify the shapes or options it is given', () => {
    const input = [1, 2, 5, 5];
    const weight = [4, 2, 3, 3];
    const options = { stride: [1, 1] as [number, number], padding: { top: 1, bottom: 1, left: 1, right: 1 } };
    const snapshot = JSON.stringify([input, weight, options]);
    conv2dGeometry(input, weight, options);
    expect(JSON.stringify([input, weight, options])).toBe(snapshot);
  });
});
