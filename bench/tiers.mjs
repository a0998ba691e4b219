#!/usr/bin/env node
/**
 * The two kernel tiers side by side with LiteRT.js, TensorFlow.js cpu and wasm (both XNNPACK), in
 * one process, interleaved: every round runs each engine in a rotating order, and medians over all
 * rounds are compared. Engines (each row of the table names its tier and wasm variant):
 *   wasm plain      sepconv wasm tier, plain SIMD kernels (mul+add), prepared plans, activations in
 *                   wasm memory (wasmZeros): no copies
 *   wasm relaxed    the same on the relaxed-SIMD kernels (f32x4.relaxed_madd), where this engine
 *                   validates relaxed SIMD (Node ≥ 22; Node 20 only with --experimental-wasm-relaxed-simd)
 *   wasm <v> 2t     the plans of the preferred variant (relaxed where available) split over the
 *                   worker pool, 2 threads (pool.runPlan)
 *   wasm <v> conv2d one-shot conv2d(x, w, { out }) on ordinary arrays: packs weights and copies in/out per call
 *   js              sepconv JS tier, prepared plans
 *   litert          LiteRT.js (TFLite + XNNPACK; its relaxed build where relaxed SIMD validates, else its compat build)
 *   tfjs-cpu, tfjs-wasm
 * Ratios are "× litert" = LiteRT.js median / engine median (above 1: faster than LiteRT.js), and
 * the same against tfjs-wasm. Rows of different tiers are never compared with each other.
 *
 *   node bench/tiers.mjs [--filter name[,name…]] [--rounds n] [--quick] [--no-peers] [--save]
 * `--quick` runs one short round without TensorFlow.js cpu (a smoke test, not figures).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { convOptions, inputShape, rng, weightShape, WORKLOADS } from './workloads.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.dirname(benchDir);

function parseArgs(argv) {
  const opts = { filter: null, rounds: 5, quick: false, peers: true, save: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--no-peers') opts.peers = false;
    else if (arg === '--save') opts.save = true;
    else if (arg === '--relaxed') { /* both variants always run where available; kept for old command lines */ }
    else if (arg === '--filter') opts.filter = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (arg === '--rounds') opts.rounds = Number(argv[++i]);
    else throw new Error(`usage: node bench/tiers.mjs [--filter name[,name…]] [--rounds n] [--quick] [--no-peers] [--save]; unknown ${arg}`);
  }
  if (opts.quick) opts.rounds = 1;
  return opts;
}

function uniform(size, scale, next) {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}

/** The same data scheme as bench/run.mjs: inputs in [−1, 1], weights U(±√(3/fan_in)). */
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

/** sepconv plans on `backend`, activations ping-ponging through two buffers made by `alloc`. */
function planEngine(sep, name, backend, { pool = null, oneShot = false, alloc = null, variant = null } = {}) {
  return {
    name,
    variant,
    activate() {},
    async prepare(workload, inputData, weights) {
      const pl = typeof pool === 'function' ? pool() : pool;
      const zeros = alloc ?? ((shape) => ({ shape: shape.slice(), data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }));
      const input = zeros(inputShape(workload.layers[0]));
      input.data.set(inputData);
      const shapes = workload.layers.map((spec, i) => sep.conv2dGeometry(inputShape(spec), weights[i].shape, convOptions(spec)).outputShape);
      const largest = Math.max(...shapes.map((s) => s.reduce((a, b) => a * b, 1)));
      const buffers = [zeros([largest]), zeros([largest])];
      const outs = shapes.map((shape, i) => ({ shape, data: buffers[i % 2].data.subarray(0, shape.reduce((a, b) => a * b, 1)) }));
      const plans = workload.layers.map((spec, i) => sep.prepareConv2d(weights[i], { ...convOptions(spec), backend }));
      const count = plans.length;
      const run = pl
        ? async () => {
          let x = input;
          for (let i = 0; i < count; i++) x = await pl.runPlan(plans[i], x, outs[i]);
        }
        : oneShot
          ? () => {
            let x = input;
            for (let i = 0; i < count; i++) x = sep.conv2d(x, weights[i], { ...convOptions(workload.layers[i]), backend, out: outs[i] });
          }
          : () => {
            let x = input;
            for (let i = 0; i < count; i++) x = plans[i].run(x, outs[i]);
          };
      return {
        run,
        async output() {
          await run();
          return Float32Array.from(outs[count - 1].data);
        },
        dispose(currentVariant) {
          for (const p of plans) p.dispose();
          // wasmZeros blocks go back to the runtime that is loaded now; a runtime of another
          // variant (replaced by a switch) is dropped whole, with its memory.
          if (alloc && currentVariant === variant) for (const b of [input, ...buffers]) sep.releaseWasmTensor(b);
        },
      };
    },
  };
}

/**
 * The whole MobileNetV1 (BatchNorm folded, average pool and classifier included: +0.2% MACs)
 * compiled on the wasm tier, timed beside the bare chain of its 27 convolutions: a compiled
 * model keeps its activations in wasm memory and adds one copy of the logits. Only for the
 * mobilenet_v1 workload; its output (logits) is not compared with the chain's.
 */
function compiledModelEngine(sep, variant) {
  return {
    name: `wasm ${variant} model`,
    variant,
    appliesTo: (workload) => workload.name === 'mobilenet_v1',
    compareOutput: false,
    activate() {},
    async prepare(workload, inputData) {
      const model = sep.foldBatchNorm(sep.mobilenetV1({ seed: 1 }));
      const shape = inputShape(workload.layers[0]);
      const compiled = model.compile([1, ...shape.slice(1)], { backend: 'wasm' });
      const input = { shape: [1, ...shape.slice(1)], data: Float32Array.from(inputData) };
      compiled.run(input); // packs the weights
      let parameterBytes = 0;
      for (const value of Object.values(model.stateDict())) parameterBytes += value.data.byteLength;
      const largest = Math.max(...workload.layers.map((spec) => spec.outChannels * Math.ceil(spec.height / spec.stride) * Math.ceil(spec.width / spec.stride)));
      return {
        run: () => compiled.run(input),
        output: async () => Float32Array.from(compiled.run(input).data),
        memory: { ...compiled.memory(), parameterBytes, largestActivationBytes: 4 * largest },
        dispose: () => compiled.dispose(),
      };
    },
  };
}

function median(values) {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function maxRelative(a, b) {
  let rms = 0;
  for (const v of b) rms += v * v;
  rms = Math.sqrt(rms / b.length);
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (Math.abs(b[i]) + rms));
  return worst;
}

export async function runTiersBench(argv = []) {
  const opts = parseArgs(argv);
  const distIndex = path.join(rootDir, 'dist', 'index.js');
  if (!existsSync(distIndex)) throw new Error('bench/tiers: dist/ is missing; run `npm run build` first');
  const sep = await import(pathToFileURL(distIndex).href);
  await sep.setBackend('wasm');
  const info = sep.backendInfo();
  // Every wasm variant this engine validates; the preferred one (relaxed where available) also
  // gets the 2-thread, one-shot and compiled-model rows.
  const variants = info.relaxedSimd ? ['plain', 'relaxed'] : ['plain'];
  const preferred = variants[variants.length - 1];
  let current = null;
  let pool = null;
  /** Loads a variant's runtime; a switch replaces the runtime (plans made before keep theirs). */
  const useVariant = async (variant) => {
    if (current === variant) return false;
    await sep.setBackend('wasm', { relaxedSimd: variant === 'relaxed' });
    if (sep.backendInfo().wasmVariant !== variant) throw new Error(`bench/tiers: asked for the ${variant} kernels, got ${sep.backendInfo().wasmVariant}`);
    current = variant;
    return true;
  };
  const engines = [
    ...variants.map((v) => planEngine(sep, `wasm ${v}`, 'wasm', { alloc: sep.wasmZeros, variant: v })),
    planEngine(sep, `wasm ${preferred} 2t`, 'wasm', { alloc: sep.wasmZeros, pool: () => pool, variant: preferred }),
    planEngine(sep, `wasm ${preferred} conv2d`, 'wasm', { oneShot: true, variant: preferred }),
    planEngine(sep, 'js', 'js'),
    compiledModelEngine(sep, preferred),
  ];
  let litertInfo = 'not run';
  if (opts.peers) {
    const { createLitertEngine } = await import('./peers/litert.mjs');
    const litert = await createLitertEngine();
    litertInfo = litert.detail;
    engines.push(litert);
    const { createTfjsEngine } = await import('./peers/tfjs.mjs');
    if (!opts.quick) engines.push(await createTfjsEngine('cpu'));
    engines.push(await createTfjsEngine('wasm'));
  }
  const timePerEngine = opts.quick ? 25 : 150;
  const minCalls = opts.quick ? 1 : 3;
  console.log(`sepconv tiers bench · ${os.cpus()[0]?.model} · Node ${process.versions.node} (V8 ${process.versions.v8}) · wasm: SIMD ${info.simd}, relaxed SIMD ${info.relaxedSimd}, threads ${info.threads}; sepconv wasm variants: ${variants.join(', ')} · ${litertInfo}`);
  console.log(`${opts.rounds} interleaved round(s) × ≥${timePerEngine} ms per engine; medians; ratios = peer median / engine median (above 1: faster than the peer)`);
  const results = [];
  const workloads = WORKLOADS.filter((w) => !opts.filter || opts.filter.some((f) => w.name.includes(f)));
  for (const [index, workload] of workloads.entries()) {
    const data = makeData(workload, 1 + index);
    const macs = workload.layers.reduce((sum, spec, i) => {
      const g = sep.conv2dGeometry(inputShape(spec), data.weights[i].shape, convOptions(spec));
      return sum + g.outChannels * g.outHeight * g.outWidth * (g.inChannels / g.groups) * g.kernelH * g.kernelW;
    }, 0);
    const active = engines.filter((e) => !e.appliesTo || e.appliesTo(workload));
    const prepared = new Map();
    // Each variant's engines are prepared with that variant loaded, the preferred one last (the
    // pool is made anew after a switch: it runs wasm slices only for its own runtime's plans).
    for (const v of variants) {
      if (await useVariant(v) && v === preferred) {
        await pool?.dispose();
        pool = null;
      }
      if (v === preferred && pool === null) {
        pool = sep.createWorkerPool({ threads: 2, backend: 'wasm' });
        await pool.ready();
      }
      for (const e of active) if (e.variant === v) prepared.set(e.name, await e.prepare(workload, data.input, data.weights));
    }
    for (const e of active) if (!e.variant) prepared.set(e.name, await e.prepare(workload, data.input, data.weights));
    // Agreement: every engine against the JS tier (float64 accumulation).
    await engines.find((e) => e.name === 'js').activate();
    const ref = await prepared.get('js').output();
    const errors = {};
    for (const e of active) {
      if (e.compareOutput === false) continue;
      await e.activate();
      errors[e.name] = maxRelative(await prepared.get(e.name).output(), ref);
      if (!(errors[e.name] <= 1e-3)) throw new Error(`${workload.name}: ${e.name} disagrees with the JS tier (${errors[e.name]})`);
    }
    const samples = new Map(active.map((e) => [e.name, []]));
    const cpuSamples = new Map(active.map((e) => [e.name, []]));
    for (let round = 0; round < opts.rounds; round++) {
      const order = active.map((_, i) => active[(i + round) % active.length]);
      for (const e of order) {
        await e.activate();
        const p = prepared.get(e.name);
        await p.run(); // warm
        const start = performance.now();
        const list = samples.get(e.name);
        const cpuList = cpuSamples.get(e.name);
        let calls = 0;
        while (calls < minCalls || performance.now() - start < timePerEngine) {
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          await p.run();
          list.push(performance.now() - t0);
          const used = process.cpuUsage(cpu0);
          cpuList.push((used.user + used.system) / 1000);
          calls++;
        }
      }
    }
    const row = { name: workload.name, macs, errors, engines: {} };
    const modelMemory = prepared.get(`wasm ${preferred} model`)?.memory;
    if (modelMemory) row.modelMemory = modelMemory;
    for (const e of active) {
      const ms = median(samples.get(e.name));
      row.engines[e.name] = { medianMs: ms, cpuMedianMs: median(cpuSamples.get(e.name)), gflops: (2 * macs) / (ms * 1e6), samples: samples.get(e.name).length };
    }
    for (const p of prepared.values()) p.dispose(current);
    results.push(row);
    const peer = row.engines.litert ?? row.engines['tfjs-wasm'];
    console.log(`${workload.name.padEnd(15)} ` + active.map((e) => {
      const r = row.engines[e.name];
      return `${e.name} ${r.medianMs.toFixed(2)}ms${peer ? ` (${(peer.medianMs / r.medianMs).toFixed(2)}×)` : ''}`;
    }).join(' · '));
  }
  await pool?.dispose();

  const names = engines.filter((e) => !e.name.endsWith(' model')).map((e) => e.name);
  const peers = ['litert', 'tfjs-wasm'].filter((n) => names.includes(n));
  const sepRows = names.filter((n) => n.startsWith('wasm') || n === 'js');
  const ms = (r, n) => (r.engines[n] ? r.engines[n].medianMs.toFixed(2) : '—');
  const ratio = (r, n, peer) => (r.engines[n] && r.engines[peer] ? `${(r.engines[peer].medianMs / r.engines[n].medianMs).toFixed(2)}×` : '—');
  // by CPU time: single-thread rows only (the 2-thread row's CPU time counts both threads)
  const cpuRows = variants.map((v) => `wasm ${v}`);
  const cpuRatio = (r, n, peer) => (r.engines[n] && r.engines[peer] ? `${(r.engines[peer].cpuMedianMs / r.engines[n].cpuMedianMs).toFixed(2)}×` : '—');
  const header = `| workload | ${names.map((n) => `${n} ms`).join(' | ')} | ${peers.flatMap((p) => sepRows.filter((n) => n !== 'js').map((n) => `${n} × ${p}`)).join(' | ')} | ` +
    `${peers.flatMap((p) => cpuRows.map((n) => `${n} × ${p} by CPU time`)).join(' | ')} | wasm ${preferred} GFLOP/s | wasm ${preferred} 2t / 1t |`;
  const lines = [header, `|${'---|'.repeat(header.split('|').length - 2)}`];
  for (const r of results) {
    const one = r.engines[`wasm ${preferred}`];
    const two = r.engines[`wasm ${preferred} 2t`];
    lines.push(`| ${r.name} | ${names.map((n) => ms(r, n)).join(' | ')} | ` +
      `${peers.flatMap((p) => sepRows.filter((n) => n !== 'js').map((n) => ratio(r, n, p))).join(' | ')} | ` +
      `${peers.flatMap((p) => cpuRows.map((n) => cpuRatio(r, n, p))).join(' | ')} | ` +
      `${one.gflops.toFixed(1)} | ${(one.medianMs / two.medianMs).toFixed(2)}× |`);
  }
  const table = lines.join('\n');
  const load = os.loadavg()[0];
  console.log(`\n${table}\n`);
  console.log(`1-min load average at the end: ${load.toFixed(1)} on ${os.cpus().length} CPUs (other load on the machine makes wall times noisy; the ratios come from interleaved rounds). ` +
    `Node ${process.versions.node}; sepconv wasm variants ${variants.join(', ')}; ${litertInfo}. "× X" = X's median / the row engine's median; "by CPU time" uses the medians of each call's process CPU time ` +
    '(single-thread rows), which other load disturbs far less; "—" = the engine does not run that workload (the TFLite writer has no grouped convolution).');
  const chain = results.find((r) => r.name === 'mobilenet_v1');
  if (chain) {
    console.log(`mobilenet_v1 max deviation from the JS tier (float64 accumulation), |y − js| / (|js| + rms): ` +
      Object.entries(chain.errors).map(([n, e]) => `${n} ${e.toExponential(1)}`).join(', '));
  }
  const model = chain?.engines[`wasm ${preferred} model`];
  if (model) {
    const m = chain.modelMemory;
    const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
    const ideal = m.parameterBytes + 2 * m.largestActivationBytes;
    console.log(`compiled MobileNetV1 (BatchNorm folded, wasm ${preferred}): ${model.medianMs.toFixed(2)} ms = ${(model.medianMs / chain.engines[`wasm ${preferred}`].medianMs).toFixed(2)}× the wasm ${preferred} chain's time. ` +
      `Memory: activations ${mb(m.activationBytes)} (largest activation ${mb(m.largestActivationBytes)}), plans ${mb(m.planBytes)} (packed weights, scratch, staging) ` +
      `= ${((m.activationBytes + m.planBytes) / ideal).toFixed(2)}× (parameters ${mb(m.parameterBytes)} + two largest activations); ` +
      `with the module's own float32 parameters still held, ${((m.parameterBytes + m.activationBytes + m.planBytes) / ideal).toFixed(2)}×.`);
  }
  if (opts.save) {
    mkdirSync(path.join(benchDir, 'results'), { recursive: true });
    const stem = `tiers-node${process.versions.node.split('.')[0]}`;
    writeFileSync(path.join(benchDir, 'results', `${stem}.json`), JSON.stringify({ date: new Date().toISOString(), node: process.versions.node, cpu: os.cpus()[0]?.model, loadAverage1m: load, info, variants, litert: litertInfo, rounds: opts.rounds, results }, null, 2) + '\n');
    writeFileSync(path.join(benchDir, 'results', `${stem}.md`), table + '\n');
  }
  return results;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runTiersBench(process.argv.slice(2));
}
