/**
 * The 1×1 path: per image and group, one GEMM
 *
 *   Y[o, p] = act(bias[o] + sum_c W[o, c] * X[c, p])    p over the Hout·Wout output pixels,
 *
 * with W the group's `[Cout/groups, Cin/groups]` weights (row-major, as given) and X its input
 * channels. Zero padding only. With stride 1, X is the input itself; with a larger stride the
 * strided pixels are packed straight into the GEMM's panels (im2col.ts), never gathered whole.
 *
 * The grouped kernel computes exactly this (a depth of Cin/groups, and a stride-1 input packed
 * with plain copies), so this path runs it; the dispatcher keeps the name for plans and reports.
 */
import type { Conv2dGeometry } from '../geometry.js';
import { groupedConv } from './grouped.js';
import type { Scratch } from './scratch.js';

export function pointwiseConv(
  g: Conv2dGeometry,
  x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number,
  y: Float32Array, scratch: Scratch,
  channelStart = 0, channelEnd = g.outChannels,
): void {
  groupedConv(g, x, w, bias, act, y, scratch, channelStart, channelEnd);
}
