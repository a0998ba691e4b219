/**
 * The depthwise 3×3 paths on wasm (dispatcher paths depthwise3x3s1 and depthwise3x3s2: groups =
 * Cin, channel multiplier K = Cout/Cin, dilation 1, every pad 0 or 1). Per image and output
 * channel o = c·K + q: input plane c is copied into the zero-bordered plane in this thread's
 * scratch (once per c, not per o), then one kernel call computes output plane o
 * (depthwise-3x3.ts explains the kernels).
 */
import type { Conv2dGeometry } from '../kernels/geometry.js';
import type { WasmConvPath } from './conv-path.js';
import { DW3X3_PACKED_FLOATS } from './depthwise-3x3.js';
import { activationBounds } from './gemm.js';
import type { WasmRuntime } from './runtime.js';

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
      const mem = rt.f32();
      for (let o = 0; o < g.outChannels; o++) {
        const d = (address >>> 2) + DW3X3_PACKED_FLOATS * o;
        // −0 bias → +0 (adding +0 does that), as the JS tier and the GEMM packing do (gemm.ts)
        mem[d] = bias === null ? 0 : bias[o]! + 0;
        for (let k = 0; k < 9; k++) mem[d + 1 + k] = w[9 * o + k]!;
        mem[d + 10] = 0;
        mem[d + 11] = 0;
      }
    },
    scratchBytes(g) {
      return 4 * paddedHeight(g) * depthwisePaddedWidth(g) + 64;
    },
    run(rt, g, act, weights, x, y, scratch, channelStart, channelEnd, imageStart, imageEnd) {
      const { inChannels: Cin, outChannels: Cout, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
      if (channelEnd <= channelStart || Ho === 0 || Wo === 0) return;
      const K = Cout / Cin;
      const wp = depthwisePaddedWidth(g);
      const hp = paddedHeight(g);
      const rows = Math.min(H, hp - g.padTop);
      const [min, max] = activationBounds(act);
      const kernels = rt.kernels;
      const plane = stride === 1 ? kernels.dw3x3_s1 : kernels.dw3x3_s2;
      // The borders stay zero: every plane copy writes the same interior positions.
      kernels.fill_f32(scratch, hp * wp, 0);
      for (let n = imageStart; n < imageEnd; n++) {
        let copied = -1;
        for (let o = channelStart; o < channelEnd; o++) {
          const c = Math.floor(o / K);
          if (c !== copied) {
            kernels.dw3x3_pad(x + 4 * (n * Cin + c) * H * W, rows, W, scratch, wp, g.padTop, g.padLeft);
            copied = c;
          }
          plane(scratch, wp, weights + 4 * DW3X3_PACKED_FLOATS * o, y + 4 * (n * Cout + o) * Ho * Wo, Ho, Wo, min, max);
        }
      }
    },
  };
}

export const depthwise3x3s1Path: WasmConvPath = makePath(1);
export const depthwise3x3s2Path: WasmConvPath = makePath(2);
