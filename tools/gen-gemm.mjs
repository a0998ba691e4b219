#!/usr/bin/env node
// Generates src/kernels/gen/gemm-blocks.ts: the unrolled inner kernels of sgemm (gemm.ts).
//
// A kernel handles a block of R rows of C (R in ROW_BLOCKS), K (1..8) consecutive reduction
// steps and n columns of a packed panel (8 values of one column contiguous, see packPanel):
//
//   v[r, j] = prev[r, j] + tree_K(a[aIdx + r*lda + k] * panel[pIdx + j*K + k])
//
// The R*K values of A are loop-invariant locals and the loop carries only the column, so when
// V8 spills some of them a spill costs a reload, not a dependency chain (GUIDE §4). tree_K sums
// the K products as a balanced tree; every kernel uses the same tree for the same K, so an
// element's value does not depend on which row block or mode computed it.
//
// Modes (prev is the float64 accumulator acc[j*R + r], or the row's bias for `first`):
//   accumulate   acc = acc + tree
//   first        acc = bias + tree                  (R = 16, K = 8: the first block of a long K)
//   store        c = acc + tree                     (the last block; C row stride ldc)
//   storeRelu    c = relu(acc + tree)               (R = 16 only; others use store + a relu pass)
//   storeRelu6   c = relu6(acc + tree)
// relu(v) is (v + |v|)·0.5: exact, and free of the branch that mispredicts on mixed signs (it
// gives NaN for v = -Infinity, fixed by a rarely taken branch); relu6 then clamps at 6 with a
// branch (rarely taken too). Fusing gives bitwise the same values as
// store + relu pass, because rounding to float32 is monotonic.
//
// Usage: npm run gen  (runs this and gen-depthwise.mjs: writes the files)
//        node tools/gen-gemm.mjs --check  (fails if the committed file is stale)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROW_BLOCKS = [16, 8, 4, 2, 1];
export const K_BLOCK = 8;
const FULL_ROWS = ROW_BLOCKS[0];

/**
 * The balanced sum of `terms` as source text, parenthesised when compound. Every kernel uses it,
 * so sums over the same number of terms are evaluated in the same order.
 */
function tree(terms) {
  if (terms.length === 1) return terms[0];
  const half = Math.ceil(terms.length / 2);
  return `(${tree(terms.slice(0, half))} + ${tree(terms.slice(half))})`;
}

const MODE_SUFFIX = {
  accumulate: '', first: 'First', store: 'Store', storeRelu: 'StoreRelu', storeRelu6: 'StoreRelu6',
  accumulateT: 'T', storeT: 'StoreT',
};
const MODE_DOC = {
  accumulate: 'acc += A·panel',
  first: 'acc = bias + A·panel (first block)',
  store: 'C = acc + A·panel (last block)',
  storeRelu: 'C = relu(acc + A·panel) (last block)',
  storeRelu6: 'C = relu6(acc + A·panel) (last block)',
  accumulateT: 'acc += A·panel with A stored transposed (a[aIdx + k*lda + r])',
  storeT: 'C = acc + A·panel with A stored transposed (last block)',
};

function kernelName(rows, k, mode) {
  return `rows${rows}k${k}${MODE_SUFFIX[mode]}`;
}

function kernel(rows, k, mode) {
  const stores = mode.startsWith('store');
  // The transposed-A modes (suffix T) read A[r, t] at a[aIdx + t*lda + r]: the backward's
  // gradInput GEMM multiplies by Wᵀ without transposing W first.
  const transposed = mode.endsWith('T');
  const lines = [];
  lines.push(`/** ${rows} row${rows > 1 ? 's' : ''} × ${k} reduction step${k > 1 ? 's' : ''}: ${MODE_DOC[mode]}. */`);
  const params = ['n: number', 'a: Float32Array', 'aIdx: number', 'lda: number', 'panel: Float32Array', 'pIdx: number', 'acc: Float64Array'];
  if (mode === 'first') params.push('bias: Float32Array', 'biasIdx: number');
  if (stores) params.push('c: Float32Array', 'cIdx: number', 'ldc: number');
  lines.push(`export function ${kernelName(rows, k, mode)}(${params.join(', ')}): void {`);
  if (transposed) {
    for (let t = 0; t < k; t++) {
      const colStart = t === 0 ? 'aIdx' : `(aIdx + ${t === 1 ? 'lda' : `${t} * lda`}) | 0`;
      lines.push(`  const aCol${t} = ${colStart};`);
    }
    for (let r = 0; r < rows; r++) {
      const decls = [];
      for (let t = 0; t < k; t++) decls.push(`a${r}_${t} = a[${r === 0 ? `aCol${t}` : `aCol${t} + ${r}`}]!`);
      lines.push(`  const ${decls.join(', ')};`);
    }
  } else {
    for (let r = 0; r < rows; r++) {
      const rowStart = r === 0 ? 'aIdx' : `(aIdx + ${r === 1 ? 'lda' : `${r} * lda`}) | 0`;
      lines.push(`  const aRow${r} = ${rowStart};`);
    }
    for (let r = 0; r < rows; r++) {
      const decls = [];
      for (let t = 0; t < k; t++) decls.push(`a${r}_${t} = a[${t === 0 ? `aRow${r}` : `aRow${r} + ${t}`}]!`);
      lines.push(`  const ${decls.join(', ')};`);
    }
  }
  if (mode === 'first') {
    const decls = [];
    // `+ 0` reads a −0 bias as +0 (PyTorch's sums start from +0 and add the bias; see epilogue.ts).
    for (let r = 0; r < rows; r++) decls.push(`bias${r} = bias[${r === 0 ? 'biasIdx' : `biasIdx + ${r}`}]! + 0`);
    lines.push(`  const ${decls.join(', ')};`);
  }
  if (stores) {
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
    const prev = mode === 'first' ? `bias${r}` : `acc[${index}]!`;
    // prev + tree, written out (not +=) so the evaluation order is explicit.
    const value = `${prev} + ${sum}`;
    const target = r === 0 ? 'cj' : r === 1 ? 'cj + ldc' : `cj + cStep${r}`;
    if (mode === 'accumulate' || mode === 'accumulateT' || mode === 'first') {
      lines.push(`    acc[${index}] = ${value};`);
    } else if (mode === 'store' || mode === 'storeT') {
      lines.push(`    c[${target}] = ${value};`);
    } else {
      lines.push(`    const v${r} = ${value};`);
      lines.push(`    const u${r} = (v${r} + Math.abs(v${r})) * 0.5;`);
      // u is NaN only for v = NaN (kept) or v = -Infinity (relu gives 0): a rarely taken branch.
      const relu = `u${r} === u${r} ? u${r} : v${r} < 0 ? 0 : v${r}`;
      lines.push(`    c[${target}] = ${mode === 'storeRelu' ? relu : `u${r} > 6 ? 6 : ${relu}`};`);
    }
  }
  lines.push(`    p = (p + ${k}) | 0;`);
  lines.push(`    q = (q + ${rows}) | 0;`);
  if (stores) lines.push('    cj = (cj + 1) | 0;');
  lines.push('  }');
  lines.push('}');
  return lines.join('\n');
}

/** A switch over (rows, k) for the kernels of `mode` that exist for `rowBlocks`. */
function dispatcher(name, mode, rowBlocks, doc) {
  const stores = mode.startsWith('store');
  const params = ['rows: number', 'k: number', 'n: number', 'a: Float32Array', 'aIdx: number', 'lda: number', 'panel: Float32Array', 'pIdx: number', 'acc: Float64Array'];
  const args = ['n', 'a', 'aIdx', 'lda', 'panel', 'pIdx', 'acc'];
  if (stores) {
    params.push('c: Float32Array', 'cIdx: number', 'ldc: number');
    args.push('c', 'cIdx', 'ldc');
  }
  const lines = [];
  lines.push(`/** ${doc} */`);
  lines.push(`export function ${name}(${params.join(', ')}): void {`);
  lines.push('  switch (rows) {');
  for (const rows of rowBlocks) {
    lines.push(`    case ${rows}:`);
    lines.push('      switch (k) {');
    for (let k = K_BLOCK; k >= 1; k--) {
      lines.push(`        case ${k}: ${kernelName(rows, k, mode)}(${args.join(', ')}); return;`);
    }
    lines.push('      }');
    lines.push('      break;');
  }
  lines.push('  }');
  lines.push(`  throw new RangeError(\`${name}: no kernel for \${rows} rows × \${k} steps\`);`);
  lines.push('}');
  return lines.join('\n');
}

export function generate() {
  const parts = [];
  parts.push('// Generated by tools/gen-gemm.mjs, do not edit. Regenerate with `npm run gen`.');
  parts.push('//');
  parts.push('// Kernels rowsRkK<Mode> for a block of R rows of C, K reduction steps, n panel columns:');
  parts.push('//   v[r, j] = prev[r, j] + tree_K(a[aIdx + r*lda + k] * panel[pIdx + j*K + k])');
  parts.push('// with prev the float64 accumulator acc[j*R + r] (or the bias for First), written back to acc');
  parts.push('// or, for Store*, to c[cIdx + r*ldc + j] (with relu/relu6 for StoreRelu/StoreRelu6).');
  parts.push('// The *T kernels read A transposed, A[r, k] = a[aIdx + k*lda + r] (the backward\'s Wᵀ·dY).');
  parts.push('// tree_K is the same balanced sum in every kernel with the same K. See the generator for why.');
  parts.push('');
  parts.push(`export const ROW_BLOCKS: readonly number[] = [${ROW_BLOCKS.join(', ')}];`);
  parts.push(`export const K_BLOCK = ${K_BLOCK};`);
  parts.push('');
  for (const rows of ROW_BLOCKS) {
    for (let k = K_BLOCK; k >= 1; k--) {
      parts.push(kernel(rows, k, 'accumulate'), '');
      parts.push(kernel(rows, k, 'store'), '');
    }
  }
  for (const rows of ROW_BLOCKS) {
    for (let k = K_BLOCK; k >= 1; k--) {
      parts.push(kernel(rows, k, 'accumulateT'), '');
      parts.push(kernel(rows, k, 'storeT'), '');
    }
  }
  parts.push(kernel(FULL_ROWS, K_BLOCK, 'first'), '');
  for (let k = K_BLOCK; k >= 1; k--) {
    parts.push(kernel(FULL_ROWS, k, 'storeRelu'), '');
    parts.push(kernel(FULL_ROWS, k, 'storeRelu6'), '');
  }
  parts.push(dispatcher('accumulateBlock', 'accumulate', ROW_BLOCKS, 'acc += A·panel for `rows` in ROW_BLOCKS and `k` in 1..8.'), '');
  parts.push(dispatcher('storeBlock', 'store', ROW_BLOCKS, 'The last block: C = acc + A·panel, for `rows` in ROW_BLOCKS and `k` in 1..8.'), '');
  parts.push(dispatcher('accumulateBlockT', 'accumulateT', ROW_BLOCKS, 'acc += A·panel with A transposed (a[aIdx + k*lda + r]), for `rows` in ROW_BLOCKS and `k` in 1..8.'), '');
  parts.push(dispatcher('storeBlockT', 'storeT', ROW_BLOCKS, 'The last block with A transposed: C = acc + A·panel.'), '');
  parts.push(dispatcher('storeBlockRelu', 'storeRelu', [FULL_ROWS], `The last block of a full ${FULL_ROWS}-row block: C = relu(acc + A·panel), \`k\` in 1..8.`), '');
  parts.push(dispatcher('storeBlockRelu6', 'storeRelu6', [FULL_ROWS], `The last block of a full ${FULL_ROWS}-row block: C = relu6(acc + A·panel), \`k\` in 1..8.`), '');
  return parts.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const target = resolve(dirname(fileURLToPath(import.meta.url)), '../src/kernels/gen/gemm-blocks.ts');
  if (process.argv.includes('--check')) {
    // Exit status 1 when the committed file differs from what this generator writes.
    const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
    if (current !== generate()) {
      console.error(`${target} is out of date: run npm run gen`);
      process.exit(1);
    }
    console.log(`${target} is up to date`);
  } else {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, generate());
    console.log(`wrote ${target}`);
  }
}
