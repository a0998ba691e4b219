/**
 * Packing GEMM panels straight from an NCHW input (implicit im2col): the B matrix of a
 * convolution,
 *
 *   B[(c, p, q), (i, j)] = x[c, i*sh + p*dh - padTop, j*sw + q*dw - padLeft]   (0 outside the input)
 *
 * with rows ordered like the weights' `[Cin/groups, kH, kW]` and columns the output pixels, is
 * never materialised: each panel of `n` consecutive output pixels is written directly in the
 * layout `packPanel` produces (see gemm.ts), so scratch stays one panel whatever the image size.
 */
import type { Conv2dGeometry } from '../geometry.js';
import { K_BLOCK } from './gen/gemm-blocks.js';

/**
 * Packs output pixels `[pixel0, pixel0 + n)` of B for `channels` input channels starting at
 * `x[xOff]` (one image, one group) into `panel`.
 */
export function packConvPanel(
  g: Conv2dGeometry, x: Float32Array, xOff: number, channels: number,
  pixel0: number, n: number, panel: Float32Array,
): void {
  const { inHeight: H, inWidth: W, outWidth: Wo, kernelH: kH, kernelW: kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g;
  const depth = channels * kH * kW;
  const pixelEnd = pixel0 + n;
  const iFirst = Math.floor(pixel0 / Wo);
  let kk = 0;
  for (let c = 0; c < channels; c++) {
    const plane = xOff + c * H * W;
    for (let p = 0; p < kH; p++) {
      const rowShift = p * dilationH - padTop;
      for (let q = 0; q < kW; q++, kk++) {
        const colShift = q * dilationW - padLeft;
        // Output columns j whose input column j*strideW + colShift lies inside [0, W).
        const jValidStart = colShift >= 0 ? 0 : Math.min(Wo, Math.ceil(-colShift / strideW));
        const jValidEnd = Math.max(jValidStart, Math.min(Wo, Math.floor((W - 1 - colShift) / strideW) + 1));
        const k0 = kk - (kk % K_BLOCK);
        const step = depth - k0 < K_BLOCK ? depth - k0 : K_BLOCK;
        let d = k0 * n + (kk - k0);
        let pixel = pixel0;
        for (let i = iFirst; pixel < pixelEnd; i++) {
          const rowPixel = i * Wo;
          const jStart = pixel - rowPixel;
          const jEnd = pixelEnd - rowPixel < Wo ? pixelEnd - rowPixel : Wo;
          const r = i * strideH + rowShift;
          if (r < 0 || r >= H) {
            for (let j = jStart; j < jEnd; j++) {
              panel[d] = 0;
              d += step;
            }
          } else {
            const xRow = plane + r * W + colShift;
            const copyStart = Math.min(Math.max(jStart, jValidStart), jEnd);
            const copyEnd = Math.max(copyStart, Math.min(jEnd, jValidEnd));
            let j = jStart;
            for (; j < copyStart; j++) {
              panel[d] = 0;
              d += step;
            }
            if (strideW === 1) {
              for (; j < copyEnd; j++) {
                panel[d] = x[xRow + j]!;
                d += step;
              }
            } else {
              for (; j < copyEnd; j++) {
                panel[d] = x[xRow + j * strideW]!;
                d += step;
              }
            }
            for (; j < jEnd; j++) {
              panel[d] = 0;
              d += step;
            }
          }
          pixel = rowPixel + jEnd;
        }
      }
    }
  }
}
