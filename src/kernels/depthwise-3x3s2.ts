/**
 * Depthwise 3×3, stride 2, dilation 1, zero padding of 0 or 1 on each side (top/left are passed,
 * bottom/right follow from Ho, Wo). One input plane and one filter → one output plane, with the
 * bias and activation applied as each output is stored.
 *
 * Same scheme as the stride-1 kernel (depthwise-3x3s1.ts): the loops walk input columns and
 * carry one partial sum per output row. With stride 2 each output takes two new input columns:
 * the even one completes the pending output (filter column 2) and starts the next (column 0),
 * the odd one adds filter column 1. Two output rows are computed per pass; they share the middle
 * input row, so a pair costs five loads per column instead of six.
 *
 * A missing top or bottom input row is handled by a two-row variant (no zeroed weights on a real
 * row: `0 * Infinity` is NaN). Every output sums `bias + col0 + col1 + col2` in that order.
 */
import { ACT_NONE, ACT_RELU6 } from './epilogue.js';
import { depthwisePlane } from './depthwise-general.js';

export function depthwise3x3s2(
  x: Float32Array, xOff: number, H: number, W: number,
  w: Float32Array, wOff: number,
  padTop: number, padLeft: number,
  bias: number, act: number,
  y: Float32Array, yOff: number, Ho: number, Wo: number,
): void {
  if (H < 2 || W < 2) {
    depthwisePlane(x, xOff, H, W, w, wOff, 3, 3, 2, 2, 1, 1, padTop, padLeft, bias, act, y, yOff, Ho, Wo);
    return;
  }
  const clamp = act !== ACT_NONE;
  const hi = act === ACT_RELU6 ? 6 : Infinity;
  // The last output's window ends at input column 2·(Wo−1) − padLeft + 2, which is W when it hangs
  // over the right padding; likewise for the bottom row.
  const rightMissing = 2 * Wo - padLeft === W;
  const bottomMissing = 2 * Ho - padTop === H;
  let i = 0;
  let q = yOff;
  if (padTop === 1) {
    rowFrom2(x, xOff, xOff + W, w, wOff + 3, wOff + 6, padLeft, rightMissing, Wo, bias, clamp, hi, y, q);
    i = 1;
    q += Wo;
  }
  const fullEnd = bottomMissing ? Ho - 1 : Ho;
  const pairs = (fullEnd - i) >> 1;
  if (pairs > 0) {
    rowPairsFrom5(x, xOff + (2 * i - padTop) * W, W, w, wOff, padLeft, rightMissing, Wo, bias, clamp, hi, y, q, pairs);
    i += 2 * pairs;
    q += 2 * Wo * pairs;
  }
  if (i < fullEnd) {
    rowFrom3(x, xOff + (2 * i - padTop) * W, W, w, wOff, padLeft, rightMissing, Wo, bias, clamp, hi, y, q);
    i++;
    q += Wo;
  }
  if (i < Ho) {
    const r = xOff + (H - 2) * W;
    rowFrom2(x, r, r + W, w, wOff, wOff + 3, padLeft, rightMissing, Wo, bias, clamp, hi, y, q);
  }
}

/** One output row from two input rows `ra`, `rb` weighted by the filter rows at `wa`, `wb`. */
function rowFrom2(
  x: Float32Array, ra: number, rb: number,
  w: Float32Array, wa: number, wb: number, padLeft: number, rightMissing: boolean, Wo: number,
  bias: number, clamp: boolean, hi: number,
  y: Float32Array, q: number,
): void {
  const a0 = w[wa]!, a1 = w[wa + 1]!, a2 = w[wa + 2]!;
  const b0 = w[wb]!, b1 = w[wb + 1]!, b2 = w[wb + 2]!;
  const top = +hi;
  const shift = rb - ra;
  let pending: number;
  let p: number;
  if (padLeft === 1) {
    pending = bias + (a1 * x[ra]! + b1 * x[rb]!);
    p = (ra + 1) | 0;
  } else {
    pending = bias + (a0 * x[ra]! + b0 * x[rb]!);
    pending = pending + (a1 * x[ra + 1]! + b1 * x[rb + 1]!);
    p = (ra + 2) | 0;
  }
  const qEnd = (q + Wo - 1) | 0;
  for (; q < qEnd; q = (q + 1) | 0, p = (p + 2) | 0) {
    const s = x[p]!, t = x[p + shift]!;
    const v = pending + (a2 * s + b2 * t);
    pending = bias + (a0 * s + b0 * t);
    pending = pending + (a1 * x[p + 1]! + b1 * x[p + shift + 1]!);
    y[q] = clampedOutput(v, clamp, top);
  }
  const v = rightMissing ? pending : pending + (a2 * x[p]! + b2 * x[p + shift]!);
  y[q] = clampedOutput(v, clamp, top);
}

/** One output row from the three input rows starting at `r0`. */
function rowFrom3(
  x: Float32Array, r0: number, W: number,
  w: Float32Array, wo: number, padLeft: number, rightMissing: boolean, Wo: number,
  bias: number, clamp: boolean, hi: number,
  y: Float32Array, q: number,
): void {
  const w0 = w[wo]!, w1 = w[wo + 1]!, w2 = w[wo + 2]!;
  const w3 = w[wo + 3]!, w4 = w[wo + 4]!, w5 = w[wo + 5]!;
  const w6 = w[wo + 6]!, w7 = w[wo + 7]!, w8 = w[wo + 8]!;
  const top = +hi;
  const W2 = 2 * W;
  let pending: number;
  let p: number;
  if (padLeft === 1) {
    pending = bias + (w1 * x[r0]! + w4 * x[r0 + W]! + w7 * x[r0 + W2]!);
    p = (r0 + 1) | 0;
  } else {
    pending = bias + (w0 * x[r0]! + w3 * x[r0 + W]! + w6 * x[r0 + W2]!);
    pending = pending + (w1 * x[r0 + 1]! + w4 * x[r0 + W + 1]! + w7 * x[r0 + W2 + 1]!);
    p = (r0 + 2) | 0;
  }
  const qEnd = (q + Wo - 1) | 0;
  for (; q < qEnd; q = (q + 1) | 0, p = (p + 2) | 0) {
    const a = x[p]!, b = x[p + W]!, c = x[p + W2]!;
    const v = pending + (w2 * a + w5 * b + w8 * c);
    pending = bias + (w0 * a + w3 * b + w6 * c);
    pending = pending + (w1 * x[p + 1]! + w4 * x[p + W + 1]! + w7 * x[p + W2 + 1]!);
    y[q] = clampedOutput(v, clamp, top);
  }
  const v = rightMissing ? pending : pending + (w2 * x[p]! + w5 * x[p + W]! + w8 * x[p + W2]!);
  y[q] = clampedOutput(v, clamp, top);
}

/**
 * `pairs` pairs of output rows from `qFirst` on, the first from the five input rows starting at
 * `rFirst`. In a pair the middle input row feeds filter row 2 of the upper output and filter
 * row 0 of the lower one. One call covers all pairs, so small planes pay the call and the
 * weight loads once (~7% on 14×14 and 7×7 planes).
 */
function rowPairsFrom5(
  x: Float32Array, rFirst: number, W: number,
  w: Float32Array, wo: number, padLeft: number, rightMissing: boolean, Wo: number,
  bias: number, clamp: boolean, hi: number,
  y: Float32Array, qFirst: number, pairs: number,
): void {
  const w0 = w[wo]!, w1 = w[wo + 1]!, w2 = w[wo + 2]!;
  const w3 = w[wo + 3]!, w4 = w[wo + 4]!, w5 = w[wo + 5]!;
  const w6 = w[wo + 6]!, w7 = w[wo + 7]!, w8 = w[wo + 8]!;
  const top = +hi;
  const W2 = 2 * W;
  const W3 = 3 * W;
  const W4 = 4 * W;
  for (let k = 0; k < pairs; k++) {
    const r0 = (rFirst + k * W4) | 0;
    let q = (qFirst + 2 * k * Wo) | 0;
    let upper: number;
    let lower: number;
    let p: number;
    if (padLeft === 1) {
      const c = x[r0 + W2]!;
      upper = bias + (w1 * x[r0]! + w4 * x[r0 + W]! + w7 * c);
      lower = bias + (w1 * c + w4 * x[r0 + W3]! + w7 * x[r0 + W4]!);
      p = (r0 + 1) | 0;
    } else {
      let c = x[r0 + W2]!;
      upper = bias + (w0 * x[r0]! + w3 * x[r0 + W]! + w6 * c);
      lower = bias + (w0 * c + w3 * x[r0 + W3]! + w6 * x[r0 + W4]!);
      c = x[r0 + W2 + 1]!;
      upper = upper + (w1 * x[r0 + 1]! + w4 * x[r0 + W + 1]! + w7 * c);
      lower = lower + (w1 * c + w4 * x[r0 + W3 + 1]! + w7 * x[r0 + W4 + 1]!);
      p = (r0 + 2) | 0;
    }
    const qEnd = (q + Wo - 1) | 0;
    for (; q < qEnd; q = (q + 1) | 0, p = (p + 2) | 0) {
      let a = x[p]!, b = x[p + W]!, c = x[p + W2]!, d = x[p + W3]!, e = x[p + W4]!;
      const u = upper + (w2 * a + w5 * b + w8 * c);
      const v = lower + (w2 * c + w5 * d + w8 * e);
      upper = bias + (w0 * a + w3 * b + w6 * c);
      lower = bias + (w0 * c + w3 * d + w6 * e);
      y[q] = clampedOutput(u, clamp, top);
      y[q + Wo] = clampedOutput(v, clamp, top);
      a = x[p + 1]!;
      b = x[p + W + 1]!;
      c = x[p + W2 + 1]!;
      d = x[p + W3 + 1]!;
      e = x[p + W4 + 1]!;
      upper = upper + (w1 * a + w4 * b + w7 * c);
      lower = lower + (w1 * c + w4 * d + w7 * e);
    }
    if (rightMissing) {
      y[q] = clampedOutput(upper, clamp, top);
      y[q + Wo] = clampedOutput(lower, clamp, top);
    } else {
      const c = x[p + W2]!;
      y[q] = clampedOutput(upper + (w2 * x[p]! + w5 * x[p + W]! + w8 * c), clamp, top);
      y[q + Wo] = clampedOutput(lower + (w2 * c + w5 * x[p + W3]! + w8 * x[p + W4]!), clamp, top);
    }
  }
}

/** The fused activation, as in depthwise-3x3s1.ts (a local copy: imported functions are re-checked per call). */
function clampedOutput(v: number, clamp: boolean, hi: number): number {
  if (!clamp) return v;
  const r = v === -Infinity ? 0 : (v + Math.abs(v)) * 0.5;
  return r > hi ? hi : r;
}
