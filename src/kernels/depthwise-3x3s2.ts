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
 *
 * The row loops live in gen/depthwise-3x3-rows.ts (tools/gen-depthwise.mjs), in a Linear and a
 * Clamped variant; this file walks the rows.
 */
import { ACT_NONE, ACT_RELU6 } from '../epilogue.js';
import { depthwisePlane } from './depthwise-general.js';
import {
  s2RowFrom2Clamped, s2RowFrom2Linear, s2RowFrom3Clamped, s2RowFrom3Linear, s2RowPairsFrom5Clamped, s2RowPairsFrom5Linear,
} from './gen/depthwise-3x3-rows.js';

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
    if (clamp) s2RowFrom2Clamped(x, xOff, xOff + W, w, wOff + 3, wOff + 6, padLeft, rightMissing, Wo, bias, hi, y, q);
    else s2RowFrom2Linear(x, xOff, xOff + W, w, wOff + 3, wOff + 6, padLeft, rightMissing, Wo, bias, y, q);
    i = 1;
    q += Wo;
  }
  const fullEnd = bottomMissing ? Ho - 1 : Ho;
  const pairs = (fullEnd - i) >> 1;
  if (pairs > 0) {
    if (clamp) s2RowPairsFrom5Clamped(x, xOff + (2 * i - padTop) * W, W, w, wOff, padLeft, rightMissing, Wo, bias, hi, y, q, pairs);
    else s2RowPairsFrom5Linear(x, xOff + (2 * i - padTop) * W, W, w, wOff, padLeft, rightMissing, Wo, bias, y, q, pairs);
    i += 2 * pairs;
    q += 2 * Wo * pairs;
  }
  if (i < fullEnd) {
    if (clamp) s2RowFrom3Clamped(x, xOff + (2 * i - padTop) * W, W, w, wOff, padLeft, rightMissing, Wo, bias, hi, y, q);
    else s2RowFrom3Linear(x, xOff + (2 * i - padTop) * W, W, w, wOff, padLeft, rightMissing, Wo, bias, y, q);
    i++;
    q += Wo;
  }
  if (i < Ho) {
    const r = xOff + (H - 2) * W;
    if (clamp) s2RowFrom2Clamped(x, r, r + W, w, wOff, wOff + 3, padLeft, rightMissing, Wo, bias, hi, y, q);
    else s2RowFrom2Linear(x, r, r + W, w, wOff, wOff + 3, padLeft, rightMissing, Wo, bias, y, q);
  }
}
