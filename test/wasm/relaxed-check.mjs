// Run by test/wasm/conv2d.test.ts in a child process (with --experimental-wasm-relaxed-simd where Node 20 needs it):
// the relaxed kernel module computes a GEMM within float32 tolerance of the plain one, and
// bitwise the same on every repeat. Reads the committed module bytes (src/wasm/gen/modules.ts).
import { readFileSync } from 'node:fs';

const text = readFileSync(new URL('../../src/wasm/gen/modules.ts', import.meta.url), 'utf8');
function moduleBytes(name) {
  const match = new RegExp(`export const ${name} =\\n((?:  '[^']*'(?: \\+|;)\\n)+)`).exec(text);
  if (!match) throw new Error(`no ${name} module in modules.ts`);
  return Buffer.from([...match[1].matchAll(/'([^']*)'/g)].map((q) => q[1]).join(''), 'base64');
}

function run(name) {
  const memory = new WebAssembly.Memory({ initial: 4 });
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes(name)), { env: { memory } });
  const f = new Float32Array(memory.buffer);
  const i = new Int32Array(memory.buffer);
  const m = 7, n = 19, k = 37;
  let s = 1;
  const random = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  // packed A (2 blocks of 4 rows: 4 biases, then 4 weights per k) at float 16, B at 4096, offsets at 8192, C at 12288
  const a = 64, b = 16384, koff = 32768, c = 49152;
  s = 1;
  for (let blk = 0; blk < 2; blk++) for (let t = 0; t < 4 * (k + 1); t++) f[a / 4 + blk * 4 * (k + 1) + t] = random();
  for (let t = 0; t < k * n; t++) f[b / 4 + t] = random();
  for (let t = 0; t < k; t++) i[koff / 4 + t] = 4 * n * t;
  const results = [];
  for (let repeat = 0; repeat < 3; repeat++) {
    exports.gemm4x8_f32(4, n, k, a, b, koff, c, 4 * n, -Infinity, Infinity);
    exports.gemm4x8_f32(m - 4, n, k, a + 16 * (k + 1), b, koff, c + 4 * 4 * n, 4 * n, -Infinity, Infinity);
    results.push(Float32Array.from(f.subarray(c / 4, c / 4 + m * n)));
  }
  return results;
}

const plain = run('plain');
const relaxed = run('relaxed');
let worst = 0;
for (let t = 0; t < plain[0].length; t++) worst = Math.max(worst, Math.abs(relaxed[0][t] - plain[0][t]) / (1 + Math.abs(plain[0][t])));
if (!(worst <= 1e-5)) throw new Error(`relaxed vs plain: max relative difference ${worst}`);
for (const r of relaxed.slice(1)) if (!r.every((v, t) => Object.is(v, relaxed[0][t]))) throw new Error('relaxed repeats differ');
console.log(`relaxed ok: max relative difference to mul+add ${worst.toExponential(2)}`);
