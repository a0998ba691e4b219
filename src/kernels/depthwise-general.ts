/**
 * General depthwise kernel: one input plane, one kH×kW filter, any stride, dilation and zero
 * padding, writing one output plane with the fused epilogue. Used for every depthwise shape the
 * specialised 3×3 kernels do not take (5×5, dilated, strided other than 1 and 2, wide padding).
 *
 * Each output row first clips the filter rows to those inside the input; its outputs then split
 * into an interior, whose taps are all inside the input columns and run without tests, and the
 * left/right edges, which clip their filter columns. Each output's value depends only on the
 * geometry and its own position, never on which channel range computes it.
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
  for (let i = 0; i < Ho; i++) {
    // Only the filter rows p in [pLo, pHi) land inside the input; the others read zero padding.
    const rowStart = i * strideH - padTop;
    const pLo = rowStart >= 0 ? 0 : Math.min(kH, Math.ceil(-rowStart / dilationH));
    const pHi = Math.max(pLo, Math.min(kH, Math.floor((H - 1 - rowStart) / dilationH) + 1));
    const xRow = xOff + (rowStart + pLo * dilationH) * W - padLeft;
    const wRow = wOff + pLo * kW;
    const rows = pHi - pLo;
    const yRow = yOff + i * Wo;
    clippedSpan(x, xRow, W, w, wRow, rows, kW, rowStep, strideW, dilationW, padLeft, bias, clamp, top, y, yRow, 0, jLo);
    interiorSpan(x, xRow, w, wRow, rows, kW, rowStep, strideW, dilationW, bias, clamp, top, y, yRow, jLo, jHi);
    clippedSpan(x, xRow, W, w, wRow, rows, kW, rowStep, strideW, dilationW, padLeft, bias, clamp, top, y, yRow, jHi, Wo);
  }
}

/** Per-row float64 sums of the interior; grows to the widest row seen and is then reused. */
let rowSums = new Float64Array(64);

/**
 * Outputs `[jStart, jEnd)` of one row whose taps all lie inside the input columns. The row's
 * float64 sums are built filter row by filter row, up to five taps at a time with their weights
 * in locals: a streaming loop over the outputs with no short inner loop and no loop-carried sum,
 * measured ~3× faster than looping over the taps per output. When taps of different outputs
 * coincide (dilation a multiple of the stride) a sliding window needs one new load per output.
 */
function interiorSpan(
  x: Float32Array, xRow: number, w: Float32Array, wRow: number, rows: number, kW: number,
  rowStep: number, strideW: number, dilationW: number,
  bias: number, clamp: boolean, top: number,
  y: Float32Array, yRow: number, jStart: number, jEnd: number,
): void {
  const n = jEnd - jStart;
  if (n <= 0) return;
  if (rowSums.length < n) rowSums = new Float64Array(n);
  const sums = rowSums;
  for (let j = 0; j < n; j++) sums[j] = bias;
  // When the dilation is a multiple of the stride, the outputs `phases` apart have taps shifted
  // by exactly one dilation step, so each phase's outputs can slide a window along the row.
  const phases = dilationW % strideW === 0 ? dilationW / strideW : 0;
  let xp = xRow + jStart * strideW;
  let wp = wRow;
  for (let p = 0; p < rows; p++) {
    let q = 0;
    for (; q + 5 <= kW; q += 5) {
      const xq = xp + q * dilationW;
      if (phases === 0) addTaps5(sums, n, x, xq, strideW, dilationW, w, wp + q);
      else for (let f = 0; f < phases; f++) addTaps5Sliding(sums, f, phases, n, x, xq + f * strideW, dilationW, w, wp + q);
    }
    const rest = kW - q;
    const xq = xp + q * dilationW;
    if (rest === 4) addTaps4(sums, n, x, xq, strideW, dilationW, w, wp + q);
    else if (rest === 3) {
      if (phases === 0) addTaps3(sums, n, x, xq, strideW, dilationW, w, wp + q);
      else for (let f = 0; f < phases; f++) addTaps3Sliding(sums, f, phases, n, x, xq + f * strideW, dilationW, w, wp + q);
    } else if (rest === 2) addTaps2(sums, n, x, xq, strideW, dilationW, w, wp + q);
    else if (rest === 1) addTaps1(sums, n, x, xq, strideW, w[wp + q]!);
    xp += rowStep;
    wp += kW;
  }
  const q0 = yRow + jStart;
  for (let j = 0; j < n; j++) y[q0 + j] = clampedOutput(sums[j]!, clamp, top);
}

// sums[j] += Σ_t w[wp + t] · x[xp + j·stride + t·dilation], for t < K taps.

function addTaps5(sums: Float64Array, n: number, x: Float32Array, xp: number, stride: number, d: number, w: Float32Array, wp: number): void {
  const v0 = w[wp]!, v1 = w[wp + 1]!, v2 = w[wp + 2]!, v3 = w[wp + 3]!, v4 = w[wp + 4]!;
  const d2 = 2 * d, d3 = 3 * d, d4 = 4 * d;
  for (let j = 0; j < n; j++, xp = (xp + stride) | 0) {
    sums[j] += (v0 * x[xp]! + v1 * x[xp + d]!) + (v2 * x[xp + d2]! + v3 * x[xp + d3]!) + v4 * x[xp + d4]!;
  }
}

function addTaps4(sums: Float64Array, n: number, x: Float32Array, xp: number, stride: number, d: number, w: Float32Array, wp: number): void {
  const v0 = w[wp]!, v1 = w[wp + 1]!, v2 = w[wp + 2]!, v3 = w[wp + 3]!;
  const d2 = 2 * d, d3 = 3 * d;
  for (let j = 0; j < n; j++, xp = (xp + stride) | 0) {
    sums[j] += (v0 * x[xp]! + v1 * x[xp + d]!) + (v2 * x[xp + d2]! + v3 * x[xp + d3]!);
  }
}

function addTaps3(sums: Float64Array, n: number, x: Float32Array, xp: number, stride: number, d: number, w: Float32Array, wp: number): void {
  const v0 = w[wp]!, v1 = w[wp + 1]!, v2 = w[wp + 2]!;
  const d2 = 2 * d;
  for (let j = 0; j < n; j++, xp = (xp + stride) | 0) {
    sums[j] += (v0 * x[xp]! + v1 * x[xp + d]!) + v2 * x[xp + d2]!;
  }
}

function addTaps2(sums: Float64Array, n: number, x: Float32Array, xp: number, stride: number, d: number, w: Float32Array, wp: number): void {
  const v0 = w[wp]!, v1 = w[wp + 1]!;
  for (let j = 0; j < n; j++, xp = (xp + stride) | 0) {
    sums[j] += v0 * x[xp]! + v1 * x[xp + d]!;
  }
}

function addTaps1(sums: Float64Array, n: number, x: Float32Array, xp: number, stride: number, v0: number): void {
  for (let j = 0; j < n; j++, xp = (xp + stride) | 0) sums[j] += v0 * x[xp]!;
}

/**
 * Sliding variants: outputs j = first, first + step, ... < n, whose windows start `d` apart in x
 * (the tap spacing), so each output needs one new load.
 */
function addTaps5Sliding(sums: Float64Array, first: number, step: number, n: number, x: Float32Array, xp: number, d: number, w: Float32Array, wp: number): void {
  if (first >= n) return;
  const v0 = w[wp]!, v1 = w[wp + 1]!, v2 = w[wp + 2]!, v3 = w[wp + 3]!, v4 = w[wp + 4]!;
  let a0 = x[xp]!, a1 = x[xp + d]!, a2 = x[xp + 2 * d]!, a3 = x[xp + 3 * d]!;
  xp = (xp + 4 * d) | 0;
  for (let j = first; j < n; j = (j + step) | 0, xp = (xp + d) | 0) {
    const a4 = x[xp]!;
    sums[j] += (v0 * a0 + v1 * a1) + (v2 * a2 + v3 * a3) + v4 * a4;
    a0 = a1; a1 = a2; a2 = a3; a3 = a4;
  }
}

function addTaps3Sliding(sums: Float64Array, first: number, step: number, n: number, x: Float32Array, xp: number, d: number, w: Float32Array, wp: number): void {
  if (first >= n) return;
  const v0 = w[wp]!, v1 = w[wp + 1]!, v2 = w[wp + 2]!;
  let a0 = x[xp]!, a1 = x[xp + d]!;
  xp = (xp + 2 * d) | 0;
  for (let j = first; j < n; j = (j + step) | 0, xp = (xp + d) | 0) {
    const a2 = x[xp]!;
    sums[j] += (v0 * a0 + v1 * a1) + v2 * a2;
    a0 = a1; a1 = a2;
  }
}

/** Outputs `[jStart, jEnd)` of one row near the left/right edge: each clips its filter columns. */
function clippedSpan(
  x: Float32Array, xRow: number, W: number, w: Float32Array, wRow: number, rows: number, kW: number,
  rowStep: number, strideW: number, dilationW: number, padLeft: number,
  bias: number, clamp: boolean, top: number,
  y: Float32Array, yRow: number, jStart: number, jEnd: number,
): void {
  for (let j = jStart; j < jEnd; j++) {
    const colStart = j * strideW - padLeft;
    const qLo = colStart >= 0 ? 0 : Math.min(kW, Math.ceil(-colStart / dilationW));
    const qHi = Math.max(qLo, Math.min(kW, Math.floor((W - 1 - colStart) / dilationW) + 1));
    let sum = bias;
    let xp = xRow + j * strideW + qLo * dilationW;
    let wp = wRow + qLo;
    for (let p = 0; p < rows; p++) {
      let xq = xp;
      for (let q = qLo; q < qHi; q++) {
        sum += x[xq]! * w[wp + q - qLo]!;
        xq += dilationW;
      }
      xp += rowStep;
      wp += kW;
    }
    y[yRow + j] = clampedOutput(sum, clamp, top);
  }
}
