/**
 * Depthwise 3×3, stride 2, dilation 1, padding 0 or 1 per side: backward of one plane.
 *
 * gradInput, the transposed convolution written as a gather: input row r receives filter row p
 * from output row i = (r + pt − p) / 2 when that is a whole number in [0, Ho). So rows with
 * r + pt even take filter rows 0 and 2 (output rows i and i − 1), the others filter row 1 only;
 * along a row the same holds for columns: with e = 2j − pl,
 *
 *   dX[e]     = b0·dY[j] + b2·dY[j − 1]        dX[e + 1] = b1·dY[j]
 *
 * so each output value is loaded once per filter row and every multiply-add is useful (9 per
 * output pixel, the forward's count). Values are summed in float64 in a fixed order (filter row
 * 0 before 2, tap 0 before 2) and stored once.
 *
 * gradWeight: dW[p, q] = sum_{i,j} dY[i, j] · x[2i + p − pt, 2j + q − pl]: per filter row and
 * output row, three dot products of the dY row with the x row at stride 2; the window of output
 * j + 1 starts where output j's ends, so each column costs one dY and two x loads for three
 * multiply-adds, float64 sums in locals. Columns touching the padding go through an edge loop.
 */

/** The contribution of filter row (b0, b1, b2) applied to dY row `d` at input column s (edges only). */
function edgeColumn(dy: Float32Array, d: number, Wo: number, b0: number, b1: number, b2: number, s: number, padLeft: number): number {
  const t = s + padLeft;
  if ((t & 1) === 1) {
    const j = (t - 1) >> 1;
    return j >= 0 && j < Wo ? b1 * dy[d + j]! : 0;
  }
  const j = t >> 1;
  const first = j < Wo ? b0 * dy[d + j]! : 0;
  return first + (j >= 1 && j - 1 < Wo ? b2 * dy[d + j - 1]! : 0);
}

/**
 * One input row from one output row `d` and filter row (b0, b1, b2) at `w[wr]`:
 * out[s] = (accumulate ? out[s] : 0) + contribution.
 */
function rowFromOne(
  dy: Float32Array, d: number, Wo: number, w: Float32Array, wr: number, padLeft: number,
  dx: Float32Array, o: number, W: number, accumulate: boolean,
): void {
  const b0 = w[wr]!, b1 = w[wr + 1]!, b2 = w[wr + 2]!;
  // Interior: j ≥ 1 and both e = 2j − pl and e + 1 inside the row.
  const jEnd = Math.min(Wo, (W - 2 + padLeft) >> 1 >= 0 ? ((W - 2 + padLeft) >> 1) + 1 : 0);
  let s = 0;
  const headEnd = Math.min(W, 2 - padLeft);
  for (; s < headEnd; s++) {
    const v = edgeColumn(dy, d, Wo, b0, b1, b2, s, padLeft);
    dx[o + s] = accumulate ? dx[o + s]! + v : v;
  }
  if (jEnd > 1) {
    let prev = dy[d]!;
    let e = (o + 2 - padLeft) | 0;
    const last = (d + jEnd) | 0;
    if (accumulate) {
      for (let k = (d + 1) | 0; k < last; k = (k + 1) | 0, e = (e + 2) | 0) {
        const cur = dy[k]!;
        dx[e] = dx[e]! + (b0 * cur + b2 * prev);
        dx[e + 1] = dx[e + 1]! + b1 * cur;
        prev = cur;
      }
    } else {
      for (let k = (d + 1) | 0; k < last; k = (k + 1) | 0, e = (e + 2) | 0) {
        const cur = dy[k]!;
        dx[e] = b0 * cur + b2 * prev;
        dx[e + 1] = b1 * cur;
        prev = cur;
      }
    }
    s = 2 * jEnd - padLeft;
  }
  for (; s < W; s++) {
    const v = edgeColumn(dy, d, Wo, b0, b1, b2, s, padLeft);
    dx[o + s] = accumulate ? dx[o + s]! + v : v;
  }
}

/** One input row from output rows `dA` (filter row at `w[wa]`) and `dB` (filter row at `w[wb]`). */
function rowFromTwo(
  dy: Float32Array, dA: number, dB: number, Wo: number, w: Float32Array, wa: number, wb: number, padLeft: number,
  dx: Float32Array, o: number, W: number, accumulate: boolean,
): void {
  const a0 = w[wa]!, a1 = w[wa + 1]!, a2 = w[wa + 2]!;
  const c0 = w[wb]!, c1 = w[wb + 1]!, c2 = w[wb + 2]!;
  const jEnd = Math.min(Wo, (W - 2 + padLeft) >> 1 >= 0 ? ((W - 2 + padLeft) >> 1) + 1 : 0);
  let s = 0;
  const headEnd = Math.min(W, 2 - padLeft);
  for (; s < headEnd; s++) {
    const v = edgeColumn(dy, dA, Wo, a0, a1, a2, s, padLeft) + edgeColumn(dy, dB, Wo, c0, c1, c2, s, padLeft);
    dx[o + s] = accumulate ? dx[o + s]! + v : v;
  }
  if (jEnd > 1) {
    let prevA = dy[dA]!;
    let prevB = dy[dB]!;
    let e = (o + 2 - padLeft) | 0;
    let kB = (dB + 1) | 0;
    const last = (dA + jEnd) | 0;
    if (accumulate) {
      for (let kA = (dA + 1) | 0; kA < last; kA = (kA + 1) | 0, kB = (kB + 1) | 0, e = (e + 2) | 0) {
        const curA = dy[kA]!;
        const curB = dy[kB]!;
        dx[e] = dx[e]! + ((a0 * curA + a2 * prevA) + (c0 * curB + c2 * prevB));
        dx[e + 1] = dx[e + 1]! + (a1 * curA + c1 * curB);
        prevA = curA;
        prevB = curB;
      }
    } else {
      for (let kA = (dA + 1) | 0; kA < last; kA = (kA + 1) | 0, kB = (kB + 1) | 0, e = (e + 2) | 0) {
        const curA = dy[kA]!;
        const curB = dy[kB]!;
        dx[e] = (a0 * curA + a2 * prevA) + (c0 * curB + c2 * prevB);
        dx[e + 1] = a1 * curA + c1 * curB;
        prevA = curA;
        prevB = curB;
      }
    }
    s = 2 * jEnd - padLeft;
  }
  for (; s < W; s++) {
    const v = edgeColumn(dy, dA, Wo, a0, a1, a2, s, padLeft) + edgeColumn(dy, dB, Wo, c0, c1, c2, s, padLeft);
    dx[o + s] = accumulate ? dx[o + s]! + v : v;
  }
}

/** dX plane (H×W) = (accumulate ? dX : 0) + the gradient through filter `w[wOff]` of dY (Ho×Wo). */
export function depthwise3x3s2GradInput(
  dy: Float32Array, dyOff: number, Ho: number, Wo: number,
  w: Float32Array, wOff: number, padTop: number, padLeft: number,
  dx: Float32Array, dxOff: number, H: number, W: number, accumulate: boolean,
): void {
  for (let r = 0; r < H; r++) {
    const o = dxOff + r * W;
    const t = r + padTop;
    if ((t & 1) === 1) {
      // Filter row 1 from output row (t − 1) / 2.
      const i = (t - 1) >> 1;
      if (i < Ho) rowFromOne(dy, dyOff + i * Wo, Wo, w, wOff + 3, padLeft, dx, o, W, accumulate);
      else if (!accumulate) dx.fill(0, o, o + W);
    } else {
      // Filter row 0 from output row t / 2, filter row 2 from output row t / 2 − 1.
      const i = t >> 1;
      const hasRow0 = i < Ho;
      const hasRow2 = i >= 1 && i - 1 < Ho;
      if (hasRow0 && hasRow2) rowFromTwo(dy, dyOff + i * Wo, dyOff + (i - 1) * Wo, Wo, w, wOff, wOff + 6, padLeft, dx, o, W, accumulate);
      else if (hasRow0) rowFromOne(dy, dyOff + i * Wo, Wo, w, wOff, padLeft, dx, o, W, accumulate);
      else if (hasRow2) rowFromOne(dy, dyOff + (i - 1) * Wo, Wo, w, wOff + 6, padLeft, dx, o, W, accumulate);
      else if (!accumulate) dx.fill(0, o, o + W);
    }
  }
}

/** dW (9 values at `dw[dwOff]`) = (accumulate ? dW : 0) + the plane's gradient. */
export function depthwise3x3s2GradWeight(
  dy: Float32Array, dyOff: number, Ho: number, Wo: number,
  x: Float32Array, xOff: number, H: number, W: number,
  padTop: number, padLeft: number,
  dw: Float32Array, dwOff: number, accumulate: boolean,
): void {
  // Columns j in [jA, jB) have all three taps inside the row: 2j − pl ≥ 0 and 2j − pl + 2 ≤ W − 1.
  const jA = (padLeft + 1) >> 1;
  const jB = Math.max(jA, Math.min(Wo, ((W - 3 + padLeft) >> 1) + 1));
  for (let p = 0; p < 3; p++) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < Ho; i++) {
      const r = 2 * i + p - padTop;
      if (r < 0 || r >= H) continue;
      const dRow = (dyOff + i * Wo) | 0;
      const xRow = (xOff + r * W - padLeft) | 0;
      for (let j = 0; j < jA && j < Wo; j++) {
        const d = dy[dRow + j]!;
        const c = 2 * j - padLeft;
        if (c >= 0 && c < W) s0 += d * x[xRow + 2 * j]!;
        if (c + 1 >= 0 && c + 1 < W) s1 += d * x[xRow + 2 * j + 1]!;
        if (c + 2 >= 0 && c + 2 < W) s2 += d * x[xRow + 2 * j + 2]!;
      }
      if (jB > jA) {
        let xs = (xRow + 2 * jA) | 0;
        let a0 = x[xs]!;
        const dEnd = (dRow + jB) | 0;
        for (let d = (dRow + jA) | 0; d < dEnd; d = (d + 1) | 0, xs = (xs + 2) | 0) {
          const a1 = x[xs + 1]!;
          const a2 = x[xs + 2]!;
          const v = dy[d]!;
          s0 += v * a0;
          s1 += v * a1;
          s2 += v * a2;
          a0 = a2;
        }
      }
      for (let j = jB; j < Wo; j++) {
        const d = dy[dRow + j]!;
        const c = 2 * j - padLeft;
        if (c >= 0 && c < W) s0 += d * x[xRow + 2 * j]!;
        if (c + 1 >= 0 && c + 1 < W) s1 += d * x[xRow + 2 * j + 1]!;
        if (c + 2 >= 0 && c + 2 < W) s2 += d * x[xRow + 2 * j + 2]!;
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
