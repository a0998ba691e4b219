/**
 * Depthwise 3×3, stride 1, dilation 1, padding 0 or 1 per side: backward of one plane.
 *
 * gradInput: dX[r, s] = sum_{p,q} w[p, q] · dY[r + pt − p, s + pl − q], the correlation of dY
 * with the filter rotated by 180° and padding 2 − pad. With padding 1 on every side that is
 * exactly the forward 3×3 stride-1 kernel (depthwise-3x3s1.ts) run on dY, at forward speed;
 * other paddings take the general plane kernel (depthwise-general-backward.ts).
 *
 * gradWeight: dW[p, q] = sum_{i,j} dY[i, j] · x[i + p − pt, j + q − pl]. For each filter row p
 * and output row i, the three taps of that row are three dot products of the dY row with the
 * x row shifted by 0, 1, 2: one pass slides a 3-wide window of x along the row, so each column
 * costs one dY load and one x load for three multiply-adds, with the three float64 sums in
 * locals. Columns whose window hangs over the padding are added by a short edge loop.
 */
import { depthwise3x3s1 } from './depthwise-3x3s1.js';
import { depthwiseGradInputPlane } from './depthwise-general-backward.js';

let staging = new Float32Array(256);

/** dX plane (H×W) = (accumulate ? dX : 0) + gradient through filter `w[wOff]` (rotated copy at `rotated[wOff]`). */
export function depthwise3x3s1GradInput(
  dy: Float32Array, dyOff: number, Ho: number, Wo: number,
  w: Float32Array, rotated: Float32Array, wOff: number, padTop: number, padLeft: number,
  dx: Float32Array, dxOff: number, H: number, W: number, accumulate: boolean,
): void {
  if (padTop === 1 && padLeft === 1 && Ho === H && Wo === W) {
    if (!accumulate) {
      depthwise3x3s1(dy, dyOff, Ho, Wo, rotated, wOff, 1, 1, 0, 0, dx, dxOff, H, W);
      return;
    }
    const size = H * W;
    if (staging.length < size) staging = new Float32Array(size);
    depthwise3x3s1(dy, dyOff, Ho, Wo, rotated, wOff, 1, 1, 0, 0, staging, 0, H, W);
    for (let k = 0; k < size; k++) dx[dxOff + k] += staging[k]!;
    return;
  }
  depthwiseGradInputPlane(dy, dyOff, Ho, Wo, w, rotated, wOff, 3, 3, 1, 1, 1, 1, padTop, padLeft, dx, dxOff, H, W, accumulate);
}

/** dW (9 values at `dw[dwOff]`) = (accumulate ? dW : 0) + the plane's gradient. */
export function depthwise3x3s1GradWeight(
  dy: Float32Array, dyOff: number, Ho: number, Wo: number,
  x: Float32Array, xOff: number, H: number, W: number,
  padTop: number, padLeft: number,
  dw: Float32Array, dwOff: number, accumulate: boolean,
): void {
  // Columns j in [jA, jB) have all three taps inside the row: j − pl ≥ 0 and j − pl + 2 ≤ W − 1.
  const jA = padLeft;
  const jB = Math.min(Wo, W - 2 + padLeft);
  for (let p = 0; p < 3; p++) {
    const iStart = Math.max(0, padTop - p);
    const iEnd = Math.min(Ho, H + padTop - p);
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    for (let i = iStart; i < iEnd; i++) {
      const dRow = (dyOff + i * Wo) | 0;
      const xRow = (xOff + (i + p - padTop) * W - padLeft) | 0;
      // Edge columns (window partly in the padding), then the interior.
      for (let j = 0; j < jA && j < Wo; j++) {
        const d = dy[dRow + j]!;
        const xs = xRow + j;
        if (j - padLeft >= 0) s0 += d * x[xs]!;
        if (j - padLeft + 1 >= 0 && j - padLeft + 1 < W) s1 += d * x[xs + 1]!;
        if (j - padLeft + 2 < W) s2 += d * x[xs + 2]!;
      }
      if (jB > jA) {
        let xs = (xRow + jA) | 0;
        let a0 = x[xs]!;
        let a1 = x[xs + 1]!;
        xs = (xs + 2) | 0;
        const dEnd = (dRow + jB) | 0;
        for (let d = (dRow + jA) | 0; d < dEnd; d = (d + 1) | 0, xs = (xs + 1) | 0) {
          const a2 = x[xs]!;
          const v = dy[d]!;
          s0 += v * a0;
          s1 += v * a1;
          s2 += v * a2;
          a0 = a1;
          a1 = a2;
        }
      }
      for (let j = Math.max(jB, jA); j < Wo; j++) {
        const d = dy[dRow + j]!;
        const xs = xRow + j;
        if (j - padLeft >= 0 && j - padLeft < W) s0 += d * x[xs]!;
        if (j - padLeft + 1 >= 0 && j - padLeft + 1 < W) s1 += d * x[xs + 1]!;
        if (j - padLeft + 2 >= 0 && j - padLeft + 2 < W) s2 += d * x[xs + 2]!;
      }
    }
    const o = dwOff + 3 * p;
    if (accumulate) {
      dw[o] += s0;
      dw[o + 1] += s1;
      dw[o + 2] += s2;
    } else {
      dw[o] = s0;
      dw[o + 1] = s1;
      dw[o + 2] = s2;
    }
  }
}
