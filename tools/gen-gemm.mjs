#!/usr/bin/env node
// Generates src/kernels/gen/gemm-blocks.ts: the unrolled inner kernels of sgemm.
//
// Each kernel `rowsRkK(n, a, aIdx, lda, panel, pIdx, acc)` adds to the float64 accumulators of a
// block of R rows of C over n columns the contribution of K (1..8) consecutive values of the
// reduction dimension:
//
//   acc[j*R + r] += tree_k(a[aIdx + r*lda + k] * panel[pIdx + j*K + k])     0 <= j < n, 0 <= r < R
//
// The R*K values of A are loop-invariant locals; the loop carries only the column. tree_k sums
// the K products as a balanced tree, and every kernel uses the same tree for the same K, so an
// element's value does not depend on which row block (R) computed it.
//
// Usage: node tools/gen-gemm.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROW_BLOCKS = [16, 8, 4, 2, 1];
export const K_BLOCK = 8;

/**
 * The balanced sum of `terms` as source text, parenthesised when compound. Every kernel uses it,
 * so sums over the same number of terms are evaluated in the same order.
 */
function tree(terms) {
  if (terms.length === 1) return terms[0];
  const half = Math.ceil(terms.length / 2);
  return `(${tree(terms.slice(0, half))} + ${tree(terms.slice(half))})`;
}

/**
 * Source of one kernel. `store` kernels handle the last reduction block of a row block: instead
 * of updating the accumulator they write `clamp(acc + tree, lo, hi)` to C (the fused epilogue;
 * lo/hi are -Infinity/Infinity, 0/Infinity or 0/6, and NaN passes through).
 */
function kernel(rows, k, store) {
  const lines = [];
  const name = `rows${rows}k${k}${store ? 'Store' : ''}`;
  const what = `${rows} row${rows > 1 ? 's' : ''} × ${k} reduction value${k > 1 ? 's' : ''}`;
  lines.push(store ? `/** ${what}, the last block: writes C. */` : `/** ${what}. */`);
  const storeParams = store ? ', c: Float32Array, cIdx: number, ldc: number' : '';
  lines.push(
    `export function ${name}(n: number, a: Float32Array, aIdx: number, lda: number, panel: Float32Array, pIdx: number, acc: Float64Array${storeParams}): void {`,
  );
  for (let r = 0; r < rows; r++) {
    const rowStart = r === 0 ? 'aIdx' : `(aIdx + ${r === 1 ? 'lda' : `${r} * lda`}) | 0`;
    lines.push(`  const aRow${r} = ${rowStart};`);
  }
  for (let r = 0; r < rows; r++) {
    const decls = [];
    for (let t = 0; t < k; t++) decls.push(`a${r}_${t} = a[${t === 0 ? `aRow${r}` : `aRow${r} + ${t}`}]!`);
    lines.push(`  const ${decls.join(', ')};`);
  }
  if (store) {
    for (let r = 2; r < rows; r++) lines.push(`  const cStep${r} = ${r} * ldc;`);
    lines.push('  let cj = cIdx | 0;');
  }
  lines.push('  let p = pIdx | 0;');
  lines.push('  let q = 0;');
  lines.push('  for (let j = 0; j < n; j++) {');
  const loads = [];
  for (let t = 0; t < k; t++) loads.push(`b${t} = panel[${t === 0 ? 'p' : `p + ${t}`}]!`);
  lines.push(`    const ${loads.join(', ')};`);
  for (let r = 0; r < rows; r++) {
    const terms = [];
    for (let t = 0; t < k; t++) terms.push(`a${r}_${t} * b${t}`);
    const sum = tree(terms);
    const index = r === 0 ? 'q' : `q + ${r}`;
    // Written out as acc + tree (not +=) so the evaluation order is explicit.
    if (store) {
      const target = r === 0 ? 'cj' : r === 1 ? 'cj + ldc' : `cj + cStep${r}`;
      lines.push(`    c[${target}] = acc[${index}]! + ${sum};`);
    } else {
      lines.push(`    acc[${index}] = acc[${index}]! + ${sum};`);
    }
  }
  lines.push(`    p = (p + ${k}) | 0;`);
  lines.push(`    q = (q + ${rows}) | 0;`);
  if (store) lines.push('    cj = (cj + 1) | 0;');
  lines.push('  }');
  lines.push('}');
  return lines.join('\n');
}

function dispatcher(store) {
  const lines = [];
  const name = store ? 'storeBlock' : 'accumulateBlock';
  const extra = store ? ', c: Float32Array, cIdx: number, ldc: number' : '';
  const extraArgs = store ? ', c, cIdx, ldc' : '';
  lines.push(
    store
      ? '/** The last reduction block of a row block: C = clamp(acc + A·panel, lo, hi), for `rows` in ROW_BLOCKS and `k` in 1..8. */'
      : '/** acc += A·panel for a block of `rows` rows (one of ROW_BLOCKS) and `k` reduction values (1..8). */',
  );
  lines.push(
    `export function ${name}(rows: number, k: number, n: number, a: Float32Array, aIdx: number, lda: number, panel: Float32Array, pIdx: number, acc: Float64Array${extra}): void {`,
  );
  lines.push('  switch (rows) {');
  for (const rows of ROW_BLOCKS) {
    lines.push(`    case ${rows}:`);
    lines.push('      switch (k) {');
    for (let k = K_BLOCK; k >= 1; k--) {
      lines.push(`        case ${k}: rows${rows}k${k}${store ? 'Store' : ''}(n, a, aIdx, lda, panel, pIdx, acc${extraArgs}); return;`);
    }
    lines.push('      }');
    lines.push('      break;');
  }
  lines.push('  }');
  lines.push(`  throw new RangeError(\`${name}: unsupported block \${rows}x\${k}\`);`);
  lines.push('}');
  return lines.join('\n');
}

export function generate() {
  const parts = [];
  parts.push('// Generated by tools/gen-gemm.mjs, do not edit. Regenerate with `node tools/gen-gemm.mjs`.');
  parts.push('//');
  parts.push('// rowsRkK(n, a, aIdx, lda, panel, pIdx, acc):');
  parts.push('//   acc[j*R + r] = acc[j*R + r] + tree_k(a[aIdx + r*lda + k] * panel[pIdx + j*K + k])');
  parts.push('// rowsRkKStore(..., c, cIdx, ldc, lo, hi), the last reduction block of a row block:');
  parts.push('//   c[cIdx + r*ldc + j] = clamp(acc[j*R + r] + tree_k(...), lo, hi)');
  parts.push('// for 0 <= j < n, 0 <= r < R: R*K values of A held in locals, one column of the packed panel');
  parts.push('// per iteration. tree_k is the same balanced sum in every kernel with the same K.');
  parts.push('/* eslint-disable */');
  parts.push('');
  parts.push(`export const ROW_BLOCKS: readonly number[] = [${ROW_BLOCKS.join(', ')}];`);
  parts.push(`export const K_BLOCK = ${K_BLOCK};`);
  parts.push('');
  for (const store of [false, true]) {
    for (const rows of ROW_BLOCKS) {
      for (let k = K_BLOCK; k >= 1; k--) {
        parts.push(kernel(rows, k, store));
        parts.push('');
      }
    }
  }
  parts.push(dispatcher(false));
  parts.push('');
  parts.push(dispatcher(true));
  parts.push('');
  return parts.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const target = resolve(dirname(fileURLToPath(import.meta.url)), '../src/kernels/gen/gemm-blocks.ts');
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, generate());
  console.log(`wrote ${target}`);
}
