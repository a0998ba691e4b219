/**
 * The 1×1 stride-1 backward GEMMs on the wasm SGEMM (gemm.ts, gemm-tile.ts), per image and group:
 *
 *   dX_g = W_gᵀ · dY_g     A = W_gᵀ, packed in wasm (gemm-pack.ts) from a copy of W (an MR-row block of Wᵀ is MR adjacent
 *                          columns of W: contiguous reads); B = dY_g's rows in place (koff table)
 *   dW_g = dY_g · X_gᵀ     planes of 128 pixels or more: dot products of the dY planes with the
 *                          input planes where they lie (gemm-dot.ts), in chunks of pixels whose
 *                          input slice stays in L2; smaller planes: A = dY_g's rows (packed),
 *                          B = X_gᵀ, a transposed copy of a chunk of pixels (CHUNK_BYTES). Each
 *                          chunk's product is added in JS into float64 sums (in a fixed order, so
 *                          results are bitwise repeatable)
 *
 * The kernel accumulates in float32 within a chunk, as the wasm forward does. dY, x and the
 * results are copied in and out of wasm memory (linear in the data, against a GEMM's cubic work).
 */
import type { Conv2dGeometry } from '../geometry.js';
import { gemmRows, packedBytes, sgemmRows } from './gemm.js';
import { callKernel, type WasmRuntime } from './runtime.js';

/** Bytes of X_gᵀ one reduction chunk may span (B of the dW GEMM), kept in L2. */
const CHUNK_BYTES = 192 * 1024;
/** The fewest pixels per chunk. */
const MIN_CHUNK = 256;

const Slot = { PackedA: 0, Table: 1, Source: 2, Result: 3, Transposed: 4 } as const;
type Slot = (typeof Slot)[keyof typeof Slot];
const SLOT_NAMES = ['packed A', 'row table', 'gradient input copy', 'gradient result', 'transposed input'];

/** Wasm blocks reused across calls (per runtime), each grown when too small. */
class Blocks {
  private readonly addresses = [0, 0, 0, 0, 0];
  private readonly sizes = [0, 0, 0, 0, 0];
  constructor(private readonly rt: WasmRuntime) {}
  get(slot: Slot, bytes: number): number {
    if (this.sizes[slot]! >= bytes && this.addresses[slot]! > 0) return this.addresses[slot]!;
    if (this.addresses[slot]! > 0) this.rt.arena.release(this.addresses[slot]!);
    this.addresses[slot] = 0;
    this.sizes[slot] = 0;
    this.addresses[slot] = this.rt.arena.alloc(bytes, `backward ${SLOT_NAMES[slot]}`);
    this.sizes[slot] = bytes;
    return this.addresses[slot]!;
  }
}

const blocksOf = new WeakMap<WasmRuntime, Blocks>();
function blocksFor(rt: WasmRuntime): Blocks {
  let blocks = blocksOf.get(rt);
  if (blocks === undefined) {
    blocks = new Blocks(rt);
    blocksOf.set(rt, blocks);
  }
  return blocks;
}

/** Whether this module takes the call: a 1×1, stride-1, unpadded convolution (the pointwise path without stride). */
export function wasmPointwiseBackwardApplies(g: Conv2dGeometry): boolean {
  return g.kernelH === 1 && g.kernelW === 1 && g.strideH === 1 && g.strideW === 1 &&
    g.padTop === 0 && g.padBottom === 0 && g.padLeft === 0 && g.padRight === 0;
}

/**
 * Packs rows `[0, rows)` (row m at `a[aIndex + m·lda]`), reduction steps `[k0, k0 + k)`, into
 * blocks of `mr` rows with zero bias at float index `dst` (the layout of packRows): with 4 rows,
 * four row streams read in step and one contiguous stream written; else row by row.
 */
function packRowsRange(mem: Float32Array, dst: number, mr: number, a: Float32Array, aIndex: number, lda: number, rows: number, k0: number, k: number): void {
  const blockFloats = mr * (k + 1);
  for (let m0 = 0; m0 < rows; m0 += mr) {
    const base = dst + (m0 / mr) * blockFloats;
    for (let r = 0; r < mr; r++) mem[base + r] = 0;
    const live = Math.min(mr, rows - m0);
    const s0 = aIndex + m0 * lda + k0;
    if (mr === 4 && live === 4) {
      let d = base + 4;
      const s1 = s0 + lda;
      const s2 = s1 + lda;
      const s3 = s2 + lda;
      for (let kk = 0; kk < k; kk++, d += 4) {
        mem[d] = a[s0 + kk]!;
        mem[d + 1] = a[s1 + kk]!;
        mem[d + 2] = a[s2 + kk]!;
        mem[d + 3] = a[s3 + kk]!;
      }
    } else {
      for (let r = 0; r < mr; r++) {
        let d = base + mr + r;
        if (r < live) {
          const s = s0 + r * lda;
          for (let kk = 0; kk < k; kk++, d += mr) mem[d] = a[s + kk]!;
        } else {
          for (let kk = 0; kk < k; kk++, d += mr) mem[d] = 0;
        }
      }
    }
  }
}

/** Writes the transposed chunk X_gᵀ[p, c] = x[xIndex + c·pixels + p] (p < k) at float index `dst`, in tiles of pixels. */
function transposeChunk(mem: Float32Array, dst: number, x: Float32Array, xIndex: number, pixels: number, channels: number, k: number): void {
  const TILE = 16;
  for (let p0 = 0; p0 < k; p0 += TILE) {
    const p1 = Math.min(k, p0 + TILE);
    for (let c = 0; c < channels; c++) {
      const src = xIndex + c * pixels;
      let d = dst + p0 * channels + c;
      for (let p = p0; p < p1; p++, d += channels) mem[d] = x[src + p]!;
    }
  }
}

/** Writes gradInput (every image) into `dx` (see the file comment). */
export function wasmPointwiseGradInput(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array): void {
  const { inChannels: Cin, outChannels: Cout, groups } = g;
  const cinG = Cin / groups;
  const coutG = Cout / groups;
  const pixels = g.outHeight * g.outWidth;
  const blocks = blocksFor(rt);
  const mr = gemmRows(rt);
  const groupPacked = packedBytes(cinG, coutG, mr);
  // Allocate everything first: growing the memory replaces its buffer (and views on it).
  const packed = blocks.get(Slot.PackedA, groupPacked * groups);
  const table = blocks.get(Slot.Table, 4 * coutG);
  // dY of one image, then W (+ 64 bytes: the packer's last partial block reads past W's end)
  const source = blocks.get(Slot.Source, 4 * (Cout * pixels + w.length) + 64);
  const result = blocks.get(Slot.Result, 4 * Cin * pixels);
  const mem = rt.f32();
  // A = W_gᵀ, packed in wasm (gemm-pack.ts) from a copy of W
  const wAddress = source + 4 * Cout * pixels;
  mem.set(w, wAddress >>> 2);
  for (let group = 0; group < groups; group++) {
    rt.kernels.gpack_t(packed + group * groupPacked, wAddress + 4 * group * coutG * cinG, 4 * cinG, cinG, coutG);
  }
  const ints = rt.i32();
  for (let o = 0; o < coutG; o++) ints[(table >>> 2) + o] = 4 * o * pixels;
  // Columns per call: the B slice (coutG rows × chunk) within ~48 KiB, as the forward's 1×1 path
  // (taking every column at once for weights beyond 2 MiB, as the forward does, measured no gain here).
  const chunk = Math.max(8, Math.floor((48 * 1024) / (4 * coutG) / 8) * 8);
  for (let n = 0; n < g.batch; n++) {
    mem.set(dy.subarray(n * Cout * pixels, (n + 1) * Cout * pixels), source >>> 2);
    for (let group = 0; group < groups; group++) {
      const b = source + 4 * group * coutG * pixels;
      const c = result + 4 * group * cinG * pixels;
      const a = packed + group * groupPacked;
      for (let p0 = 0; p0 < pixels; p0 += chunk) {
        const width = Math.min(chunk, pixels - p0);
        callKernel('pointwise gradInput', () => sgemmRows(rt, 0, cinG, width, coutG, a, b + 4 * p0, table, c + 4 * p0, 4 * pixels, -Infinity, Infinity));
      }
    }
    dx.set(mem.subarray(result >>> 2, (result >>> 2) + Cin * pixels), n * Cin * pixels);
  }
}

/** Float64 sums of gradWeight across chunks and images, and one chunk's product copied out; grow and are reused. */
let weightSums = new Float64Array(256);
let chunkProduct = new Float32Array(256);

/** Grows the shared sum buffers to hold `size` weights. */
function reserveSums(size: number): void {
  if (weightSums.length < size) weightSums = new Float64Array(size);
  if (chunkProduct.length < size) chunkProduct = new Float32Array(size);
}

/**
 * One chunk's gradWeight (`size` floats at float index `r` of wasm memory) into `dw` at `dwBase`
 * when it is the whole gradient (`single`), else into the float64 group sums (`first` starts
 * them). Copied out with set (a memcpy) before the additions: element loops over the view of the
 * whole wasm memory ran several times slower than over a plain array.
 */
function collectChunk(mem: Float32Array, r: number, size: number, dw: Float32Array, dwBase: number, single: boolean, first: boolean): void {
  if (single) {
    dw.set(mem.subarray(r, r + size), dwBase);
    return;
  }
  const product = chunkProduct;
  const sums = weightSums;
  product.set(mem.subarray(r, r + size));
  if (first) for (let i = 0; i < size; i++) sums[i] = product[i]!;
  else for (let i = 0; i < size; i++) sums[i] += product[i]!;
}

/**
 * Below this many output pixels the packed GEMM computes gradWeight faster than the dot
 * products (measured, interleaved, process CPU time: at 7×7 the GEMM was 1.02-1.22× the dot
 * products' speed; from 14×14 on the dot products won, 1.16-2.56×, most at 112×112 and 56×56).
 */
const DOT_MIN_PIXELS = 128;

/** Writes gradWeight (summed over the batch) into `dw`: by dot products, or for small planes by the packed GEMM (see the file comment). */
export function wasmPointwiseGradWeight(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, x: Float32Array, dw: Float32Array): void {
  if (g.outHeight * g.outWidth >= DOT_MIN_PIXELS) wasmPointwiseGradWeightDot(rt, g, dy, x, dw);
  else gradWeightByGemm(rt, g, dy, x, dw);
}

function gradWeightByGemm(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, x: Float32Array, dw: Float32Array): void {
  const { inChannels: Cin, outChannels: Cout, groups } = g;
  const cinG = Cin / groups;
  const coutG = Cout / groups;
  const pixels = g.outHeight * g.outWidth;
  // Chunks of about CHUNK_BYTES of B but at least MIN_CHUNK pixels (each chunk's C is added in
  // JS: Cout/groups·Cin/groups additions against chunk times as many multiply-adds), of equal size.
  const longest = Math.max(MIN_CHUNK, Math.floor(CHUNK_BYTES / (4 * cinG)));
  const chunk = Math.ceil(pixels / Math.ceil(pixels / longest));
  const blocks = blocksFor(rt);
  const mr = gemmRows(rt);
  const packed = blocks.get(Slot.PackedA, packedBytes(coutG, chunk, mr));
  const table = blocks.get(Slot.Table, 4 * chunk);
  const transposed = blocks.get(Slot.Transposed, 4 * chunk * cinG);
  const result = blocks.get(Slot.Result, 4 * coutG * cinG);
  const mem = rt.f32();
  const ints = rt.i32();
  for (let k = 0; k < chunk; k++) ints[(table >>> 2) + k] = 4 * k * cinG;
  const size = coutG * cinG;
  reserveSums(size);
  const single = g.batch === 1 && chunk >= pixels;
  const xt = transposed >>> 2;
  const r = result >>> 2;
  for (let group = 0; group < groups; group++) {
    let first = true;
    for (let n = 0; n < g.batch; n++) {
      const dyGroup = (n * Cout + group * coutG) * pixels;
      const xGroup = (n * Cin + group * cinG) * pixels;
      for (let p0 = 0; p0 < pixels; p0 += chunk) {
        const k = Math.min(chunk, pixels - p0);
        packRowsRange(mem, packed >>> 2, mr, dy, dyGroup, pixels, coutG, p0, k);
        // X_gᵀ for pixels [p0, p0 + k): row p holds the cinG channels of pixel p.
        transposeChunk(mem, xt, x, xGroup + p0, pixels, cinG, k);
        // Columns per call: the B slice (k rows × columns) within ~48 KiB, as in the forward.
        const columns = Math.max(8, Math.floor((48 * 1024) / (4 * k) / 8) * 8);
        for (let j0 = 0; j0 < cinG; j0 += columns) {
          const width = Math.min(columns, cinG - j0);
          callKernel('pointwise gradWeight', () => sgemmRows(rt, 0, coutG, width, k, packed, transposed + 4 * j0, table, result + 4 * j0, 4 * cinG, -Infinity, Infinity));
        }
        collectChunk(mem, r, size, dw, group * size, single, first);
        first = false;
      }
    }
    if (!single) for (let i = 0, base = group * size; i < size; i++) dw[base + i] = weightSums[i]!;
  }
}

/** Output pixels' bytes of X one dot-product chunk may span over all input channels (kept in L2). */
const DOT_CHUNK_BYTES = 256 * 1024;

/**
 * gradWeight by dot products (gemm-dot.ts): dW[o, c] = Σ_n Σ_p dY[n, o, p] · x[n, c, p], the
 * dY planes and the input planes read where they lie, nothing packed or transposed; pixels in
 * chunks whose input slice stays in L2, chunks and images summed in float64 in a fixed order.
 */
function wasmPointwiseGradWeightDot(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, x: Float32Array, dw: Float32Array): void {
  const { inChannels: Cin, outChannels: Cout, groups } = g;
  const cinG = Cin / groups;
  const coutG = Cout / groups;
  const pixels = g.outHeight * g.outWidth;
  const longest = Math.max(256, Math.floor(DOT_CHUNK_BYTES / (4 * cinG)));
  const chunk = Math.ceil(pixels / Math.ceil(pixels / longest));
  const blocks = blocksFor(rt);
  const source = blocks.get(Slot.Source, 4 * (dy.length + x.length));
  const table = blocks.get(Slot.Table, 4 * cinG);
  const result = blocks.get(Slot.Result, 4 * coutG * cinG);
  const mem = rt.f32();
  mem.set(dy, source >>> 2);
  mem.set(x, (source >>> 2) + dy.length);
  const xAddress = source + 4 * dy.length;
  const ints = rt.i32();
  for (let c = 0; c < cinG; c++) ints[(table >>> 2) + c] = 4 * c * pixels;
  const size = coutG * cinG;
  reserveSums(size);
  const single = g.batch === 1 && chunk >= pixels;
  const kernel = rt.kernels.gdot_f32;
  const r = result >>> 2;
  for (let group = 0; group < groups; group++) {
    let first = true;
    for (let n = 0; n < g.batch; n++) {
      const dyGroup = source + 4 * (n * Cout + group * coutG) * pixels;
      const xGroup = xAddress + 4 * (n * Cin + group * cinG) * pixels;
      for (let p0 = 0; p0 < pixels; p0 += chunk) {
        const k = Math.min(chunk, pixels - p0);
        callKernel('pointwise gradWeight', () => {
          for (let m0 = 0; m0 < coutG; m0 += 4) {
            kernel(Math.min(4, coutG - m0), cinG, 1, k, dyGroup + 4 * (m0 * pixels + p0), 4 * pixels, 0, xGroup + 4 * p0, table, 0, result + 4 * m0 * cinG, 4 * cinG);
          }
        });
        collectChunk(mem, r, size, dw, group * size, single, first);
        first = false;
      }
    }
    if (!single) for (let i = 0, base = group * size; i < size; i++) dw[base + i] = weightSums[i]!;
  }
}
