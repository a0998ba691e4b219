/**
 * The 1×1 backward path (zero padding, any stride, any groups): per image and group, two GEMMs
 * on the forward's GEMM (gemm.ts),
 *
 *   dX_g = W_gᵀ · dY_g        (Cin/groups × pixels; reduction over Cout/groups)
 *   dW_g = dY_g · X_gᵀ        (Cout/groups × Cin/groups; reduction over images and pixels)
 *
 * With stride 1, dX_g is written straight into gradInput and X_g is read in place (its
 * transposed panels are plain copies); with a larger stride dX_g is computed for the strided
 * pixels and scattered onto them (the other input pixels get no gradient), and X_g's strided
 * pixels are gathered into the panels (gemm-gradient.ts).
 */
import type { Conv2dGeometry } from '../geometry.js';
import { sgemmTransposedA, weightGradientGemm } from './gemm-gradient.js';
import { SLOT_COLUMNS, type Scratch } from './scratch.js';

export function pointwiseGradInput(g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array, scratch: Scratch): void {
  const { inChannels: Cin, outChannels: Cout, groups, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo, strideH, strideW } = g;
  const cinPerGroup = Cin / groups;
  const coutPerGroup = Cout / groups;
  const pixels = Ho * Wo;
  const strided = strideH !== 1 || strideW !== 1;
  const cols = strided ? scratch.get(SLOT_COLUMNS, cinPerGroup * pixels) : dx;
  for (let n = 0; n < g.batch; n++) {
    for (let group = 0; group < groups; group++) {
      const xGroup = (n * Cin + group * cinPerGroup) * H * W;
      const dyGroup = (n * Cout + group * coutPerGroup) * pixels;
      // W_g is [Cout/groups, Cin/groups] row-major: the transposed A of dX_g = W_gᵀ · dY_g.
      sgemmTransposedA(
        cinPerGroup, pixels, coutPerGroup, w, group * coutPerGroup * cinPerGroup, cinPerGroup,
        dy, dyGroup, pixels, cols, strided ? 0 : xGroup, pixels, scratch,
      );
      if (strided) {
        dx.fill(0, xGroup, xGroup + cinPerGroup * H * W);
        for (let c = 0; c < cinPerGroup; c++) {
          for (let i = 0; i < Ho; i++) {
            const src = c * pixels + i * Wo;
            const dst = xGroup + c * H * W + i * strideH * W;
            for (let j = 0; j < Wo; j++) dx[dst + j * strideW] = cols[src + j]!;
          }
        }
      }
    }
  }
}

export function pointwiseGradWeight(g: Conv2dGeometry, dy: Float32Array, x: Float32Array, dw: Float32Array, scratch: Scratch): void {
  weightGradientGemm(g, dy, x, dw, scratch, g.strideH === 1 && g.strideW === 1);
}
