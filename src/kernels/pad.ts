/**
 * Padding modes other than zeros: the input is copied once into a padded buffer
 * `[N, C, H + top + bottom, W + left + right]` (PyTorch `F.pad`), and the kernels then run on it
 * with zero padding, so they need no knowledge of the mode.
 */
import type { Conv2dGeometry, PaddingMode } from '../geometry.js';

/** Source index along an axis of `size` for a padded coordinate `i` in `[-before, size + after)`. */
function mapIndex(i: number, size: number, mode: PaddingMode): number {
  if (i >= 0 && i < size) return i;
  if (mode === 'replicate') return i < 0 ? 0 : size - 1;
  if (mode === 'reflect') return i < 0 ? -i : 2 * size - 2 - i;
  // circular: the caller guarantees pad <= size, so one wrap suffices.
  return i < 0 ? i + size : i - size;
}

/** Shape of the padded input for geometry `g`. */
export function paddedInputSize(g: Conv2dGeometry): { height: number; width: number } {
  return { height: g.inHeight + g.padTop + g.padBottom, width: g.inWidth + g.padLeft + g.padRight };
}

let colSourceTable = new Int32Array(0);

/** Writes the mode-padded copy of `src` (`[N, C, H, W]`) into `dst`. */
export function padInput(src: Float32Array, dst: Float32Array, g: Conv2dGeometry): void {
  const { height: paddedH, width: paddedW } = paddedInputSize(g);
  const H = g.inHeight;
  const W = g.inWidth;
  const planes = g.batch * g.inChannels;
  // Reused across calls (it only grows), so a prepared plan's steady state allocates nothing.
  if (colSourceTable.length < paddedW) colSourceTable = new Int32Array(paddedW);
  const colSource = colSourceTable;
  for (let j = 0; j < paddedW; j++) colSource[j] = mapIndex(j - g.padLeft, W, g.paddingMode);
  let d = 0;
  for (let plane = 0; plane < planes; plane++) {
    const planeBase = plane * H * W;
    for (let i = 0; i < paddedH; i++) {
      const rowBase = planeBase + mapIndex(i - g.padTop, H, g.paddingMode) * W;
      for (let j = 0; j < paddedW; j++) dst[d++] = src[rowBase + colSource[j]!]!;
    }
  }
}

/**
 * The adjoint of `padInput`: adds each value of the gradient with respect to the mode-padded
 * input (`src`, `[N, C, H + top + bottom, W + left + right]`) onto the input element it was
 * copied from, writing the gradient with respect to the caller's input into `dst` (overwritten).
 * Reflect, replicate and circular borders thus scatter their gradient back onto the rows and
 * columns they repeat. Values are added in the padded array's row-major order, so the result is
 * the same on every call.
 */
export function foldPaddedGradient(src: Float32Array, dst: Float32Array, g: Conv2dGeometry): void {
  const { height: paddedH, width: paddedW } = paddedInputSize(g);
  const H = g.inHeight;
  const W = g.inWidth;
  const planes = g.batch * g.inChannels;
  if (colSourceTable.length < paddedW) colSourceTable = new Int32Array(paddedW);
  const colSource = colSourceTable;
  for (let j = 0; j < paddedW; j++) colSource[j] = mapIndex(j - g.padLeft, W, g.paddingMode);
  dst.fill(0, 0, planes * H * W);
  let s = 0;
  for (let plane = 0; plane < planes; plane++) {
    const planeBase = plane * H * W;
    for (let i = 0; i < paddedH; i++) {
      const rowBase = planeBase + mapIndex(i - g.padTop, H, g.paddingMode) * W;
      for (let j = 0; j < paddedW; j++) dst[rowBase + colSource[j]!] += src[s++]!;
    }
  }
}
