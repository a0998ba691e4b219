/**
 * The 1×1 path: per image and group, one GEMM
 *
 *   Y[o, p] = act(bias[o] + sum_c W[o, c] * X[c, p])    p over the Hout·Wout output pixels,
 *
 * with W the group's `[Cout/groups, Cin/groups]` weights (row-major, as given) and X its input
 * channels. Zero padding only. With stride 1, X is the input itself; with a larger stride the
 * strided pixels are packed straight into the GEMM's panels (im2col.ts), never gathered whole.
 */
import type { Conv2dGeometry } from './geometry.js';
import { gemmPanel, packPanel, panelColumns, ROW_BLOCK } from './gemm.js';
import { packConvPanel } from './im2col.js';
import { SLOT_ACCUMULATORS, SLOT_PANEL, type Scratch } from './scratch.js';

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
  const columns = Math.min(pixels, panelColumns(cinPerGroup));
  const panel = scratch.get(SLOT_PANEL, cinPerGroup * columns);
  const acc = scratch.getFloat64(SLOT_ACCUMULATORS, ROW_BLOCK * columns);
  for (let n = 0; n < g.batch; n++) {
    for (let group = 0; group < groups; group++) {
      // This group's output channels within [channelStart, channelEnd).
      const o0 = Math.max(channelStart, group * coutPerGroup);
      const o1 = Math.min(channelEnd, (group + 1) * coutPerGroup);
      if (o1 <= o0) continue;
      const xGroup = (n * Cin + group * cinPerGroup) * H * W;
      const yBase = (n * Cout + o0) * pixels;
      for (let p0 = 0; p0 < pixels; p0 += columns) {
        const width = Math.min(columns, pixels - p0);
        if (strided) packConvPanel(g, x, xGroup, cinPerGroup, p0, width, panel);
        else packPanel(cinPerGroup, width, x, xGroup + p0, pixels, panel);
        gemmPanel(o1 - o0, width, cinPerGroup, w, o0 * cinPerGroup, cinPerGroup, panel, y, yBase + p0, pixels, bias, o0, act, acc);
      }
    }
  }
}
