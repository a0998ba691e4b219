/**
 * The general path on wasm: any kernel size, stride, dilation, zero padding and groups, as an
 * implicit GEMM per image and group over the MR×8 kernel (gemm-tile.ts),
 *
 *   Y[o, (i, j)] = act(bias[o] + Σ_{(c,p,q)} W[o, (c,p,q)] · B[(c,p,q), (i, j)])
 *
 * B is never built. The group's input is copied once into scratch as "phase planes": with strides
 * (sh, sw), the zero-padded input split into sh·sw planes, plane (a, b) holding padded rows
 * a, a+sh, … and columns b, b+sw, …. Tap (p, q) of output (i, j) reads padded (i·sh + p·dh,
 * j·sw + q·dw), which is plane ((p·dh) mod sh, (q·dw) mod sw) at (i + ⌊p·dh/sh⌋, j + ⌊q·dw/sw⌋):
 * for fixed (c, p, q) and i, contiguous along j. Only the phases some tap reads are stored (at most
 * kH·kW of them, however large the stride), so scratch does not grow with the stride. So one kernel call computes one output row for
 * MR channels, its offset table listing where each (c, p, q) row starts. With stride 1 there is
 * one plane (the padded input), and without padding either the input is used in place.
 * Weights are packed per group in blocks of the kernel's MR rows (packRows), so a block never spans two groups.
 */
import type { Conv2dGeometry } from '../geometry.js';
import type { WasmConvPath } from './conv-path.js';
import { activationBounds, gemmRows, PACK_SLACK, packedBytes, packRows, sgemmRows } from './gemm.js';
import type { WasmRuntime } from './runtime.js';

function depthOf(g: Conv2dGeometry): number {
  return (g.inChannels / g.groups) * g.kernelH * g.kernelW;
}

/** Bytes of one group's packed blocks (without the slack). */
export function groupWeightBytes(g: Conv2dGeometry, rt: WasmRuntime): number {
  return packedBytes(g.outChannels / g.groups, depthOf(g), gemmRows(rt)) - PACK_SLACK;
}

/** Packed weights of every group, group after group; shared with the 1×1 path. */
export function packGroupedWeights(rt: WasmRuntime, g: Conv2dGeometry, w: Float32Array, bias: Float32Array | null, address: number): void {
  const depth = depthOf(g);
  const perGroup = g.outChannels / g.groups;
  const groupBytes = groupWeightBytes(g, rt);
  const mr = gemmRows(rt);
  const mem = rt.f32();
  for (let group = 0; group < g.groups; group++) {
    packRows(mem, (address + group * groupBytes) >>> 2, mr, w, group * perGroup * depth, depth, perGroup, depth, bias, group * perGroup);
  }
  // The slack after the last block, read (and discarded) by aliased rows.
  mem.fill(0, (address + g.groups * groupBytes) >>> 2, (address + g.groups * groupBytes + PACK_SLACK) >>> 2);
}

export function groupedWeightBytes(g: Conv2dGeometry, rt: WasmRuntime): number {
  return g.groups * groupWeightBytes(g, rt) + PACK_SLACK;
}

const hasPadding = (g: Conv2dGeometry): boolean => g.padTop + g.padBottom + g.padLeft + g.padRight > 0;
const inPlace = (g: Conv2dGeometry): boolean => g.strideH === 1 && g.strideW === 1 && !hasPadding(g);

/** Scratch layout: the offset table (depth i32), then the group's phase planes. */
function tableBytes(g: Conv2dGeometry): number {
  return Math.ceil((4 * depthOf(g)) / 64) * 64;
}

/**
 * The phases (a, b) some tap reads, in (a, b) order, and each one's slot in a channel's stored
 * planes. Found from the taps (never by walking sh·sw phases: a stride may be huge).
 */
function usedPhases(g: Conv2dGeometry): { phases: [number, number][]; slotOf: Map<number, number> } {
  const keys = new Set<number>();
  const phases: [number, number][] = [];
  for (let p = 0; p < g.kernelH; p++) {
    for (let q = 0; q < g.kernelW; q++) {
      const a = (p * g.dilationH) % g.strideH;
      const b = (q * g.dilationW) % g.strideW;
      const key = a * (g.kernelW * g.dilationW + 1) + b; // b < kernelW·dilationW + 1 whatever the stride
      if (!keys.has(key)) {
        keys.add(key);
        phases.push([a, b]);
      }
    }
  }
  phases.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const slotOf = new Map<number, number>();
  phases.forEach(([a, b], slot) => slotOf.set(a * (g.kernelW * g.dilationW + 1) + b, slot));
  return { phases, slotOf };
}

/** Rows and columns of every phase plane (the padded size divided by the stride, rounded up). */
function phaseSize(g: Conv2dGeometry): { rows: number; cols: number } {
  const Hp = g.inHeight + g.padTop + g.padBottom;
  const Wp = g.inWidth + g.padLeft + g.padRight;
  return { rows: Math.ceil(Hp / g.strideH), cols: Math.ceil(Wp / g.strideW) };
}

/**
 * Where one group's B lives: in place (stride 1, no padding: the input planes themselves) or in
 * phase planes of `rows` × `cols` floats, `channelFloats` floats per input channel.
 */
export interface GroupLayout {
  readonly direct: boolean;
  readonly rows: number;
  readonly cols: number;
  readonly phases: readonly (readonly [number, number])[];
  readonly slotOf: ReadonlyMap<number, number>;
  readonly channelFloats: number;
}

export function groupLayout(g: Conv2dGeometry): GroupLayout {
  const direct = inPlace(g);
  const { rows, cols } = direct ? { rows: g.inHeight, cols: g.inWidth } : phaseSize(g);
  const { phases, slotOf } = direct ? { phases: [[0, 0] as [number, number]], slotOf: new Map([[0, 0]]) } : usedPhases(g);
  return { direct, rows, cols, phases, slotOf, channelFloats: phases.length * rows * cols };
}

/** Bytes of the offset table (one i32 per (c, p, q) of a group, 64-byte rounded). */
export function groupTableBytes(g: Conv2dGeometry): number {
  return tableBytes(g);
}

/** Bytes of one group's phase planes (0 when B is the input in place). */
export function groupPlanesBytes(g: Conv2dGeometry, layout: GroupLayout): number {
  return layout.direct ? 0 : 4 * (g.inChannels / g.groups) * layout.channelFloats;
}

/**
 * Writes at `table` the byte offset, from the group's B base, where row (c, p, q) of B starts for
 * output row 0: tap (p, q) of channel c, in its phase plane (row stride layout.cols floats).
 */
export function writeTapTable(rt: WasmRuntime, g: Conv2dGeometry, layout: GroupLayout, table: number): void {
  const { strideH: sh, strideW: sw, dilationH: dh, dilationW: dw } = g;
  const ints = rt.i32();
  const t0 = table >>> 2;
  const phasePlane = layout.rows * layout.cols;
  let k = 0;
  for (let c = 0; c < g.inChannels / g.groups; c++) {
    for (let p = 0; p < g.kernelH; p++) {
      for (let q = 0; q < g.kernelW; q++) {
        const phase = layout.direct ? 0 : layout.slotOf.get(((p * dh) % sh) * (g.kernelW * dw + 1) + ((q * dw) % sw))!;
        ints[t0 + k++] = 4 * (c * layout.channelFloats + phase * phasePlane + Math.floor((p * dh) / sh) * layout.cols + Math.floor((q * dw) / sw));
      }
    }
  }
}

/** The B base of the group whose input planes start at byte `source`: `source` itself, or the phase planes written at `planes`. */
export function stageGroupInput(rt: WasmRuntime, g: Conv2dGeometry, layout: GroupLayout, source: number, planes: number): number {
  if (layout.direct) return source;
  copyPhases(rt.f32(), source >>> 2, planes >>> 2, g.inChannels / g.groups, g, layout.rows, layout.cols, layout.phases);
  return planes;
}

export const groupedPath: WasmConvPath = {
  weightBytes: groupedWeightBytes,
  packWeights: packGroupedWeights,
  scratchBytes(g) {
    return tableBytes(g) + groupPlanesBytes(g, groupLayout(g));
  },
  run(rt, g, act, weights, x, y, scratch, channelStart, channelEnd, imageStart, imageEnd) {
    const { inChannels: Cin, outChannels: Cout, groups, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
    const cinG = Cin / groups;
    const coutG = Cout / groups;
    const depth = depthOf(g);
    const layout = groupLayout(g);
    const planes = scratch + tableBytes(g);
    writeTapTable(rt, g, layout, scratch);
    const [min, max] = activationBounds(act);
    const groupWeights = groupWeightBytes(g, rt);
    const pixels = Ho * Wo;
    for (let n = imageStart; n < imageEnd; n++) {
      for (let group = 0; group < groups; group++) {
        const [r0, r1] = groupRows(g, group, channelStart, channelEnd);
        if (r1 <= r0) continue;
        const source = stageGroupInput(rt, g, layout, x + 4 * (n * Cin + group * cinG) * H * W, planes);
        const packed = weights + group * groupWeights;
        const out = y + 4 * (n * Cout + group * coutG) * pixels;
        for (let i = 0; i < Ho; i++) {
          sgemmRows(rt, r0, r1, Wo, depth, packed, source + 4 * i * layout.cols, scratch, out + 4 * i * Wo, 4 * pixels, min, max);
        }
      }
    }
  },
};

/** This group's channels within [channelStart, channelEnd), relative to the group: [r0, r1). */
function groupRows(g: Conv2dGeometry, group: number, channelStart: number, channelEnd: number): [number, number] {
  const perGroup = g.outChannels / g.groups;
  const r0 = Math.max(channelStart - group * perGroup, 0);
  const r1 = Math.min(channelEnd - group * perGroup, perGroup);
  return [r0, r1];
}

/**
 * Copies `channels` input planes at float `src` into their phase planes at `dst`: for channel c
 * and the phase (a, b) in slot s of `phases`, dst[(c·phases.length + s)·rows·cols + r·cols + col] =
 * padded input at (r·sh + a, col·sw + b), 0 in the padding and past the padded edge.
 */
function copyPhases(
  mem: Float32Array, src: number, dst: number, channels: number, g: Conv2dGeometry, rows: number, cols: number, phases: readonly (readonly [number, number])[],
): void {
  const { inHeight: H, inWidth: W, strideH: sh, strideW: sw, padTop, padLeft } = g;
  let d = dst;
  for (let c = 0; c < channels; c++) {
    const plane = src + c * H * W;
    for (const [a, b] of phases) {
      // columns col whose input column col·sw + b − padLeft is inside [0, W)
      const first = Math.min(cols, Math.max(0, Math.ceil((padLeft - b) / sw)));
      const end = Math.max(first, Math.min(cols, Math.floor((W - 1 + padLeft - b) / sw) + 1));
      for (let r = 0; r < rows; r++, d += cols) {
        const row = r * sh + a - padTop;
        if (row < 0 || row >= H) {
          mem.fill(0, d, d + cols);
          continue;
        }
        for (let col = 0; col < first; col++) mem[d + col] = 0;
        let s = plane + row * W + first * sw + b - padLeft;
        if (sw === 1) mem.copyWithin(d + first, s, s + (end - first));
        else for (let col = first; col < end; col++, s += sw) mem[d + col] = mem[s]!;
        for (let col = end; col < cols; col++) mem[d + col] = 0;
      }
    }
  }
}
