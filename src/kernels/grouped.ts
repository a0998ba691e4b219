/**
 * The generic path: any kernel size, stride, dilation, zero padding and groups, as an implicit
 * GEMM per image and group,
 *
 *   Y[o, (i, j)] = act(bias[o] + sum_{(c,p,q)} W[o, (c, p, q)] * B[(c, p, q), (i, j)])
 *   B[(c, p, q), (i, j)] = x[c, i*sh + p*dh - padTop, j*sw + q*dw - padLeft]   (0 outside)
 *
 * The weights `[Cout, Cin/groups, kH, kW]` already are the row-major A of each group. B is never
 * materialised: each panel of output pixels is packed straight from the input (im2col.ts), so
 * the scratch is one panel (at most 256 KiB, see gemm.ts) plus the accumulators. A 1×1 kernel
 * with stride 1 and no padding (the pointwise path, pointwise.ts) has B = the group's input
 * channels as they lie in memory, so its panels are plain copies of it (packPanel).
 */
import type { Conv2dGeometry } from '../geometry.js';
import { gemmPanel, packPanel, panelColumns, ROW_BLOCK } from './gemm.js';
import { packConvPanel } from './im2col.js';
import { SLOT_ACCUMULATORS, SLOT_PANEL, type Scratch } from './scratch.js';

export function groupedConv(
  g: Conv2dGeometry,
  x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number,
  y: Float32Array, scratch: Scratch,
  channelStart = 0, channelEnd = g.outChannels,
): void {
  const { inChannels: Cin, outChannels: Cout, groups, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
  const cinPerGroup = Cin / groups;
  const coutPerGroup = Cout / groups;
  const depth = cinPerGroup * g.kernelH * g.kernelW;
  const pixels = Ho * Wo;
  const contiguous = g.kernelH === 1 && g.kernelW === 1 && g.strideH === 1 && g.strideW === 1 &&
    g.padTop === 0 && g.padBottom === 0 && g.padLeft === 0 && g.padRight === 0;
  const columns = Math.min(pixels, panelColumns(depth));
  const panel = scratch.get(SLOT_PANEL, depth * columns);
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
        if (contiguous) packPanel(cinPerGroup, width, x, xGroup + p0, pixels, panel);
        else packConvPanel(g, x, xGroup, cinPerGroup, p0, width, panel);
        gemmPanel(o1 - o0, width, depth, w, o0 * depth, depth, panel, y, yBase + p0, pixels, bias, o0, act, acc);
      }
    }
  }
}
