#!/usr/bin/env node
/**
 * The same ONNX files in sepconv (loadOnnx, compiled, each tier, one thread; and on the wasm tier
 * with a 2-thread worker pool through runAsync, which is not compiled) and in onnxruntime-web
 * (wasm, one thread), interleaved in rotating order; medians over all rounds;
 * outputs cross-checked before anything is timed. The files are the zoo models exported by
 * sepconv's own `exportOnnx` at 224×224 (no Python needed), plus the real PyTorch exports of
 * ../shared/golden/onnx when that folder exists, plus any files given with --files.
 *
 *   node bench/onnx.mjs [--filter name[,name…]] [--files a.onnx,b.onnx] [--rounds n] [--quick] [--no-pool] [--save]
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rng } from './workloads.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.dirname(benchDir);
const goldenDir = path.join(rootDir, '..', 'shared', 'golden', 'onnx');

function parseArgs(argv) {
  const opts = { filter: null, files: [], rounds: 3, quick: false, save: false, pool: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--save') opts.save = true;
    else if (arg === '--no-pool') opts.pool = false;
    else if (arg === '--filter') opts.filter = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (arg === '--files') opts.files = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (arg === '--rounds') opts.rounds = Number(argv[++i]);
    else throw new Error(`usage: node bench/onnx.mjs [--filter name[,name…]] [--files a.onnx,b.onnx] [--rounds n] [--quick] [--no-pool] [--save]; unknown ${arg}`);
  }
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) throw new Error('--rounds needs a positive integer');
  if (opts.quick) opts.rounds = 1;
  return opts;
}

/** The zoo models the speed targets name, exported at 224×224 with sepconv's exporter. */
const ZOO = [
  ['mobilenet_v2', (sep) => sep.mobilenetV2({ seed: 1 })],
  ['mobilenet_v3_large', (sep) => sep.mobilenetV3Large({ seed: 1 })],
  ['efficientnet_b0', (sep) => sep.efficientnetB0({ seed: 1 })],
  ['shufflenet_v2_x1_0', (sep) => sep.shufflenetV2({ width: 1.0, seed: 1 })],
];

/** Every model to run: { name, bytes, shape (the input's) }. */
function modelFiles(sep, opts) {
  const list = [];
  if (typeof sep.exportOnnx === 'function') {
    for (const [name, make] of ZOO) {
      if (opts.filter && !opts.filter.some((f) => name.includes(f))) continue;
      const model = make(sep).eval();
      list.push({ name: `${name} (exported)`, bytes: sep.exportOnnx(model, [1, 3, 224, 224]), shape: [1, 3, 224, 224] });
    }
  } else console.log('(this build has no exportOnnx: only the golden and --files models)');
  if (existsSync(goldenDir)) {
    for (const dir of readdirSync(goldenDir).sort()) {
      const file = path.join(goldenDir, dir, 'model.onnx');
      if (!existsSync(file) || (opts.filter && !opts.filter.some((f) => dir.includes(f)))) continue;
      const manifest = JSON.parse(readFileSync(path.join(goldenDir, dir, 'manifest.json'), 'utf8'));
      list.push({ name: dir, bytes: readFileSync(file), shape: manifest.input.shape });
    }
  }
  for (const file of opts.files) list.push({ name: path.basename(file), bytes: readFileSync(file), shape: null });
  return list;
}

function median(values) {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function maxRelative(a, b) {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return worst;
}

async function timeEngine(run, minMs, samples) {
  await run(); // warm
  const start = performance.now();
  let calls = 0;
  while (calls < 2 || performance.now() - start < minMs) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
    calls++;
  }
}

export async function runOnnxBench(argv = []) {
  const opts = parseArgs(argv);
  const distIndex = path.join(rootDir, 'dist', 'index.js');
  if (!existsSync(distIndex)) throw new Error('bench/onnx: dist/ is missing; run `npm run build` first');
  const sep = await import(pathToFileURL(distIndex).href);
  await sep.ready();
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  const minMs = opts.quick ? 150 : 400;
  console.log(`sepconv ONNX bench · ${os.cpus()[0]?.model} · Node ${process.versions.node} · onnxruntime-web (wasm, 1 thread)`);
  console.log(`${opts.rounds} interleaved rounds × ≥${minMs} ms per engine; medians`);
  const pool = opts.pool ? sep.createWorkerPool({ threads: 2 }) : null;
  if (pool) await pool.ready();
  const next = rng(11);
  const results = [];
  for (const file of modelFiles(sep, opts)) {
    const probe = sep.loadOnnx(file.bytes);
    const inputName = probe.inputs[0].name;
    const shape = file.shape ?? probe.inputs[0].shape.map((d) => (typeof d === 'number' ? d : 1));
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = 2 * next() - 1;
    const input = { shape, data };
    const engines = [];
    for (const tier of ['js', 'wasm']) {
      const model = sep.loadOnnx(file.bytes, { backend: tier });
      const compiled = model.compile({ [inputName]: shape });
      const outputName = model.outputs[0].name;
      engines.push({ name: `sepconv-${tier}`, run: () => compiled.run({ [inputName]: input }), output: () => Float32Array.from(compiled.run({ [inputName]: input })[outputName].data) });
    }
    if (pool) {
      const model = sep.loadOnnx(file.bytes, { backend: 'wasm' });
      const outputName = model.outputs[0].name;
      engines.push({ name: 'sepconv-wasm-pool2', run: () => model.runAsync({ [inputName]: input }, { pool }), output: async () => Float32Array.from((await model.runAsync({ [inputName]: input }, { pool }))[outputName].data) });
    }
    const session = await ort.InferenceSession.create(file.bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const feeds = { [inputName]: new ort.Tensor('float32', data, shape) };
    const ortOutput = session.outputNames[0];
    engines.push({ name: 'ort-web', run: () => session.run(feeds), output: async () => Float32Array.from((await session.run(feeds))[ortOutput].data) });
    const ortEngine = engines.find((e) => e.name === 'ort-web');
    const ref = await ortEngine.output();
    const errors = {};
    for (const e of engines.filter((x) => x !== ortEngine)) {
      errors[e.name] = maxRelative(await e.output(), ref);
      if (!(errors[e.name] <= 1e-3)) throw new Error(`${file.name}: ${e.name} disagrees with onnxruntime-web (${errors[e.name]})`);
    }
    const samples = new Map(engines.map((e) => [e.name, []]));
    for (let round = 0; round < opts.rounds; round++) {
      for (let i = 0; i < engines.length; i++) {
        const e = engines[(i + round) % engines.length];
        await timeEngine(e.run, minMs, samples.get(e.name));
      }
    }
    const row = { name: file.name, shape, errors, engines: {} };
    for (const e of engines) row.engines[e.name] = { medianMs: median(samples.get(e.name)), samples: samples.get(e.name).length };
    const ortMs = row.engines['ort-web'].medianMs;
    row.ratios = { js: ortMs / row.engines['sepconv-js'].medianMs, wasm: ortMs / row.engines['sepconv-wasm'].medianMs };
    if (row.engines['sepconv-wasm-pool2']) row.ratios.pool2 = ortMs / row.engines['sepconv-wasm-pool2'].medianMs;
    results.push(row);
    await session.release?.();
    console.log(`${file.name.padEnd(34)} ${engines.map((e) => `${e.name} ${row.engines[e.name].medianMs.toFixed(2)}ms`).join(' · ')} · wasm ${row.ratios.wasm.toFixed(2)}× ort-web, js ${row.ratios.js.toFixed(2)}×`);
  }
  await pool?.dispose();
  const markdown = toMarkdown(results);
  if (opts.save) {
    const dir = path.join(benchDir, 'results');
    mkdirSync(dir, { recursive: true });
    const report = { date: new Date().toISOString(), command: `node bench/onnx.mjs ${argv.join(' ')}`.trim(), machine: { cpu: os.cpus()[0]?.model, node: process.versions.node }, results };
    writeFileSync(path.join(dir, 'onnx.json'), `${JSON.stringify(report, null, 1)}\n`);
    writeFileSync(path.join(dir, 'onnx.md'), `${markdown}\n`);
  }
  return { results, markdown };
}

function toMarkdown(results) {
  const lines = [
    '| model | input | sepconv js ms | sepconv wasm ms | sepconv wasm, 2-thread pool ms | onnxruntime-web ms | wasm speed-up | js speed-up |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const e = r.engines;
    const pool2 = e['sepconv-wasm-pool2'] ? e['sepconv-wasm-pool2'].medianMs.toFixed(2) : '–';
    lines.push(`| ${r.name} | ${r.shape.join('×')} | ${e['sepconv-js'].medianMs.toFixed(2)} | ${e['sepconv-wasm'].medianMs.toFixed(2)} | ${pool2} | ${e['ort-web'].medianMs.toFixed(2)} | ${r.ratios.wasm.toFixed(2)}× | ${r.ratios.js.toFixed(2)}× |`);
  }
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { markdown } = await runOnnxBench(process.argv.slice(2));
  console.log(`\n${markdown}`);
}
