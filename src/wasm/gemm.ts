/**
 * The JavaScript side of the wasm SGEMM (gemm-4x8.ts emits the kernel): packing the weights into
 * 4-row blocks with the bias at the head, and driving the kernel over a range of rows and columns.
 *
 *   C[m, j] = clamp(bias[m] + Σ_k A[m, k] · B[k, j], min, max)
 *
 * `sgemmRows` is the entry point other code (the conv paths, backward GEMMs) calls; everything is
 * byte addresses in one runtime's memory.
 */
import { ACT_RELU, ACT_RELU6 } from '../epilogue.js';
import { GEMM_MR } from './gemm-4x8.js';
import type { WasmRuntime } from './runtime.js';

/** Bytes of one packed block of 4 rows with depth `k`: 4 biases, then 4 weights per k. */
export function packedBlockBytes(k: number): number {
  return 16 * (k + 1);
}

/**
 * Bytes for `rows` packed rows of depth `k`, plus slack: rows past the last real one (the kernel's
 * aliased rows) read up to 64 bytes beyond, and those reads must stay inside the allocation.
 */
export function packedBytes(rows: number, k: number): number {
  return Math.ceil(rows / GEMM_MR) * packedBlockBytes(k) + 64;
}

/**
 * Packs rows `[0, rows)` of A (row m at `a[aIndex + m·lda]`, k contiguous values) and their bias
 * (`bias[biasIndex + m]`, or 0 without one) at float index `dst` of `mem`; missing rows of the
 * last block are zero.
 */
export function packRows4(
  mem: Float32Array, dst: number,
  a: Float32Array, aIndex: number, lda: number, rows: number, k: number,
  bias: Float32Array | null, biasIndex: number,
): void {
  const blockFloats = 4 * (k + 1);
  for (let m0 = 0; m0 < rows; m0 += GEMM_MR) {
    const base = dst + (m0 / GEMM_MR) * blockFloats;
    for (let r = 0; r < GEMM_MR; r++) {
      const m = m0 + r;
      if (m >= rows) {
        mem[base + r] = 0;
        for (let kk = 0; kk < k; kk++) mem[base + 4 + 4 * kk + r] = 0;
        continue;
      }
      // The accumulator starts at the bias, with −0 turned into +0 (adding +0 does that), so
      // all −0 products with a −0 bias give +0, as PyTorch's (+0 + Σ products) + bias does.
      mem[base + r] = bias === null ? 0 : bias[biasIndex + m]! + 0;
      const src = aIndex + m * lda;
      let d = base + 4 + r;
      for (let kk = 0; kk < k; kk++, d += 4) mem[d] = a[src + kk]!;
    }
  }
}

/** The clamp bounds that implement a fused activation code. */
export function activationBounds(act: number): [number, number] {
  if (act === ACT_RELU) return [0, Infinity];
  if (act === ACT_RELU6) return [0, 6];
  return [-Infinity, Infinity];
}

/**
 * C rows `[rowStart, rowEnd)` (relative to the packed A at `packedA`, whose row 0 is C's row 0
 * at `c`), columns `[0, n)`: B row k at `b + koff[k]` (koff: k i32 byte offsets at `koff`).
 * `ldc` is C's row stride in bytes.
 */
export function sgemmRows(
  rt: WasmRuntime, rowStart: number, rowEnd: number, n: number, k: number,
  packedA: number, b: number, koff: number, c: number, ldc: number, min: number, max: number,
): void {
  const kernel = rt.kernels.gemm4x8_f32;
  const blockBytes = packedBlockBytes(k);
  let m = rowStart;
  while (m < rowEnd) {
    const inBlock = m & (GEMM_MR - 1);
    const mr = Math.min(GEMM_MR - inBlock, rowEnd - m);
    const a = packedA + (m >> 2) * blockBytes + 4 * inBlock;
    kernel(mr, n, k, a, b, koff, c + m * ldc, ldc, min, max);
    m += mr;
  }
}
