#!/usr/bin/env node
/**
 * `npm run bench`: sepconv against its own reference path and TensorFlow.js (cpu and wasm
 * backends), all in this one process, on the workloads of `workloads.mjs`.
 *
 *   node bench/run.mjs [--filter name[,name…]] [--quick] [--no-peers] [--rounds n] [--save]
 *
 * For each workload every engine gets the same seeded data in its own layout; outputs are checked
 * against sepconv's before anything is timed, and a mismatch aborts the run. Timing uses
 * tinybench in several rounds; within a round the engines run one after another in a rotating
 * order, so slow drift of a noisy machine hits every engine alike. Statistics pool the samples of
 * all rounds. A full run writes `bench/results/latest.json` and `latest.md`; partial runs
 * (--filter, --quick, --no-peers, --rounds) write nothing unless given --save.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { createReferenceEngine, createSepconvEngine } from './sepconv-engines.mjs';
import { convOptions, inputShape, rng, weightShape, WORKLOADS } from './workloads.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.dirname(benchDir);

// ---------------------------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const opts = { filter: null, quick: false, peers: true, threads: true, backward: true, tiers: true, train: true, models: true, onnx: true, save: false, rounds: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--no-peers') opts.peers = false;
    else if (arg === '--no-threads') opts.threads = false;
    else if (arg === '--no-backward') opts.backward = false;
    else if (arg === '--no-tiers') opts.tiers = false;
    else if (arg === '--no-train') opts.train = false;
    else if (arg === '--no-models') opts.models = false;
    else if (arg === '--no-onnx') opts.onnx = false;
    else if (arg === '--save') opts.save = true;
    else if (arg === '--filter' || arg.startsWith('--filter=')) {
      const value = arg === '--filter' ? argv[++i] : arg.slice('--filter='.length);
      if (!value) usage('--filter needs a workload name (or several, comma-separated)');
      opts.filter = value.split(',').map((s) => s.trim()).filter(Boolean);
    } else if (arg === '--rounds' || arg.startsWith('--rounds=')) {
      const value = Number(arg === '--rounds' ? argv[++i] : arg.slice('--rounds='.length));
      if (!Number.isInteger(value) || value < 1) usage('--rounds needs a positive integer');
      opts.rounds = value;
    } else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown argument ${JSON.stringify(arg)}`);
  }
  return opts;
}

function usage(problem) {
  const text = `usage: node bench/run.mjs [--filter name[,name…]] [--quick] [--no-peers] [--no-threads] [--no-backward] [--no-tiers] [--no-train] [--no-models] [--rounds n] [--save]
  --filter   only workloads whose name contains one of the given strings
             (${WORKLOADS.map((w) => w.name).join(', ')})
  --quick    the whole run in about a minute: one short round per engine, no TensorFlow.js cpu
             and no timed reference path, MobileNetV2 only in the models table; a smoke test, not figures
  --no-peers sepconv (and its reference path) only, without TensorFlow.js
  --no-threads skip the threads table (1 thread vs the worker pool with 2 threads and all cores)
  --no-backward skip the backward table (conv2dBackward vs forward and vs TensorFlow.js cpu's gradients, bench/backward.mjs)
  --no-tiers skip the tiers table (wasm and JS tiers beside TensorFlow.js cpu and wasm, bench/tiers.mjs)
  --no-train skip the training table (a MobileNetV1 training step vs TensorFlow.js cpu's, bench/train.mjs)
  --no-models skip the models table (the compiled zoo at 224x224 on both tiers, MobileNetV2 beside TensorFlow.js, bench/models.mjs)
  --no-onnx  skip the ONNX table (the same .onnx files in sepconv and onnxruntime-web, bench/onnx.mjs)
  --rounds   interleaved timing rounds per workload (default 5, 1 with --quick)
  --save     write bench/results/latest.{json,md} even for a partial run`;
  if (problem) {
    console.error(`bench: ${problem}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

const opts = parseArgs(process.argv.slice(2));
/** Rounds per workload, and per engine in each round: tinybench's time budget (ms) and minimum samples. */
const TIMING = opts.quick
  ? { rounds: opts.rounds ?? 1, time: 20, iterations: 1, warmupMs: 5 }
  : { rounds: opts.rounds ?? 5, time: 250, iterations: 1, warmupMs: 250 };

const log = (line) => process.stderr.write(`${line}\n`);
const startedAt = performance.now();
const elapsed = () => `${((performance.now() - startedAt) / 1000).toFixed(1).padStart(5)}s`;

// ---------------------------------------------------------------------------------------------
// Data


function uniform(size, scale, next) {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}

/**
 * Input in [−1, 1]; weights U(−√(3/fan_in), +√(3/fan_in)), which keeps the activations' variance
 * about constant along a chain, so the MobileNetV1 output after 27 layers is neither tiny nor huge.
 */
function makeData(workload, seed) {
  const next = rng(seed);
  const first = workload.layers[0];
  const input = uniform(first.inChannels * first.height * first.width, 1, next);
  const weights = workload.layers.map((spec) => {
    const shape = weightShape(spec);
    const fanIn = shape[1] * shape[2] * shape[3];
    return { shape, data: uniform(shape.reduce((a, b) => a * b, 1), Math.sqrt(3 / fanIn), next) };
  });
  return { input, weights };
}

// ---------------------------------------------------------------------------------------------
// Checks

class BenchError extends Error {}

/**
 * Max over elements of |y − ref| / (|ref| + rms(ref)): relative where values are large, and
 * measured against the output's typical size where they are near zero.
 */
function compare(y, ref) {
  if (y.length !== ref.length) return { ok: false, worst: Infinity, index: -1, detail: `length ${y.length} vs ${ref.length}` };
  let sumSq = 0;
  for (let i = 0; i < ref.length; i++) sumSq += ref[i] * ref[i];
  const rms = Math.sqrt(sumSq / ref.length) || 1;
  let worst = 0;
  let index = -1;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(y[i] - ref[i]) / (Math.abs(ref[i]) + rms);
    if (!(err <= worst)) { worst = err; index = i; }
    if (Number.isNaN(err)) break;
  }
  return { worst, index, detail: index >= 0 ? `at index ${index}: ${y[index]} vs ${ref[index]}` : '' };
}

function check(workload, engineName, y, ref, refName, tolerance) {
  const r = compare(y, ref);
  if (!(r.worst <= tolerance)) {
    throw new BenchError(`${workload.name}: ${engineName} output differs from ${refName}: ` +
      `max relative error ${r.worst.toExponential(2)} > ${tolerance} ${r.detail}`);
  }
  return r.worst;
}

// ---------------------------------------------------------------------------------------------
// Cost

/**
 * MACs of every layer from the built package's geometry (`conv2dCost` of the analysis module
 * when the build has it, cross-checked against the geometry), verifying that each layer of a
 * chain takes the previous layer's output shape.
 */
function workloadCost(sep, workload) {
  let macs = 0;
  let prevOut = null;
  const fromAnalysis = typeof sep.conv2dCost === 'function';
  for (const spec of workload.layers) {
    const inShape = inputShape(spec);
    if (prevOut !== null && prevOut.join() !== inShape.join()) {
      throw new BenchError(`${workload.name}: layer ${spec.name} expects input [${inShape}] but the previous layer gives [${prevOut}]`);
    }
    const g = sep.conv2dGeometry(inShape, weightShape(spec), convOptions(spec));
    const layerMacs = g.batch * g.outChannels * g.outHeight * g.outWidth * (g.inChannels / g.groups) * g.kernelH * g.kernelW;
    if (fromAnalysis) {
      const cost = sep.conv2dCost({
        inputShape: inShape, outChannels: spec.outChannels, kernelSize: spec.kernel, bias: false, ...convOptions(spec),
      });
      if (cost.macs !== layerMacs || cost.flops !== 2 * layerMacs) {
        throw new BenchError(`${workload.name}/${spec.name}: conv2dCost says ${cost.macs} MACs, the geometry gives ${layerMacs}`);
      }
    }
    macs += layerMacs;
    prevOut = g.outputShape;
  }
  if (workload.expectedMacs !== undefined && macs !== workload.expectedMacs) {
    throw new BenchError(`${workload.name}: ${macs} MACs, expected ${workload.expectedMacs}`);
  }
  return { macs, source: fromAnalysis ? 'conv2dCost' : 'conv2dGeometry', outputShape: prevOut };
}

// ---------------------------------------------------------------------------------------------
// Timing

function median(sorted) {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/** Calls `run` until `ms` have passed (and at least the minimum sample count), so every engine starts the timing warm. */
function warm(run, ms) {
  const start = performance.now();
  let calls = 0;
  while (calls < TIMING.iterations || performance.now() - start < ms) {
    run();
    calls++;
  }
}

async function timeWorkload(workload, prepared, engines) {
  const samples = new Map(engines.map((e) => [e.name, []]));
  const cpuSamples = new Map(engines.map((e) => [e.name, []]));
  for (let round = 0; round < TIMING.rounds; round++) {
    // Rotate the order so no engine always runs first (or right after a slow one).
    const order = engines.map((_, i) => engines[(i + round) % engines.length]);
    const bench = new Bench({
      name: workload.name,
      time: TIMING.time,
      iterations: TIMING.iterations,
      warmup: false,
      retainSamples: true,
      throws: true,
    });
    for (const engine of order) {
      const p = prepared.get(engine.name);
      const cpu = cpuSamples.get(engine.name);
      // Wall time is what tinybench records (timed here, so the CPU clock reads stay outside
      // the window); the process's CPU time of the same call is kept beside it, because on a
      // shared machine it is far less disturbed by other processes taking the cores.
      bench.add(engine.name, () => {
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        p.run();
        const t1 = performance.now();
        const used = process.cpuUsage(cpu0);
        cpu.push((used.user + used.system) / 1000);
        return { overriddenDuration: t1 - t0 };
      }, { beforeAll: () => engine.activate() });
    }
    await bench.run();
    const parts = [];
    for (const task of bench.tasks) {
      const result = task.result;
      if (result.state !== 'completed') throw new BenchError(`${workload.name}/${task.name}: tinybench task ${result.state}${result.error ? `: ${result.error.message}` : ''}`);
      samples.get(task.name).push(...result.latency.samples);
      parts.push(`${task.name} ${result.latency.p50.toFixed(2)}ms×${result.latency.samplesCount}`);
    }
    log(`${elapsed()}   round ${round + 1}/${TIMING.rounds}: ${parts.join(' · ')}`);
  }
  const stats = {};
  for (const [name, list] of samples) {
    const sorted = Float64Array.from(list).sort();
    const cpuSorted = Float64Array.from(cpuSamples.get(name)).sort();
    stats[name] = { medianMs: median(sorted), minMs: sorted[0], maxMs: sorted[sorted.length - 1], samples: sorted.length, cpuMedianMs: median(cpuSorted) };
  }
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Memory of the MobileNetV1 chain

async function chainMemory(sepEngine, workload, data) {
  const gc = typeof globalThis.gc === 'function' ? globalThis.gc : null;
  // V8 frees ArrayBuffer backing stores on a background sweeper after a GC, so settle it before
  // taking the baseline, or earlier garbage vanishing mid-measurement would hide the chain's own.
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  const before = process.memoryUsage();
  const prepared = await sepEngine.prepare(workload, data.input, data.weights);
  const afterPrepare = process.memoryUsage();
  let peakArrayBuffers = afterPrepare.arrayBuffers;
  let peakRss = afterPrepare.rss;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.arrayBuffers > peakArrayBuffers) peakArrayBuffers = m.arrayBuffers;
    if (m.rss > peakRss) peakRss = m.rss;
  };
  prepared.runSampled(sample);
  const weightBytes = data.weights.reduce((s, w) => s + w.data.byteLength, 0);
  const result = {
    gcExposed: gc !== null,
    weightBytes,
    activationBytes: prepared.activationBytes(),
    scratchBytes: prepared.scratchBytes(),
    arrayBuffersPeakDeltaBytes: peakArrayBuffers - before.arrayBuffers,
    rssPeakDeltaBytes: peakRss - before.rss,
    peers: {},
  };
  prepared.dispose();
  return result;
}

// ---------------------------------------------------------------------------------------------
// Report

const mb = (bytes) => `${(bytes / 1048576).toFixed(1)} MB`;
const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtRatio = (r) => (r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2));

function describeRow(row, peerNames) {
  const s = row.engines.sepconv;
  const spread = `${fmtMs(s.minMs)}–${fmtMs(s.maxMs)}`;
  const ratios = peerNames.filter((n) => row.engines[n]).map((n) => `${fmtRatio(row.engines[n].medianMs / s.medianMs)}× ${n}`);
  return `${fmtMs(s.medianMs)} ms (${spread}), ${s.gflops.toFixed(2)} GFLOP/s` + (ratios.length ? `; sepconv is ${ratios.join(', ')}` : '');
}

/** The results as a markdown table: medians, sepconv's spread and GFLOP/s, speedups over each engine. */
function markdownTable(results, engineNames) {
  const others = engineNames.filter((n) => n !== 'sepconv');
  const header = ['workload', 'MFLOP', 'sepconv ms (min–max)', 'sepconv GFLOP/s', 'GFLOP/s by CPU time', 'target', ...others.map((n) => `${n} ms`), ...others.map((n) => `× vs ${n}`)];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const row of results) {
    const s = row.engines.sepconv;
    const cells = [
      row.name,
      (row.flops / 1e6).toFixed(1),
      `${fmtMs(s.medianMs)} (${fmtMs(s.minMs)}–${fmtMs(s.maxMs)})`,
      s.gflops.toFixed(2),
      s.cpuGflops.toFixed(2),
      `≥ ${row.target[0]} ${row.engines.sepconv.gflops >= row.target[0] ? '✓' : '✗'}`,
      ...others.map((n) => (row.engines[n] ? fmtMs(row.engines[n].medianMs) : '—')),
      ...others.map((n) => (row.engines[n] ? `${fmtRatio(row.engines[n].medianMs / s.medianMs)}×` : '—')),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The MobileNetV1 line of the issue's headline target: GFLOP/s of every engine on the chain. */
function chainSummary(results) {
  const row = results.find((r) => r.name === 'mobilenet_v1');
  if (!row) return [];
  const parts = Object.entries(row.engines).map(([n, e]) => `${n} ${fmtMs(e.medianMs)} ms = ${e.gflops.toFixed(2)} GFLOP/s (${e.cpuGflops.toFixed(2)} by CPU time)`);
  return [`mobilenet_v1 (${row.macs.toLocaleString('en-US')} MACs): ${parts.join(', ')}.`];
}

function textTable(results, engineNames) {
  const others = engineNames.filter((n) => n !== 'sepconv');
  const header = ['workload', 'MFLOP', 'sepconv ms', 'min–max', 'GFLOP/s', 'cpu-time GFLOP/s', 'target', ...others.flatMap((n) => [`${n} ms`, `× ${n}`])];
  const rows = results.map((row) => {
    const s = row.engines.sepconv;
    return [row.name, (row.flops / 1e6).toFixed(1), fmtMs(s.medianMs), `${fmtMs(s.minMs)}–${fmtMs(s.maxMs)}`, s.gflops.toFixed(2), s.cpuGflops.toFixed(2), `≥${row.target[0]} ${s.gflops >= row.target[0] ? '✓' : '✗'}`,
      ...others.flatMap((n) => (row.engines[n] ? [fmtMs(row.engines[n].medianMs), `${fmtRatio(row.engines[n].medianMs / s.medianMs)}×`] : ['—', '—']))];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

/** How this run was started, as a reader would retype it. */
function commandLine() {
  const args = process.argv.slice(2).join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args ? ` -- ${args}` : ''}`;
  return `node bench/run.mjs${args ? ` ${args}` : ''}`;
}

function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    logicalCpus: cpus.length,
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    totalMemory: mb(os.totalmem()),
  };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const distEntry = path.join(rootDir, 'dist', 'index.js');
  if (!existsSync(distEntry)) throw new BenchError('dist/index.js not found: run `npm run build` first (`npm run bench` does it for you)');
  const sep = await import(pathToFileURL(distEntry).href);
  // This table is the JS tier's (the wasm tier has its own table, bench/tiers.mjs).
  if (typeof sep.setBackend === 'function') await sep.setBackend('js');

  const workloads = WORKLOADS.filter((w) => !opts.filter || opts.filter.some((f) => w.name.includes(f)));
  if (workloads.length === 0) usage(`--filter ${opts.filter.join(',')} matches no workload`);

  const sepEngine = createSepconvEngine(sep, inputShape, convOptions);
  const refEngine = createReferenceEngine(sep, inputShape, convOptions);
  const peers = [];
  if (opts.peers) {
    const { createTfjsEngine } = await import('./peers/tfjs.mjs');
    if (!opts.quick) peers.push(await createTfjsEngine('cpu')); // seconds per call on the chain
    peers.push(await createTfjsEngine('wasm'));
  }
  const allEngines = [sepEngine, refEngine, ...peers];
  const machine = machineInfo();
  const loadStart = os.loadavg()[0];
  log(`sepconv bench, main table: the JS tier · ${machine.cpu} (${machine.logicalCpus} logical CPUs) · Node ${machine.node} (V8 ${machine.v8}) · ` +
    `${opts.quick ? 'quick' : 'full'}: ${TIMING.rounds} round(s) × ≥${TIMING.time} ms per engine`);
  for (const e of allEngines) log(`  ${e.name.padEnd(10)} ${e.detail}`);

  const results = [];
  let memory = null;
  for (const [index, workload] of workloads.entries()) {
    const cost = workloadCost(sep, workload);
    const flops = 2 * cost.macs;
    log(`${elapsed()} [${index + 1}/${workloads.length}] ${workload.name}: ${workload.description}, ${cost.macs.toLocaleString('en-US')} MACs`);
    const data = makeData(workload, 1 + index);
    // The float64 reference path is timed in full runs only (it takes up to seconds per call).
    const engines = [sepEngine, ...(workload.reference && !opts.quick ? [refEngine] : []), ...peers];
    const prepared = new Map();
    for (const e of engines) prepared.set(e.name, await e.prepare(workload, data.input, data.weights));

    // Correctness first: sepconv against the float64 reference (GUIDE tolerance) where it is
    // timed, then every peer against sepconv.
    const expectedLength = cost.outputShape.reduce((a, b) => a * b, 1);
    const yours = prepared.get('sepconv').output();
    if (yours.length !== expectedLength) throw new BenchError(`${workload.name}: sepconv output has ${yours.length} values, expected ${expectedLength}`);
    if (Float32Array.from(yours).some((v) => !Number.isFinite(v))) throw new BenchError(`${workload.name}: sepconv output has non-finite values`);
    const checks = {};
    if (prepared.has('reference')) {
      checks.reference = check(workload, 'sepconv', yours, prepared.get('reference').output(), 'referenceConv2d', 1e-4);
    } else if (peers.length === 0) {
      // Nothing else to compare with: run the reference once, untimed (seconds for the chain).
      const ref = await refEngine.prepare(workload, data.input, data.weights);
      checks.reference = check(workload, 'sepconv', yours, ref.output(), 'referenceConv2d', 1e-4);
    }
    for (const peer of peers) {
      await peer.activate();
      checks[peer.name] = check(workload, peer.name, prepared.get(peer.name).output(), yours, 'sepconv', 1e-3);
    }
    log(`${elapsed()}   outputs agree: ${Object.entries(checks).map(([n, e]) => `${n} ${e.toExponential(1)}`).join(', ') || '(nothing to compare with)'}`);

    for (const e of engines) {
      await e.activate();
      warm(prepared.get(e.name).run, TIMING.warmupMs);
    }
    const stats = await timeWorkload(workload, prepared, engines);
    for (const s of Object.values(stats)) {
      s.gflops = flops / (s.medianMs * 1e6);
      s.cpuGflops = flops / (s.cpuMedianMs * 1e6);
    }
    const row = { name: workload.name, description: workload.description, layers: workload.layers.length, macs: cost.macs, flops, costSource: cost.source, target: workload.target, maxRelativeError: checks, engines: stats };
    results.push(row);
    log(`${elapsed()}   ${workload.name}: ${describeRow(row, [refEngine.name, ...peers.map((p) => p.name)])}`);

    if (workload.name === 'mobilenet_v1') {
      memory = await chainMemory(sepEngine, workload, data);
      for (const peer of peers) {
        await peer.activate();
        const p = prepared.get(peer.name);
        if (typeof p.peakTensorBytes === 'function') memory.peers[peer.name] = { peakTensorBytes: await p.peakTensorBytes() };
      }
      log(`${elapsed()}   mobilenet_v1 memory: sepconv weights ${mb(memory.weightBytes)} + activations ${mb(memory.activationBytes)} + plan scratch ${mb(memory.scratchBytes)}; ` +
        `process arrayBuffers peak +${mb(memory.arrayBuffersPeakDeltaBytes)} (plans' weight copies included${memory.gcExposed ? '' : '; baseline unsettled without node --expose-gc'}), rss peak +${mb(memory.rssPeakDeltaBytes)}` +
        Object.entries(memory.peers).map(([n, m]) => `; ${n} peak tensor bytes ${mb(m.peakTensorBytes)}`).join(''));
    }
    for (const p of prepared.values()) p.dispose();
  }

  const engineNames = ['sepconv', ...(results.some((r) => r.engines.reference) ? ['reference'] : []), ...peers.map((p) => p.name)];
  const table = textTable(results, engineNames);
  console.log(`\n${table}\n`);
  const loadEnd = os.loadavg()[0];
  console.log('ms = median wall time per call (batch 1, one thread); "× vs X" = X median / sepconv median (above 1: sepconv is faster);\n' +
    `cpu-time GFLOP/s uses the median process CPU time instead (less disturbed by other load; 1-min load average ${loadStart.toFixed(1)} at start, ${loadEnd.toFixed(1)} at end).`);
  for (const line of chainSummary(results)) console.log(line);
  if (memory) {
    console.log(`mobilenet_v1 memory: sepconv holds weights ${mb(memory.weightBytes)}, activations ${mb(memory.activationBytes)} (two ping-pong buffers), ` +
      `plan scratch ${mb(memory.scratchBytes)}; process arrayBuffers peak +${mb(memory.arrayBuffersPeakDeltaBytes)} over the baseline.`);
  }

  const partial = opts.filter !== null || opts.quick || !opts.peers || opts.rounds !== null;
  if (partial && !opts.save) {
    log(`${elapsed()} partial run: bench/results/latest.* left unchanged (add --save to write them)`);
  } else {
    writeResults(results, engineNames, memory, loadStart, loadEnd, allEngines, machine);
  }
  if (opts.threads) await threadsTable(partial && !opts.save);
  if (opts.backward) await backwardTable(partial && !opts.save);
  if (opts.tiers) await tiersTable(partial && !opts.save);
  if (opts.train) await trainTable(partial && !opts.save);
  if (opts.models) await modelsTable(partial && !opts.save);
  if (opts.onnx && opts.peers) await onnxTable(partial && !opts.save);
}

/** The ONNX dimension (bench/onnx.mjs): the same .onnx files in sepconv (compiled) and onnxruntime-web. */
async function onnxTable(partial) {
  log(`${elapsed()} ONNX table: the same .onnx files in sepconv and onnxruntime-web (bench/onnx.mjs)`);
  const { runOnnxBench } = await import('./onnx.mjs');
  const args = [...(opts.quick ? ['--quick', '--filter', 'mobilenet_v2', '--no-pool'] : [])];
  const { markdown } = await runOnnxBench(partial ? args : [...args, '--save']);
  console.log(`\n${markdown}\n`);
}

/** The models dimension (bench/models.mjs): the compiled zoo on both tiers, MobileNetV2 beside TensorFlow.js. */
async function modelsTable(partial) {
  log(`${elapsed()} models table: the compiled zoo at 224x224 (bench/models.mjs)`);
  const { runModelsBench } = await import('./models.mjs');
  const args = [...(opts.quick ? ['--quick', '--filter', 'mobilenet_v2'] : []), ...(opts.peers ? [] : ['--no-peers'])];
  const { markdown } = await runModelsBench(partial ? args : [...args, '--save']);
  console.log(`\n${markdown}\n`);
}

/** The tiers dimension (bench/tiers.mjs): the wasm and JS tiers beside TensorFlow.js cpu and wasm. */
async function tiersTable(partial) {
  log(`${elapsed()} tiers table: wasm and JS tiers beside TensorFlow.js (bench/tiers.mjs)`);
  const { runTiersBench } = await import('./tiers.mjs');
  const args = [...(opts.filter ? ['--filter', opts.filter.join(',')] : []), ...(opts.quick ? ['--quick'] : []), ...(opts.peers ? [] : ['--no-peers'])];
  await runTiersBench(partial ? args : [...args, '--save']);
}

/** The training dimension (bench/train.mjs): one MobileNetV1 training step vs TensorFlow.js cpu's. */
async function trainTable(partial) {
  log(`${elapsed()} training table: a MobileNetV1 training step vs its forward and TensorFlow.js cpu's step (bench/train.mjs)`);
  const { runTrainBench } = await import('./train.mjs');
  // TensorFlow.js cpu's training step takes minutes: not in a --quick run.
  const args = [...(opts.quick ? ['--steps', '1', '--no-peers'] : []), ...(opts.peers || opts.quick ? [] : ['--no-peers']), ...(partial ? [] : ['--save'])];
  const { markdown } = await runTrainBench(args);
  console.log(`\n${markdown}\n`);
}

/** The backward dimension (bench/backward.mjs): gradients vs the forward and vs TensorFlow.js cpu. */
async function backwardTable(partial) {
  log(`${elapsed()} backward table: conv2dBackward on MobileNetV1's layers vs its forward and TensorFlow.js cpu's gradients`);
  const { runBackwardBench } = await import('./backward.mjs');
  // TensorFlow.js cpu's gradients take seconds per layer: not in a --quick run.
  const { markdown } = await runBackwardBench({ quick: opts.quick, peers: opts.peers && !opts.quick, save: !partial });
  console.log(`\n${markdown}\n`);
}

/** The threads dimension (bench/threads.mjs): 1 thread vs the worker pool, same workloads. */
async function threadsTable(partial) {
  log(`${elapsed()} threads table: the JS tier, 1 thread vs the worker pool (2 threads, all cores); the wasm tier's 2-thread rows are in the tiers table`);
  const { runThreadsBench } = await import('./threads.mjs');
  const { markdown } = await runThreadsBench({ filter: opts.filter ?? (opts.quick ? ['pw_56', 'dw3x3_s1_28', 'mobilenet_v1'] : null), quick: opts.quick, save: !partial });
  console.log(`\n${markdown}\n`);
}

function writeResults(results, engineNames, memory, loadStart, loadEnd, allEngines, machine) {
  const date = new Date().toISOString();
  const report = {
    date,
    command: commandLine(),
    machine,
    timing: TIMING,
    loadAverage1m: { start: loadStart, end: loadEnd },
    engines: Object.fromEntries(allEngines.map((e) => [e.name, e.detail])),
    flopsConvention: 'FLOPs = 2 × MACs; MACs = N·Cout·Hout·Wout·(Cin/groups)·kH·kW, no bias',
    results,
    mobilenetV1Memory: memory,
  };
  const outDir = path.join(benchDir, 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = [
    `# sepconv benchmark results`,
    '',
    `${date.slice(0, 10)} · ${machine.cpu}, ${machine.logicalCpus} logical CPUs · Node ${machine.node} (V8 ${machine.v8}) · \`${report.command}\``,
    '',
    markdownTable(results, engineNames),
    '',
    'Median wall ms per call, batch 1, one thread; GFLOP/s = 2·MACs / median. "× vs X" = X\'s median / sepconv\'s median (above 1: sepconv is faster). ' +
      `"By CPU time" divides by the median process CPU time of a call instead, which other processes on the machine disturb less (1-min load average ${loadStart.toFixed(1)} at start, ${loadEnd.toFixed(1)} at end). ` +
      'Target = issue 3\'s single-thread GFLOP/s goal (✓ met, ✗ not met in this run).',
    ...chainSummary(results).map((line) => `\n${line}`),
    ...(memory ? ['', `MobileNetV1 chain memory (sepconv): weights ${mb(memory.weightBytes)}, activations ${mb(memory.activationBytes)}, plan scratch ${mb(memory.scratchBytes)}; ` +
      `process arrayBuffers peak +${mb(memory.arrayBuffersPeakDeltaBytes)}.` +
      Object.entries(memory.peers).map(([n, m]) => ` ${n}: peak tensor bytes ${mb(m.peakTensorBytes)}.`).join('')] : []),
    '',
  ].join('\n');
  writeFileSync(path.join(outDir, 'latest.md'), md);
  log(`${elapsed()} wrote bench/results/latest.json and latest.md`);
}

main().catch((error) => {
  if (error instanceof BenchError) {
    console.error(`\nbench FAILED: ${error.message}`);
  } else {
    console.error('\nbench FAILED:', error);
  }
  process.exit(1);
});
