/**
 * The GEMMs of the backward paths, on the forward's generated GEMM blocks (gemm.ts):
 *
 *   gradWeight:  dW_g[o, k] = sum_{n, p} dY[n, o, p] · B_n[p, k]       (a reduction over images and pixels)
 *   gradInput:   dCol_g    = W_gᵀ · dY_g                               (then scattered back, col2im)
 *
 * with B_n the transposed im2col of image n (`B_n[p, (c, u, v)] = x[n, c, row(p, u), col(p, v)]`,
 * plain `x[n, c, p]` for a 1×1 stride-1 convolution).
 *
 * gradWeight's reduction is long (batch × output pixels) and its result small, so it runs as a
 * GEMM whose float64 accumulators persist across the whole reduction: the columns of dW are taken
 * in panels of at most PANEL_COLUMNS, the reduction in chunks of CHUNK pixels (never crossing an
 * image); each chunk of B is packed once (panel layout of packPanel, see gemm.ts) and every block
 * of rows of dW adds its products into its own accumulators, so scratch stays bounded (one chunk
 * panel and Cout/groups × PANEL_COLUMNS float64 sums) whatever the batch and image size. dY's rows
 * are read in place as the A operand (row stride = the output plane). The summation order of
 * every element is fixed by the chunking, so results are bitwise repeatable.
 */
import type { Conv2dGeometry } from '../geometry.js';
import { accumulateBlock, accumulateBlockT, K_BLOCK, storeBlockT } from './gen/gemm-blocks.js';
import { packPanel, panelColumns, ROW_BLOCK } from './gemm.js';
import { SLOT_ACCUMULATORS, SLOT_GRADIENT_SUMS, SLOT_PANEL, SLOT_PANEL_2, type Scratch } from './scratch.js';

/** dW columns per panel (the n of the GEMM blocks). */
export const PANEL_COLUMNS = 64;
/** Reduction steps (output pixels) per packed chunk: 256 × 64 floats = 64 KiB of panel. */
export const CHUNK = 256;

/** Row blocks of a GEMM of M rows, as the forward GEMM takes them: 16, then 8, 4, 2, 1. */
function rowsAt(left: number): number {
  return left >= 16 ? 16 : left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
}

/**
 * Views of one float64 buffer, one per row block, each `ROW_BLOCK × PANEL_COLUMNS` long (the
 * generated blocks index their accumulators from 0). Rebuilt only when the buffer grows.
 */
let viewsOf: Float64Array | null = null;
let views: Float64Array[] = [];
function accumulatorViews(scratch: Scratch, blocks: number): Float64Array[] {
  const size = ROW_BLOCK * PANEL_COLUMNS;
  const buffer = scratch.getFloat64(SLOT_GRADIENT_SUMS, blocks * size);
  if (buffer !== viewsOf || views.length < blocks) {
    const count = Math.max(blocks, buffer.length / size);
    views = [];
    for (let b = 0; b < count; b++) views.push(buffer.subarray(b * size, (b + 1) * size));
    viewsOf = buffer;
  }
  return views;
}

/**
 * Packs reduction steps `[k0, k0 + kCount)` × columns `[j0, j0 + n)` of B[k, j] = src[srcOff + j*ld + k]
 * (the transpose of a row-major matrix, e.g. a group's input channels × pixels) into `panel`.
 */
export function packTransposed(kCount: number, n: number, src: Float32Array, srcOff: number, ld: number, panel: Float32Array): void {
  for (let kb = 0; kb < kCount; kb += K_BLOCK) {
    const depth = kCount - kb < K_BLOCK ? kCount - kb : K_BLOCK;
    const base = kb * n;
    for (let j = 0; j < n; j++) {
      const s = (srcOff + j * ld + kb) | 0;
      const d = (base + j * depth) | 0;
      for (let t = 0; t < depth; t++) panel[d + t] = src[s + t]!;
    }
  }
}

/**
 * Packs output pixels `[pixel0, pixel0 + kCount)` × columns `[j0, j0 + n)` of the transposed
 * im2col of one image and group (`x[xOff]` is its first input channel):
 * B[p, (c, u, v)] = x[c, i·sh + u·dh − pt, j·sw + v·dw − pl] for pixel p = (i, j), 0 outside.
 */
export function packConvTransposed(
  g: Conv2dGeometry, x: Float32Array, xOff: number, pixel0: number, kCount: number, j0: number, n: number, panel: Float32Array,
): void {
  const { inHeight: H, inWidth: W, outWidth: Wo, kernelH: kH, kernelW: kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g;
  const taps = kH * kW;
  for (let jj = 0; jj < n; jj++) {
    const column = j0 + jj;
    const c = Math.floor(column / taps);
    const u = Math.floor((column % taps) / kW);
    const v = column % kW;
    const plane = xOff + c * H * W;
    const rowShift = u * dilationH - padTop;
    const colShift = v * dilationW - padLeft;
    // Output columns j whose input column j·sw + colShift lies inside [0, W).
    const jValidStart = colShift >= 0 ? 0 : Math.min(Wo, Math.ceil(-colShift / strideW));
    const jValidEnd = Math.max(jValidStart, Math.min(Wo, Math.floor((W - 1 - colShift) / strideW) + 1));
    let k = 0;
    let i = Math.floor(pixel0 / Wo);
    let j = pixel0 - i * Wo;
    while (k < kCount) {
      const runEnd = Math.min(kCount, k + (Wo - j));
      const r = i * strideH + rowShift;
      const rowOk = r >= 0 && r < H;
      const xRow = plane + r * W + colShift;
      for (; k < runEnd; k++, j++) {
        const kb = k - (k % K_BLOCK);
        const depth = kCount - kb < K_BLOCK ? kCount - kb : K_BLOCK;
        panel[kb * n + jj * depth + (k - kb)] = rowOk && j >= jValidStart && j < jValidEnd ? x[xRow + j * strideW]! : 0;
      }
      i++;
      j = 0;
    }
  }
}

/**
 * dW (row-major `[Cout, depth]`, depth = Cin/groups·kH·kW) = sum over images and output pixels
 * of dY times the transposed im2col, group by group (see the file comment). `contiguous` says
 * the convolution is 1×1, stride 1, unpadded, so B is the input channels themselves.
 */
export function weightGradientGemm(
  g: Conv2dGeometry, dy: Float32Array, x: Float32Array, dw: Float32Array, scratch: Scratch, contiguous: boolean,
): void {
  const { inChannels: Cin, outChannels: Cout, groups, inHeight: H, inWidth: W } = g;
  const cinPerGroup = Cin / groups;
  const coutPerGroup = Cout / groups;
  const depth = cinPerGroup * g.kernelH * g.kernelW;
  const pixels = g.outHeight * g.outWidth;
  let blocks = 0;
  for (let i0 = 0; i0 < coutPerGroup; i0 += rowsAt(coutPerGroup - i0)) blocks++;
  const acc = accumulatorViews(scratch, blocks);
  const panel = scratch.get(SLOT_PANEL_2, CHUNK * PANEL_COLUMNS);
  for (let group = 0; group < groups; group++) {
    const oFirst = group * coutPerGroup;
    for (let j0 = 0; j0 < depth; j0 += PANEL_COLUMNS) {
      const n = Math.min(PANEL_COLUMNS, depth - j0);
      for (let b = 0; b < blocks; b++) acc[b]!.fill(0, 0, ROW_BLOCK * n);
      for (let image = 0; image < g.batch; image++) {
        const xGroup = (image * Cin + group * cinPerGroup) * H * W;
        const dyGroup = (image * Cout + oFirst) * pixels;
        for (let p0 = 0; p0 < pixels; p0 += CHUNK) {
          const kCount = Math.min(CHUNK, pixels - p0);
          if (contiguous) packTransposed(kCount, n, x, xGroup + j0 * pixels + p0, pixels, panel);
          else packConvTransposed(g, x, xGroup, p0, kCount, j0, n, panel);
          let b = 0;
          for (let i0 = 0; i0 < coutPerGroup; b++) {
            const rows = rowsAt(coutPerGroup - i0);
            const aRow = dyGroup + i0 * pixels + p0;
            const sums = acc[b]!;
            for (let kb = 0; kb < kCount; kb += K_BLOCK) {
              const kDepth = kCount - kb < K_BLOCK ? kCount - kb : K_BLOCK;
              accumulateBlock(rows, kDepth, n, dy, aRow + kb, pixels, panel, kb * n, sums);
            }
            i0 += rows;
          }
        }
      }
      // Accumulators hold acc[j·rows + r] for row i0 + r, column j0 + j.
      let b = 0;
      for (let i0 = 0; i0 < coutPerGroup; b++) {
        const rows = rowsAt(coutPerGroup - i0);
        const sums = acc[b]!;
        for (let r = 0; r < rows; r++) {
          const out = (oFirst + i0 + r) * depth + j0;
          for (let j = 0; j < n; j++) dw[out + j] = sums[j * rows + r]!;
        }
        i0 += rows;
      }
    }
  }
}

/**
 * C = Aᵀ·P for one packed panel P (K × n, see packPanel), A stored K×M at `a[aOff + k*lda + i]`
 * (so Aᵀ is M×K): `c[cOff + i*ldc + j] = sum_k A[k, i] · P[k, j]`, float64 sums, no bias. The
 * gradInput GEMMs multiply by W_gᵀ this way without transposing W (a transposed copy of a large
 * W, written with a stride, cost as much as a tenth of the GEMM). Each element is summed as
 * tree8(k = 0..7) + tree8(k = 8..15) + ..., whatever its row block.
 */
export function gemmPanelTransposedA(
  M: number, n: number, K: number, a: Float32Array, aOff: number, lda: number,
  panel: Float32Array, c: Float32Array, cOff: number, ldc: number, acc: Float64Array,
): void {
  if (K <= 0) {
    for (let i = 0; i < M; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + n);
    return;
  }
  const lastK = K > K_BLOCK ? K - 1 - ((K - 1) % K_BLOCK) : 0;
  const lastDepth = K - lastK;
  for (let i0 = 0; i0 < M;) {
    const rows = rowsAt(M - i0);
    acc.fill(0, 0, rows * n);
    for (let k0 = 0; k0 < lastK; k0 += K_BLOCK) accumulateBlockT(rows, K_BLOCK, n, a, aOff + k0 * lda + i0, lda, panel, k0 * n, acc);
    storeBlockT(rows, lastDepth, n, a, aOff + lastK * lda + i0, lda, panel, lastK * n, acc, c, cOff + i0 * ldc, ldc);
    i0 += rows;
  }
}

/** C (M×N) = Aᵀ·B with A stored K×M (`a[aOff + k*lda + i]`) and B K×N (`b[bOff + k*ldb + j]`). */
export function sgemmTransposedA(
  M: number, N: number, K: number, a: Float32Array, aOff: number, lda: number,
  b: Float32Array, bOff: number, ldb: number, c: Float32Array, cOff: number, ldc: number, scratch: Scratch,
): void {
  if (M <= 0 || N <= 0) return;
  const columns = N < panelColumns(K) ? N : panelColumns(K);
  const panel = scratch.get(SLOT_PANEL, Math.max(1, K * columns));
  const acc = scratch.getFloat64(SLOT_ACCUMULATORS, ROW_BLOCK * columns);
  for (let j0 = 0; j0 < N; j0 += columns) {
    const n = N - j0 < columns ? N - j0 : columns;
    packPanel(K, n, b, bOff + j0, ldb, panel);
    gemmPanelTransposedA(M, n, K, a, aOff, lda, panel, c, cOff + j0, ldc, acc);
  }
}

/**
 * col2im: adds `cols` (rows (c, u, v) of one group, columns output pixels `[pixel0, pixel0 + n)`,
 * row stride n) onto the input gradient of that group at `dx[dxOff]`, each value onto the input
 * element its tap read (taps in the padding are dropped).
 */
export function addColumnsToImage(
  g: Conv2dGeometry, cols: Float32Array, channels: number, pixel0: number, n: number, dx: Float32Array, dxOff: number,
): void {
  const { inHeight: H, inWidth: W, outWidth: Wo, kernelH: kH, kernelW: kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g;
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const plane = dxOff + c * H * W;
    for (let u = 0; u < kH; u++) {
      const rowShift = u * dilationH - padTop;
      for (let v = 0; v < kW; v++, row++) {
        const colShift = v * dilationW - padLeft;
        const jValidStart = colShift >= 0 ? 0 : Math.min(Wo, Math.ceil(-colShift / strideW));
        const jValidEnd = Math.max(jValidStart, Math.min(Wo, Math.floor((W - 1 - colShift) / strideW) + 1));
        const src = row * n - pixel0;
        let pixel = pixel0;
        const pixelEnd = pixel0 + n;
        let i = Math.floor(pixel0 / Wo);
        while (pixel < pixelEnd) {
          const rowPixel = i * Wo;
          const jStart = Math.max(pixel - rowPixel, jValidStart);
          const jEnd = Math.min(pixelEnd - rowPixel, Wo, jValidEnd);
          const r = i * strideH + rowShift;
          if (r >= 0 && r < H && jEnd > jStart) {
            const xRow = plane + r * W + colShift;
            const s = src + rowPixel;
            for (let j = jStart; j < jEnd; j++) dx[xRow + j * strideW] += cols[s + j]!;
          }
          pixel = rowPixel + Wo;
          i++;
        }
      }
    }
  }
}
