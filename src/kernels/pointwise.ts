/**
 * The 1×1 path: per image and group, one GEMM
 *
 *   Y[o, p] = act(bias[o] + sum_c W[o, c] * X[c, p])    p over the Hout·Wout output pixels,
 *
 * with W the group's `[Cout/groups, Cin/groups]` weights and X its input channels. Zero padding
 * only. With stride > 1 the strided pixels are first gathered into contiguous scratch.
 */
import type { Conv2dGeometry } from './geometry.js';
import { sgemm } from './gemm.js';
import { SLOT_COLUMNS, type Scratch } from './scratch.js';

export function pointwiseConv(
  g: Conv2dGeometry,
  x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number,
  y: Float32Array, scratch: Scratch,
  channelStart = 0, channelEnd = g.outChannels,
): void {
  const { inChannels: Cin, outChannels: Cout, groups, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
  const cinPerGroup = Cin / groups;
  const coutPerGroup = Cout / groups;
  const pixels = Ho * Wo;
  const strided = g.strideH !== 1 || g.strideW !== 1;
  const gathered = strided ? scratch.get(SLOT_COLUMNS, Cin * pixels) : null;
  for (let n = 0; n < g.batch; n++) {
    let b = x;
    let bBase = n * Cin * H * W;
    if (gathered !== null) {
      gatherStrided(x, bBase, Cin, H, W, g.strideH, g.strideW, Ho, Wo, gathered);
      b = gathered;
      bBase = 0;
    }
    for (let group = 0; group < groups; group++) {
      // This group's output channels within [channelStart, channelEnd).
      const o0 = Math.max(channelStart, group * coutPerGroup);
      const o1 = Math.min(channelEnd, (group + 1) * coutPerGroup);
      if (o1 <= o0) continue;
      sgemm(
        o1 - o0, pixels, cinPerGroup,
        w, o0 * cinPerGroup, cinPerGroup,
        b, bBase + group * cinPerGroup * pixels, pixels,
        y, (n * Cout + o0) * pixels, pixels,
        bias, o0, act,
      );
    }
  }
}

/** dst[c, i, j] = x[xOff + c*H*W + (i*sh)*W + j*sw] for the `Ho × Wo` strided pixels. */
function gatherStrided(
  x: Float32Array, xOff: number, C: number, H: number, W: number,
  strideH: number, strideW: number, Ho: number, Wo: number, dst: Float32Array,
): void {
  let d = 0;
  for (let c = 0; c < C; c++) {
    const plane = xOff + c * H * W;
    for (let i = 0; i < Ho; i++) {
      const row = plane + i * strideH * W;
      for (let j = 0; j < Wo; j++) dst[d++] = x[row + j * strideW]!;
    }
  }
}
