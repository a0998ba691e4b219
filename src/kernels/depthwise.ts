/**
 * The depthwise path (groups == Cin, channel multiplier K = Cout/Cin): output channel `c·K + q`
 * filters input plane `c` with its own kH×kW filter. The driver walks the requested channel
 * range plane by plane, so every output value is computed the same way whichever range (or
 * worker) computes it, and hands each plane to one kernel: the specialised 3×3 stride-1 or
 * stride-2 kernel, or the general one (`depthwisePlane`, in depthwise-general.ts).
 */
import { depthwise3x3s1 } from './depthwise-3x3s1.js';
import { depthwise3x3s2 } from './depthwise-3x3s2.js';
import { depthwisePlane } from './depthwise-general.js';
import type { Conv2dGeometry } from '../geometry.js';

export { depthwisePlane };

export type DepthwisePath = 'depthwise3x3s1' | 'depthwise3x3s2' | 'depthwise';

/** Computes output channels `[channelStart, channelEnd)` of every batch item into `y`. */
export function depthwiseConv(
  path: DepthwisePath, g: Conv2dGeometry,
  x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number, y: Float32Array,
  channelStart: number, channelEnd: number,
): void {
  const { inChannels: Cin, outChannels: Cout, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo, kernelH: kH, kernelW: kW } = g;
  const multiplier = Cout / Cin;
  const filterSize = kH * kW;
  const inPlane = H * W;
  const outPlane = Ho * Wo;
  for (let n = 0; n < g.batch; n++) {
    for (let o = channelStart; o < channelEnd; o++) {
      const c = Math.floor(o / multiplier);
      const xOff = (n * Cin + c) * inPlane;
      const yOff = (n * Cout + o) * outPlane;
      const b = bias === null ? 0 : bias[o]! + 0; // −0 → +0, see epilogue.ts
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
