/**
 * The general path on wasm: any kernel size, stride, dilation, zero padding and groups, as a GEMM
 * per image and group over the 4×8 kernel (gemm-4x8.ts),
 *
 *   Y[o, (i, j)] = act(bias[o] + Σ_{(c,p,q)} W[o, (c,p,q)] · B[(c,p,q), (i, j)])
 *
 * - stride 1 (implicit im2col): the group's input is copied once into scratch with its zero
 *   border (skipped when there is no padding), and row (c, p, q) of B for output row i is that
 *   padded plane read from (i + p·dh, q·dw): contiguous along j. The kernel's offset table holds
 *   the (c, p, q) offsets, and one kernel call computes one output row for 4 channels.
 * - larger strides: B is built explicitly (im2col) for a chunk of output rows at a time, bounded
 *   by IM2COL_CHUNK_BYTES, and multiplied with offsets k·(chunk pixels).
 * Weights are packed per group in 4-row blocks (packRows4), so a block never spans two groups.
 */
import type { Conv2dGeometry } from '../kernels/geometry.js';
import type { WasmConvPath } from './conv-path.js';
import { activationBounds, packedBytes, packRows4, sgemmRows } from './gemm.js';
import type { WasmRuntime } from './runtime.js';

/** Upper bound on one im2col chunk, so B stays in the L2 cache (and scratch stays small). */
const IM2COL_CHUNK_BYTES = 192 * 1024;

function depthOf(g: Conv2dGeometry): number {
  return (g.inChannels / g.groups) * g.kernelH * g.kernelW;
}

function groupWeightBytes(g: Conv2dGeometry): number {
  return packedBytes(g.outChannels / g.groups, depthOf(g)) - 64;
}

/** Packed weights of every group, group after group; shared with the 1×1 path. */
export function packGroupedWeights(rt: WasmRuntime, g: Conv2dGeometry, w: Float32Array, bias: Float32Array | null, address: number): void {
  const depth = depthOf(g);
  const perGroup = g.outChannels / g.groups;
  const groupBytes = groupWeightBytes(g);
  const mem = rt.f32();
  for (let group = 0; group < g.groups; group++) {
    packRows4(mem, (address + group * groupBytes) >>> 2, w, group * perGroup * depth, depth, perGroup, depth, bias, group * perGroup);
  }
  // The slack after the last block, read (and discarded) by aliased rows.
  mem.fill(0, (address + g.groups * groupBytes) >>> 2, (address + g.groups * groupBytes + 64) >>> 2);
}

export function groupedWeightBytes(g: Conv2dGeometry): number {
  return g.groups * groupWeightBytes(g) + 64;
}

const usesIm2col = (g: Conv2dGeometry): boolean => g.strideH !== 1 || g.strideW !== 1;
const hasPadding = (g: Conv2dGeometry): boolean => g.padTop + g.padBottom + g.padLeft + g.padRight > 0;

/** Output rows per im2col chunk. */
function chunkRows(g: Conv2dGeometry): number {
  const rowBytes = 4 * depthOf(g) * g.outWidth;
  return Math.max(1, Math.min(g.outHeight, Math.floor(IM2COL_CHUNK_BYTES / rowBytes)));
}

/** Scratch layout: the offset table (depth i32), then the padded group input or the im2col chunk. */
function tableBytes(g: Conv2dGeometry): number {
  return Math.ceil((4 * depthOf(g)) / 64) * 64;
}

function paddedPlaneFloats(g: Conv2dGeometry): number {
  return (g.inHeight + g.padTop + g.padBottom) * (g.inWidth + g.padLeft + g.padRight);
}

export const groupedPath: WasmConvPath = {
  weightBytes: groupedWeightBytes,
  packWeights: packGroupedWeights,
  scratchBytes(g) {
    if (usesIm2col(g)) return tableBytes(g) + 4 * depthOf(g) * chunkRows(g) * g.outWidth + 64;
    if (!hasPadding(g)) return tableBytes(g);
    // the padded input of one group, plus a row of slack for the last row's right edge
    return tableBytes(g) + 4 * ((g.inChannels / g.groups) * paddedPlaneFloats(g) + 16);
  },
  run(rt, g, act, weights, x, y, scratch, channelStart, channelEnd, imageStart, imageEnd) {
    if (usesIm2col(g)) runIm2col(rt, g, act, weights, x, y, scratch, channelStart, channelEnd, imageStart, imageEnd);
    else runStride1(rt, g, act, weights, x, y, scratch, channelStart, channelEnd, imageStart, imageEnd);
  },
};

/** This group's channels within [channelStart, channelEnd), relative to the group: [r0, r1). */
function groupRows(g: Conv2dGeometry, group: number, channelStart: number, channelEnd: number): [number, number] {
  const perGroup = g.outChannels / g.groups;
  const r0 = Math.max(channelStart - group * perGroup, 0);
  const r1 = Math.min(channelEnd - group * perGroup, perGroup);
  return [r0, r1];
}

function runStride1(
  rt: WasmRuntime, g: Conv2dGeometry, act: number, weights: number, x: number, y: number, scratch: number,
  channelStart: number, channelEnd: number, imageStart: number, imageEnd: number,
): void {
  const { inChannels: Cin, outChannels: Cout, groups, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
  const cinG = Cin / groups;
  const coutG = Cout / groups;
  const depth = depthOf(g);
  const padded = hasPadding(g);
  const Hp = H + g.padTop + g.padBottom;
  const Wp = W + g.padLeft + g.padRight;
  const plane = padded ? Hp * Wp : H * W;
  const rowStride = padded ? Wp : W;
  const table = scratch;
  const pad = scratch + tableBytes(g);
  // offsets of B's rows (c, p, q) from the output row's start
  const ints = rt.i32();
  const t0 = table >>> 2;
  let k = 0;
  for (let c = 0; c < cinG; c++) {
    for (let p = 0; p < g.kernelH; p++) {
      for (let q = 0; q < g.kernelW; q++) ints[t0 + k++] = 4 * (c * plane + p * g.dilationH * rowStride + q * g.dilationW);
    }
  }
  const [min, max] = activationBounds(act);
  const groupWeights = groupWeightBytes(g);
  const pixels = Ho * Wo;
  for (let n = imageStart; n < imageEnd; n++) {
    for (let group = 0; group < groups; group++) {
      const [r0, r1] = groupRows(g, group, channelStart, channelEnd);
      if (r1 <= r0) continue;
      let source = x + 4 * (n * Cin + group * cinG) * H * W;
      if (padded) {
        padGroup(rt.f32(), source >>> 2, pad >>> 2, cinG, H, W, g);
        source = pad;
      }
      const packed = weights + group * groupWeights;
      const out = y + 4 * (n * Cout + group * coutG) * pixels;
      for (let i = 0; i < Ho; i++) {
        sgemmRows(rt, r0, r1, Wo, depth, packed, source + 4 * i * rowStride, table, out + 4 * i * Wo, 4 * pixels, min, max);
      }
    }
  }
}

/** Copies `channels` planes at float `src` into `dst` with the zero border of `g`. */
function padGroup(mem: Float32Array, src: number, dst: number, channels: number, H: number, W: number, g: Conv2dGeometry): void {
  const Wp = W + g.padLeft + g.padRight;
  const Hp = H + g.padTop + g.padBottom;
  const planeOut = Hp * Wp;
  mem.fill(0, dst, dst + channels * planeOut + 16);
  for (let c = 0; c < channels; c++) {
    const s = src + c * H * W;
    const d = dst + c * planeOut + g.padTop * Wp + g.padLeft;
    for (let i = 0; i < H; i++) mem.copyWithin(d + i * Wp, s + i * W, s + i * W + W);
  }
}

function runIm2col(
  rt: WasmRuntime, g: Conv2dGeometry, act: number, weights: number, x: number, y: number, scratch: number,
  channelStart: number, channelEnd: number, imageStart: number, imageEnd: number,
): void {
  const { inChannels: Cin, outChannels: Cout, groups, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
  const cinG = Cin / groups;
  const coutG = Cout / groups;
  const depth = depthOf(g);
  const rows = chunkRows(g);
  const table = scratch;
  const buffer = scratch + tableBytes(g);
  const [min, max] = activationBounds(act);
  const groupWeights = groupWeightBytes(g);
  const pixels = Ho * Wo;
  for (let n = imageStart; n < imageEnd; n++) {
    for (let group = 0; group < groups; group++) {
      const [r0, r1] = groupRows(g, group, channelStart, channelEnd);
      if (r1 <= r0) continue;
      const source = (x >>> 2) + (n * Cin + group * cinG) * H * W;
      const packed = weights + group * groupWeights;
      const out = y + 4 * (n * Cout + group * coutG) * pixels;
      for (let i0 = 0; i0 < Ho; i0 += rows) {
        const chunk = Math.min(rows, Ho - i0) * Wo;
        const ints = rt.i32();
        for (let k = 0; k < depth; k++) ints[(table >>> 2) + k] = 4 * k * chunk;
        im2colRows(rt.f32(), source, buffer >>> 2, cinG, i0, Math.min(Ho, i0 + rows), g);
        sgemmRows(rt, r0, r1, chunk, depth, packed, buffer, table, out + 4 * i0 * Wo, 4 * pixels, min, max);
      }
    }
  }
}

/**
 * B rows (c, p, q) for output rows [i0, i1): dst[k·chunk + (i − i0)·Wo + j] = x[c, i·sh + p·dh − pt, j·sw + q·dw − pl], 0 outside.
 */
function im2colRows(mem: Float32Array, src: number, dst: number, channels: number, i0: number, i1: number, g: Conv2dGeometry): void {
  const { inHeight: H, inWidth: W, outWidth: Wo, kernelH: kH, kernelW: kW, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw, padTop, padLeft } = g;
  const chunk = (i1 - i0) * Wo;
  let d = dst;
  for (let c = 0; c < channels; c++) {
    const plane = src + c * H * W;
    for (let p = 0; p < kH; p++) {
      for (let q = 0; q < kW; q++) {
        const colShift = q * dw - padLeft;
        // output columns j whose input column j·sw + colShift is inside [0, W)
        const jStart = colShift >= 0 ? 0 : Math.min(Wo, Math.ceil(-colShift / sw));
        const jEnd = Math.max(jStart, Math.min(Wo, Math.floor((W - 1 - colShift) / sw) + 1));
        for (let i = i0; i < i1; i++) {
          const row = i * sh + p * dh - padTop;
          const o = d + (i - i0) * Wo;
          if (row < 0 || row >= H) {
            mem.fill(0, o, o + Wo);
            continue;
          }
          for (let j = 0; j < jStart; j++) mem[o + j] = 0;
          let s = plane + row * W + jStart * sw + colShift;
          for (let j = jStart; j < jEnd; j++, s += sw) mem[o + j] = mem[s]!;
          for (let j = jEnd; j < Wo; j++) mem[o + j] = 0;
        }
        d += chunk;
      }
    }
  }
}
