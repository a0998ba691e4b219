#!/usr/bin/env node
/**
 * The threads dimension: each workload on 1 thread (sepconv's prepared plans, the fastest
 * single-thread path) against the worker pool with 2 threads and with every core, in one process,
 * interleaved so that a noisy machine hits every configuration alike.
 *
 *   node bench/threads.mjs [--filter name[,name…]] [--quick] [--rounds n] [--save] [--threshold]
 *   node bench/threads.mjs --models [--rounds n] [--quick]
 *
 * Pool configurations take ordinary Float32Array inputs and weights, so the copies into shared
 * memory are inside the timing; "shared" rows take tensors already in shared memory
 * (`zeros(shape, { shared: true })`). Chains keep their activations in preallocated shared buffers,
 * as a pooled `forwardAsync` does. `--threshold` instead times 1×1 GEMMs of growing size on 1 and
 * 2 threads with every call split, to locate the work size below which splitting does not pay.
 * `--models` times compiled MobileNetV1 and MobileNetV2 at 224×224 on the wasm tier: `compiled.run`
 * on 1 thread against `compiled.runAsync` on a 2-thread pool (`compile(shape, { pool })`, the whole
 * model scheduled across the threads), interleaved, with the calling thread's own CPU time where
 * Node reports it (`process.threadCpuUsage`, Node ≥ 23.9): on a busy machine the wall-clock ratio
 * understates what a quiet one gives, while 1-thread CPU ÷ 2-thread calling-thread CPU bounds it.
 *
 * Besides wall-clock medians it reports each configuration's CPU time (all threads, from
 * `process.cpuUsage`) relative to one thread: the extra work splitting costs. Wall-clock speed-ups
 * need idle cores; the CPU-time ratio does not, so it stays meaningful on a shared machine.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { convOptions, inputShape, rng, weightShape, WORKLOADS } from './workloads.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.dirname(benchDir);
const distIndex = path.join(rootDir, 'dist', 'index.js');
if (!existsSync(distIndex)) {
  console.error('bench/threads: dist/ is missing; run `npm run build` first');
  process.exit(2);
}
const sep = await import(pathToFileURL(distIndex).href);
// The JS tier's threads (the wasm tier's 2-thread column is in bench/tiers.mjs).
if (typeof sep.setBackend === 'function') await sep.setBackend('js');

function parseArgs(argv) {
  const opts = { filter: null, quick: false, rounds: 7, save: false, threshold: false, models: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--save') opts.save = true;
    else if (arg === '--threshold') opts.threshold = true;
    else if (arg === '--models') opts.models = true;
    else if (arg === '--filter') opts.filter = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (arg === '--rounds') opts.rounds = Number(argv[++i]);
    else {
      console.error(`usage: node bench/threads.mjs [--filter name[,name…]] [--quick] [--rounds n] [--save] [--threshold] [--models]\nunknown argument ${JSON.stringify(arg)}`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) {
    console.error('bench/threads: --rounds needs a positive integer');
    process.exit(2);
  }
  if (opts.quick) opts.rounds = 1;
  return opts;
}
const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
let opts = invokedDirectly ? parseArgs(process.argv.slice(2)) : parseArgs([]);


const size = (shape) => shape.reduce((a, b) => a * b, 1);

function fill(n, next, shared = false) {
  const data = shared ? new Float32Array(new SharedArrayBuffer(n * 4)) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = next() * 2 - 1;
  return data;
}

function sharedOf(data) {
  const copy = new Float32Array(new SharedArrayBuffer(data.byteLength));
  copy.set(data);
  return copy;
}

const median = (xs) => {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const cores = os.availableParallelism();
const macsOf = (layers, weights) =>
  layers.reduce((sum, spec, i) => {
    const g = sep.conv2dGeometry(inputShape(spec), weights[i].shape, convOptions(spec));
    return sum + g.outChannels * g.outHeight * g.outWidth * (g.inChannels / g.groups) * g.kernelH * g.kernelW;
  }, 0);

/** One configuration of a workload: `run()` returns a promise (or nothing) and leaves the final output in `output()`. */
async function prepare(kind, workload, input, weights, pools) {
  const specs = workload.layers;
  const outShapes = specs.map((spec, i) => sep.conv2dGeometry(inputShape(spec), weights[i].shape, convOptions(spec)).outputShape.slice());
  const largest = Math.max(...outShapes.map(size));
  if (kind === '1 thread') {
    const buffers = [new Float32Array(largest), new Float32Array(largest)];
    const outs = outShapes.map((shape, i) => ({ shape, data: buffers[i % 2].subarray(0, size(shape)) }));
    const plans = specs.map((spec, i) => sep.prepareConv2d(weights[i], convOptions(spec)));
    const x0 = { shape: inputShape(specs[0]), data: input };
    return {
      run() {
        let x = x0;
        for (let i = 0; i < plans.length; i++) x = plans[i].run(x, outs[i]);
      },
      output: () => outs[outs.length - 1].data,
    };
  }
  const [threadsLabel, shared] = kind.split(', ');
  const pool = pools.get(threadsLabel);
  let before = pool.stats();
  const buffers = [sep.zeros([largest], { shared: true }).data, sep.zeros([largest], { shared: true }).data];
  const outs = outShapes.map((shape, i) => ({ shape, data: buffers[i % 2].subarray(0, size(shape)) }));
  const x0 = { shape: inputShape(specs[0]), data: shared ? sharedOf(input) : input };
  const w = shared ? weights.map((t) => ({ shape: t.shape, data: sharedOf(t.data) })) : weights;
  return {
    async run() {
      let x = x0;
      for (let i = 0; i < specs.length; i++) x = await pool.conv2d(x, w[i], { ...convOptions(specs[i]), out: outs[i] });
    },
    output: () => outs[outs.length - 1].data,
    /** Share of worker slices the calling thread took over since the last call (a sign of a busy machine). */
    stolenShare() {
      const now = pool.stats();
      const stolen = now.stolenSlices - before.stolenSlices;
      const total = stolen + now.workerSlices - before.workerSlices;
      before = now;
      return total === 0 ? 0 : stolen / total;
    },
  };
}

function sameBits(a, b) {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (ua.length !== ub.length) return false;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

async function timeWorkloads() {
  const pools = new Map([['2 threads', sep.createWorkerPool({ threads: 2 })]]);
  if (cores > 2) pools.set(`${cores} threads`, sep.createWorkerPool({ threads: cores }));
  await Promise.all([...pools.values()].map((p) => p.ready()));
  const kinds = ['1 thread', ...[...pools.keys()].flatMap((k) => [k, `${k}, shared`])];
  const workloads = WORKLOADS.filter((w) => !opts.filter || opts.filter.some((f) => w.name.includes(f)));
  if (workloads.length === 0) throw new Error(`--filter ${opts.filter} matches no workload`);
  console.log(`threads bench: ${cores} logical cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), Node ${process.version}, ${opts.rounds} interleaved rounds`);
  console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (other processes on these cores halve the second thread)`);
  const results = [];
  for (const workload of workloads) {
    const next = rng(1234);
    const input = fill(size(inputShape(workload.layers[0])), next);
    const weights = workload.layers.map((spec) => ({ shape: weightShape(spec), data: fill(size(weightShape(spec)), next) }));
    const macs = macsOf(workload.layers, weights);
    const configs = [];
    for (const kind of kinds) configs.push({ kind, ...(await prepare(kind, workload, input, weights, pools)), samples: [], cpu: [] });
    // Results are checked bit for bit before timing, and the warm-up runs every path.
    for (const c of configs) await c.run();
    const reference = Float32Array.from(configs[0].output());
    for (const c of configs.slice(1)) {
      await c.run();
      if (!sameBits(c.output(), reference)) throw new Error(`${workload.name}: ${c.kind} differs from 1 thread`);
    }
    for (const c of configs) c.stolenShare?.();
    const estimate = performance.now();
    await configs[0].run();
    const oneRun = performance.now() - estimate;
    const perSample = Math.max(1, Math.min(20, Math.round((opts.quick ? 5 : 25) / Math.max(oneRun, 0.01))));
    for (let round = 0; round < opts.rounds; round++) {
      // Rotate the order each round, so drift does not favour whoever runs first.
      for (let k = 0; k < configs.length; k++) {
        const c = configs[(k + round) % configs.length];
        for (let s = 0; s < (opts.quick ? 1 : 3); s++) {
          const cpuStart = process.cpuUsage();
          const start = performance.now();
          for (let r = 0; r < perSample; r++) await c.run();
          c.samples.push((performance.now() - start) / perSample);
          const cpu = process.cpuUsage(cpuStart);
          c.cpu.push((cpu.user + cpu.system) / 1000 / perSample);
        }
      }
    }
    const base = median(configs[0].samples);
    const baseCpu = median(configs[0].cpu);
    const row = { workload: workload.name, macs, configs: {} };
    for (const c of configs) {
      const ms = median(c.samples);
      row.configs[c.kind] = {
        medianMs: +ms.toFixed(3), minMs: +Math.min(...c.samples).toFixed(3), maxMs: +Math.max(...c.samples).toFixed(3),
        gflops: +((2 * macs) / (ms * 1e6)).toFixed(2), speedup: +(base / ms).toFixed(2), samples: c.samples.length,
        // CPU time of all threads: what splitting costs in extra work, whatever else runs on the machine.
        cpuMs: +median(c.cpu).toFixed(3), cpuRatio: +(median(c.cpu) / baseCpu).toFixed(3),
      };
      if (c.stolenShare) row.configs[c.kind].stolenShare = +c.stolenShare().toFixed(3);
    }
    results.push(row);
    const cells = configs.map((c) => {
      const r = row.configs[c.kind];
      const stolen = r.stolenShare === undefined ? '' : `, ${(100 * r.stolenShare).toFixed(0)}% stolen`;
      return `${c.kind}: ${r.medianMs.toFixed(2)} ms (${r.speedup.toFixed(2)}×${stolen}; cpu ${r.cpuRatio.toFixed(2)}×)`;
    });
    console.log(`${workload.name.padEnd(14)} ${cells.join(' | ')}`);
  }
  await Promise.all([...pools.values()].map((p) => p.dispose()));
  return { kinds, results };
}

function markdown({ kinds, results }) {
  const head = `| workload (JS tier) | MACs | ${kinds.map((k) => `${k}: ms (speed-up, CPU time ×)`).join(' | ')} |`;
  const rule = `|---|---:|${kinds.map(() => '---:').join('|')}|`;
  const cell = (c) => `${c.medianMs.toFixed(2)} (${c.speedup.toFixed(2)}×, ${c.cpuRatio.toFixed(2)})`;
  const rows = results.map((r) => `| ${r.workload} | ${(r.macs / 1e6).toFixed(1)}M | ${kinds.map((k) => cell(r.configs[k])).join(' | ')} |`);
  return [head, rule, ...rows].join('\n');
}

/** 1×1 GEMMs of growing size, split on 2 threads whatever their size: where does it start to pay? */
async function threshold() {
  const pool = sep.createWorkerPool({ threads: 2, minSliceMacs: 0 });
  await pool.ready();
  console.log('channels × pixels   MACs     1 thread ms   2 threads ms   speedup');
  for (const [channels, pixels] of [[16, 49], [32, 49], [32, 196], [64, 196], [64, 392], [128, 196], [64, 784], [128, 784], [256, 784]]) {
    const next = rng(7);
    const x = { shape: [1, channels, 1, pixels], data: fill(channels * pixels, next, true) };
    const w = { shape: [channels, channels, 1, 1], data: fill(channels * channels, next, true) };
    const out = sep.zeros([1, channels, 1, pixels], { shared: true });
    const plan = sep.prepareConv2d(w);
    const one = [];
    const two = [];
    const reps = Math.max(5, Math.round(2e7 / (channels * channels * pixels)));
    for (let round = 0; round < 15; round++) {
      let start = performance.now();
      for (let r = 0; r < reps; r++) plan.run(x, out);
      one.push((performance.now() - start) / reps);
      start = performance.now();
      for (let r = 0; r < reps; r++) await pool.conv2d(x, w, { out });
      two.push((performance.now() - start) / reps);
    }
    const macs = channels * channels * pixels;
    const a = median(one);
    const b = median(two);
    console.log(`${`${channels} × ${pixels}`.padEnd(18)}${(macs / 1e6).toFixed(2).padStart(6)}M ${a.toFixed(4).padStart(12)} ${b.toFixed(4).padStart(14)} ${(a / b).toFixed(2).padStart(9)}×`);
  }
  await pool.dispose();
}

/** The calling thread's CPU time in ms (Node ≥ 23.9), or null. */
function threadCpuMs() {
  if (typeof process.threadCpuUsage !== 'function') return null;
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Compiled MobileNetV1 and MobileNetV2 at 224×224 (wasm tier, BatchNorm folded as compile does by
 * default): 1 thread (`compiled.run`) against 2 threads (`compiled.runAsync` on a pool),
 * interleaved; checks the two agree bit for bit first. Resolves to the rows and a markdown table.
 */
export async function runCompiledModelsBench(options = {}) {
  const rounds = options.quick ? 3 : (options.rounds ?? 15);
  // The wasm tier's variant, as the process's default would pick it (this file sets 'js' for its other table).
  const previous = sep.getBackend();
  await sep.setBackend('wasm');
  const info = sep.backendInfo();
  await sep.setBackend(previous);
  const pool = sep.createWorkerPool({ threads: 2, backend: 'wasm' });
  await pool.ready();
  const ROUND_MS = 400;
  const shape = [1, 3, 224, 224];
  const next = rng(99);
  const x = { shape, data: fill(3 * 224 * 224, next) };
  console.log(`compiled models: Node ${process.version}, wasm ${info.wasmVariant ?? 'unavailable'}, ${cores} logical cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), ${rounds} interleaved rounds of ${opts.quick ? "one call" : "≥ 400 ms"} per configuration; medians over every call`);
  console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (other processes on these cores halve the second thread)`);
  const rows = [];
  for (const [name, build] of [['MobileNetV1', () => sep.mobilenetV1({ seed: 1 })], ['MobileNetV2', () => sep.mobilenetV2({ seed: 1 })]]) {
    const model = build().eval();
    const one = model.compile(shape, { backend: 'wasm' });
    const two = model.compile(shape, { backend: 'wasm', pool });
    const reference = Float32Array.from(one.run(x).data);
    for (let i = 0; i < 3; i++) {
      const y = await two.runAsync(x);
      if (!sameBits(y.data, reference)) throw new Error(`${name}: runAsync on 2 threads differs from run`);
    }
    const t = { one: [], two: [], oneCpu: [], twoCpu: [], oneAllCpu: [], twoAllCpu: [] };
    // Each round runs each configuration for ROUND_MS (at least one call), alternating which goes
    // first: many calls per median, and a slow spell of the machine hits both alike.
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ['one', 'two'] : ['two', 'one'];
      for (const which of order) {
        const until = performance.now() + (opts.quick ? 0 : ROUND_MS);
        do {
          const cpu0 = threadCpuMs();
          const all0 = process.cpuUsage();
          const start = performance.now();
          if (which === 'one') one.run(x);
          else await two.runAsync(x);
          t[which].push(performance.now() - start);
          if (cpu0 !== null) t[`${which}Cpu`].push(threadCpuMs() - cpu0);
          const all = process.cpuUsage(all0);
          t[`${which}AllCpu`].push((all.user + all.system) / 1000);
        } while (performance.now() < until);
      }
    }
    const row = {
      model: name,
      oneMs: +median(t.one).toFixed(2), twoMs: +median(t.two).toFixed(2), ratio: +(median(t.one) / median(t.two)).toFixed(2),
      oneMinMs: +Math.min(...t.one).toFixed(2), twoMinMs: +Math.min(...t.two).toFixed(2),
      oneCpuMs: t.oneCpu.length ? +median(t.oneCpu).toFixed(2) : null,
      twoCallerCpuMs: t.twoCpu.length ? +median(t.twoCpu).toFixed(2) : null,
      oneAllCpuMs: +median(t.oneAllCpu).toFixed(2), twoAllCpuMs: +median(t.twoAllCpu).toFixed(2),
    };
    row.cpuBound = row.oneCpuMs === null ? null : +(row.oneCpuMs / row.twoCallerCpuMs).toFixed(2);
    rows.push(row);
    console.log(`${name}: 1 thread ${row.oneMs} ms, 2 threads ${row.twoMs} ms: ${row.ratio}× (min ${row.oneMinMs} / ${row.twoMinMs}); `
      + `CPU 1 thread ${row.oneCpuMs ?? '?'} ms, 2 threads: calling thread ${row.twoCallerCpuMs ?? '?'} ms, all threads ${row.twoAllCpuMs} ms against ${row.oneAllCpuMs} (1-thread CPU ÷ calling-thread CPU ${row.cpuBound ?? '?'}×)`);
    one.dispose();
    two.dispose();
  }
  await pool.dispose();
  const md = [
    `| compiled, 224×224, wasm ${info.wasmVariant} (Node ${process.version}) | 1 thread ms | 2 threads ms | ratio | CPU: 1 thread ÷ 2-thread calling thread |`,
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.model} | ${r.oneMs} | ${r.twoMs} | ${r.ratio}× | ${r.cpuBound ?? 'n/a'}× |`),
  ].join('\n');
  return { rows, markdown: md, loadavg: os.loadavg() };
}

/**
 * Runs the threads table (for `bench/run.mjs` to call): `options` as the command-line flags.
 * Resolves to `{ kinds, results, markdown }`; writes bench/results/threads.{json,md} when `save`.
 */
export async function runThreadsBench(options = {}) {
  opts = { ...parseArgs([]), ...options };
  if (opts.quick) opts.rounds = 1;
  const table = await timeWorkloads();
  const md = markdown(table);
  if (opts.save) {
    const dir = path.join(benchDir, 'results');
    mkdirSync(dir, { recursive: true });
    const meta = { date: new Date().toISOString(), node: process.version, cores, loadavg: os.loadavg(), rounds: opts.rounds };
    writeFileSync(path.join(dir, 'threads.json'), `${JSON.stringify({ ...meta, ...table }, null, 2)}\n`);
    writeFileSync(path.join(dir, 'threads.md'), `${md}\n`);
    console.log('wrote bench/results/threads.json and threads.md');
  }
  return { ...table, markdown: md };
}

if (invokedDirectly) {
  if (opts.models) {
    const { markdown: md } = await runCompiledModelsBench(opts);
    console.log(`\n${md}`);
  } else if (opts.threshold) {
    await threshold();
  } else {
    const { markdown: md } = await runThreadsBench({ ...opts, save: opts.save || (!opts.filter && !opts.quick) });
    console.log(`\n${md}`);
  }
}
