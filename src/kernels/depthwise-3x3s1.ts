/**
 * Depthwise 3×3, stride 1, dilation 1, zero padding of 0 or 1 on each side (top/left are passed,
 * bottom/right follow from Ho, Wo). One input plane and one filter → one output plane, with the
 * bias and activation applied as each output is stored.
 *
 * The loops walk input columns. Each new column of input values is multiplied by the three
 * filter columns at once: its dot product with filter column 2 completes the output two columns
 * back, with column 1 extends the pending output one column back, with column 0 starts a new one.
 * Loop-carried state is then two partial sums per output row instead of a 3×3 window, which
 * leaves V8's ~15 float registers for the nine weights and the new loads; two output rows share
 * each loaded column (four loads per two outputs). Measured on V8 11 this beat a sliding 3-wide
 * window by 20–40%.
 *
 * A missing top or bottom input row (padding) is handled by a two-row variant rather than by
 * zeroed weights pointing at a real row, because `0 * Infinity` would turn an infinite input into
 * NaN where PyTorch gives ±Infinity. Every output sums `bias + col0 + col1 + col2` in that order.
 */
import { ACT_NONE, ACT_RELU6 } from './epilogue.js';
import { depthwisePlane } from './depthwise-general.js';

export function depthwise3x3s1(
  x: Float32Array, xOff: number, H: number, W: number,
  w: Float32Array, wOff: number,
  padTop: number, padLeft: number,
  bias: number, act: number,
  y: Float32Array, yOff: number, Ho: number, Wo: number,
): void {
  if (H < 2 || W < 2) {
    // A single input row or column leaves nothing to slide over; such planes are tiny.
    depthwisePlane(x, xOff, H, W, w, wOff, 3, 3, 1, 1, 1, 1, padTop, padLeft, bias, act, y, yOff, Ho, Wo);
    return;
  }
  const clamp = act !== ACT_NONE;
  const hi = act === ACT_RELU6 ? 6 : Infinity;
  const padRight = Wo - (W - 2 + padLeft);
  let i = 0;
  let q = yOff;
  if (padTop === 1) {
    rowFrom2(x, xOff, xOff + W, W, w, wOff + 3, wOff + 6, padLeft, padRight, bias, clamp, hi, y, q);
    i = 1;
    q += Wo;
  }
  // Output row i reads input rows i - padTop .. i - padTop + 2, all present while i < H - 2 + padTop.
  const fullEnd = H - 2 + padTop;
  const pairs = (fullEnd - i) >> 1;
  if (pairs > 0) {
    rowPairsFrom4(x, xOff + (i - padTop) * W, W, w, wOff, padLeft, padRight, bias, clamp, hi, y, q, Wo, pairs);
    i += 2 * pairs;
    q += 2 * Wo * pairs;
  }
  if (i < fullEnd) {
    rowFrom3(x, xOff + (i - padTop) * W, W, w, wOff, padLeft, padRight, bias, clamp, hi, y, q);
    i++;
    q += Wo;
  }
  if (i < Ho) {
    // Bottom padding: the last output row sees only the last two input rows.
    const r = xOff + (H - 2) * W;
    rowFrom2(x, r, r + W, W, w, wOff, wOff + 3, padLeft, padRight, bias, clamp, hi, y, q);
  }
}

/** One output row from two input rows `ra`, `rb` weighted by the filter rows at `wa`, `wb`. */
function rowFrom2(
  x: Float32Array, ra: number, rb: number, W: number,
  w: Float32Array, wa: number, wb: number, padLeft: number, padRight: number,
  bias: number, clamp: boolean, hi: number,
  y: Float32Array, q: number,
): void {
  const a0 = w[wa]!, a1 = w[wa + 1]!, a2 = w[wa + 2]!;
  const b0 = w[wb]!, b1 = w[wb + 1]!, b2 = w[wb + 2]!;
  const top = +hi;
  // pending1 needs only its column-2 term; pending0 needs columns 1 and 2.
  let pending1: number;
  let pending0: number;
  let c: number;
  if (padLeft === 1) {
    const s = x[ra]!, t = x[rb]!;
    pending1 = bias + (a1 * s + b1 * t);
    pending0 = bias + (a0 * s + b0 * t);
    c = 1;
  } else {
    let s = x[ra]!, t = x[rb]!;
    pending1 = bias + (a0 * s + b0 * t);
    s = x[ra + 1]!;
    t = x[rb + 1]!;
    pending1 = pending1 + (a1 * s + b1 * t);
    pending0 = bias + (a0 * s + b0 * t);
    c = 2;
  }
  let pa = (ra + c) | 0;
  let pb = (rb + c) | 0;
  const end = (ra + W) | 0;
  for (; pa < end; pa = (pa + 1) | 0, pb = (pb + 1) | 0) {
    const s = x[pa]!, t = x[pb]!;
    const v = pending1 + (a2 * s + b2 * t);
    pending1 = pending0 + (a1 * s + b1 * t);
    pending0 = bias + (a0 * s + b0 * t);
    y[q] = clampedOutput(v, clamp, top);
    q = (q + 1) | 0;
  }
  if (padRight === 1) y[q] = clampedOutput(pending1, clamp, top);
}

/** One output row from the three input rows starting at `r0`. */
function rowFrom3(
  x: Float32Array, r0: number, W: number,
  w: Float32Array, wo: number, padLeft: number, padRight: number,
  bias: number, clamp: boolean, hi: number,
  y: Float32Array, q: number,
): void {
  const w0 = w[wo]!, w1 = w[wo + 1]!, w2 = w[wo + 2]!;
  const w3 = w[wo + 3]!, w4 = w[wo + 4]!, w5 = w[wo + 5]!;
  const w6 = w[wo + 6]!, w7 = w[wo + 7]!, w8 = w[wo + 8]!;
  const top = +hi;
  const W2 = 2 * W;
  let pending1: number;
  let pending0: number;
  let p: number;
  if (padLeft === 1) {
    const a = x[r0]!, b = x[r0 + W]!, c = x[r0 + W2]!;
    pending1 = bias + (w1 * a + w4 * b + w7 * c);
    pending0 = bias + (w0 * a + w3 * b + w6 * c);
    p = (r0 + 1) | 0;
  } else {
    let a = x[r0]!, b = x[r0 + W]!, c = x[r0 + W2]!;
    pending1 = bias + (w0 * a + w3 * b + w6 * c);
    a = x[r0 + 1]!;
    b = x[r0 + W + 1]!;
    c = x[r0 + W2 + 1]!;
    pending1 = pending1 + (w1 * a + w4 * b + w7 * c);
    pending0 = bias + (w0 * a + w3 * b + w6 * c);
    p = (r0 + 2) | 0;
  }
  const end = (r0 + W) | 0;
  for (; p < end; p = (p + 1) | 0) {
    const a = x[p]!, b = x[p + W]!, c = x[p + W2]!;
    const v = pending1 + (w2 * a + w5 * b + w8 * c);
    pending1 = pending0 + (w1 * a + w4 * b + w7 * c);
    pending0 = bias + (w0 * a + w3 * b + w6 * c);
    y[q] = clampedOutput(v, clamp, top);
    q = (q + 1) | 0;
  }
  if (padRight === 1) y[q] = clampedOutput(pending1, clamp, top);
}

/**
 * `pairs` pairs of output rows from `qFirst` on, the first from the four input rows starting at
 * `rFirst`: each loaded column of four values feeds both rows of a pair. One call covers all
 * pairs, so small planes pay the call and the weight loads once (~7% on 14×14 and 7×7 planes).
 */
function rowPairsFrom4(
  x: Float32Array, rFirst: number, W: number,
  w: Float32Array, wo: number, padLeft: number, padRight: number,
  bias: number, clamp: boolean, hi: number,
  y: Float32Array, qFirst: number, Wo: number, pairs: number,
): void {
  const w0 = w[wo]!, w1 = w[wo + 1]!, w2 = w[wo + 2]!;
  const w3 = w[wo + 3]!, w4 = w[wo + 4]!, w5 = w[wo + 5]!;
  const w6 = w[wo + 6]!, w7 = w[wo + 7]!, w8 = w[wo + 8]!;
  const top = +hi;
  const W2 = 2 * W;
  const W3 = 3 * W;
  for (let k = 0; k < pairs; k++) {
    const r0 = (rFirst + k * W2) | 0;
    let q = (qFirst + 2 * k * Wo) | 0;
    // upper*/lower*: pending sums of the first and second output row.
    let upper1: number, upper0: number, lower1: number, lower0: number;
    let p: number;
    if (padLeft === 1) {
      const a = x[r0]!, b = x[r0 + W]!, c = x[r0 + W2]!, d = x[r0 + W3]!;
      upper1 = bias + (w1 * a + w4 * b + w7 * c);
      lower1 = bias + (w1 * b + w4 * c + w7 * d);
      upper0 = bias + (w0 * a + w3 * b + w6 * c);
      lower0 = bias + (w0 * b + w3 * c + w6 * d);
      p = (r0 + 1) | 0;
    } else {
      let a = x[r0]!, b = x[r0 + W]!, c = x[r0 + W2]!, d = x[r0 + W3]!;
      upper1 = bias + (w0 * a + w3 * b + w6 * c);
      lower1 = bias + (w0 * b + w3 * c + w6 * d);
      a = x[r0 + 1]!;
      b = x[r0 + W + 1]!;
      c = x[r0 + W2 + 1]!;
      d = x[r0 + W3 + 1]!;
      upper1 = upper1 + (w1 * a + w4 * b + w7 * c);
      lower1 = lower1 + (w1 * b + w4 * c + w7 * d);
      upper0 = bias + (w0 * a + w3 * b + w6 * c);
      lower0 = bias + (w0 * b + w3 * c + w6 * d);
      p = (r0 + 2) | 0;
    }
    const end = (r0 + W) | 0;
    for (; p < end; p = (p + 1) | 0) {
      const a = x[p]!, b = x[p + W]!, c = x[p + W2]!, d = x[p + W3]!;
      const u = upper1 + (w2 * a + w5 * b + w8 * c);
      const v = lower1 + (w2 * b + w5 * c + w8 * d);
      upper1 = upper0 + (w1 * a + w4 * b + w7 * c);
      lower1 = lower0 + (w1 * b + w4 * c + w7 * d);
      upper0 = bias + (w0 * a + w3 * b + w6 * c);
      lower0 = bias + (w0 * b + w3 * c + w6 * d);
      y[q] = clampedOutput(u, clamp, top);
      y[q + Wo] = clampedOutput(v, clamp, top);
      q = (q + 1) | 0;
    }
    if (padRight === 1) {
      y[q] = clampedOutput(upper1, clamp, top);
      y[q + Wo] = clampedOutput(lower1, clamp, top);
    }
  }
}

/**
 * The activation of each stored output; the same results as `activate` in epilogue.ts except
 * that relu/relu6 give +0 for -0. `max(v, 0)` is computed as `(v + |v|) / 2`, exact in float64
 * and free of data-dependent branches: with `v < 0 ? 0 : v` the CPU mispredicts on about half
 * the outputs and the 3×3 kernels ran 3× slower (measured, V8 11 / Zen 4). The upper bound of
 * relu6 is a rarely taken branch; `-Infinity`, the one input the formula gets wrong (NaN), is a
 * well-predicted test. `hi` must be float-typed (a constant or `+param`) or V8 boxes the result.
 * Each kernel file keeps its own copy: optimized code re-checks an imported function (a live
 * binding) on every call; a local one compiles to fewer instructions per output.
 */
function clampedOutput(v: number, clamp: boolean, hi: number): number {
  if (!clamp) return v;
  const r = v === -Infinity ? 0 : (v + Math.abs(v)) * 0.5;
  return r > hi ? hi : r;
}
