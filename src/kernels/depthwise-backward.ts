/**
 * The depthwise backward paths (groups == Cin, channel multiplier K = Cout/Cin): output channel
 * `c·K + q` was computed from input plane `c` with its own filter, so
 *
 *   gradInput[n, c]  = sum_{q < K} (gradient of plane c through filter c·K + q)
 *   gradWeight[o]    = sum_n (correlation of dY[n, o] with x[n, o / K])
 *
 * This driver walks the planes in that order (q, then n, ascending) and hands each to the
 * kernel of its path: the 3×3 stride-1 or stride-2 kernels or the general one. The first term
 * of each sum is written, the others added.
 */
import { depthwise3x3s1GradInput, depthwise3x3s1GradWeight } from './depthwise-3x3s1-backward.js';
import { depthwise3x3s2GradInput, depthwise3x3s2GradWeight } from './depthwise-3x3s2-backward.js';
import { depthwiseGradInputPlane, depthwiseGradWeightPlane, rotateFilter } from './depthwise-general-backward.js';
import type { Conv2dGeometry } from '../geometry.js';
import { SLOT_FILTERS, type Scratch } from './scratch.js';

export type DepthwiseBackwardPath = 'depthwise3x3s1' | 'depthwise3x3s2' | 'depthwise';

/** Writes gradInput (every image) into `dx`. */
export function depthwiseGradInput(
  path: DepthwiseBackwardPath, g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array, scratch: Scratch,
): void {
  const { inChannels: Cin, outChannels: Cout, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo, kernelH: kH, kernelW: kW } = g;
  const multiplier = Cout / Cin;
  const filterSize = kH * kW;
  // The filters rotated by 180°, for the routes that run a forward kernel on dY. Rotating a
  // filter of 3×3 floats per channel is negligible next to the plane it is applied to.
  const rotated = scratch.get(SLOT_FILTERS, Cout * filterSize);
  for (let o = 0; o < Cout; o++) rotateFilter(w, o * filterSize, filterSize, rotated, o * filterSize);
  const inPlane = H * W;
  const outPlane = Ho * Wo;
  for (let n = 0; n < g.batch; n++) {
    for (let c = 0; c < Cin; c++) {
      const dxOff = (n * Cin + c) * inPlane;
      for (let q = 0; q < multiplier; q++) {
        const o = c * multiplier + q;
        const dyOff = (n * Cout + o) * outPlane;
        const accumulate = q > 0;
        if (path === 'depthwise3x3s1') {
          depthwise3x3s1GradInput(dy, dyOff, Ho, Wo, w, rotated, o * 9, g.padTop, g.padLeft, dx, dxOff, H, W, accumulate);
        } else if (path === 'depthwise3x3s2') {
          depthwise3x3s2GradInput(dy, dyOff, Ho, Wo, w, o * 9, g.padTop, g.padLeft, dx, dxOff, H, W, accumulate);
        } else {
          depthwiseGradInputPlane(
            dy, dyOff, Ho, Wo, w, rotated, o * filterSize, kH, kW,
            g.strideH, g.strideW, g.dilationH, g.dilationW, g.padTop, g.padLeft, dx, dxOff, H, W, accumulate,
          );
        }
      }
    }
  }
}

/** Writes gradWeight (summed over the batch) into `dw`. */
export function depthwiseGradWeight(
  path: DepthwiseBackwardPath, g: Conv2dGeometry, dy: Float32Array, x: Float32Array, dw: Float32Array, _scratch: Scratch,
): void {
  const { inChannels: Cin, outChannels: Cout, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo, kernelH: kH, kernelW: kW } = g;
  const multiplier = Cout / Cin;
  const filterSize = kH * kW;
  const inPlane = H * W;
  const outPlane = Ho * Wo;
  for (let o = 0; o < Cout; o++) {
    const c = Math.floor(o / multiplier);
    for (let n = 0; n < g.batch; n++) {
      const xOff = (n * Cin + c) * inPlane;
      const dyOff = (n * Cout + o) * outPlane;
      const accumulate = n > 0;
      if (path === 'depthwise3x3s1') {
        depthwise3x3s1GradWeight(dy, dyOff, Ho, Wo, x, xOff, H, W, g.padTop, g.padLeft, dw, o * 9, accumulate);
      } else if (path === 'depthwise3x3s2') {
        depthwise3x3s2GradWeight(dy, dyOff, Ho, Wo, x, xOff, H, W, g.padTop, g.padLeft, dw, o * 9, accumulate);
      } else {
        depthwiseGradWeightPlane(
          dy, dyOff, Ho, Wo, x, xOff, H, W, kH, kW, g.strideH, g.strideW, g.dilationH, g.dilationW,
          g.padTop, g.padLeft, dw, o * filterSize, accumulate,
        );
      }
    }
  }
}
