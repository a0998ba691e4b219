/**
 * The JavaScript side of the wasm SGEMM (gemm-tile.ts emits the kernel): packing the weights into
 * blocks of MR rows with the bias at the head, and driving the kernel over a range of rows and
 * columns. MR is the loaded module's (`gemm_mr`), so packing matches the kernel it feeds.
 *
 *   C[m, j] = clamp(bias[m] + Σ_k A[m, k] · B[k, j], min, max)
 *
 * `sgemmRows` is the entry point other code (the conv paths, backward GEMMs) calls; everything is
 * byte addresses in one runtime's memory.
 */
import { ACT_RELU, ACT_RELU6 } from '../epilogue.js';
import type { WasmRuntime } from './runtime.js';

const tileRows = new WeakMap<WasmRuntime, number>();

/** MR of the runtime's GEMM kernel: the rows of a packed block. */
export function gemmRows(rt: WasmRuntime): number {
  let mr = tileRows.get(rt);
  if (mr === undefined) {
    mr = rt.kernels.gemm_mr();
    tileRows.set(rt, mr);
  }
  return mr;
}

/** Bytes of one packed block of `mr` rows with depth `k`: mr biases, then mr weights per k. */
export function packedBlockBytes(k: number, mr: number): number {
  return 4 * mr * (k + 1);
}

/**
 * Bytes for `rows` packed rows of depth `k` in blocks of `mr`, plus slack: a call starting inside
 * a block (sgemmRows) reads its aliased rows up to 4·(mr − 1) bytes past the last block, and
 * those reads must stay inside the allocation.
 */
export function packedBytes(rows: number, k: number, mr: number): number {
  return Math.ceil(rows / mr) * packedBlockBytes(k, mr) + PACK_SLACK;
}

/** The slack packedBytes adds (enough for any MR up to 16). */
export const PACK_SLACK = 64;

/**
 * Packs rows `[0, rows)` of A (row m at `a[aIndex + m·lda]`, k contiguous values) and their bias
 * (`bias[biasIndex + m]`, or 0 without one) at float index `dst` of `mem` in blocks of `mr`
 * rows; missing rows of the last block are zero.
 */
export function packRows(
  mem: Float32Array, dst: number, mr: number,
  a: Float32Array, aIndex: number, lda: number, rows: number, k: number,
  bias: Float32Array | null, biasIndex: number,
): void {
  const blockFloats = mr * (k + 1);
  for (let m0 = 0; m0 < rows; m0 += mr) {
    const base = dst + (m0 / mr) * blockFloats;
    for (let r = 0; r < mr; r++) {
      const m = m0 + r;
      if (m >= rows) {
        mem[base + r] = 0;
        for (let kk = 0; kk < k; kk++) mem[base + mr + mr * kk + r] = 0;
        continue;
      }
      // The accumulator starts at the bias, with −0 turned into +0 (adding +0 does that), so
      // all −0 products with a −0 bias give +0, as PyTorch's (+0 + Σ products) + bias does.
      mem[base + r] = bias === null ? 0 : bias[biasIndex + m]! + 0;
      const src = aIndex + m * lda;
      let d = base + mr + r;
      for (let kk = 0; kk < k; kk++, d += mr) mem[d] = a[src + kk]!;
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
  const kernel = rt.kernels.gemm_f32;
  const MR = gemmRows(rt);
  const blockBytes = packedBlockBytes(k, MR);
  let m = rowStart;
  while (m < rowEnd) {
    const inBlock = m % MR;
    const mr = Math.min(MR - inBlock, rowEnd - m);
    const a = packedA + ((m - inBlock) / MR) * blockBytes + 4 * inBlock;
    kernel(mr, n, k, a, b, koff, c + m * ldc, ldc, min, max);
    m += mr;
  }
}
