/**
 * Depthwise 3×3, stride 2, dilation 1, padding top/left in {0, 1} (bottom/right follow from Ho, Wo).
 * Placeholder delegating to the general kernel until the specialised loop lands.
 */
import { depthwisePlane } from './depthwise.js';

export function depthwise3x3s2(
  x: Float32Array, xOff: number, H: number, W: number,
  w: Float32Array, wOff: number,
  padTop: number, padLeft: number,
  bias: number, act: number,
  y: Float32Array, yOff: number, Ho: number, Wo: number,
): void {
  depthwisePlane(x, xOff, H, W, w, wOff, 3, 3, 2, 2, 1, 1, padTop, padLeft, bias, act, y, yOff, Ho, Wo);
}
