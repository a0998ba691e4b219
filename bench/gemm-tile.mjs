#!/usr/bin/env node
/**
 * A/B of the wasm GEMM register tile: the same conv paths (1×1 and the implicit-GEMM general
 * path) on kernel modules that differ only in the tile's rows (MR), built from the kernel
 * families at run time (buildKernelModule's gemmRows option), each in its own runtime. Outputs
 * are checked bitwise equal across tiles (each value is bias + Σ_k in k order whatever the tile),
 * then timed interleaved: rounds rotate the order, medians of process CPU time per call (wall
 * time on a shared machine mostly measures the other processes), ratios against the first tile.
 *
 *   npm run build && node bench/gemm-tile.mjs [--relaxed] [--rows 4,6] [--rounds n] [--filter name]
 * Node 20 needs `node --experimental-wasm-relaxed-simd` for --relaxed. For stable figures on a
 * shared machine, add --no-liftoff (every function compiled by the optimizing tier up front).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rng } from './workloads.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = (file) => pathToFileURL(path.join(root, 'dist', file)).href;
if (!existsSync(path.join(root, 'dist', 'wasm', 'module.js'))) throw new Error('bench/gemm-tile: run `npm run build` first');
const { buildKernelModule } = await import(dist('wasm/emit/module.js'));
const { WasmRuntime } = await import(dist('wasm/runtime.js'));
const { pointwisePath } = await import(dist('wasm/pointwise.js'));
const { groupedPath } = await import(dist('wasm/grouped.js'));
const { conv2dGeometry } = await import(dist('geometry.js'));

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args[i + 1];
};
const relaxed = args.includes('--relaxed');
const rowsList = arg('--rows', '4,6').split(',').map(Number);
const rounds = Number(arg('--rounds', '15'));
const filter = arg('--filter', null);

// [name, Cin, H, Cout, k, stride, pad]: MobileNetV1/V2 1×1 layers (the high-resolution few-channel
// ones first) and two dense 3×3 convolutions (the implicit-GEMM path).
const LAYERS = [
  ['v2 expand 112 16→96', 16, 112, 96, 1, 1, 0],
  ['v1 pw 112 32→64', 32, 112, 64, 1, 1, 0],
  ['v2 project 112 32→16', 32, 112, 16, 1, 1, 0],
  ['v2 project 56 96→24', 96, 56, 24, 1, 1, 0],
  ['v2 expand 56 24→144', 24, 56, 144, 1, 1, 0],
  ['v1 pw 56 128→128', 128, 56, 128, 1, 1, 0],
  ['v2 expand 28 32→192', 32, 28, 192, 1, 1, 0],
  ['v1 pw 14 512→512', 512, 14, 512, 1, 1, 0],
  ['v2 expand 7 160→960', 160, 7, 960, 1, 1, 0],
  ['v2 last 7 320→1280', 320, 7, 1280, 1, 1, 0],
  ['v1 pw 7 1024→1024', 1024, 7, 1024, 1, 1, 0],
  ['conv3x3 first 224 s2', 3, 224, 32, 3, 2, 1],
  ['conv3x3 mid 56', 64, 56, 64, 3, 1, 1],
];

const variant = { relaxed, shared: false };
const runtimes = rowsList.map((rows) => {
  const { bytes } = buildKernelModule(variant, { gemmRows: rows });
  return { rows, rt: WasmRuntime.instantiate(new WebAssembly.Module(bytes), variant) };
});
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1];
};

console.log(`GEMM tile A/B · Node ${process.versions.node} · ${relaxed ? 'relaxed' : 'plain'} variant · MR ${rowsList.join(' vs ')} · ${rounds} interleaved rounds, medians`);
for (const [name, cin, size, cout, k, stride, pad] of LAYERS) {
  if (filter && !name.includes(filter)) continue;
  const next = rng(cin * 7 + cout);
  const x = Float32Array.from({ length: cin * size * size }, () => next() * 2 - 1);
  const w = Float32Array.from({ length: cout * cin * k * k }, () => (next() * 2 - 1) / Math.sqrt(cin * k * k));
  const bias = Float32Array.from({ length: cout }, () => next() - 0.5);
  const g = conv2dGeometry([1, cin, size, size], [cout, cin, k, k], { stride, padding: pad });
  const path = k === 1 && stride === 1 ? pointwisePath : groupedPath;
  const setups = runtimes.map(({ rows, rt }) => {
    const weights = rt.arena.alloc(path.weightBytes(g, rt));
    const input = rt.arena.alloc(4 * x.length);
    const output = rt.arena.alloc(4 * cout * g.outHeight * g.outWidth);
    const scratch = rt.arena.alloc(path.scratchBytes(g));
    path.packWeights(rt, g, w, bias, weights);
    rt.view(input, x.length).set(x);
    const run = () => path.run(rt, g, 0, weights, input, output, scratch, 0, cout, 0, 1);
    return { rows, rt, run, output: () => Float32Array.from(rt.view(output, cout * g.outHeight * g.outWidth)) };
  });
  for (const s of setups) s.run();
  const ref = setups[0].output();
  for (const s of setups.slice(1)) {
    const out = s.output();
    if (!out.every((v, i) => Object.is(v, ref[i]))) throw new Error(`${name}: MR ${s.rows} differs from MR ${setups[0].rows}`);
  }
  const macs = cout * g.outHeight * g.outWidth * cin * k * k;
  const reps = Math.max(1, Math.round(2e7 / macs));
  for (const s of setups) for (let r = 0; r < 3 * reps; r++) s.run();
  const times = setups.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < setups.length; i++) {
      const j = (i + round) % setups.length;
      // process CPU time, far less disturbed than wall time by other processes on the cores
      const t0 = process.cpuUsage();
      for (let r = 0; r < reps; r++) setups[j].run();
      const used = process.cpuUsage(t0);
      times[j].push((used.user + used.system) / 1000 / reps);
    }
  }
  const base = median(times[0]);
  console.log(`${name.padEnd(22)} ` + setups.map((s, i) => {
    const t = median(times[i]);
    return `MR ${s.rows}: ${t.toFixed(3)} ms ${((2 * macs) / (t * 1e6)).toFixed(1)} GFLOP/s (${(base / t).toFixed(2)}×)`;
  }).join(' · '));
}
