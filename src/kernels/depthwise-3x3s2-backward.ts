/**
 * Depthwise 3×3, stride 2, dilation 1, padding 0 or 1 per side: backward of one plane.
 *
 * gradInput, the transposed convolution written as a gather. Input row r, column s receives
 * filter tap (p, q) from output (i, j) when r + pt = 2i + p and s + pl = 2j + q. With t = r + pt
 * and u = s + pl:
 *
 *   t odd:  filter row 1 from output row (t − 1)/2        t even: row 0 from t/2 and row 2 from t/2 − 1
 *   u odd:  b1·dY[(u − 1)/2]                              u even: b0·dY[u/2] + b2·dY[u/2 − 1]
 *
 * dY is first copied into a plane with one zero row and column on every side, so every input
 * pixel takes the same formula (no edge cases), and input rows are produced in pairs (t odd,
 * t + 1 even) that share the two output rows they read: per output column, 2 loads, 9
 * multiply-adds and 4 stores, every multiply-add useful. Float64 sums in a fixed order.
 *
 * gradWeight: dW[p, q] = sum_{i,j} dY[i, j] · x[2i + p − pt, 2j + q − pl]: per filter row and
 * output row, three dot products of the dY row with the x row at stride 2, two output columns
 * per step (the window of column j + 1 starts where column j's ends), float64 sums in locals.
 */

import { storeRowTaps } from './depthwise-3x3s1-backward.js';

let paddedOutput = new Float32Array(256);
let staging = new Float32Array(256);

/** Copies the Ho×Wo plane at `src[srcOff]` into `dst` ((Ho + 2)×(Wo + 2)) with a zero border of one. */
function copyWithBorder(src: Float32Array, srcOff: number, Ho: number, Wo: number, dst: Float32Array): void {
  const Wq = Wo + 2;
  dst.fill(0, 0, Wq);
  let o = Wq;
  let s = srcOff;
  for (let i = 0; i < Ho; i++) {
    dst[o++] = 0;
    for (let j = 0; j < Wo; j++) dst[o++] = src[s++]!;
    dst[o++] = 0;
  }
  dst.fill(0, o, o + Wq);
}

/**
 * Input row with t odd: filter row 1 (b0, b1, b2) from bordered output row `a` (column u of the
 * input reads bordered columns ⌊u/2⌋ and ⌊u/2⌋ + 1). Columns u from pl to pl + W − 1.
 */
function oddRow(dp: Float32Array, a: number, b0: number, b1: number, b2: number, dx: Float32Array, o: number, W: number, pl: number): void {
  let s = 0;
  let k = a;
  if (pl === 0) {
    // u = 0 (even): b0·dY[0] + b2·dY[−1].
    dx[o] = b0 * dp[a + 1]! + b2 * dp[a]!;
    s = 1;
  }
  // Units (u = 2j + 1 odd, u + 1 even) for j = (s + pl − 1)/2 ...: read bordered j + 1 and j + 2.
  let prev = dp[k + 1]!;
  k = (k + 2) | 0;
  for (; s + 1 < W; s += 2, k = (k + 1) | 0) {
    const cur = dp[k]!;
    dx[o + s] = b1 * prev;
    dx[o + s + 1] = b0 * cur + b2 * prev;
    prev = cur;
  }
  if (s < W) dx[o + s] = b1 * prev;
}

/** Input row with t even: filter row 0 (c*) from bordered row `b` and filter row 2 (e*) from bordered row `a`. */
function evenRow(
  dp: Float32Array, a: number, b: number,
  c0: number, c1: number, c2: number, e0: number, e1: number, e2: number,
  dx: Float32Array, o: number, W: number, pl: number,
): void {
  let s = 0;
  if (pl === 0) {
    dx[o] = (c0 * dp[b + 1]! + c2 * dp[b]!) + (e0 * dp[a + 1]! + e2 * dp[a]!);
    s = 1;
  }
  let prevA = dp[a + 1]!;
  let prevB = dp[b + 1]!;
  let kA = (a + 2) | 0;
  let kB = (b + 2) | 0;
  for (; s + 1 < W; s += 2, kA = (kA + 1) | 0, kB = (kB + 1) | 0) {
    const curA = dp[kA]!;
    const curB = dp[kB]!;
    dx[o + s] = c1 * prevB + e1 * prevA;
    dx[o + s + 1] = (c0 * curB + c2 * prevB) + (e0 * curA + e2 * prevA);
    prevA = curA;
    prevB = curB;
  }
  if (s < W) dx[o + s] = c1 * prevB + e1 * prevA;
}

/**
 * `pairs` pairs of input rows from `o` on: the odd-t row (filter row 1 from bordered row a) and
 * the even-t row after it (filter row 0 from bordered row a + 1, row 2 from a), sharing loads.
 */
function rowPairs(
  dp: Float32Array, aFirst: number, Wq: number, w: Float32Array, wOff: number,
  dx: Float32Array, oFirst: number, W: number, pl: number, pairs: number,
): void {
  const w0 = w[wOff]!, w1 = w[wOff + 1]!, w2 = w[wOff + 2]!;
  const w3 = w[wOff + 3]!, w4 = w[wOff + 4]!, w5 = w[wOff + 5]!;
  const w6 = w[wOff + 6]!, w7 = w[wOff + 7]!, w8 = w[wOff + 8]!;
  for (let m = 0; m < pairs; m++) {
    const a = (aFirst + m * Wq) | 0;
    const b = (a + Wq) | 0;
    const o = (oFirst + 2 * m * W) | 0;
    const o2 = (o + W) | 0;
    let s = 0;
    if (pl === 0) {
      dx[o] = w3 * dp[a + 1]! + w5 * dp[a]!;
      dx[o2] = (w0 * dp[b + 1]! + w2 * dp[b]!) + (w6 * dp[a + 1]! + w8 * dp[a]!);
      s = 1;
    }
    let prevA = dp[a + 1]!;
    let prevB = dp[b + 1]!;
    let kA = (a + 2) | 0;
    let kB = (b + 2) | 0;
    for (; s + 1 < W; s += 2, kA = (kA + 1) | 0, kB = (kB + 1) | 0) {
      const curA = dp[kA]!;
      const curB = dp[kB]!;
      dx[o + s] = w4 * prevA;
      dx[o + s + 1] = w3 * curA + w5 * prevA;
      dx[o2 + s] = w1 * prevB + w7 * prevA;
      dx[o2 + s + 1] = (w0 * curB + w2 * prevB) + (w6 * curA + w8 * prevA);
      prevA = curA;
      prevB = curB;
    }
    if (s < W) {
      dx[o + s] = w4 * prevA;
      dx[o2 + s] = w1 * prevB + w7 * prevA;
    }
  }
}

/** dX plane (H×W) = (accumulate ? dX : 0) + the gradient through filter `w[wOff]` of dY (Ho×Wo). */
export function depthwise3x3s2GradInput(
  dy: Float32Array, dyOff: number, Ho: number, Wo: number,
  w: Float32Array, wOff: number, padTop: number, padLeft: number,
  dx: Float32Array, dxOff: number, H: number, W: number, accumulate: boolean,
): void {
  const Wq = Wo + 2;
  const bordered = (Ho + 2) * Wq;
  if (paddedOutput.length < bordered) paddedOutput = new Float32Array(bordered);
  const dp = paddedOutput;
  copyWithBorder(dy, dyOff, Ho, Wo, dp);
  let target = dx;
  let o = dxOff;
  if (accumulate) {
    if (staging.length < H * W) staging = new Float32Array(H * W);
    target = staging;
    o = 0;
  }
  const first = o;
  // Input row r has t = r + pt; output row i is bordered row i + 1. Rows past the last output
  // row's reach read the zero border, rows beyond it are zero.
  let r = 0;
  if (padTop === 0) {
    // t = 0 (even): filter row 0 from output row 0, row 2 from output row −1.
    evenRow(dp, 0, Wq, w[wOff]!, w[wOff + 1]!, w[wOff + 2]!, w[wOff + 6]!, w[wOff + 7]!, w[wOff + 8]!, target, o, W, padLeft);
    r = 1;
    o += W;
  }
  // From here t = r + pt is odd at r; the pair (t, t + 1) reads output rows (t − 1)/2 and (t + 1)/2,
  // all inside the bordered plane while (t + 1)/2 ≤ Ho.
  const tFirst = r + padTop;
  const reachable = Math.max(0, Math.min(Math.floor((H - r) / 2), Ho + 1 - (tFirst + 1) / 2));
  rowPairs(dp, ((tFirst - 1) / 2 + 1) * Wq, Wq, w, wOff, target, o, W, padLeft, reachable);
  r += 2 * reachable;
  o += 2 * W * reachable;
  for (; r < H; r++, o += W) {
    const t = r + padTop;
    if ((t & 1) === 1) {
      const i = (t - 1) >> 1;
      if (i < Ho) oddRow(dp, (i + 1) * Wq, w[wOff + 3]!, w[wOff + 4]!, w[wOff + 5]!, target, o, W, padLeft);
      else target.fill(0, o, o + W);
    } else {
      const i = t >> 1;
      if (i <= Ho) {
        evenRow(dp, i * Wq, (i + 1) * Wq, w[wOff]!, w[wOff + 1]!, w[wOff + 2]!, w[wOff + 6]!, w[wOff + 7]!, w[wOff + 8]!, target, o, W, padLeft);
      } else {
        target.fill(0, o, o + W);
      }
    }
  }
  if (accumulate) for (let k = 0; k < H * W; k++) dx[dxOff + k] += target[first + k]!;
}

/** dW (9 values at `dw[dwOff]`) = (accumulate ? dW : 0) + the plane's gradient. */
export function depthwise3x3s2GradWeight(
  dy: Float32Array, dyOff: number, Ho: number, Wo: number,
  x: Float32Array, xOff: number, H: number, W: number,
  padTop: number, padLeft: number,
  dw: Float32Array, dwOff: number, accumulate: boolean,
): void {
  // Output columns j in [jA, jB) read all three taps inside the row: 2j − pl ≥ 0 and
  // 2j − pl + 2 ≤ W − 1. At most one column on each side does not (column 0 when pl = 1, the
  // last column when its window hangs over the right padding); straight-line code adds those.
  const jA = padLeft;
  const jB = Math.max(jA, Math.min(Wo, ((W - 3 + padLeft) >> 1) + 1));
  const leftEdge = jA === 1 && Wo > 0;
  const span = jB - jA;
  const pairs = span >> 1;
  const odd = (span & 1) === 1;
  for (let p = 0; p < 3; p++) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < Ho; i++) {
      const r = 2 * i + p - padTop;
      if (r < 0 || r >= H) continue;
      const dRow = (dyOff + i * Wo) | 0;
      // x column of output j, tap q is 2j + q − pl: xRow + 2j + q.
      const xRow = (xOff + r * W - padLeft) | 0;
      if (leftEdge) {
        const v = dy[dRow]!;
        s1 += v * x[xRow + 1]!;
        if (W > 1) s2 += v * x[xRow + 2]!;
      }
      if (span > 0) {
        let d = (dRow + jA) | 0;
        let xs = (xRow + 2 * jA) | 0;
        let a0 = x[xs]!;
        // Two output columns per step: taps (a0, a1, a2) for column j, (a2, a3, a4) for j + 1.
        for (let m = 0; m < pairs; m++, d = (d + 2) | 0, xs = (xs + 4) | 0) {
          const v0 = dy[d]!, v1 = dy[d + 1]!;
          const a1 = x[xs + 1]!, a2 = x[xs + 2]!, a3 = x[xs + 3]!, a4 = x[xs + 4]!;
          s0 += v0 * a0 + v1 * a2;
          s1 += v0 * a1 + v1 * a3;
          s2 += v0 * a2 + v1 * a4;
          a0 = a4;
        }
        if (odd) {
          const v = dy[d]!;
          s0 += v * a0;
          s1 += v * x[xs + 1]!;
          s2 += v * x[xs + 2]!;
        }
      }
      for (let j = jB; j < Wo; j++) {
        // The last column: taps inside the row only.
        if (j === 0 && leftEdge) continue;
        const v = dy[dRow + j]!;
        const c = 2 * j - padLeft;
        if (c >= 0 && c < W) s0 += v * x[xRow + 2 * j]!;
        if (c + 1 >= 0 && c + 1 < W) s1 += v * x[xRow + 2 * j + 1]!;
        if (c + 2 < W) s2 += v * x[xRow + 2 * j + 2]!;
      }
    }
    storeRowTaps(dw, dwOff + 3 * p, s0, s1, s2, accumulate);
  }
}
