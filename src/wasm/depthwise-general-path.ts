/**
 * The general depthwise path on wasm (dispatcher path `depthwise`: groups = Cin, any kernel size,
 * stride, dilation, channel multiplier K = Cout/Cin and padding). Per image and output channel
 * o = c·K + q: input plane c is copied into the zero-bordered plane in this thread's scratch
 * (once per c, not per o), then one `dwg_plane` call computes output plane o
 * (depthwise-general.ts explains the kernel).
 */
import type { Conv2dGeometry } from '../geometry.js';
import type { WasmConvPath } from './conv-path.js';
import { dwgPackedFloats } from './abi.js';
import { activationBounds } from './gemm.js';
import type { WasmRuntime } from './runtime.js';
import { forEachDepthwisePlane, packDepthwiseFilters } from './depthwise-planes.js';

/**
 * Floats per row of the padded plane: the input columns with their left pad, and enough that the
 * last (partial) 4-pixel tile's loads stay inside: its 4 lanes reach column
 * sw·(4⌈Wo/4⌉ − 1) + dw·(kw − 1), and a stride-2 tap loads 8 floats from its first column; and
 * at least every input column (the plane copy writes them all).
 */
export function generalPaddedWidth(g: Conv2dGeometry): number {
  const tiles = 4 * Math.ceil(g.outWidth / 4);
  const reach = g.strideW * (tiles - 4) + g.dilationW * (g.kernelW - 1) + Math.max(4 * g.strideW, 8);
  return Math.max(reach, g.padLeft + g.inWidth);
}

/** Rows of the padded plane: the rows the taps of the last output row reach, and every input row. */
export function generalPaddedHeight(g: Conv2dGeometry): number {
  return Math.max(g.strideH * (g.outHeight - 1) + g.dilationH * (g.kernelH - 1) + 1, g.padTop + g.inHeight);
}

export const depthwiseGeneralPath: WasmConvPath = {
  weightBytes(g) {
    return 4 * dwgPackedFloats(g.kernelH, g.kernelW) * g.outChannels;
  },
  packWeights(rt: WasmRuntime, g, w, bias, address) {
    packDepthwiseFilters(rt, g.outChannels, g.kernelH * g.kernelW, dwgPackedFloats(g.kernelH, g.kernelW), w, bias, address);
  },
  scratchBytes(g) {
    return 4 * generalPaddedHeight(g) * generalPaddedWidth(g) + 64;
  },
  run(rt, g, act, weights, x, y, scratch, channelStart, channelEnd, imageStart, imageEnd) {
    const wp = generalPaddedWidth(g);
    const hp = generalPaddedHeight(g);
    const [min, max] = activationBounds(act);
    const packed = 4 * dwgPackedFloats(g.kernelH, g.kernelW);
    forEachDepthwisePlane(rt, g, x, y, scratch, wp, hp, g.inHeight, channelStart, channelEnd, imageStart, imageEnd, (o, output) =>
      rt.kernels.dwg_plane(
        scratch, wp, weights + packed * o, output, g.outHeight, g.outWidth,
        g.kernelH, g.kernelW, g.strideH, g.strideW, g.dilationH, g.dilationW, min, max,
      ));
  },
};
