/**
 * SGEMM with a fused epilogue, on row-major Float32Arrays with explicit offsets and row strides:
 *
 *   C[i, j] = act(bias[biasOff + i] + sum_k A[i, k] * B[k, j])      0 <= i < M, 0 <= j < N, 0 <= k < K
 *
 * A is M×K at `a[aOff + i*lda + k]`, B is K×N at `b[bOff + k*ldb + j]`, C is M×N at
 * `c[cOff + i*ldc + j]`. C is only written (its prior contents are ignored). `bias` may be null.
 */
import { activate } from './epilogue.js';

export function sgemm(
  M: number, N: number, K: number,
  a: Float32Array, aOff: number, lda: number,
  b: Float32Array, bOff: number, ldb: number,
  c: Float32Array, cOff: number, ldc: number,
  bias: Float32Array | null, biasOff: number, act: number,
): void {
  const row = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    const init = bias === null ? 0 : bias[biasOff + i]!;
    row.fill(init);
    const aRow = aOff + i * lda;
    for (let k = 0; k < K; k++) {
      const av = a[aRow + k]!;
      const bRow = bOff + k * ldb;
      for (let j = 0; j < N; j++) row[j] += av * b[bRow + j]!;
    }
    const cRow = cOff + i * ldc;
    for (let j = 0; j < N; j++) c[cRow + j] = activate(row[j]!, act);
  }
}
