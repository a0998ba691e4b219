/**
 * General depthwise kernel: one input plane, one kH×kW filter, any stride, dilation and zero
 * padding, writing one output plane with the fused epilogue. Used for every depthwise shape the
 * specialised 3×3 kernels do not take (5×5, dilated, strided other than 1 and 2, wide padding).
 *
 * Each output row keeps float64 sums for all its outputs and adds the filter rows that land
 * inside the input, one at a time. Within a filter row, the interior outputs (every tap inside
 * the input columns) take up to five taps per pass with the weights in locals: a streaming loop
 * over the outputs with no short inner loop and no loop-carried sum, measured ~3× faster than
 * looping over the taps per output. The few outputs near the left/right edges take the taps one
 * at a time, each tap over the range of outputs for which it lands inside the input, so no
 * output tests its taps. Each output's value depends only on the geometry and its position,
 * never on which channel range computes it.
 */
import { ACT_NONE, ACT_RELU6 } from './epilogue.js';
import { clampedOutput } from './depthwise-epilogue.js';

/** First output index whose window starts at or after input index 0. */
function firstInside(pad: number, stride: number): number {
  return Math.ceil(pad / stride);
}

/** One past the last output index whose window ends inside an input of `size`. */
function lastInsideEnd(size: number, pad: number, kernel: number, stride: number, dilation: number): number {
  const span = (kernel - 1) * dilation;
  // j*stride - pad + span <= size - 1
  return Math.floor((size - 1 + pad - span) / stride) + 1;
}

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
  const jLo = Math.min(Wo, firstInside(padLeft, strideW));
  const jHi = Math.max(jLo, Math.min(Wo, lastInsideEnd(W, padLeft, kW, strideW, dilationW)));
  const rowStep = dilationH * W;
  if (rowSums.length < Wo) rowSums = new Float64Array(Wo);
  const sums = rowSums;
  for (let i = 0; i < Ho; i++) {
    // Only the filter rows p in [pLo, pHi) land inside the input; the others read zero padding.
    const rowStart = i * strideH - padTop;
    const pLo = rowStart >= 0 ? 0 : Math.min(kH, Math.ceil(-rowStart / dilationH));
    const pHi = Math.max(pLo, Math.min(kH, Math.floor((H - 1 - rowStart) / dilationH) + 1));
    for (let j = 0; j < Wo; j++) sums[j] = bias;
    // Tap (p, q) of output j reads x[xRow + j·strideW + q·dilationW].
    let xRow = xOff + (rowStart + pLo * dilationH) * W - padLeft;
    let wRow = wOff + pLo * kW;
    for (let p = pLo; p < pHi; p++) {
      addInteriorTaps(sums, jLo, jHi, x, xRow + jLo * strideW, strideW, dilationW, w, wRow, kW);
      if (jLo > 0 || jHi < Wo) addEdgeTaps(sums, jLo, jHi, Wo, x, xRow, W, strideW, dilationW, padLeft, w, wRow, kW);
      xRow += rowStep;
      wRow += kW;
    }
    const yRow = yOff + i * Wo;
    for (let j = 0; j < Wo; j++) y[yRow + j] = clampedOutput(sums[j]!, clamp, top);
  }
}

/** Float64 sums of one output row; grows to the widest row seen and is then reused. */
let rowSums = new Float64Array(64);

/**
 * Adds one filter row to outputs `[jStart, jEnd)`, whose taps all lie inside the input; `xp` is
 * tap 0 of output jStart. When taps of different outputs coincide (dilation a multiple of the
 * stride) a sliding window needs one new load per output; outputs `phases` apart are the ones
 * whose windows are one tap apart.
 */
function addInteriorTaps(
  sums: Float64Array, jStart: number, jEnd: number,
  x: Float32Array, xp: number, stride: number, d: number,
  w: Float32Array, wp: number, kW: number,
): void {
  if (jStart >= jEnd) return;
  const phases = d % stride === 0 ? d / stride : 0;
  let q = 0;
  for (; q + 5 <= kW; q += 5) {
    const xq = xp + q * d;
    if (phases === 0) addTaps5(sums, jStart, jEnd, x, xq, stride, d, w, wp + q);
    else for (let f = 0; f < phases; f++) addTaps5Sliding(sums, jStart + f, phases, jEnd, x, xq + f * stride, d, w, wp + q);
  }
  const rest = kW - q;
  const xq = xp + q * d;
  if (rest === 4) addTaps4(sums, jStart, jEnd, x, xq, stride, d, w, wp + q);
  else if (rest === 3) {
    if (phases === 0) addTaps3(sums, jStart, jEnd, x, xq, stride, d, w, wp + q);
    else for (let f = 0; f < phases; f++) addTaps3Sliding(sums, jStart + f, phases, jEnd, x, xq + f * stride, d, w, wp + q);
  } else if (rest === 2) addTaps2(sums, jStart, jEnd, x, xq, stride, d, w, wp + q);
  else if (rest === 1) addTaps1(sums, jStart, jEnd, x, xq, stride, w, wp + q);
}

/**
 * Adds one filter row to the outputs left of `jLo` and right of `jHi`, tap by tap, each tap
 * over the outputs for which it lands inside the input row (`xRow` is tap 0 of output 0).
 */
function addEdgeTaps(
  sums: Float64Array, jLo: number, jHi: number, Wo: number,
  x: Float32Array, xRow: number, W: number, stride: number, d: number, padLeft: number,
  w: Float32Array, wp: number, kW: number,
): void {
  for (let q = 0; q < kW; q++) {
    // Input column j·stride + q·d − padLeft must lie in [0, W).
    const shift = q * d - padLeft;
    const first = Math.max(0, Math.ceil(-shift / stride));
    const end = Math.min(Wo, Math.floor((W - 1 - shift) / stride) + 1);
    const leftEnd = Math.min(jLo, end);
    if (first < leftEnd) addTaps1(sums, first, leftEnd, x, xRow + first * stride + q * d, stride, w, wp + q);
    const rightStart = Math.max(jHi, first);
    if (rightStart < end) addTaps1(sums, rightStart, end, x, xRow + rightStart * stride + q * d, stride, w, wp + q);
  }
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

/** Sliding variants: outputs j = first, first + step, ... < end, whose windows start `d` apart in x. */
function addTaps5Sliding(sums: Float64Array, first: number, step: number, end: number, x: Float32Array, xp: number, d: number, w: Float32Array, wp: number): void {
  if (first >= end) return;
  const v0 = w[wp]!, v1 = w[wp + 1]!, v2 = w[wp + 2]!, v3 = w[wp + 3]!, v4 = w[wp + 4]!;
  let a0 = x[xp]!, a1 = x[xp + d]!, a2 = x[xp + 2 * d]!, a3 = x[xp + 3 * d]!;
  xp = (xp + 4 * d) | 0;
  for (let j = first; j < end; j = (j + step) | 0, xp = (xp + d) | 0) {
    const a4 = x[xp]!;
    sums[j] += (v0 * a0 + v1 * a1) + (v2 * a2 + v3 * a3) + v4 * a4;
    a0 = a1; a1 = a2; a2 = a3; a3 = a4;
  }
}

function addTaps3Sliding(sums: Float64Array, first: number, step: number, end: number, x: Float32Array, xp: number, d: number, w: Float32Array, wp: number): void {
  if (first >= end) return;
  const v0 = w[wp]!, v1 = w[wp + 1]!, v2 = w[wp + 2]!;
  let a0 = x[xp]!, a1 = x[xp + d]!;
  xp = (xp + 2 * d) | 0;
  for (let j = first; j < end; j = (j + step) | 0, xp = (xp + d) | 0) {
    const a2 = x[xp]!;
    sums[j] += (v0 * a0 + v1 * a1) + v2 * a2;
    a0 = a1; a1 = a2;
  }
}
