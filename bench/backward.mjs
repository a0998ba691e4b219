#!/usr/bin/env node
/**
 * The backward table: for every distinct convolution of MobileNetV1 (bench/workloads.mjs), the
 * time of conv2dBackward's gradInput + gradWeight (preallocated outputs, no bias gradient) beside
 * the time of the same layer's forward (conv2d with `out`), interleaved in one process, and
 * beside TensorFlow.js cpu's gradient kernels for the same convolution (what `tf.grads` of
 * conv2d / depthwiseConv2d runs; bench/peers/tfjs.mjs), which are slow enough that they are
 * timed over few calls.
 *
 *   node bench/backward.mjs [--quick] [--no-peers] [--rounds n] [--tfjs-calls n] [--filter name[,name…]] [--save]
 *
 * FLOPs of a backward = gradInput + gradWeight, each 2·MACs of the forward, so backward GFLOP/s
 * = 4·MACs / time. Targets (issue 12): the backward within 2.5× of sepconv's forward on every
 * layer, and ≥ 50× faster than TensorFlow.js cpu's gradients. They are printed beside the
 * figures, never adjusted to fit them.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { convOptions, inputShape, mobilenetV1Layers, rng, weightShape } from './workloads.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const distIndex = path.join(path.dirname(benchDir), 'dist', 'index.js');

const TARGET_RATIO = 2.5;
const TARGET_SPEEDUP = 50;

function parseArgs(argv) {
  const opts = { quick: false, peers: true, rounds: 9, tfjsCalls: 1, filter: null, save: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--no-peers') opts.peers = false;
    else if (arg === '--save') opts.save = true;
    else if (arg === '--rounds') opts.rounds = Number(argv[++i]);
    else if (arg === '--tfjs-calls') opts.tfjsCalls = Number(argv[++i]);
    else if (arg === '--filter') opts.filter = (argv[++i] ?? '').split(',').filter(Boolean);
    else {
      console.error(`usage: node bench/backward.mjs [--quick] [--no-peers] [--rounds n] [--tfjs-calls n] [--filter name[,name…]] [--save]\nunknown argument ${JSON.stringify(arg)}`);
      process.exit(2);
    }
  }
  for (const key of ['rounds', 'tfjsCalls']) {
    if (!Number.isInteger(opts[key]) || opts[key] < 1) {
      console.error(`bench/backward: --${key === 'rounds' ? 'rounds' : 'tfjs-calls'} needs a positive integer`);
      process.exit(2);
    }
  }
  if (opts.quick) opts.rounds = 2;
  return opts;
}

/** MobileNetV1's distinct convolutions, each with the names of the layers that share its shape. */
export function distinctLayers() {
  const byShape = new Map();
  for (const spec of mobilenetV1Layers()) {
    const key = `${spec.inChannels}/${spec.height}/${spec.outChannels}/${spec.kernel}/${spec.stride}/${spec.groups}`;
    const entry = byShape.get(key);
    if (entry) entry.names.push(spec.name);
    else byShape.set(key, { spec, names: [spec.name] });
  }
  return [...byShape.values()];
}

const size = (shape) => shape.reduce((a, b) => a * b, 1);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
function uniform(n, next) {
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = next() * 2 - 1;
  return data;
}
const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

/** Times forward and backward of one layer, alternating calls so load changes hit both alike. */
function timeLayer(sep, spec, rounds, next) {
  const xShape = inputShape(spec);
  const wShape = weightShape(spec);
  const options = convOptions(spec);
  const x = { shape: xShape, data: uniform(size(xShape), next) };
  const w = { shape: wShape, data: uniform(size(wShape), next) };
  const g = sep.conv2dGeometry(xShape, wShape, options);
  const y = { shape: g.outputShape.slice(), data: new Float32Array(size(g.outputShape)) };
  const dy = { shape: g.outputShape.slice(), data: uniform(size(g.outputShape), next) };
  const gradInputOut = { shape: xShape, data: new Float32Array(size(xShape)) };
  const gradWeightOut = { shape: wShape, data: new Float32Array(size(wShape)) };
  const backwardOptions = { ...options, needs: { bias: false }, gradInputOut, gradWeightOut };
  const forward = () => sep.conv2d(x, w, { ...options, out: y });
  const forwardJs = () => sep.conv2d(x, w, { ...options, out: y, backend: 'js' });
  const backward = () => sep.conv2dBackward(dy, x, w, backwardOptions);
  const macs = g.outChannels * g.outHeight * g.outWidth * (g.inChannels / g.groups) * g.kernelH * g.kernelW;
  // Enough calls per sample that each lasts ≥ ~2 ms, and a warm-up of the same length.
  const probe = performance.now();
  forward();
  forwardJs();
  backward();
  const once = Math.max(0.01, performance.now() - probe);
  const calls = Math.max(1, Math.min(50, Math.round((rounds === 1 ? 2 : 6) / once)));
  for (let i = 0; i < calls; i++) {
    forward();
    forwardJs();
    backward();
  }
  const fwd = [];
  const fwdJs = [];
  const bwd = [];
  const fwdCpu = [];
  const bwdCpu = [];
  // wall time per call, and the process CPU time (one thread: far less disturbed by other load)
  const sample = (run, into, cpuInto) => {
    const c = process.cpuUsage();
    const t = performance.now();
    for (let i = 0; i < calls; i++) run();
    into.push((performance.now() - t) / calls);
    const used = process.cpuUsage(c);
    cpuInto?.push((used.user + used.system) / 1000 / calls);
  };
  for (let r = 0; r < rounds; r++) {
    sample(forward, fwd, fwdCpu);
    sample(forwardJs, fwdJs);
    sample(backward, bwd, bwdCpu);
  }
  const path = sep.selectBackwardPath(g);
  return { x, w, dy, macs, path, forwardMs: median(fwd), forwardJsMs: median(fwdJs), backwardMs: median(bwd), forwardCpuMs: median(fwdCpu), backwardCpuMs: median(bwdCpu) };
}

/**
 * Runs the table (for bench/run.mjs to call too). Resolves to `{ rows, total, markdown }`;
 * writes bench/results/backward.{json,md} when `save`.
 */
export async function runBackwardBench(options = {}) {
  const opts = { ...parseArgs([]), ...options };
  if (opts.quick) opts.rounds = 1;
  if (!existsSync(distIndex)) throw new Error('bench/backward: dist/ is missing; run `npm run build` first');
  const sep = await import(pathToFileURL(distIndex).href);
  // The default tier and variant as a user gets them (bench/run.mjs leaves the JS tier selected
  // after its own table).
  await sep.setBackend('auto');
  let tfjs = null;
  if (opts.peers) {
    tfjs = await import('./peers/tfjs.mjs');
    // Warm tfjs's kernels once on a small shape so the timed calls are not its first.
    const warm = { name: 'warm', inChannels: 4, height: 8, width: 8, outChannels: 4, kernel: 3, stride: 1, pad: 1, groups: 4 };
    for (const groups of [1, 4]) {
      const spec = { ...warm, groups, kernel: groups === 1 ? 1 : 3, pad: groups === 1 ? 0 : 1 };
      const grads = await tfjs.createTfjsGradients(spec, new Float32Array(256), new Float32Array(size(weightShape(spec))), new Float32Array(256));
      grads.run();
      grads.dispose();
    }
  }
  const next = rng(12);
  const rows = [];
  for (const { spec, names } of distinctLayers()) {
    if (opts.filter && !names.some((n) => opts.filter.some((f) => n.includes(f)))) continue;
    const row = timeLayer(sep, spec, opts.rounds, next);
    let tfjsMs = null;
    if (tfjs) {
      const grads = await tfjs.createTfjsGradients(spec, row.x.data, row.w.data, row.dy.data);
      const times = [];
      for (let i = 0; i < opts.tfjsCalls; i++) {
        const t = performance.now();
        grads.run();
        times.push(performance.now() - t);
      }
      grads.dispose();
      tfjsMs = median(times);
    }
    const g = spec.groups === 1 ? '' : ` g${spec.groups}`;
    const entry = {
      layers: names,
      shape: `${spec.inChannels}×${spec.height}×${spec.width}→${spec.outChannels} k${spec.kernel} s${spec.stride}${g}`,
      path: row.path,
      macs: row.macs,
      forwardMs: row.forwardMs,
      forwardJsMs: row.forwardJsMs,
      backwardMs: row.backwardMs,
      backwardGflops: (4 * row.macs) / (row.backwardMs * 1e6),
      ratio: row.backwardMs / row.forwardMs,
      forwardCpuMs: row.forwardCpuMs,
      backwardCpuMs: row.backwardCpuMs,
      ratioCpu: row.backwardCpuMs / row.forwardCpuMs,
      ratioJs: row.backwardMs / row.forwardJsMs,
      tfjsMs,
      speedup: tfjsMs === null ? null : tfjsMs / row.backwardMs,
    };
    rows.push(entry);
    console.log(`  ${names[0]}${names.length > 1 ? ` (×${names.length})` : ''} ${entry.shape} [${entry.path}]: forward ${fmt(entry.forwardMs)} ms (JS tier ${fmt(entry.forwardJsMs)}), backward ${fmt(entry.backwardMs)} ms = ${entry.backwardGflops.toFixed(2)} GFLOP/s, ${entry.ratio.toFixed(2)}× forward` +
      (tfjsMs === null ? '' : `; tfjs-cpu ${fmt(tfjsMs)} ms (${entry.speedup.toFixed(0)}× slower)`));
  }
  // The whole network: every layer counted as often as it occurs.
  const sum = (key) => rows.reduce((s, r) => s + (r[key] ?? 0) * r.layers.length, 0);
  const total = {
    forwardMs: sum('forwardMs'),
    forwardJsMs: sum('forwardJsMs'),
    backwardMs: sum('backwardMs'),
    forwardCpuMs: sum('forwardCpuMs'),
    backwardCpuMs: sum('backwardCpuMs'),
    macs: sum('macs'),
    tfjsMs: opts.peers ? sum('tfjsMs') : null,
  };
  const info = sep.backendInfo();
  const tier = info.backend === 'wasm' ? `wasm ${info.wasmVariant}` : info.backend;
  const markdown = markdownTable(rows, total, opts, tier);
  if (opts.save) {
    const dir = path.join(benchDir, 'results');
    mkdirSync(dir, { recursive: true });
    const meta = { tier, date: new Date().toISOString(), node: process.version, v8: process.versions.v8, cpu: os.cpus()[0]?.model, loadavg: os.loadavg(), rounds: opts.rounds, tfjsCalls: opts.tfjsCalls };
    writeFileSync(path.join(dir, 'backward.json'), `${JSON.stringify({ ...meta, rows, total }, null, 2)}\n`);
    writeFileSync(path.join(dir, 'backward.md'), `${markdown}\n`);
    console.log('wrote bench/results/backward.json and backward.md');
  }
  return { rows, total, markdown };
}

function markdownTable(rows, total, opts, tier) {
  const peers = opts.peers;
  const head = ['layer', 'shape', 'path', `forward ms (${tier})`, 'forward ms (js)', 'backward ms', 'backward GFLOP/s', `backward / forward (≤ ${TARGET_RATIO})`, 'by CPU time', 'backward / js forward'];
  if (peers) head.push('tfjs-cpu grads ms', `sepconv speed-up (≥ ${TARGET_SPEEDUP}×)`);
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cells = [
      r.layers.length > 1 ? `${r.layers[0]} (×${r.layers.length})` : r.layers[0], r.shape, r.path, fmt(r.forwardMs), fmt(r.forwardJsMs), fmt(r.backwardMs),
      r.backwardGflops.toFixed(2), `${r.ratio.toFixed(2)} ${r.ratio <= TARGET_RATIO ? '✓' : '✗'}`, `${r.ratioCpu.toFixed(2)} ${r.ratioCpu <= TARGET_RATIO ? '✓' : '✗'}`, r.ratioJs.toFixed(2),
    ];
    if (peers) cells.push(fmt(r.tfjsMs), `${r.speedup.toFixed(0)}× ${r.speedup >= TARGET_SPEEDUP ? '✓' : '✗'}`);
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const totalCells = [opts.filter ? 'listed layers' : 'all 27', 'MobileNetV1 224×224', '', fmt(total.forwardMs), fmt(total.forwardJsMs), fmt(total.backwardMs),
    ((4 * total.macs) / (total.backwardMs * 1e6)).toFixed(2), (total.backwardMs / total.forwardMs).toFixed(2), (total.backwardCpuMs / total.forwardCpuMs).toFixed(2), (total.backwardMs / total.forwardJsMs).toFixed(2)];
  if (peers) totalCells.push(fmt(total.tfjsMs), `${(total.tfjsMs / total.backwardMs).toFixed(0)}×`);
  lines.push(`| ${totalCells.join(' | ')} |`);
  lines.push('');
  lines.push(`Node ${process.versions.node}. Batch 1, one thread, median of ${opts.rounds} interleaved rounds (forward on the default tier (${tier}), forward on the JS tier and backward alternate); ` +
    `the backward runs on the ${tier} tier every gradient with a wasm kernel (ops/tiers.ts) and the rest in JS; backward = gradInput + gradWeight ` +
    `into preallocated outputs, FLOPs 4·MACs; "by CPU time" = the ratio of the medians of process CPU time per call (one thread), far less disturbed by other load than wall time; tfjs-cpu = TensorFlow.js cpu's two gradient kernels, median of ${opts.tfjsCalls} call(s) after a warm-up on a small shape. ` +
    `1-min load average ${os.loadavg()[0].toFixed(1)} at the end.`);
  return lines.join('\n');
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const opts = parseArgs(process.argv.slice(2));
  const { markdown } = await runBackwardBench({ ...opts, save: opts.save || (!opts.filter && !opts.quick && opts.peers) });
  console.log(`\n${markdown}`);
}
