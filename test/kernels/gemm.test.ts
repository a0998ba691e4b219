import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ACT_NONE, ACT_RELU, ACT_RELU6 } from '../../src/epilogue.js';
import { packPanel, panelColumns, ROW_BLOCK, sgemm } from '../../src/kernels/gemm.js';
import { Scratch } from '../../src/kernels/scratch.js';
import { expectBitwiseEqual, rng } from '../helpers.js';

const SENTINEL = -12345.5;

interface Layout {
  M: number;
  N: number;
  K: number;
  aOff: number;
  lda: number;
  bOff: number;
  ldb: number;
  cOff: number;
  ldc: number;
  biasOff: number;
}

function layout(M: number, N: number, K: number, pad = 0): Layout {
  return { M, N, K, aOff: pad * 3, lda: K + pad, bOff: pad * 5, ldb: N + 2 * pad, cOff: pad * 7, ldc: N + pad, biasOff: pad };
}

function randomArray(length: number, random: () => number): Float32Array {
  const data = new Float32Array(length);
  for (let i = 0; i < length; i++) data[i] = random() * 2 - 1;
  return data;
}

/** The float64 definition, rounded once to float32. */
function referenceGemm(l: Layout, a: Float32Array, b: Float32Array, bias: Float32Array | null, act: number): Float64Array {
  const out = new Float64Array(l.M * l.N);
  for (let i = 0; i < l.M; i++) {
    for (let j = 0; j < l.N; j++) {
      let s = bias === null ? 0 : bias[l.biasOff + i]!;
      for (let k = 0; k < l.K; k++) s += a[l.aOff + i * l.lda + k]! * b[l.bOff + k * l.ldb + j]!;
      if (act === ACT_RELU) s = Math.max(0, s);
      else if (act === ACT_RELU6) s = Math.min(6, Math.max(0, s));
      out[i * l.N + j] = s;
    }
  }
  return out;
}

function label(l: Layout, hasBias: boolean, act: number): string {
  return `M=${l.M} N=${l.N} K=${l.K} aOff=${l.aOff} lda=${l.lda} bOff=${l.bOff} ldb=${l.ldb} cOff=${l.cOff} ldc=${l.ldc} bias=${hasBias} act=${act}`;
}

/** Runs sgemm into a sentinel-filled C and checks every element, written or not. */
function checkAgainstReference(l: Layout, hasBias: boolean, act: number, seed: number, scratch?: Scratch): void {
  const random = rng(seed);
  const a = randomArray(l.aOff + (l.M - 1) * l.lda + l.K + 3, random);
  const b = randomArray(l.bOff + (l.K - 1) * l.ldb + l.N + 3, random);
  // Scale bias up so that relu6 clamps both ends for some elements.
  const bias = hasBias ? randomArray(l.biasOff + l.M + 2, random).map((v) => v * 8) : null;
  const cLength = l.cOff + (l.M - 1) * l.ldc + l.N + 5;
  const c = new Float32Array(cLength).fill(SENTINEL);
  const aCopy = a.slice();
  const bCopy = b.slice();
  sgemm(l.M, l.N, l.K, a, l.aOff, l.lda, b, l.bOff, l.ldb, c, l.cOff, l.ldc, bias, l.biasOff, act, scratch);
  const expected = referenceGemm(l, a, b, bias, act);
  const name = label(l, hasBias, act);
  const written = new Uint8Array(cLength);
  for (let i = 0; i < l.M; i++) {
    for (let j = 0; j < l.N; j++) {
      const index = l.cOff + i * l.ldc + j;
      written[index] = 1;
      const ref = expected[i * l.N + j]!;
      const got = c[index]!;
      if (!(Math.abs(got - ref) <= 1e-6 * (1 + Math.abs(ref)))) {
        throw new Error(`${name}: C[${i}, ${j}] = ${got}, expected ${ref}`);
      }
    }
  }
  for (let index = 0; index < cLength; index++) {
    if (!written[index] && c[index] !== SENTINEL) throw new Error(`${name}: wrote outside C at flat index ${index}`);
  }
  expectBitwiseEqual(a, aCopy, `${name} A unchanged`);
  expectBitwiseEqual(b, bCopy, `${name} B unchanged`);
}

describe('sgemm against a float64 reference', () => {
  const acts = [ACT_NONE, ACT_RELU, ACT_RELU6];
  let seed = 1;
  // Every row leftover (1..15 beyond full 16-row blocks), every K leftover (1..7 beyond full
  // 8-step blocks), small N.
  for (const M of [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 31, 32, 33, 47]) {
    for (const K of [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 27]) {
      const l = layout(M, 1 + ((M * 7 + K * 3) % 6), K, (M + K) % 3);
      const act = acts[(M + K) % 3]!;
      const hasBias = (M * K) % 2 === 0;
      const s = seed++;
      it(label(l, hasBias, act), () => checkAgainstReference(l, hasBias, act, s));
    }
  }
  // Column panels: N around the panel width of each K, with and without padding / bias, each act.
  for (const K of [8, 33, 128, 600, 4100]) {
    const columns = panelColumns(K);
    for (const N of [columns - 1, columns, columns + 1, 2 * columns + 3]) {
      for (const act of acts) {
        const M = K > 1000 ? 5 : 18;
        const l = layout(M, N, K, act);
        const hasBias = act !== ACT_NONE;
        const s = seed++;
        it(`panels: ${label(l, hasBias, act)}`, () => checkAgainstReference(l, hasBias, act, s));
      }
    }
  }
  it('reuses one scratch across different shapes', () => {
    const scratch = new Scratch();
    for (const [M, N, K] of [[20, 600, 40], [3, 5, 7], [33, 70, 129], [16, 16, 8]] as const) {
      checkAgainstReference(layout(M, N, K, 1), true, ACT_RELU, seed++, scratch);
    }
  });
  it('with K zero writes act(bias)', () => {
    const c = new Float32Array(2 * 3).fill(SENTINEL);
    sgemm(2, 3, 0, new Float32Array(0), 0, 0, new Float32Array(0), 0, 3, c, 0, 3, Float32Array.of(-1, 7), 0, ACT_RELU6);
    expect(Array.from(c)).toEqual([0, 0, 0, 6, 6, 6]);
    sgemm(2, 3, 0, new Float32Array(0), 0, 0, new Float32Array(0), 0, 3, c, 0, 3, null, 0, ACT_NONE);
    expect(Array.from(c)).toEqual([0, 0, 0, 0, 0, 0]);
  });
  it('with M or N zero writes nothing', () => {
    const c = new Float32Array(8).fill(SENTINEL);
    sgemm(0, 4, 3, new Float32Array(12), 0, 3, new Float32Array(12), 0, 4, c, 0, 4, null, 0, ACT_NONE);
    sgemm(2, 0, 3, new Float32Array(12), 0, 3, new Float32Array(12), 0, 4, c, 0, 4, null, 0, ACT_NONE);
    expect(Array.from(c).every((v) => v === SENTINEL)).toBe(true);
  });
});

describe('sgemm values do not depend on the tiling', () => {
  // A worker pool splits one GEMM by row (output channel) ranges; every C element must come out
  // bitwise the same whichever sub-GEMM computes it.
  // Products of float32 values are exact in float64 and short sums of them usually are too, so
  // with plain random data a different summation order would almost never show in the float32
  // result. Here some neighbouring reduction steps k, k+1 carry A values ±2^30 of opposite sign
  // against equal B rows: they cancel exactly when summed together and wipe out the low bits of
  // the running sum when not, so any change of order (tree shape, block boundaries, where the
  // bias enters) between row blocks, leftover rows or panels changes the output.
  const cancelling = (M: number, N: number, K: number, random: () => number): { a: Float32Array; b: Float32Array } => {
    const a = randomArray(M * K, random);
    const b = randomArray(K * N, random);
    for (let k = 0; k + 1 < K; k++) {
      if (random() < 0.35) {
        for (let i = 0; i < M; i++) {
          const big = (random() < 0.5 ? -1 : 1) * 2 ** 30;
          a[i * K + k] = big;
          a[i * K + k + 1] = -big;
        }
        for (let j = 0; j < N; j++) b[(k + 1) * N + j] = b[k * N + j]!;
        k++;
      }
    }
    return { a, b };
  };
  for (const [M, N, K] of [[53, 37, 29], [40, 700, 64], [35, 130, 600], [17, 9, 8], [31, 20, 23]] as const) {
    it(`sub-blocks of M=${M} N=${N} K=${K} equal the full product bitwise (order-sensitive data)`, () => {
      const random = rng(M * 1000 + N + K);
      const { a, b } = cancelling(M, N, K, random);
      const bias = randomArray(M, random);
      for (const act of [ACT_NONE, ACT_RELU, ACT_RELU6]) {
        const full = new Float32Array(M * N);
        sgemm(M, N, K, a, 0, K, b, 0, N, full, 0, N, bias, 0, act);
        const cuts: [number, number, number, number][] = [
          [0, 1, 0, N], [1, M, 0, N], [5, 21, 0, N], [M - 1, M, 0, N], [3, M, 1, N], [0, M, N - 1, N],
          [7, 20, 3, Math.min(N, 200)], [ROW_BLOCK - 1, Math.min(M, 2 * ROW_BLOCK + 1), 0, N],
        ];
        for (const [i0, iEnd, j0, jEnd] of cuts) {
          const i1 = Math.min(iEnd, M);
          const j1 = Math.min(jEnd, N);
          if (i1 <= i0 || j1 <= j0) continue;
          const rows = i1 - i0;
          const cols = j1 - j0;
          const part = new Float32Array(rows * cols);
          sgemm(rows, cols, K, a, i0 * K, K, b, j0, N, part, 0, cols, bias, i0, act);
          const expected = new Float32Array(rows * cols);
          for (let i = 0; i < rows; i++) expected.set(full.subarray((i0 + i) * N + j0, (i0 + i) * N + j1), i * cols);
          expectBitwiseEqual(part, expected, `rows [${i0}, ${i1}) cols [${j0}, ${j1}) act=${act}`);
        }
      }
    });
  }
  it('is deterministic across repeated calls', () => {
    const random = rng(99);
    const a = randomArray(40 * 70, random);
    const b = randomArray(70 * 90, random);
    const c1 = new Float32Array(40 * 90);
    const c2 = new Float32Array(40 * 90);
    sgemm(40, 90, 70, a, 0, 70, b, 0, 90, c1, 0, 90, null, 0, ACT_NONE);
    sgemm(40, 90, 70, a, 0, 70, b, 0, 90, c2, 0, 90, null, 0, ACT_NONE);
    expectBitwiseEqual(c1, c2, 'repeat');
  });
});

describe('sgemm special values', () => {
  // 17 rows: one full 16-row block (fused epilogue) and one leftover row (separate pass).
  for (const act of [ACT_NONE, ACT_RELU, ACT_RELU6]) {
    it(`NaN and infinities propagate like the float64 definition, act=${act}`, () => {
      const M = 17;
      const N = 6;
      const K = 11;
      const random = rng(123 + act);
      const a = randomArray(M * K, random);
      const b = randomArray(K * N, random);
      b[0 * N + 1] = Number.NaN; // column 1: NaN
      b[3 * N + 2] = Infinity; // column 2: +/-Infinity depending on the row's a[., 3]
      b[10 * N + 3] = -Infinity; // column 3, in the last (leftover) reduction block
      const bias = randomArray(M, random);
      const c = new Float32Array(M * N);
      sgemm(M, N, K, a, 0, K, b, 0, N, c, 0, N, bias, 0, act);
      const expected = referenceGemm(layout(M, N, K), a, b, bias, act);
      for (let i = 0; i < M * N; i++) {
        const e = expected[i]!;
        if (Number.isNaN(e)) expect(c[i], `index ${i}`).toBeNaN();
        else if (!Number.isFinite(e)) expect(c[i], `index ${i}`).toBe(e);
        else expect(Math.abs(c[i]! - e), `index ${i}`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(e)));
      }
    });
  }
});

describe('generated kernels', () => {
  it('src/kernels/gen/gemm-blocks.ts is what tools/gen-gemm.mjs generates', () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
    const result = spawnSync(process.execPath, [resolve(root, 'tools/gen-gemm.mjs'), '--check'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('packPanel', () => {
  it('groups each column of every block of 8 reduction steps contiguously', () => {
    const K = 11;
    const n = 3;
    const ldb = 5;
    const b = new Float32Array(K * ldb).map((_, i) => i);
    const panel = new Float32Array(K * n).fill(-1);
    packPanel(K, n, b, 1, ldb, panel);
    // Block 0: steps 0..7, column-major with 8 per column; block 1: steps 8..10, 3 per column.
    for (let j = 0; j < n; j++) {
      for (let t = 0; t < 8; t++) expect(panel[j * 8 + t]).toBe(b[1 + t * ldb + j]);
      for (let t = 0; t < 3; t++) expect(panel[8 * n + j * 3 + t]).toBe(b[1 + (8 + t) * ldb + j]);
    }
  });
});
