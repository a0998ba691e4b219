/**
 * General depthwise kernel: one input plane, one kH×kW filter, any stride, dilation and zero
 * padding, writing one output plane with the fused epilogue. Used for every depthwise shape the
 * specialised 3×3 kernels do not take (5×5, dilated, strided other than 1 and 2, wide padding).
 *
 * A padded plane is first copied into a zero-bordered buffer, so that every tap of every output
 * lies inside it and no loop tests bounds (the copy is ~1/(kH·kW) of the work; per-output edge
 * clipping cost more on small planes). Each output row then keeps float64 sums for all its
 * outputs and adds the filter rows one at a time, up to five taps per pass with the weights in
 * locals: a streaming loop over the outputs with no short inner loop and no loop-carried sum,
 * measured ~3× faster than looping over the taps per output. Each output's value depends only
 * on the geometry and its position, never on which channel range computes it.
 */
import { ACT_NONE, ACT_RELU6 } from '../epilogue.js';

export function depthwisePlane(
  x: Float32Array, xOff: number, H: number, W: number,
  w: Float32Array, wOff: number, kH: number, kW: number,
  strideH: number, strideW: number, dilationH: number, dilationW: number,
  padTop: number, padLeft: number,
  bias: number, act: number,
  y: Float32Array, yOff: number, Ho: number, Wo: number,
): void {
  const clamp = act !== ACT_NONE;
  const top = +(act === ACT_RELU6 ? 6 : Infinity);
  // The input extent the outputs reach, padding included (bottom/right padding beyond the last
  // window is never read).
  const Hp = paddedExtent(H, padTop, Ho, strideH, kH, dilationH);
  const Wp = paddedExtent(W, padLeft, Wo, strideW, kW, dilationW);
  let src = x;
  let srcOff = xOff;
  let srcW = W;
  if (Hp !== H || Wp !== W) {
    if (paddedPlane.length < Hp * Wp) paddedPlane = new Float32Array(Hp * Wp);
    src = paddedPlane;
    srcOff = 0;
    srcW = Wp;
    copyPadded(x, xOff, H, W, padTop, padLeft, src, Hp, Wp);
  }
  if (rowSums.length < Wo) rowSums = new Float64Array(Wo);
  const sums = rowSums;
  const rowStep = dilationH * srcW;
  for (let i = 0; i < Ho; i++) {
    for (let j = 0; j < Wo; j++) sums[j] = bias;
    let xRow = srcOff + i * strideH * srcW;
    let wRow = wOff;
    for (let p = 0; p < kH; p++) {
      addTaps(sums, Wo, src, xRow, strideW, dilationW, w, wRow, kW);
      xRow += rowStep;
      wRow += kW;
    }
    const yRow = yOff + i * Wo;
    for (let j = 0; j < Wo; j++) y[yRow + j] = clampedOutput(sums[j]!, clamp, top);
  }
}

/** Rows (or columns) of the zero-bordered plane `depthwisePlane` works on: the input and its padding, as far as the last window reaches. */
export function paddedExtent(size: number, padBefore: number, outSize: number, stride: number, kernel: number, dilation: number): number {
  return Math.max(size + padBefore, (outSize - 1) * stride + (kernel - 1) * dilation + 1);
}

/** Float64 sums of one output row; grows to the widest row seen and is then reused. */
let rowSums = new Float64Array(64);
/** The zero-bordered copy of a padded plane; grows to the largest plane seen and is reused. */
let paddedPlane = new Float32Array(256);

/** Copies plane `x` into `out` (Hp×Wp) at row padTop, column padLeft; everything else is zero. */
function copyPadded(x: Float32Array, xOff: number, H: number, W: number, padTop: number, padLeft: number, out: Float32Array, Hp: number, Wp: number): void {
  out.fill(0, 0, padTop * Wp);
  let o = padTop * Wp;
  let s = xOff;
  for (let r = 0; r < H; r++) {
    const rowEnd = o + Wp;
    for (let k = 0; k < padLeft; k++) out[o++] = 0;
    for (let k = 0; k < W; k++) out[o++] = x[s++]!;
    while (o < rowEnd) out[o++] = 0;
  }
  out.fill(0, o, Hp * Wp);
}

/**
 * Adds one filter row to outputs `[0, n)`; `xp` is tap 0 of output 0. When the dilation is a
 * multiple of the stride, outputs `dilation/stride` apart have windows one tap apart, so each of
 * those phases slides a window over its outputs: one new load per output instead of one per
 * tap. (Stride 2 could slide too, over even and odd taps separately, but the second pass over
 * the sums cost more than the loads it saved: measured 1.8 → 1.45 GFLOP/s on 5×5 s2 28×28.)
 */
function addTaps(
  sums: Float64Array, n: number,
  x: Float32Array, xp: number, stride: number, d: number,
  w: Float32Array, wp: number, kW: number,
): void {
  if (d % stride === 0) {
    const phases = d / stride;
    for (let f = 0; f < phases; f++) addTapsSliding(sums, f, phases, n, x, xp + f * stride, d, w, wp, kW);
    return;
  }
  let q = 0;
  for (; q + 5 <= kW; q += 5) addTaps5(sums, 0, n, x, xp + q * d, stride, d, w, wp + q);
  const rest = kW - q;
  const xq = xp + q * d;
  if (rest === 4) addTaps4(sums, 0, n, x, xq, stride, d, w, wp + q);
  else if (rest === 3) addTaps3(sums, 0, n, x, xq, stride, d, w, wp + q);
  else if (rest === 2) addTaps2(sums, 0, n, x, xq, stride, d, w, wp + q);
  else if (rest === 1) addTaps1(sums, 0, n, x, xq, stride, w, wp + q);
}

// sums[j] += Σ_t w[wp + t] · x[xp + (j − jStart)·stride + t·d] for t < K taps, jStart ≤ j < jEnd.

function addTaps5(sums: Float64Array, jStart: number, jEnd: number, x: Float32Array, xp: number, stride: number, d: number, w: Float32Array, wp: number): void {
  const v0 = w[wp]!, v1 = w[wp + 1]!, v2 = w[wp + 2]!, v3 = w[wp + 3]!, v4 = w[wp + 4]!;
  const d2 = 2 * d, d3 = 3 * d, d4 = 4 * d;
  for (let j = jStart; j < jEnd; j++, xp = (xp + stride) | 0) {
    sums[j] += (v0 * x[xp]! + v1 * x[xp + d]!) + (v2 * x[xp + d2]! + v3 * x[xp + d3]!) + v4 * x[xp + d4]!;
  }
}

function addTaps4(sums: Float64Array, jStart: number, jEnd: number, x: Float32Array, xp: number, stride: number, d: number, w: Float32Array, wp: number): void {
  const v0 = w[wp]!, v1 = w[wp + 1]!, v2 = w[wp + 2]!, v3 = w[wp + 3]!;
  const d2 = 2 * d, d3 = 3 * d;
  for (let j = jStart; j < jEnd; j++, xp = (xp + stride) | 0) {
    sums[j] += (v0 * x[xp]! + v1 * x[xp + d]!) + (v2 * x[xp + d2]! + v3 * x[xp + d3]!);
  }
}

function addTaps3(sums: Float64Array, jStart: number, jEnd: number, x: Float32Array, xp: number, stride: number, d: number, w: Float32Array, wp: number): void {
  const v0 = w[wp]!, v1 = w[wp + 1]!, v2 = w[wp + 2]!;
  const d2 = 2 * d;
  for (let j = jStart; j < jEnd; j++, xp = (xp + stride) | 0) {
    sums[j] += (v0 * x[xp]! + v1 * x[xp + d]!) + v2 * x[xp + d2]!;
  }
}

function addTaps2(sums: Float64Array, jStart: number, jEnd: number, x: Float32Array, xp: number, stride: number, d: number, w: Float32Array, wp: number): void {
  const v0 = w[wp]!, v1 = w[wp + 1]!;
  for (let j = jStart; j < jEnd; j++, xp = (xp + stride) | 0) {
    sums[j] += v0 * x[xp]! + v1 * x[xp + d]!;
  }
}

function addTaps1(sums: Float64Array, jStart: number, jEnd: number, x: Float32Array, xp: number, stride: number, w: Float32Array, wp: number): void {
  const v0 = w[wp]!;
  for (let j = jStart; j < jEnd; j++, xp = (xp + stride) | 0) sums[j] += v0 * x[xp]!;
}

/**
 * sums[j] += Σ_t w[wp + t] · x[xp + (k + t)·D] for the k-th output j = first + k·step < end:
 * windows of consecutive outputs are one tap (D) apart, so each output loads one new value.
 * Up to five taps per pass, weights in locals.
 */
function addTapsSliding(
  sums: Float64Array, first: number, step: number, end: number,
  x: Float32Array, xp: number, D: number, w: Float32Array, wp: number, taps: number,
): void {
  if (first >= end) return;
  let t = 0;
  for (; t + 5 <= taps; t += 5) addTaps5Sliding(sums, first, step, end, x, xp + t * D, D, w, wp + t);
  const rest = taps - t;
  const xq = xp + t * D;
  const wq = wp + t;
  if (rest === 4) addTaps4Sliding(sums, first, step, end, x, xq, D, w, wq);
  else if (rest === 3) addTaps3Sliding(sums, first, step, end, x, xq, D, w, wq);
  else if (rest === 2) addTaps2Sliding(sums, first, step, end, x, xq, D, w, wq);
  else if (rest === 1) {
    const v0 = w[wq]!;
    let xr = xq;
    for (let j = first; j < end; j = (j + step) | 0, xr = (xr + D) | 0) sums[j] += v0 * x[xr]!;
  }
}

function addTaps5Sliding(sums: Float64Array, first: number, step: number, end: number, x: Float32Array, xp: number, D: number, w: Float32Array, wp: number): void {
  const v0 = w[wp]!, v1 = w[wp + 1]!, v2 = w[wp + 2]!, v3 = w[wp + 3]!, v4 = w[wp + 4]!;
  let a0 = x[xp]!, a1 = x[xp + D]!, a2 = x[xp + 2 * D]!, a3 = x[xp + 3 * D]!;
  xp = (xp + 4 * D) | 0;
  for (let j = first; j < end; j = (j + step) | 0, xp = (xp + D) | 0) {
    const a4 = x[xp]!;
    sums[j] += (v0 * a0 + v1 * a1) + (v2 * a2 + v3 * a3) + v4 * a4;
    a0 = a1; a1 = a2; a2 = a3; a3 = a4;
  }
}

function addTaps4Sliding(sums: Float64Array, first: number, step: number, end: number, x: Float32Array, xp: number, D: number, w: Float32Array, wp: number): void {
  const v0 = w[wp]!, v1 = w[wp + 1]!, v2 = w[wp + 2]!, v3 = w[wp + 3]!;
  let a0 = x[xp]!, a1 = x[xp + D]!, a2 = x[xp + 2 * D]!;
  xp = (xp + 3 * D) | 0;
  for (let j = first; j < end; j = (j + step) | 0, xp = (xp + D) | 0) {
    const a3 = x[xp]!;
    sums[j] += (v0 * a0 + v1 * a1) + (v2 * a2 + v3 * a3);
    a0 = a1; a1 = a2; a2 = a3;
  }
}

function addTaps3Sliding(sums: Float64Array, first: number, step: number, end: number, x: Float32Array, xp: number, D: number, w: Float32Array, wp: number): void {
  const v0 = w[wp]!, v1 = w[wp + 1]!, v2 = w[wp + 2]!;
  let a0 = x[xp]!, a1 = x[xp + D]!;
  xp = (xp + 2 * D) | 0;
  for (let j = first; j < end; j = (j + step) | 0, xp = (xp + D) | 0) {
    const a2 = x[xp]!;
    sums[j] += (v0 * a0 + v1 * a1) + v2 * a2;
    a0 = a1; a1 = a2;
  }
}

function addTaps2Sliding(sums: Float64Array, first: number, step: number, end: number, x: Float32Array, xp: number, D: number, w: Float32Array, wp: number): void {
  const v0 = w[wp]!, v1 = w[wp + 1]!;
  let a0 = x[xp]!;
  xp = (xp + D) | 0;
  for (let j = first; j < end; j = (j + step) | 0, xp = (xp + D) | 0) {
    const a1 = x[xp]!;
    sums[j] += v0 * a0 + v1 * a1;
    a0 = a1;
  }
}

/**
 * The fused activation: min(max(v, 0), hi) when `clamp`, with max(v, 0) as (v + |v|)·0.5, exact
 * and free of a data-dependent branch (see tools/gen-depthwise.mjs); -Infinity, which that
 * formula turns into NaN, is tested for. A local copy: optimized code re-checks an imported
 * function (a live binding) on every call.
 */
function clampedOutput(v: number, clamp: boolean, hi: number): number {
  if (!clamp) return v;
  const r = v === -Infinity ? 0 : (v + Math.abs(v)) * 0.5;
  return r > hi ? hi : r;
}
