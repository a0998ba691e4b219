/**
 * gradInput of the general path by columns: per image and group, the 1×1 GEMM
 *
 *   cols[(c, p, q), (i, j)] = Σ_o W[o, c, p, q] · dY[o, i, j]
 *
 * (the forward's MR×8 kernel, sgemmRows, with dY as B in place, as the 1×1 path pointwise.ts runs
 * it: only the transposed filters are packed), then col2im: dX[c, s·i − pad + p·dil, s·j − pad +
 * q·dil] += cols[(c, p, q), (i, j)] over the positions inside the input (dX zeroed first; wasm
 * col2im family, src/wasm/emit/col2im.ts). Any stride, dilation and padding. The GEMM has
 * cinG·kH·kW rows (27 for a 3-channel 3×3 input layer: a well-filled register tile), where the
 * dual convolution (grouped-backward.ts) has cinG.
 *
 * Output rows of dY are taken in chunks whose columns span about COLUMN_CHUNK_BYTES, and each
 * chunk's col2im runs right after its GEMM, while the columns are in cache; the columns buffer is
 * one chunk, whatever the layer's size. Every dX element receives its terms in a fixed order
 * (chunk, then channel, kernel row, kernel column): bitwise repeatable.
 */
import type { Conv2dGeometry } from '../geometry.js';
import { gemmRows, PACK_SLACK, packedBytes, packRows, sgemmRows } from './gemm.js';
import { POINTWISE_CHUNK_BYTES } from './pointwise.js';
import { callKernel, type WasmRuntime } from './runtime.js';

/**
 * Bytes of columns one chunk of dY rows may produce (at least one row): with the dX rows the
 * chunk touches, within the 1 MiB L2. 64 KiB to 512 KiB measured within noise (conv1, 3×3 cinG
 * 16 stride 2, 7×7 stride 2, 3×3 cinG 64 stride 1 on Node 24); whole images up to 1.25× slower
 * (7×7 stride 2), and the chunk bounds the memory.
 */
const COLUMN_CHUNK_BYTES = 256 * 1024;

/** The transposed filters, grown when too small and reused (a steady state allocates nothing). */
let columnFilters = new Float32Array(256);

/** Writes gradInput into `dx` (see the file comment). */
export function columnsGradInput(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array): void {
  const { inChannels: Cin, outChannels: Cout, groups, kernelH: kH, kernelW: kW, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
  const cinG = Cin / groups;
  const coutG = Cout / groups;
  const depth = cinG * kH * kW;
  const pixels = Ho * Wo;
  const chunkRows = Math.max(1, Math.min(Ho, Math.floor(COLUMN_CHUNK_BYTES / (4 * depth * Wo))));
  // A[(c, p, q), o] = W[group·coutG + o, c, p, q], per group
  const size = groups * depth * coutG;
  if (columnFilters.length < size) columnFilters = new Float32Array(size);
  const filters = columnFilters.subarray(0, size);
  for (let group = 0; group < groups; group++) {
    for (let o = 0; o < coutG; o++) {
      const src = (group * coutG + o) * depth;
      let dst = group * depth * coutG + o;
      for (let k = 0; k < depth; k++, dst += coutG) filters[dst] = w[src + k]!;
    }
  }
  const mr = gemmRows(rt);
  const groupBytes = packedBytes(depth, coutG, mr) - PACK_SLACK;
  const image = Cin * H * W;
  const arena = rt.arena;
  // Every block first: growing the memory replaces its buffer (and views on it).
  const packed = arena.alloc(groups * groupBytes + PACK_SLACK, 'convolution backward column filters');
  const table = arena.alloc(4 * coutG, 'convolution backward gradOutput offsets');
  const dyAddress = arena.alloc(4 * dy.length, 'convolution backward gradOutput');
  const cols = arena.alloc(4 * depth * chunkRows * Wo, 'convolution backward columns');
  // col2im_s2 reads and writes back (unchanged) up to 16 bytes past its last float
  const dxAddress = arena.alloc(4 * image + 16, 'convolution backward gradInput');
  try {
    const mem = rt.f32();
    for (let group = 0; group < groups; group++) {
      packRows(mem, (packed + group * groupBytes) >>> 2, mr, filters, group * depth * coutG, coutG, depth, coutG, null, 0);
    }
    mem.fill(0, (packed + groups * groupBytes) >>> 2, (packed + groups * groupBytes + PACK_SLACK) >>> 2);
    const ints = rt.i32();
    for (let o = 0; o < coutG; o++) ints[(table >>> 2) + o] = 4 * o * pixels;
    rt.write(dyAddress, dy);
    // pixel columns per GEMM call, as the 1×1 forward takes them (B slices within the L1/L2 budget)
    const gemmChunk = Math.max(8, Math.floor(POINTWISE_CHUNK_BYTES / (4 * coutG) / 8) * 8);
    for (let n = 0; n < g.batch; n++) {
      rt.f32().fill(0, dxAddress >>> 2, (dxAddress >>> 2) + image + 4);
      for (let group = 0; group < groups; group++) {
        const dyGroup = dyAddress + 4 * (n * Cout + group * coutG) * pixels;
        for (let i0 = 0; i0 < Ho; i0 += chunkRows) {
          const width = Math.min(chunkRows, Ho - i0) * Wo;
          callKernel('grouped gradInput columns', () => {
            for (let p0 = 0; p0 < width; p0 += gemmChunk) {
              sgemmRows(rt, 0, depth, Math.min(gemmChunk, width - p0), coutG, packed + group * groupBytes, dyGroup + 4 * (i0 * Wo + p0), table,
                cols + 4 * p0, 4 * width, -Infinity, Infinity);
            }
            col2im(rt, g, cols, i0, i0 + width / Wo, dxAddress + 4 * group * cinG * H * W);
          });
        }
      }
      dx.set(rt.view(dxAddress, image), n * image);
    }
  } finally {
    arena.release(dxAddress);
    arena.release(cols);
    arena.release(dyAddress);
    arena.release(table);
    arena.release(packed);
  }
}

/** The outputs i in [first, end) of [from, to) whose tap at offset `reach` lands inside [0, size): s·i − pad + reach ∈ [0, size). */
function validRange(pad: number, reach: number, stride: number, size: number, from: number, to: number): [number, number] {
  const first = Math.max(from, Math.ceil((pad - reach) / stride));
  const end = Math.min(to, Math.floor((size - 1 + pad - reach) / stride) + 1);
  return [first, Math.max(first, end)];
}

/**
 * One chunk's col2im: the columns at byte `cols` (rows (c, p, q) of the group's cinG channels,
 * each (i1 − i0)·Wo floats for dY rows [i0, i1)) summed into the group's dX planes at byte `dx`.
 */
function col2im(rt: WasmRuntime, g: Conv2dGeometry, cols: number, i0: number, i1: number, dx: number): void {
  const { kernelH: kH, kernelW: kW, inHeight: H, inWidth: W, outWidth: Wo } = g;
  const { strideH: sh, strideW: sw, dilationH: dh, dilationW: dw, padTop, padLeft } = g;
  const width = (i1 - i0) * Wo;
  const k = rt.kernels;
  for (let c = 0; c < g.inChannels / g.groups; c++) {
    const plane = dx + 4 * c * H * W;
    for (let p = 0; p < kH; p++) {
      const [r0, r1] = validRange(padTop, p * dh, sh, H, i0, i1);
      if (r1 === r0) continue;
      for (let q = 0; q < kW; q++) {
        const [j0, j1] = validRange(padLeft, q * dw, sw, W, 0, Wo);
        if (j1 === j0) continue;
        const src = cols + 4 * (((c * kH + p) * kW + q) * width + (r0 - i0) * Wo + j0);
        const dst = plane + 4 * ((sh * r0 - padTop + p * dh) * W + sw * j0 - padLeft + q * dw);
        if (sw === 1) k.col2im_s1(src, 4 * Wo, dst, 4 * sh * W, r1 - r0, j1 - j0);
        else if (sw === 2) k.col2im_s2(src, 4 * Wo, dst, 4 * sh * W, r1 - r0, j1 - j0);
        else k.col2im_sn(src, 4 * Wo, dst, 4 * sh * W, r1 - r0, j1 - j0, 4 * sw);
      }
    }
  }
}
