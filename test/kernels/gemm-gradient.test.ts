/**
 * The backward's GEMM pieces against naive float64 loops: Aᵀ·B with A stored transposed (the
 * generated *T blocks) at every row block (16, 8, 4, 2, 1) and reduction leftover, with offsets
 * and leading dimensions larger than the matrices; sentinel-filled outputs catch stray writes.
 */
import { describe, expect, it } from 'vitest';
import { sgemmTransposedA } from '../../src/kernels/gemm-gradient.js';
import { Scratch } from '../../src/kernels/scratch.js';
import { rng, SENTINEL } from '../helpers.js';

describe('sgemmTransposedA: C = Aᵀ·B, A stored K×M', () => {
  const random = rng(31);
  for (const M of [1, 2, 3, 5, 8, 15, 16, 17, 31, 33]) {
    for (const K of [1, 7, 8, 9, 16, 17]) {
      for (const N of [1, 5, 40]) {
        it(`M=${M} K=${K} N=${N}`, () => {
          const lda = M + 3;
          const ldb = N + 2;
          const ldc = N + 1;
          const aOff = 5;
          const bOff = 3;
          const cOff = 7;
          const a = Float32Array.from({ length: aOff + K * lda }, () => random() * 2 - 1);
          const b = Float32Array.from({ length: bOff + K * ldb }, () => random() * 2 - 1);
          const c = new Float32Array(cOff + M * ldc + 4).fill(SENTINEL);
          sgemmTransposedA(M, N, K, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, new Scratch());
          for (let i = 0; i < c.length; i++) {
            const inside = i >= cOff && i < cOff + M * ldc && (i - cOff) % ldc < N;
            if (!inside) {
              expect(c[i], `index ${i} outside C`).toBe(SENTINEL);
              continue;
            }
            const row = Math.floor((i - cOff) / ldc);
            const col = (i - cOff) % ldc;
            let sum = 0;
            for (let k = 0; k < K; k++) sum += a[aOff + k * lda + row]! * b[bOff + k * ldb + col]!;
            expect(Math.abs(c[i]! - sum), `C[${row}, ${col}]`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(sum)));
          }
        });
      }
    }
  }
});
