/**
 * The general depthwise path on wasm (dispatcher path `depthwise`: groups = Cin, any kernel size,
 * stride, dilation, channel multiplier K = Cout/Cin and padding). Per image and output channel
 * o = c·K + q: input plane c is copied into the zero-bordered plane in this thread's scratch
 * (once per c, not per o), then one `dwg_plane` call computes output plane o
 * (depthwise-general.ts explains the kernel).
 */
import type { Conv2dGeometry } from '../kernels/geometry.js';
import type { WasmConvPath } from './conv-path.js';
import { dwgPackedFloats } from './depthwise-general.js';
import { activationBounds } from './gemm.js';
import type { WasmRuntime } from './runtime.js';

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
    const mem = rt.f32();
    const taps = g.kernelH * g.kernelW;
    const stride = dwgPackedFloats(g.kernelH, g.kernelW);
    for (let o = 0; o < g.outChannels; o++) {
      const d = (address >>> 2) + stride * o;
      // −0 bias → +0 (adding +0 does that), as the JS tier and the other packings do
      mem[d] = bias === null ? 0 : bias[o]! + 0;
      for (let k = 0; k < taps; k++) mem[d + 1 + k] = w[taps * o + k]!;
      for (let k = 1 + taps; k < stride; k++) mem[d + k] = 0;
    }
  },
  scratchBytes(g) {
    return 4 * generalPaddedHeight(g) * generalPaddedWidth(g) + 64;
  },
  run(rt, g, act, weights, x, y, scratch, channelStart, channelEnd, imageStart, imageEnd) {
    const { inChannels: Cin, outChannels: Cout, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
    if (channelEnd <= channelStart || Ho === 0 || Wo === 0) return;
    const K = Cout / Cin;
    const wp = generalPaddedWidth(g);
    const hp = generalPaddedHeight(g);
    const [min, max] = activationBounds(act);
    const kernels = rt.kernels;
    const packed = 4 * dwgPackedFloats(g.kernelH, g.kernelW);
    // The borders stay zero: every plane copy writes the same interior positions.
    kernels.fill_f32(scratch, hp * wp, 0);
    for (let n = imageStart; n < imageEnd; n++) {
      let copied = -1;
      for (let o = channelStart; o < channelEnd; o++) {
        const c = Math.floor(o / K);
        if (c !== copied) {
          kernels.dw3x3_pad(x + 4 * (n * Cin + c) * H * W, H, W, scratch, wp, g.padTop, g.padLeft);
          copied = c;
        }
        kernels.dwg_plane(
          scratch, wp, weights + packed * o, y + 4 * (n * Cout + o) * Ho * Wo, Ho, Wo,
          g.kernelH, g.kernelW, g.strideH, g.strideW, g.dilationH, g.dilationW, min, max,
        );
      }
    }
  },
};
