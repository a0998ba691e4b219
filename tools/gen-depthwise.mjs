#!/usr/bin/env node
// Generates src/kernels/gen/depthwise-3x3-rows.ts: the row loops of the 3×3 depthwise kernels
// (depthwise-3x3s1.ts, depthwise-3x3s2.ts), once per epilogue:
//
//   Linear    y = v                       (no activation)
//   Clamped   y = min(max(v, 0), hi)       (relu: hi = Infinity; relu6: hi = 6)
//
// Why two copies: with one copy that branches on the activation per output, the never-taken
// clamp code still costs ~25% on the no-activation path (measured 5.0 → 6.4 GFLOP/s on
// 256×28×28, V8 11 / Zen 4), and the clamped path gains ~5% without the branch.
//
// max(v, 0) is (v + |v|)·0.5: exact in float64 and free of the data-dependent branch that
// mispredicts on mixed signs (`v < 0 ? 0 : v` made these kernels 3× slower). It gives NaN for
// v = -Infinity, hence a well-predicted test; the upper bound is a rarely taken branch. Same
// values as `activate` in epilogue.ts except that -0 becomes +0.
//
// The loop scheme itself is described in depthwise-3x3s1.ts and depthwise-3x3s2.ts.
//
// Usage: node tools/gen-depthwise.mjs          (writes the file)
//        node tools/gen-depthwise.mjs --check  (fails if the committed file is stale)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const VARIANTS = [
  { suffix: 'Linear', params: 'bias: number,', topLine: '', out: (e) => e },
  { suffix: 'Clamped', params: 'bias: number, hi: number,', topLine: '  const top = +hi;\n', out: (e) => `clampedOutput(${e}, top)` },
];

function strideOneRows({ suffix, params, topLine, out }) {
  return `/** One output row from two input rows \`ra\`, \`rb\` weighted by the filter rows at \`wa\`, \`wb\`. */
export function s1RowFrom2${suffix}(
  x: Float32Array, ra: number, rb: number, W: number,
  w: Float32Array, wa: number, wb: number, padLeft: number, padRight: number,
  ${params}
  y: Float32Array, q: number,
): void {
  const a0 = w[wa]!, a1 = w[wa + 1]!, a2 = w[wa + 2]!;
  const b0 = w[wb]!, b1 = w[wb + 1]!, b2 = w[wb + 2]!;
${topLine}  // pending1 needs only its column-2 term; pending0 needs columns 1 and 2.
  let pending1: number;
  let pending0: number;
  let c: number;
  if (padLeft === 1) {
    const s = x[ra]!, t = x[rb]!;
    pending1 = bias + (a1 * s + b1 * t);
    pending0 = bias + (a0 * s + b0 * t);
    c = 1;
  } else {
    let s = x[ra]!, t = x[rb]!;
    pending1 = bias + (a0 * s + b0 * t);
    s = x[ra + 1]!;
    t = x[rb + 1]!;
    pending1 = pending1 + (a1 * s + b1 * t);
    pending0 = bias + (a0 * s + b0 * t);
    c = 2;
  }
  let pa = (ra + c) | 0;
  let pb = (rb + c) | 0;
  const end = (ra + W) | 0;
  for (; pa < end; pa = (pa + 1) | 0, pb = (pb + 1) | 0) {
    const s = x[pa]!, t = x[pb]!;
    const v = pending1 + (a2 * s + b2 * t);
    pending1 = pending0 + (a1 * s + b1 * t);
    pending0 = bias + (a0 * s + b0 * t);
    y[q] = ${out('v')};
    q = (q + 1) | 0;
  }
  if (padRight === 1) y[q] = ${out('pending1')};
}

/** One output row from the three input rows starting at \`r0\`. */
export function s1RowFrom3${suffix}(
  x: Float32Array, r0: number, W: number,
  w: Float32Array, wo: number, padLeft: number, padRight: number,
  ${params}
  y: Float32Array, q: number,
): void {
  const w0 = w[wo]!, w1 = w[wo + 1]!, w2 = w[wo + 2]!;
  const w3 = w[wo + 3]!, w4 = w[wo + 4]!, w5 = w[wo + 5]!;
  const w6 = w[wo + 6]!, w7 = w[wo + 7]!, w8 = w[wo + 8]!;
${topLine}  const W2 = 2 * W;
  let pending1: number;
  let pending0: number;
  let p: number;
  if (padLeft === 1) {
    const a = x[r0]!, b = x[r0 + W]!, c = x[r0 + W2]!;
    pending1 = bias + (w1 * a + w4 * b + w7 * c);
    pending0 = bias + (w0 * a + w3 * b + w6 * c);
    p = (r0 + 1) | 0;
  } else {
    let a = x[r0]!, b = x[r0 + W]!, c = x[r0 + W2]!;
    pending1 = bias + (w0 * a + w3 * b + w6 * c);
    a = x[r0 + 1]!;
    b = x[r0 + W + 1]!;
    c = x[r0 + W2 + 1]!;
    pending1 = pending1 + (w1 * a + w4 * b + w7 * c);
    pending0 = bias + (w0 * a + w3 * b + w6 * c);
    p = (r0 + 2) | 0;
  }
  const end = (r0 + W) | 0;
  for (; p < end; p = (p + 1) | 0) {
    const a = x[p]!, b = x[p + W]!, c = x[p + W2]!;
    const v = pending1 + (w2 * a + w5 * b + w8 * c);
    pending1 = pending0 + (w1 * a + w4 * b + w7 * c);
    pending0 = bias + (w0 * a + w3 * b + w6 * c);
    y[q] = ${out('v')};
    q = (q + 1) | 0;
  }
  if (padRight === 1) y[q] = ${out('pending1')};
}

/**
 * \`pairs\` pairs of output rows from \`qFirst\` on, the first from the four input rows starting at
 * \`rFirst\`: each loaded column of four values feeds both rows of a pair. One call covers all
 * pairs, so small planes pay the call and the weight loads once (~7% on 14×14 and 7×7 planes).
 */
export function s1RowPairsFrom4${suffix}(
  x: Float32Array, rFirst: number, W: number,
  w: Float32Array, wo: number, padLeft: number, padRight: number,
  ${params}
  y: Float32Array, qFirst: number, Wo: number, pairs: number,
): void {
  const w0 = w[wo]!, w1 = w[wo + 1]!, w2 = w[wo + 2]!;
  const w3 = w[wo + 3]!, w4 = w[wo + 4]!, w5 = w[wo + 5]!;
  const w6 = w[wo + 6]!, w7 = w[wo + 7]!, w8 = w[wo + 8]!;
${topLine}  const W2 = 2 * W;
  const W3 = 3 * W;
  for (let k = 0; k < pairs; k++) {
    const r0 = (rFirst + k * W2) | 0;
    let q = (qFirst + 2 * k * Wo) | 0;
    // upper*/lower*: pending sums of the first and second output row.
    let upper1: number, upper0: number, lower1: number, lower0: number;
    let p: number;
    if (padLeft === 1) {
      const a = x[r0]!, b = x[r0 + W]!, c = x[r0 + W2]!, d = x[r0 + W3]!;
      upper1 = bias + (w1 * a + w4 * b + w7 * c);
      lower1 = bias + (w1 * b + w4 * c + w7 * d);
      upper0 = bias + (w0 * a + w3 * b + w6 * c);
      lower0 = bias + (w0 * b + w3 * c + w6 * d);
      p = (r0 + 1) | 0;
    } else {
      let a = x[r0]!, b = x[r0 + W]!, c = x[r0 + W2]!, d = x[r0 + W3]!;
      upper1 = bias + (w0 * a + w3 * b + w6 * c);
      lower1 = bias + (w0 * b + w3 * c + w6 * d);
      a = x[r0 + 1]!;
      b = x[r0 + W + 1]!;
      c = x[r0 + W2 + 1]!;
      d = x[r0 + W3 + 1]!;
      upper1 = upper1 + (w1 * a + w4 * b + w7 * c);
      lower1 = lower1 + (w1 * b + w4 * c + w7 * d);
      upper0 = bias + (w0 * a + w3 * b + w6 * c);
      lower0 = bias + (w0 * b + w3 * c + w6 * d);
      p = (r0 + 2) | 0;
    }
    const end = (r0 + W) | 0;
    for (; p < end; p = (p + 1) | 0) {
      const a = x[p]!, b = x[p + W]!, c = x[p + W2]!, d = x[p + W3]!;
      const u = upper1 + (w2 * a + w5 * b + w8 * c);
      const v = lower1 + (w2 * b + w5 * c + w8 * d);
      upper1 = upper0 + (w1 * a + w4 * b + w7 * c);
      lower1 = lower0 + (w1 * b + w4 * c + w7 * d);
      upper0 = bias + (w0 * a + w3 * b + w6 * c);
      lower0 = bias + (w0 * b + w3 * c + w6 * d);
      y[q] = ${out('u')};
      y[q + Wo] = ${out('v')};
      q = (q + 1) | 0;
    }
    if (padRight === 1) {
      y[q] = ${out('upper1')};
      y[q + Wo] = ${out('lower1')};
    }
  }
}
`;
}

function strideTwoRows({ suffix, params, topLine, out }) {
  return `/** One output row from two input rows \`ra\`, \`rb\` weighted by the filter rows at \`wa\`, \`wb\`. */
export function s2RowFrom2${suffix}(
  x: Float32Array, ra: number, rb: number,
  w: Float32Array, wa: number, wb: number, padLeft: number, rightMissing: boolean, Wo: number,
  ${params}
  y: Float32Array, q: number,
): void {
  const a0 = w[wa]!, a1 = w[wa + 1]!, a2 = w[wa + 2]!;
  const b0 = w[wb]!, b1 = w[wb + 1]!, b2 = w[wb + 2]!;
${topLine}  const shift = rb - ra;
  let pending: number;
  let p: number;
  if (padLeft === 1) {
    pending = bias + (a1 * x[ra]! + b1 * x[rb]!);
    p = (ra + 1) | 0;
  } else {
    pending = bias + (a0 * x[ra]! + b0 * x[rb]!);
    pending = pending + (a1 * x[ra + 1]! + b1 * x[rb + 1]!);
    p = (ra + 2) | 0;
  }
  const qEnd = (q + Wo - 1) | 0;
  for (; q < qEnd; q = (q + 1) | 0, p = (p + 2) | 0) {
    const s = x[p]!, t = x[p + shift]!;
    const v = pending + (a2 * s + b2 * t);
    pending = bias + (a0 * s + b0 * t);
    pending = pending + (a1 * x[p + 1]! + b1 * x[p + shift + 1]!);
    y[q] = ${out('v')};
  }
  const v = rightMissing ? pending : pending + (a2 * x[p]! + b2 * x[p + shift]!);
  y[q] = ${out('v')};
}

/** One output row from the three input rows starting at \`r0\`. */
export function s2RowFrom3${suffix}(
  x: Float32Array, r0: number, W: number,
  w: Float32Array, wo: number, padLeft: number, rightMissing: boolean, Wo: number,
  ${params}
  y: Float32Array, q: number,
): void {
  const w0 = w[wo]!, w1 = w[wo + 1]!, w2 = w[wo + 2]!;
  const w3 = w[wo + 3]!, w4 = w[wo + 4]!, w5 = w[wo + 5]!;
  const w6 = w[wo + 6]!, w7 = w[wo + 7]!, w8 = w[wo + 8]!;
${topLine}  const W2 = 2 * W;
  let pending: number;
  let p: number;
  if (padLeft === 1) {
    pending = bias + (w1 * x[r0]! + w4 * x[r0 + W]! + w7 * x[r0 + W2]!);
    p = (r0 + 1) | 0;
  } else {
    pending = bias + (w0 * x[r0]! + w3 * x[r0 + W]! + w6 * x[r0 + W2]!);
    pending = pending + (w1 * x[r0 + 1]! + w4 * x[r0 + W + 1]! + w7 * x[r0 + W2 + 1]!);
    p = (r0 + 2) | 0;
  }
  const qEnd = (q + Wo - 1) | 0;
  for (; q < qEnd; q = (q + 1) | 0, p = (p + 2) | 0) {
    const a = x[p]!, b = x[p + W]!, c = x[p + W2]!;
    const v = pending + (w2 * a + w5 * b + w8 * c);
    pending = bias + (w0 * a + w3 * b + w6 * c);
    pending = pending + (w1 * x[p + 1]! + w4 * x[p + W + 1]! + w7 * x[p + W2 + 1]!);
    y[q] = ${out('v')};
  }
  const v = rightMissing ? pending : pending + (w2 * x[p]! + w5 * x[p + W]! + w8 * x[p + W2]!);
  y[q] = ${out('v')};
}

/**
 * \`pairs\` pairs of output rows from \`qFirst\` on, the first from the five input rows starting at
 * \`rFirst\`. In a pair the middle input row feeds filter row 2 of the upper output and filter
 * row 0 of the lower one. One call covers all pairs, so small planes pay the call and the
 * weight loads once (~7% on 14×14 and 7×7 planes).
 */
export function s2RowPairsFrom5${suffix}(
  x: Float32Array, rFirst: number, W: number,
  w: Float32Array, wo: number, padLeft: number, rightMissing: boolean, Wo: number,
  ${params}
  y: Float32Array, qFirst: number, pairs: number,
): void {
  const w0 = w[wo]!, w1 = w[wo + 1]!, w2 = w[wo + 2]!;
  const w3 = w[wo + 3]!, w4 = w[wo + 4]!, w5 = w[wo + 5]!;
  const w6 = w[wo + 6]!, w7 = w[wo + 7]!, w8 = w[wo + 8]!;
${topLine}  const W2 = 2 * W;
  const W3 = 3 * W;
  const W4 = 4 * W;
  for (let k = 0; k < pairs; k++) {
    const r0 = (rFirst + k * W4) | 0;
    let q = (qFirst + 2 * k * Wo) | 0;
    let upper: number;
    let lower: number;
    let p: number;
    if (padLeft === 1) {
      const c = x[r0 + W2]!;
      upper = bias + (w1 * x[r0]! + w4 * x[r0 + W]! + w7 * c);
      lower = bias + (w1 * c + w4 * x[r0 + W3]! + w7 * x[r0 + W4]!);
      p = (r0 + 1) | 0;
    } else {
      let c = x[r0 + W2]!;
      upper = bias + (w0 * x[r0]! + w3 * x[r0 + W]! + w6 * c);
      lower = bias + (w0 * c + w3 * x[r0 + W3]! + w6 * x[r0 + W4]!);
      c = x[r0 + W2 + 1]!;
      upper = upper + (w1 * x[r0 + 1]! + w4 * x[r0 + W + 1]! + w7 * c);
      lower = lower + (w1 * c + w4 * x[r0 + W3 + 1]! + w7 * x[r0 + W4 + 1]!);
      p = (r0 + 2) | 0;
    }
    const qEnd = (q + Wo - 1) | 0;
    for (; q < qEnd; q = (q + 1) | 0, p = (p + 2) | 0) {
      let a = x[p]!, b = x[p + W]!, c = x[p + W2]!, d = x[p + W3]!, e = x[p + W4]!;
      const u = upper + (w2 * a + w5 * b + w8 * c);
      const v = lower + (w2 * c + w5 * d + w8 * e);
      upper = bias + (w0 * a + w3 * b + w6 * c);
      lower = bias + (w0 * c + w3 * d + w6 * e);
      y[q] = ${out('u')};
      y[q + Wo] = ${out('v')};
      a = x[p + 1]!;
      b = x[p + W + 1]!;
      c = x[p + W2 + 1]!;
      d = x[p + W3 + 1]!;
      e = x[p + W4 + 1]!;
      upper = upper + (w1 * a + w4 * b + w7 * c);
      lower = lower + (w1 * c + w4 * d + w7 * e);
    }
    if (rightMissing) {
      y[q] = ${out('upper')};
      y[q + Wo] = ${out('lower')};
    } else {
      const c = x[p + W2]!;
      y[q] = ${out('upper + (w2 * x[p]! + w5 * x[p + W]! + w8 * c)')};
      y[q + Wo] = ${out('lower + (w2 * c + w5 * x[p + W3]! + w8 * x[p + W4]!)')};
    }
  }
}
`;
}

const HEADER = `// Generated by tools/gen-depthwise.mjs, do not edit. Regenerate with \`node tools/gen-depthwise.mjs\`.
//
// Row loops of the 3×3 depthwise kernels, stride 1 (s1*) and stride 2 (s2*), each in a Linear
// (no activation) and a Clamped (relu / relu6: min(max(v, 0), hi)) variant. See the generator
// for why there are two copies, and depthwise-3x3s1.ts / depthwise-3x3s2.ts for the scheme.
`;

const CLAMP = `
/**
 * min(max(v, 0), hi), with max(v, 0) as (v + |v|)·0.5 (exact, no data-dependent branch) and a
 * well-predicted test for -Infinity, the one input that formula turns into NaN. \`hi\` must be
 * float-typed (\`+param\`) or V8 boxes the result.
 */
function clampedOutput(v: number, hi: number): number {
  const r = v === -Infinity ? 0 : (v + Math.abs(v)) * 0.5;
  return r > hi ? hi : r;
}
`;

export function generate() {
  const parts = [HEADER];
  for (const variant of VARIANTS) parts.push(strideOneRows(variant));
  for (const variant of VARIANTS) parts.push(strideTwoRows(variant));
  parts.push(CLAMP);
  return parts.join('\n');
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const target = resolve(root, 'src/kernels/gen/depthwise-3x3-rows.ts');

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = generate();
  if (process.argv.includes('--check')) {
    const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
    if (current !== text) {
      console.error(`${target} is stale: run node tools/gen-depthwise.mjs`);
      process.exit(1);
    }
  } else {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
}
