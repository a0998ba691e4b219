/**
 * General depthwise backward, one plane at a time: any kernel size, stride, dilation and zero
 * padding (the shapes the 3×3 kernels do not take).
 *
 * gradInput of one filter: dX[r, s] += sum over taps (p, q) and outputs (i, j) with
 * i*sh + p*dh - pt = r and j*sw + q*dw - pl = s of w[p, q] * dY[i, j].
 *   - Stride 1 with padTop, padLeft <= dilation·(k − 1) and likewise bottom/right: that is the
 *     forward depthwise kernel (depthwise-general.ts) run on dY with the filter rotated by 180°
 *     and padding dilation·(k − 1) − pad, so it runs at forward speed.
 *   - Otherwise the taps are scattered row by row into float64 sums of the plane.
 * gradWeight of one filter: dW[p, q] = sum_{i, j} dY[i, j] * x[i*sh + p*dh - pt, j*sw + q*dw - pl]
 * as one dot product per tap and output row over the valid columns, in float64.
 */
import { depthwisePlane } from './depthwise-general.js';

/** Float64 sums of one gradInput plane; grows to the largest plane seen and is reused. */
let planeSums = new Float64Array(256);
/** One gradInput plane computed apart, to be added (channel multiplier > 1). */
let planeStaging = new Float32Array(256);

/**
 * Whether the gradInput of a filter is a forward depthwise convolution of dY: stride 1, and the
 * rotated filter's leading padding `dilation·(k − 1) − pad` not negative. (Its trailing padding
 * needs no check: rows and columns of dY that no input pixel reaches are simply never read.)
 */
export function gradInputIsForwardConv(
  kH: number, kW: number, strideH: number, strideW: number, dilationH: number, dilationW: number, padTop: number, padLeft: number,
): boolean {
  return strideH === 1 && strideW === 1 && padTop <= dilationH * (kH - 1) && padLeft <= dilationW * (kW - 1);
}

/** Writes filter `w[wOff ..]` rotated by 180° (kH×kW) into `out[outOff ..]`. */
export function rotateFilter(w: Float32Array, wOff: number, size: number, out: Float32Array, outOff: number): void {
  for (let t = 0; t < size; t++) out[outOff + t] = w[wOff + size - 1 - t]!;
}

/**
 * dX plane (H×W at `dx[dxOff]`) = (accumulate ? dX : 0) + the gradient through one filter of the
 * dY plane (Ho×Wo at `dy[dyOff]`). `rotated` holds the filter rotated by 180° at `wOff` (used on
 * the forward-convolution route), `w` the filter itself.
 */
export function depthwiseGradInputPlane(
  dy: Float32Array, dyOff: number, Ho: number, Wo: number,
  w: Float32Array, rotated: Float32Array, wOff: number, kH: number, kW: number,
  strideH: number, strideW: number, dilationH: number, dilationW: number,
  padTop: number, padLeft: number,
  dx: Float32Array, dxOff: number, H: number, W: number, accumulate: boolean,
): void {
  const size = H * W;
  if (gradInputIsForwardConv(kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft)) {
    let target = dx;
    let targetOff = dxOff;
    if (accumulate) {
      if (planeStaging.length < size) planeStaging = new Float32Array(size);
      target = planeStaging;
      targetOff = 0;
    }
    depthwisePlane(
      dy, dyOff, Ho, Wo, rotated, wOff, kH, kW, 1, 1, dilationH, dilationW,
      dilationH * (kH - 1) - padTop, dilationW * (kW - 1) - padLeft, 0, 0, target, targetOff, H, W,
    );
    if (accumulate) for (let k = 0; k < size; k++) dx[dxOff + k] += target[k]!;
    return;
  }
  if (planeSums.length < size) planeSums = new Float64Array(size);
  const sums = planeSums;
  if (accumulate) for (let k = 0; k < size; k++) sums[k] = dx[dxOff + k]!;
  else sums.fill(0, 0, size);
  for (let p = 0; p < kH; p++) {
    for (let q = 0; q < kW; q++) {
      const wv = w[wOff + p * kW + q]!;
      const colShift = q * dilationW - padLeft;
      // Output columns j whose input column j*strideW + colShift lies in [0, W).
      const jStart = colShift >= 0 ? 0 : Math.ceil(-colShift / strideW);
      const jEnd = Math.min(Wo, Math.floor((W - 1 - colShift) / strideW) + 1);
      if (jEnd <= jStart) continue;
      for (let i = 0; i < Ho; i++) {
        const r = i * strideH + p * dilationH - padTop;
        if (r < 0 || r >= H) continue;
        let s = (r * W + jStart * strideW + colShift) | 0;
        let d = (dyOff + i * Wo + jStart) | 0;
        const dEnd = (dyOff + i * Wo + jEnd) | 0;
        for (; d < dEnd; d = (d + 1) | 0, s = (s + strideW) | 0) sums[s] += wv * dy[d]!;
      }
    }
  }
  for (let k = 0; k < size; k++) dx[dxOff + k] = sums[k]!;
}

/**
 * dW of one filter (kH×kW at `dw[dwOff]`) = (accumulate ? dW : 0) + sum over the plane of
 * dY (Ho×Wo at `dy[dyOff]`) times the input plane (H×W at `x[xOff]`) shifted by each tap.
 */
export function depthwiseGradWeightPlane(
  dy: Float32Array, dyOff: number, Ho: number, Wo: number,
  x: Float32Array, xOff: number, H: number, W: number,
  kH: number, kW: number, strideH: number, strideW: number, dilationH: number, dilationW: number,
  padTop: number, padLeft: number,
  dw: Float32Array, dwOff: number, accumulate: boolean,
): void {
  for (let p = 0; p < kH; p++) {
    for (let q = 0; q < kW; q++) {
      const colShift = q * dilationW - padLeft;
      const jStart = colShift >= 0 ? 0 : Math.ceil(-colShift / strideW);
      const jEnd = Math.min(Wo, Math.floor((W - 1 - colShift) / strideW) + 1);
      let sum = accumulate ? dw[dwOff + p * kW + q]! : 0;
      if (jEnd > jStart) {
        for (let i = 0; i < Ho; i++) {
          const r = i * strideH + p * dilationH - padTop;
          if (r < 0 || r >= H) continue;
          let s = (xOff + r * W + jStart * strideW + colShift) | 0;
          let d = (dyOff + i * Wo + jStart) | 0;
          const dEnd = (dyOff + i * Wo + jEnd) | 0;
          let row = 0;
          for (; d < dEnd; d = (d + 1) | 0, s = (s + strideW) | 0) row += dy[d]! * x[s]!;
          sum += row;
        }
      }
      dw[dwOff + p * kW + q] = sum;
    }
  }
}
