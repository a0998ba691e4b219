/**
 * General depthwise kernel: one input plane, one k×k filter, any stride, dilation and zero
 * padding, writing one output plane with the fused epilogue. The specialised 3×3 kernels are
 * tested against it and against the reference.
 */
import { activate } from './epilogue.js';
import { depthwise3x3s1 } from './depthwise-3x3s1.js';
import { depthwise3x3s2 } from './depthwise-3x3s2.js';
import type { Conv2dGeometry } from './geometry.js';

export type DepthwisePath = 'depthwise3x3s1' | 'depthwise3x3s2' | 'depthwise';


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

/** Depthwise driver: output channel `c*K + q` filters input plane `c` with its own k×k filter. */
export function depthwiseConv(
  path: DepthwisePath, g: Conv2dGeometry,
  x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number, y: Float32Array,
  channelStart: number, channelEnd: number,
): void {
  const { inChannels: Cin, outChannels: Cout, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo, kernelH: kH, kernelW: kW } = g;
  const filterSize = kH * kW;
  for (let n = 0; n < g.batch; n++) {
    for (let o = channelStart; o < channelEnd; o++) {
      const c = Math.floor(o * Cin / Cout);
      const xOff = (n * Cin + c) * H * W;
      const yOff = (n * Cout + o) * Ho * Wo;
      const b = bias === null ? 0 : bias[o]!;
      if (path === 'depthwise3x3s1') {
        depthwise3x3s1(x, xOff, H, W, w, o * 9, g.padTop, g.padLeft, b, act, y, yOff, Ho, Wo);
      } else if (path === 'depthwise3x3s2') {
        depthwise3x3s2(x, xOff, H, W, w, o * 9, g.padTop, g.padLeft, b, act, y, yOff, Ho, Wo);
      } else {
        depthwisePlane(
          x, xOff, H, W, w, o * filterSize, kH, kW,
          g.strideH, g.strideW, g.dilationH, g.dilationW, g.padTop, g.padLeft,
          b, act, y, yOff, Ho, Wo,
        );
      }
    }
  }
}
