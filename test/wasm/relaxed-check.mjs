// Run by test/wasm/conv2d.test.ts in a child process (with --experimental-wasm-relaxed-simd where Node 20 needs it).
// For the plain and the relaxed kernel module (the committed bytes, src/wasm/gen/modules.ts): the
// GEMM kernel against a float64 reference for every row count 1..MR (MR = the module's gemm_mr),
// every column tail (nc = 1..19 and 33) and a clamp, each output within float32 tolerance and
// written exactly once (sentinels around C); the same rows computed as one call or split over
// calls are bitwise equal, and repeats are bitwise equal; relaxed within tolerance of plain.
import { readFileSync } from 'node:fs';

const text = readFileSync(new URL('../../src/wasm/gen/modules.ts', import.meta.url), 'utf8');
function moduleBytes(name) {
  const match = new RegExp(`export const ${name} =\\n((?:  '[^']*'(?: \\+|;)\\n)+)`).exec(text);
  if (!match) throw new Error(`no ${name} module in modules.ts`);
  return Buffer.from([...match[1].matchAll(/'([^']*)'/g)].map((q) => q[1]).join(''), 'base64');
}

const SENTINEL = 12345.5;

function check(name) {
  const memory = new WebAssembly.Memory({ initial: 8 });
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes(name)), { env: { memory } });
  const f = new Float32Array(memory.buffer);
  const ints = new Int32Array(memory.buffer);
  const MR = exports.gemm_mr();
  if (!(MR >= 1 && MR <= 16)) throw new Error(`${name}: gemm_mr ${MR}`);
  let s = 7;
  const random = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const k = 37;
  const rows = 2 * MR + 3; // two full blocks and a partial one
  const A = Float64Array.from({ length: rows * k }, random);
  const bias = Float64Array.from({ length: rows }, random);
  // packed A: blocks of MR rows (MR biases, then MR weights per k), zero rows past the last, 64 bytes of slack
  const a = 64;
  const blocks = Math.ceil(rows / MR);
  const blockFloats = MR * (k + 1);
  for (let blk = 0; blk < blocks; blk++) {
    for (let r = 0; r < MR; r++) {
      const m = blk * MR + r;
      f[a / 4 + blk * blockFloats + r] = m < rows ? bias[m] : 0;
      for (let kk = 0; kk < k; kk++) f[a / 4 + blk * blockFloats + MR + kk * MR + r] = m < rows ? A[m * k + kk] : 0;
    }
  }
  f.fill(0, a / 4 + blocks * blockFloats, a / 4 + blocks * blockFloats + 16);
  const b = 65536;
  const koff = 131072;
  const c = 196608;
  let worst = 0;
  const results = {};
  for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 19, 33]) {
    const B = Float64Array.from({ length: k * n }, random);
    // B's rows stored in reverse order, found through the offset table
    for (let kk = 0; kk < k; kk++) {
      for (let j = 0; j < n; j++) f[b / 4 + (k - 1 - kk) * n + j] = B[kk * n + j];
      ints[koff / 4 + kk] = 4 * n * (k - 1 - kk);
    }
    const ldc = n + 2; // a sentinel column each side of every row
    for (const [min, max] of [[-Infinity, Infinity], [-0.5, 0.75]]) {
      for (let mr = 1; mr <= MR; mr++) {
        // rows [0, mr) of block 1, and the same rows as one call per row (bitwise equal)
        for (const split of [false, true]) {
          f.fill(SENTINEL, c / 4, c / 4 + (MR + 1) * ldc);
          const c0 = c + 4 * ldc + 4;
          if (!split) exports.gemm_f32(mr, n, k, a + 4 * blockFloats, b, koff, c0, 4 * ldc, min, max);
          else for (let r = 0; r < mr; r++) exports.gemm_f32(1, n, k, a + 4 * blockFloats + 4 * r, b, koff, c0 + 4 * r * ldc, 4 * ldc, min, max);
          const out = Float32Array.from(f.subarray(c / 4, c / 4 + (MR + 1) * ldc));
          for (let row = 0; row < MR + 1; row++) {
            for (let col = 0; col < ldc; col++) {
              const v = out[row * ldc + col];
              const inside = row >= 1 && row <= mr && col >= 1 && col <= n;
              if (!inside) {
                if (v !== SENTINEL) throw new Error(`${name}: mr ${mr} n ${n}: wrote outside C at row ${row - 1} col ${col - 1}`);
                continue;
              }
              const m = MR + row - 1;
              let ref = bias[m];
              for (let kk = 0; kk < k; kk++) ref += A[m * k + kk] * B[kk * n + col - 1];
              ref = Math.min(Math.max(ref, min), max);
              const err = Math.abs(v - ref) / (1 + Math.abs(ref));
              worst = Math.max(worst, err);
              if (!(err <= 1e-5)) throw new Error(`${name}: mr ${mr} n ${n} [${min}, ${max}]: C[${row - 1}, ${col - 1}] = ${v}, expected ${ref}`);
            }
          }
          const key = `${n}/${min}/${mr}`;
          if (!split) results[key] = out;
          else if (!out.every((v, t) => Object.is(v, results[key][t]))) throw new Error(`${name}: mr ${mr} n ${n}: one call and per-row calls differ`);
        }
      }
    }
  }
  // repeats are bitwise equal
  const again = Float32Array.from(f.subarray(c / 4, c / 4 + 64));
  const n = 33;
  const c0 = c + 4 * (n + 2) + 4;
  exports.gemm_f32(MR, n, k, a + 4 * blockFloats, b, koff, c0, 4 * (n + 2), -0.5, 0.75);
  if (!Float32Array.from(f.subarray(c / 4, c / 4 + 64)).every((v, t) => Object.is(v, again[t]))) throw new Error(`${name}: a repeat differs`);
  return { MR, worst, last: results };
}

const plain = check('plain');
const relaxed = check('relaxed');
// The same rows (block 1) only when both modules have the same MR; each is checked against the
// float64 reference above either way.
let apart = 0;
if (plain.MR === relaxed.MR) for (const key of Object.keys(plain.last)) {
  const p = plain.last[key];
  const r = relaxed.last[key];
  for (let t = 0; t < p.length; t++) apart = Math.max(apart, Math.abs(r[t] - p[t]) / (1 + Math.abs(p[t])));
}
if (!(apart <= 1e-5)) throw new Error(`relaxed vs plain: max relative difference ${apart}`);
console.log(`relaxed ok: plain MR ${plain.MR} (max error ${plain.worst.toExponential(2)}), relaxed MR ${relaxed.MR} (max error ${relaxed.worst.toExponential(2)})` +
  (plain.MR === relaxed.MR ? `, relaxed vs mul+add ${apart.toExponential(2)}` : ''));
