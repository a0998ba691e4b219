/**
 * The generic backward path: any kernel size, stride, dilation, zero padding and groups.
 *
 * gradWeight, per group: dW_g = dY_g · B_gᵀ, B the im2col of the input, as a GEMM whose
 * transposed panels are packed straight from the input (gemm-gradient.ts), bounded scratch.
 *
 * gradInput, two routes:
 *   - stride 1 with every pad ≤ dilation·(k − 1) on its axis: the gradient is a forward
 *     convolution of dY with the filters rotated by 180° and transposed per group
 *     (W'[c, o, u, v] = W[o, c, kH−1−u, kW−1−v]) and padding dilation·(k − 1) − pad, run by the
 *     forward's implicit-GEMM kernel (grouped.ts) at forward speed;
 *   - otherwise col2im: per image, group and panel of output pixels, dCol = W_gᵀ · dY_g on the
 *     forward's GEMM into a bounded block of columns, each added onto the input element its tap
 *     read (gemm-gradient.ts).
 */
import type { Conv2dGeometry } from '../geometry.js';
import { packPanel, panelColumns, ROW_BLOCK } from './gemm.js';
import { addColumnsToImage, gemmPanelTransposedA, weightGradientGemm } from './gemm-gradient.js';
import { groupedConv } from './grouped.js';
import { SLOT_ACCUMULATORS, SLOT_COLUMNS, SLOT_FILTERS, SLOT_PANEL, type Scratch } from './scratch.js';

/** Whether gradInput is a forward convolution of dY (stride 1, no pad beyond the kernel's reach). */
export function gradInputIsForwardConvolution(g: Conv2dGeometry): boolean {
  const reachH = g.dilationH * (g.kernelH - 1);
  const reachW = g.dilationW * (g.kernelW - 1);
  return g.strideH === 1 && g.strideW === 1 && g.padTop <= reachH && g.padBottom <= reachH && g.padLeft <= reachW && g.padRight <= reachW;
}

/** The geometry of that forward convolution: dY in, gradInput out. */
function dualGeometry(g: Conv2dGeometry): Conv2dGeometry {
  const reachH = g.dilationH * (g.kernelH - 1);
  const reachW = g.dilationW * (g.kernelW - 1);
  return {
    ...g,
    batched: true,
    inChannels: g.outChannels,
    inHeight: g.outHeight,
    inWidth: g.outWidth,
    outChannels: g.inChannels,
    padTop: reachH - g.padTop,
    padBottom: reachH - g.padBottom,
    padLeft: reachW - g.padLeft,
    padRight: reachW - g.padRight,
    outHeight: g.inHeight,
    outWidth: g.inWidth,
    outputShape: [g.batch, g.inChannels, g.inHeight, g.inWidth],
  };
}

/** W'[c, o, u, v] = W[o_global, c_local, kH−1−u, kW−1−v], the filters of the dual convolution. */
function rotateAndTranspose(g: Conv2dGeometry, w: Float32Array, out: Float32Array): void {
  const cinPerGroup = g.inChannels / g.groups;
  const coutPerGroup = g.outChannels / g.groups;
  const taps = g.kernelH * g.kernelW;
  for (let c = 0; c < g.inChannels; c++) {
    const group = Math.floor(c / cinPerGroup);
    const cLocal = c - group * cinPerGroup;
    for (let o = 0; o < coutPerGroup; o++) {
      const src = ((group * coutPerGroup + o) * cinPerGroup + cLocal) * taps;
      const dst = (c * coutPerGroup + o) * taps;
      for (let t = 0; t < taps; t++) out[dst + t] = w[src + taps - 1 - t]!;
    }
  }
}

/** Floats of dCol per block: depth × pixels ≤ 64 Ki (256 KiB). */
const COLUMNS_BUDGET = 1 << 16;

export function groupedGradInput(g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array, scratch: Scratch): void {
  const { inChannels: Cin, outChannels: Cout, groups, inHeight: H, inWidth: W } = g;
  const cinPerGroup = Cin / groups;
  const coutPerGroup = Cout / groups;
  const depth = cinPerGroup * g.kernelH * g.kernelW;
  if (gradInputIsForwardConvolution(g)) {
    const filters = scratch.get(SLOT_FILTERS, Cin * coutPerGroup * g.kernelH * g.kernelW);
    rotateAndTranspose(g, w, filters);
    groupedConv(dualGeometry(g), dy, filters, null, 0, dx, scratch);
    return;
  }
  const pixels = g.outHeight * g.outWidth;
  const columns = Math.min(pixels, panelColumns(coutPerGroup), Math.max(16, Math.floor(COLUMNS_BUDGET / depth)));
  const panel = scratch.get(SLOT_PANEL, coutPerGroup * columns);
  const acc = scratch.getFloat64(SLOT_ACCUMULATORS, ROW_BLOCK * columns);
  const cols = scratch.get(SLOT_COLUMNS, depth * columns);
  dx.fill(0, 0, g.batch * Cin * H * W);
  for (let n = 0; n < g.batch; n++) {
    for (let group = 0; group < groups; group++) {
      const xGroup = (n * Cin + group * cinPerGroup) * H * W;
      const dyGroup = (n * Cout + group * coutPerGroup) * pixels;
      for (let p0 = 0; p0 < pixels; p0 += columns) {
        const width = Math.min(columns, pixels - p0);
        packPanel(coutPerGroup, width, dy, dyGroup + p0, pixels, panel);
        // W_g is [Cout/groups, depth] row-major: the transposed A of dCol = W_gᵀ · dY_g.
        gemmPanelTransposedA(depth, width, coutPerGroup, w, group * coutPerGroup * depth, depth, panel, cols, 0, width, acc);
        addColumnsToImage(g, cols, cinPerGroup, p0, width, dx, xGroup);
      }
    }
  }
}

export function groupedGradWeight(g: Conv2dGeometry, dy: Float32Array, x: Float32Array, dw: Float32Array, scratch: Scratch): void {
  weightGradientGemm(g, dy, x, dw, scratch, false);
}
