/**
 * General depthwise kernel: one input plane, one k×k filter, any stride, dilation and zero
 * padding, writing one output plane with the fused epilogue. The specialised 3×3 kernels are
 * tested against it and against the reference.
 */
import { activate } from './epilogue.js';

export function depthwisePlane(
  x: Float32Array, xOff: number, H: number, W: number,
  w: Float32Array, wOff: number, kH: number, kW: number,
  strideH: number, strideW: number, dilationH: number, dilationW: number,
  padTop: number, padLeft: number,
  bias: number, act: number,
  y: Float32Array, yOff: number, Ho: number, Wo: number,
): void {
  for (let i = 0; i < Ho; i++) {
    const rowStart = i * strideH - padTop;
    for (let j = 0; j < Wo; j++) {
      const colStart = j * strideW - padLeft;
      let sum = bias;
      for (let p = 0; p < kH; p++) {
        const r = rowStart + p * dilationH;
        if (r < 0 || r >= H) continue;
        const xRow = xOff + r * W;
        const wRow = wOff + p * kW;
        for (let q = 0; q < kW; q++) {
          const col = colStart + q * dilationW;
          if (col < 0 || col >= W) continue;
          sum += x[xRow + col]! * w[wRow + q]!;
        }
      }
      y[yOff + i * Wo + j] = activate(sum, act);
    }
  }
}
