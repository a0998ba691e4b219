/**
 * The generic backward path: any kernel size, stride, dilation, zero padding and groups.
 *
 *   gradInput[c, r, s]   = sum_{o in group, p, q, (i, j) : i*sh + p*dh - pt = r, j*sw + q*dw - pl = s} w[o, c, p, q] * dY[o, i, j]
 *   gradWeight[o, c, p, q] = sum_{n, i, j} dY[n, o, i, j] * x[n, c, i*sh + p*dh - pt, j*sw + q*dw - pl]   (0 outside)
 *
 * Straightforward scatter/gather loops with float64 sums (see the dispatcher for the faster
 * paths). Every value is summed in a fixed order, so results are bitwise repeatable.
 */
import type { Conv2dGeometry } from './geometry.js';
import { SLOT_GRADIENT_SUMS, type Scratch } from './scratch.js';

/** Writes the gradient with respect to the (zero-padded geometry's) input of every image into `dx`. */
export function groupedGradInput(g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array, scratch: Scratch): void {
  const { inChannels: Cin, outChannels: Cout, groups, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo, kernelH: kH, kernelW: kW } = g;
  const { strideH: sh, strideW: sw, dilationH: dh, dilationW: dw, padTop: pt, padLeft: pl } = g;
  const cinPerGroup = Cin / groups;
  const coutPerGroup = Cout / groups;
  const image = Cin * H * W;
  const sums = scratch.getFloat64(SLOT_GRADIENT_SUMS, image);
  for (let n = 0; n < g.batch; n++) {
    sums.fill(0, 0, image);
    for (let o = 0; o < Cout; o++) {
      const group = Math.floor(o / coutPerGroup);
      const dyPlane = (n * Cout + o) * Ho * Wo;
      for (let c = 0; c < cinPerGroup; c++) {
        const plane = (group * cinPerGroup + c) * H * W;
        for (let p = 0; p < kH; p++) {
          for (let q = 0; q < kW; q++) {
            const wv = w[((o * cinPerGroup + c) * kH + p) * kW + q]!;
            const colShift = q * dw - pl;
            for (let i = 0; i < Ho; i++) {
              const r = i * sh + p * dh - pt;
              if (r < 0 || r >= H) continue;
              const row = plane + r * W;
              const dyRow = dyPlane + i * Wo;
              for (let j = 0; j < Wo; j++) {
                const s = j * sw + colShift;
                if (s >= 0 && s < W) sums[row + s] += wv * dy[dyRow + j]!;
              }
            }
          }
        }
      }
    }
    const base = n * image;
    for (let k = 0; k < image; k++) dx[base + k] = sums[k]!;
  }
}

/** Writes the gradient with respect to the weights, summed over the batch, into `dwOut`. */
export function groupedGradWeight(g: Conv2dGeometry, dy: Float32Array, x: Float32Array, dwOut: Float32Array, _scratch: Scratch): void {
  const { inChannels: Cin, outChannels: Cout, groups, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo, kernelH: kH, kernelW: kW } = g;
  const { strideH: sh, strideW: sw, dilationH: dh, dilationW: dw, padTop: pt, padLeft: pl } = g;
  const cinPerGroup = Cin / groups;
  const coutPerGroup = Cout / groups;
  for (let o = 0; o < Cout; o++) {
    const group = Math.floor(o / coutPerGroup);
    for (let c = 0; c < cinPerGroup; c++) {
      for (let p = 0; p < kH; p++) {
        for (let q = 0; q < kW; q++) {
          const colShift = q * dw - pl;
          let sum = 0;
          for (let n = 0; n < g.batch; n++) {
            const plane = (n * Cin + group * cinPerGroup + c) * H * W;
            const dyPlane = (n * Cout + o) * Ho * Wo;
            for (let i = 0; i < Ho; i++) {
              const r = i * sh + p * dh - pt;
              if (r < 0 || r >= H) continue;
              const row = plane + r * W;
              const dyRow = dyPlane + i * Wo;
              for (let j = 0; j < Wo; j++) {
                const s = j * sw + colShift;
                if (s >= 0 && s < W) sum += dy[dyRow + j]! * x[row + s]!;
              }
            }
          }
          dwOut[((o * cinPerGroup + c) * kH + p) * kW + q] = sum;
        }
      }
    }
  }
}
