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
 * x row shifted by 0, 1, 2: one pass slides a window of x along the row, two output columns per
 * step (two dY and two x loads for six multiply-adds, each sum's chain advancing once per step),
 * with the three float64 sums in locals. With padding 0 or 1, at most one column on each side
 * misses a tap; those are added by straight-line code, so the loop tests no bounds.
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

/** Writes (or adds, when `accumulate`) one filter row's three tap sums at `dw[o]`. */
export function storeRowTaps(dw: Float32Array, o: number, s0: number, s1: number, s2: number, accumulate: boolean): void {
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

/** dW (9 values at `dw[dwOff]`) = (accumulate ? dW : 0) + the plane's gradient. */
export function depthwise3x3s1GradWeight(
  dy: Float32Array, dyOff: number, Ho: number, Wo: number,
  x: Float32Array, xOff: number, H: number, W: number,
  padTop: number, padLeft: number,
  dw: Float32Array, dwOff: number, accumulate: boolean,
): void {
  // Output columns j in [jA, jB) read all three taps inside the row (j − pl ≥ 0 and
  // j − pl + 2 ≤ W − 1). With padding 0 or 1 at most one column on each side does not: column 0
  // when pl = 1 (no tap 0) and column Wo − 1 when it hangs over the right padding (no tap 2).
  const jA = padLeft;
  const jB = Math.max(jA, Math.min(Wo, W - 2 + padLeft));
  const leftEdge = jA === 1 && Wo > 0;
  const rightEdge = jB < Wo;
  const span = jB - jA;
  const pairs = span >> 1;
  const odd = (span & 1) === 1;
  for (let p = 0; p < 3; p++) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    const iStart = Math.max(0, padTop - p);
    const iEnd = Math.min(Ho, H + padTop - p);
    for (let i = iStart; i < iEnd; i++) {
      const dRow = (dyOff + i * Wo) | 0;
      // x column of output j, tap q is j + q − pl: xRow + j + q.
      const xRow = (xOff + (i + p - padTop) * W - padLeft) | 0;
      if (leftEdge) {
        const v = dy[dRow]!;
        s1 += v * x[xRow + 1]!;
        if (W > 1) s2 += v * x[xRow + 2]!;
      }
      if (span > 0) {
        let d = (dRow + jA) | 0;
        let xs = (xRow + jA) | 0;
        let a0 = x[xs]!;
        let a1 = x[xs + 1]!;
        // Two output columns per step: taps (a0, a1, a2) for column j, (a1, a2, a3) for j + 1.
        for (let m = 0; m < pairs; m++, d = (d + 2) | 0, xs = (xs + 2) | 0) {
          const v0 = dy[d]!, v1 = dy[d + 1]!;
          const a2 = x[xs + 2]!, a3 = x[xs + 3]!;
          s0 += v0 * a0 + v1 * a1;
          s1 += v0 * a1 + v1 * a2;
          s2 += v0 * a2 + v1 * a3;
          a0 = a2;
          a1 = a3;
        }
        if (odd) {
          const v = dy[d]!;
          s0 += v * a0;
          s1 += v * a1;
          s2 += v * x[xs + 2]!;
        }
      }
      if (rightEdge) {
        // Column Wo − 1 = jB: taps 0 and (if inside the row) 1.
        const v = dy[dRow + jB]!;
        const c = xRow + jB;
        s0 += v * x[c]!;
        if (jB - padLeft + 1 < W) s1 += v * x[c + 1]!;
      }
    }
    storeRowTaps(dw, dwOff + 3 * p, s0, s1, s2, accumulate);
  }
}
