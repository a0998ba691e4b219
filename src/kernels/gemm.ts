/**
 * SGEMM with a fused epilogue, on row-major Float32Arrays with explicit offsets and row strides:
 *
 *   C[i, j] = act(bias[biasOff + i] + sum_k A[i, k] * B[k, j])      0 <= i < M, 0 <= j < N, 0 <= k < K
 *
 * A is M×K at `a[aOff + i*lda + k]`, B is K×N at `b[bOff + k*ldb + j]`, C is M×N at
 * `c[cOff + i*ldc + j]`. C is only written (its prior contents are ignored). `bias` may be null.
 *
 * How (GUIDE §4): B is processed in panels of `panelColumns(K)` columns, packed so that the
 * 8 values of each column within one block of 8 reduction steps are contiguous. For each block
 * of 16 rows of A (then 8, 4, 2, 1 for the leftovers) and each block of 8 reduction steps, a
 * generated kernel holds the 16×8 values of A in locals and streams over the panel's columns,
 * adding an 8-term tree sum to each row's float64 accumulator. V8 spills some of those locals,
 * but a spill then only costs a reload: the loop carries nothing but the column index.
 *
 * Bias and activation are fused: the bias is where the sums start, and the last block of
 * reduction steps writes C through the activation (branch-free relu, see activateRow).
 *
 * Determinism across tilings: C[i, j] is always computed as
 *   ((bias + tree8(k = 0..7)) + tree8(k = 8..15)) + ... + tree_r(the K mod 8 last steps)
 * whatever M, N, the offsets, the row block or the panel the element falls in, so splitting a
 * GEMM by rows or columns (a worker pool does) gives bitwise the same values.
 */
import { ACT_NONE, ACT_RELU } from '../epilogue.js';
import { accumulateBlock, K_BLOCK, rows16k8First, storeBlock, storeBlockRelu, storeBlockRelu6 } from './gen/gemm-blocks.js';
import { Scratch, SLOT_ACCUMULATORS, SLOT_PANEL } from './scratch.js';

/** Rows of C per full block (the largest generated row block). */
export const ROW_BLOCK = 16;

/** Floats of B per packed panel: 256 KiB, so a panel stays in L2 while every row block reads it. */
const PANEL_BUDGET = 1 << 16;
const MIN_PANEL_COLUMNS = 16;
const MAX_PANEL_COLUMNS = 512;

/** Columns of B per packed panel for reduction depth `K` (a function of K only). */
export function panelColumns(K: number): number {
  const columns = Math.floor(PANEL_BUDGET / K);
  return columns < MIN_PANEL_COLUMNS ? MIN_PANEL_COLUMNS : columns > MAX_PANEL_COLUMNS ? MAX_PANEL_COLUMNS : columns;
}

/**
 * Packs columns `[0, n)` of the K×n block of B at `b[bOff + k*ldb + j]` into `panel`: within each
 * block of 8 reduction steps (and the remainder block), the values of one column are contiguous.
 */
export function packPanel(K: number, n: number, b: Float32Array, bOff: number, ldb: number, panel: Float32Array): void {
  for (let k0 = 0; k0 < K; k0 += K_BLOCK) {
    const depth = K - k0 < K_BLOCK ? K - k0 : K_BLOCK;
    const base = k0 * n;
    for (let t = 0; t < depth; t++) {
      const src = (bOff + (k0 + t) * ldb) | 0;
      let d = (base + t) | 0;
      for (let j = 0; j < n; j++) {
        panel[d] = b[src + j]!;
        d = (d + depth) | 0;
      }
    }
  }
}

/**
 * C = act(bias + A·P) for one packed panel P (K × n, see packPanel) into `c[cOff + i*ldc + j]`,
 * using `acc` (at least ROW_BLOCK·n float64s) for the running sums. In a full 16-row block the
 * first 8-step block starts from the bias and the last one writes C with the activation fused;
 * leftover rows initialise the accumulators and apply the activation in a pass over the rows just
 * written. Both give the same values (see the generator).
 */
export function gemmPanel(
  M: number, n: number, K: number,
  a: Float32Array, aOff: number, lda: number,
  panel: Float32Array,
  c: Float32Array, cOff: number, ldc: number,
  bias: Float32Array | null, biasOff: number, act: number,
  acc: Float64Array,
): void {
  if (K <= 0) {
    biasOnly(M, n, c, cOff, ldc, bias, biasOff, act);
    return;
  }
  const lastK = K > K_BLOCK ? K - 1 - ((K - 1) % K_BLOCK) : 0;
  const lastDepth = K - lastK;
  const biasRow = bias === null ? zeroBias(M) : bias;
  const biasStart = bias === null ? 0 : biasOff;
  let i0 = 0;
  while (i0 < M) {
    const left = M - i0;
    const rows = left >= 16 ? 16 : left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
    const aRow = aOff + i0 * lda;
    const cRow = cOff + i0 * ldc;
    let k0 = 0;
    if (rows === 16 && lastK > 0) {
      rows16k8First(n, a, aRow, lda, panel, 0, acc, biasRow, biasStart + i0);
      k0 = K_BLOCK;
    } else {
      initAccumulators(rows, n, biasRow, biasStart + i0, acc);
    }
    for (; k0 < lastK; k0 += K_BLOCK) {
      accumulateBlock(rows, K_BLOCK, n, a, aRow + k0, lda, panel, k0 * n, acc);
    }
    const aLast = aRow + lastK;
    const pLast = lastK * n;
    if (rows === 16 && act !== ACT_NONE) {
      if (act === ACT_RELU) storeBlockRelu(16, lastDepth, n, a, aLast, lda, panel, pLast, acc, c, cRow, ldc);
      else storeBlockRelu6(16, lastDepth, n, a, aLast, lda, panel, pLast, acc, c, cRow, ldc);
    } else {
      storeBlock(rows, lastDepth, n, a, aLast, lda, panel, pLast, acc, c, cRow, ldc);
      if (act !== ACT_NONE) for (let r = 0; r < rows; r++) activateRow(c, cRow + r * ldc, n, act);
    }
    i0 += rows;
  }
}

let zeros = new Float32Array(ROW_BLOCK);

/** A zero bias of at least `length` entries, shared (read only). */
function zeroBias(length: number): Float32Array {
  if (zeros.length < length) zeros = new Float32Array(length);
  return zeros;
}

/**
 * Applies relu/relu6 in place to `c[off, off + n)`, rows just written and still in cache.
 * max(v, 0) is computed as (v + |v|)·0.5, exact for every finite float (−0 becomes +0): on data of
 * mixed sign a `v < 0` branch mispredicts half the time and costs ~5× more. That gives NaN only
 * for v = NaN (kept) and v = −Infinity (→ 0), both handled by a rarely taken branch, as is
 * relu6's clamp at 6.
 */
function activateRow(c: Float32Array, off: number, n: number, act: number): void {
  const end = off + n;
  if (act === ACT_RELU) {
    for (let i = off; i < end; i++) {
      const v = c[i]!;
      const u = (v + Math.abs(v)) * 0.5;
      c[i] = u === u ? u : v < 0 ? 0 : v;
    }
  } else {
    for (let i = off; i < end; i++) {
      const v = c[i]!;
      const u = (v + Math.abs(v)) * 0.5;
      c[i] = u > 6 ? 6 : u === u ? u : v < 0 ? 0 : v;
    }
  }
}

/** The empty sum: C = act(bias). */
function biasOnly(M: number, n: number, c: Float32Array, cOff: number, ldc: number, bias: Float32Array | null, biasOff: number, act: number): void {
  for (let i = 0; i < M; i++) {
    // `+ 0` turns a −0 bias into +0: PyTorch adds the bias to a sum that starts from +0 (see epilogue.ts).
    c.fill(bias === null ? 0 : bias[biasOff + i]! + 0, cOff + i * ldc, cOff + i * ldc + n);
    if (act !== ACT_NONE) activateRow(c, cOff + i * ldc, n, act);
  }
}

function initAccumulators(rows: number, n: number, bias: Float32Array, biasOff: number, acc: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const value = bias[biasOff + r]! + 0; // −0 → +0, see epilogue.ts
    for (let q = r; q < rows * n; q += rows) acc[q] = value;
  }
}

const sharedScratch = new Scratch();

/**
 * C = act(bias + A·B) (see the file comment). `scratch` holds the packed panel and the
 * accumulators; by default a module-level one is reused.
 */
export function sgemm(
  M: number, N: number, K: number,
  a: Float32Array, aOff: number, lda: number,
  b: Float32Array, bOff: number, ldb: number,
  c: Float32Array, cOff: number, ldc: number,
  bias: Float32Array | null, biasOff: number, act: number,
  scratch: Scratch = sharedScratch,
): void {
  if (M <= 0 || N <= 0) return;
  const columns = N < panelColumns(K) ? N : panelColumns(K);
  const panel = scratch.get(SLOT_PANEL, Math.max(1, K * columns));
  const acc = scratch.getFloat64(SLOT_ACCUMULATORS, ROW_BLOCK * columns);
  for (let j0 = 0; j0 < N; j0 += columns) {
    const n = N - j0 < columns ? N - j0 : columns;
    packPanel(K, n, b, bOff + j0, ldb, panel);
    gemmPanel(M, n, K, a, aOff, lda, panel, c, cOff + j0, ldc, bias, biasOff, act, acc);
  }
}
