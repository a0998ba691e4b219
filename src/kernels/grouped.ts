/**
 * The generic path: any kernel size, stride, dilation, zero padding and groups, as im2col + GEMM
 * per image and group. The column matrix for a band of output rows is built in scratch whose
 * size is bounded by COLUMN_BUDGET floats (at least one output row), then one GEMM writes that
 * band of every output channel of the group:
 *
 *   columns[(c, p, q), (i, j)] = x[c, i*sh + p*dh - padTop, j*sw + q*dw - padLeft]   (0 outside)
 *   Y[o, (i, j)] = act(bias[o] + sum_{(c,p,q)} W[o, (c, p, q)] * columns[(c, p, q), (i, j)])
 */
import type { Conv2dGeometry } from './geometry.js';
import { sgemm } from './gemm.js';
import { SLOT_COLUMNS, type Scratch } from './scratch.js';

/** Upper bound on the im2col scratch, in floats (4 MiB), unless a single output row needs more. */
export const COLUMN_BUDGET = 1 << 20;

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
  const rowsPerBand = Math.max(1, Math.min(Ho, Math.floor(COLUMN_BUDGET / (depth * Wo))));
  const columns = scratch.get(SLOT_COLUMNS, depth * rowsPerBand * Wo);
  const outPlane = Ho * Wo;
  for (let n = 0; n < g.batch; n++) {
    for (let group = 0; group < groups; group++) {
      // This group's output channels within [channelStart, channelEnd).
      const o0 = Math.max(channelStart, group * coutPerGroup);
      const o1 = Math.min(channelEnd, (group + 1) * coutPerGroup);
      if (o1 <= o0) continue;
      const xGroup = (n * Cin + group * cinPerGroup) * H * W;
      for (let i0 = 0; i0 < Ho; i0 += rowsPerBand) {
        const rows = Math.min(rowsPerBand, Ho - i0);
        const width = rows * Wo;
        im2colBand(g, x, xGroup, cinPerGroup, i0, rows, columns);
        sgemm(
          o1 - o0, width, depth,
          w, o0 * depth, depth,
          columns, 0, width,
          y, (n * Cout + o0) * outPlane + i0 * Wo, outPlane,
          bias, o0, act,
        );
      }
    }
  }
}

/** Fills `columns` (`depth × rows·Wo`, row-major) for output rows `[i0, i0 + rows)`. */
function im2colBand(
  g: Conv2dGeometry, x: Float32Array, xGroup: number, channels: number,
  i0: number, rows: number, columns: Float32Array,
): void {
  const { inHeight: H, inWidth: W, outWidth: Wo, kernelH: kH, kernelW: kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g;
  let d = 0;
  for (let c = 0; c < channels; c++) {
    const plane = xGroup + c * H * W;
    for (let p = 0; p < kH; p++) {
      for (let q = 0; q < kW; q++) {
        const colShift = q * dilationW - padLeft;
        // Output columns j whose input column j*strideW + colShift lies inside [0, W).
        const jFirst = Math.max(0, Math.ceil(-colShift / strideW));
        const jEnd = Math.min(Wo, Math.floor((W - 1 - colShift) / strideW) + 1);
        for (let i = i0; i < i0 + rows; i++) {
          const r = i * strideH + p * dilationH - padTop;
          if (r < 0 || r >= H || jEnd <= jFirst) {
            for (let j = 0; j < Wo; j++) columns[d++] = 0;
            continue;
          }
          const xRow = plane + r * W + colShift;
          let j = 0;
          for (; j < jFirst; j++) columns[d++] = 0;
          for (; j < jEnd; j++) columns[d++] = x[xRow + j * strideW]!;
          for (; j < Wo; j++) columns[d++] = 0;
        }
      }
    }
  }
}
