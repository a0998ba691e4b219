/**
 * The reference convolution: the textbook seven-loop definition in float64, with padding modes
 * resolved by index arithmetic (no padded copy). Slow and obviously correct; every fast path is
 * tested against it.
 *
 *   y[n,o,i,j] = act(bias[o] + sum_{c,p,q} w[o,c,p,q] * xpad[n, g*Cin/groups + c, i*sh + p*dh, j*sw + q*dw])
 */
import type { Tensor, TensorLike } from '../tensor.js';
import { activate } from '../epilogue.js';
import type { Conv2dGeometry, PaddingMode } from '../geometry.js';
import { outputFor, validateConv2d, type Conv2dOptions } from './validate.js';

/** Index into an axis of length `size` for padded coordinate `i` (may be out of range), or -1 for a zero. */
export function sourceIndex(i: number, size: number, mode: PaddingMode): number {
  if (i >= 0 && i < size) return i;
  switch (mode) {
    case 'zeros':
      return -1;
    case 'replicate':
      return i < 0 ? 0 : size - 1;
    case 'reflect':
      return i < 0 ? -i : 2 * (size - 1) - i;
    case 'circular':
      return ((i % size) + size) % size;
  }
}

export function referenceConv2d(input: TensorLike, weight: TensorLike, options?: Conv2dOptions): Tensor {
  const call = validateConv2d(input, weight, options, 'referenceConv2d');
  const y = outputFor(call);
  referenceConvolve(call.geometry, call.input.data, call.weight.data, call.bias, call.act, y.data);
  return y;
}

/**
 * The reference loops on plain arrays of numbers: with Float64Array operands and output the
 * whole convolution is float64 (finite-difference checks of the backward use that).
 */
export function referenceConvolve(
  g: Conv2dGeometry, x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null, act: number,
  out: { [index: number]: number },
): void {
  const cinPerGroup = g.inChannels / g.groups;
  const coutPerGroup = g.outChannels / g.groups;
  let index = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let o = 0; o < g.outChannels; o++) {
      const group = Math.floor(o / coutPerGroup);
      for (let i = 0; i < g.outHeight; i++) {
        for (let j = 0; j < g.outWidth; j++) {
          // Starting from the bias + 0 is starting from +0 and adding the bias last, in sign: see epilogue.ts.
          let sum = bias ? bias[o]! + 0 : 0;
          for (let c = 0; c < cinPerGroup; c++) {
            const channel = group * cinPerGroup + c;
            for (let p = 0; p < g.kernelH; p++) {
              const row = sourceIndex(i * g.strideH + p * g.dilationH - g.padTop, g.inHeight, g.paddingMode);
              if (row < 0) continue;
              for (let q = 0; q < g.kernelW; q++) {
                const col = sourceIndex(j * g.strideW + q * g.dilationW - g.padLeft, g.inWidth, g.paddingMode);
                if (col < 0) continue;
                const xv = x[((n * g.inChannels + channel) * g.inHeight + row) * g.inWidth + col]!;
                const wv = w[((o * cinPerGroup + c) * g.kernelH + p) * g.kernelW + q]!;
                sum += xv * wv;
              }
            }
          }
          out[index++] = activate(sum, act);
        }
      }
    }
  }
}
