/**
 * The depthwise 3×3 paths on wasm (dispatcher paths depthwise3x3s1 and depthwise3x3s2: groups =
 * Cin, channel multiplier K = Cout/Cin, dilation 1, every pad 0 or 1). Per image and output
 * channel o = c·K + q: input plane c is copied into the zero-bordered plane in this thread's
 * scratch (once per c, not per o), then one kernel call computes output plane o
 * (depthwise-3x3.ts explains the kernels).
 */
import type { Conv2dGeometry } from '../geometry.js';
import type { WasmConvPath } from './conv-path.js';
import { DW3X3_PACKED_FLOATS } from './abi.js';
import { activationBounds } from './gemm.js';
import type { WasmRuntime } from './runtime.js';
import { forEachDepthwisePlane, packDepthwiseFilters } from './depthwise-planes.js';

/**
 * Floats per row of the padded plane: the input columns with their left pad, and enough that the
 * last (partial) 4-pixel tile's loads stay inside: column 4⌈Wo/4⌉ + 1 for stride 1, column
 * 2·4⌈Wo/4⌉ + 7 for stride 2.
 */
export function depthwisePaddedWidth(g: Conv2dGeometry): number {
  const tiles = 4 * Math.ceil(g.outWidth / 4);
  const reach = g.strideW === 1 ? tiles + 2 : 2 * tiles + 8;
  return Math.max(reach, g.padLeft + g.inWidth);
}

/** Rows of the padded plane: the rows the taps of the last output row reach. */
function paddedHeight(g: Conv2dGeometry): number {
  return g.strideH * (g.outHeight - 1) + 3;
}

function makePath(stride: 1 | 2): WasmConvPath {
  return {
    weightBytes(g) {
      return 4 * DW3X3_PACKED_FLOATS * g.outChannels;
    },
    packWeights(rt: WasmRuntime, g, w, bias, address) {
      packDepthwiseFilters(rt, g.outChannels, 9, DW3X3_PACKED_FLOATS, w, bias, address);
    },
    scratchBytes(g) {
      return 4 * paddedHeight(g) * depthwisePaddedWidth(g) + 64;
    },
    run(rt, g, act, weights, x, y, scratch, channelStart, channelEnd, imageStart, imageEnd) {
      const wp = depthwisePaddedWidth(g);
      const hp = paddedHeight(g);
      const [min, max] = activationBounds(act);
      // Input rows below the last one any tap reads are not copied.
      const rows = Math.min(g.inHeight, hp - g.padTop);
      if (g.outChannels === g.inChannels) {
        // Multiplier 1: every plane of a channel range in one call (the per-plane JS calls were
        // most of the time on 7×7 and 14×14 planes).
        if (channelEnd <= channelStart || g.outHeight === 0 || g.outWidth === 0) return;
        const planes = stride === 1 ? rt.kernels.dw3x3_s1_planes : rt.kernels.dw3x3_s2_planes;
        const { inChannels: C, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
        rt.kernels.fill_f32(scratch, hp * wp, 0);
        for (let n = imageStart; n < imageEnd; n++) {
          planes(x + 4 * (n * C + channelStart) * H * W, channelEnd - channelStart, H, rows, W, scratch, wp, g.padTop, g.padLeft,
            weights + 4 * DW3X3_PACKED_FLOATS * channelStart, y + 4 * (n * C + channelStart) * Ho * Wo, Ho, Wo, min, max);
        }
        return;
      }
      const plane = stride === 1 ? rt.kernels.dw3x3_s1 : rt.kernels.dw3x3_s2;
      forEachDepthwisePlane(rt, g, x, y, scratch, wp, hp, rows, channelStart, channelEnd, imageStart, imageEnd, (o, output) =>
        plane(scratch, wp, weights + 4 * DW3X3_PACKED_FLOATS * o, output, g.outHeight, g.outWidth, min, max));
    },
    /**
     * Output rows [pixelStart / Wo, pixelEnd / Wo) of every plane (whole rows only; multiplier 1):
     * per plane, the input rows those output rows read, zero rows where they fall in the padding,
     * copied into a band-high padded plane, then the plane kernel over the band. Every output
     * reads the same taps in the same order as in `run`, so the same bits.
     */
    runPixels(rt, g, act, weights, x, y, scratch, channelStart, channelEnd, imageStart, imageEnd, pixelStart, pixelEnd) {
      const { inChannels: C, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
      if (g.outChannels !== C || Wo === 0 || pixelStart % Wo !== 0 || pixelEnd % Wo !== 0 || pixelStart < 0 || pixelEnd > Ho * Wo) {
        throw new RangeError(`depthwise 3×3 runPixels: pixels [${pixelStart}, ${pixelEnd}) are not whole rows of a ${Ho}×${Wo} plane with channel multiplier 1`);
      }
      const r0 = pixelStart / Wo;
      const bandRows = pixelEnd / Wo - r0;
      if (bandRows <= 0 || channelEnd <= channelStart) return;
      const wp = depthwisePaddedWidth(g);
      const hp = stride * (bandRows - 1) + 3;
      const first = stride * r0 - g.padTop; // the input row of the band's padded row 0
      const padTop = first < 0 ? -first : 0;
      const from = Math.max(first, 0);
      const rows = Math.max(0, Math.min(H - from, hp - padTop));
      const [min, max] = activationBounds(act);
      const { dw3x3_pad: pad } = rt.kernels;
      const plane = stride === 1 ? rt.kernels.dw3x3_s1 : rt.kernels.dw3x3_s2;
      // Zero once: every plane copies the same rows, so the rest stays zero.
      rt.kernels.fill_f32(scratch, hp * wp, 0);
      for (let n = imageStart; n < imageEnd; n++) {
        for (let c = channelStart; c < channelEnd; c++) {
          pad(x + 4 * ((n * C + c) * H * W + from * W), rows, W, scratch, wp, padTop, g.padLeft);
          plane(scratch, wp, weights + 4 * DW3X3_PACKED_FLOATS * c, y + 4 * ((n * C + c) * Ho * Wo + r0 * Wo), bandRows, Wo, min, max);
        }
      }
    },
  };
}

export const depthwise3x3s1Path: WasmConvPath = makePath(1);
export const depthwise3x3s2Path: WasmConvPath = makePath(2);
