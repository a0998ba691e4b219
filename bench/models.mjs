#!/usr/bin/env node
/**
 * The model zoo compiled (model.compile([1, 3, 224, 224])) on each tier and wasm variant, one
 * model at a time: `<tier>` rows are `model.compile(shape)` as a user calls it (whatever the
 * defaults are), `<tier> folded` rows compile `foldBatchNorm(model)`. MobileNetV2 also runs on
 * LiteRT.js (a TFLite graph written by bench/tflite.mjs: BatchNorm folded, ReLU6 fused, NHWC) and
 * on TensorFlow.js cpu and wasm (XNNPACK, one thread) built from tfjs ops — fused conv2d /
 * depthwiseConv2d with bias and relu6, add — on the same weights, outputs cross-checked.
 * Engines run interleaved in rotating order; medians over all rounds; FLOPs = 2 × MACs
 * (convolutions and linear layers, src/analysis).
 *
 *   node bench/models.mjs [--filter name[,name…]] [--rounds n] [--quick] [--no-peers] [--save]
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rng } from './workloads.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.dirname(benchDir);

function parseArgs(argv) {
  const opts = { filter: null, rounds: 3, quick: false, peers: true, save: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--no-peers') opts.peers = false;
    else if (arg === '--save') opts.save = true;
    else if (arg === '--filter') opts.filter = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (arg === '--rounds') opts.rounds = Number(argv[++i]);
    else throw new Error(`usage: node bench/models.mjs [--filter name[,name…]] [--rounds n] [--quick] [--no-peers] [--save]; unknown ${arg}`);
  }
  if (opts.quick) opts.rounds = 1;
  return opts;
}

const MODELS = [
  ['mobilenet_v2', (sep) => sep.mobilenetV2({ seed: 1 })],
  ['mobilenet_v3_large', (sep) => sep.mobilenetV3Large({ seed: 1 })],
  ['mobilenet_v3_small', (sep) => sep.mobilenetV3Small({ seed: 1 })],
  ['shufflenet_v2_x1_0', (sep) => sep.shufflenetV2({ width: 1.0, seed: 1 })],
  ['mnasnet1_0', (sep) => sep.mnasnet({ alpha: 1.0, seed: 1 })],
  ['efficientnet_b0', (sep) => sep.efficientnetB0({ seed: 1 })],
];

const INPUT = [1, 3, 224, 224];

/** BatchNorm statistics and affine parameters drawn at random, so the cross-check sees more than identity BNs. */
function randomizeBatchNorms(sep, model, next) {
  for (const m of model.modules()) {
    if (!(m instanceof sep.BatchNorm2d)) continue;
    for (let i = 0; i < m.numFeatures; i++) {
      m.runningMean.data[i] = 0.1 * (2 * next() - 1);
      m.runningVar.data[i] = 0.5 + next();
      if (m.weight) m.weight.data[i] = 0.5 + next();
      if (m.bias) m.bias.data[i] = 0.1 * (2 * next() - 1);
    }
    m.stateVersion++;
  }
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

/** A conv + BatchNorm pair folded: weight·scale per output channel and bias = shift (float64, then float32). */
function folded(conv, bn) {
  const { scale, shift } = bn.scaleShift();
  const w = conv.weight.data;
  const per = w.length / conv.outChannels;
  const weight = new Float32Array(w.length);
  for (let o = 0; o < conv.outChannels; o++) for (let i = o * per; i < (o + 1) * per; i++) weight[i] = w[i] * scale[o];
  return { weight: { shape: conv.weight.shape, data: weight }, bias: Float32Array.from(shift) };
}

/**
 * MobileNetV2 as TensorFlow.js ops (NHWC), from the sepconv model's weights: every
 * Conv2dNormActivation and projection becomes one fused conv with bias (and relu6), residuals an add.
 */
function tfjsMobileNetV2(tf, sep, model) {
  const layers = [];
  const convLayer = (conv, bn, relu6) => {
    const { weight, bias } = folded(conv, bn);
    const depthwise = conv.groups === conv.inChannels && conv.groups > 1;
    const filter = depthwise ? sep.depthwiseFilterToTfjs(weight) : sep.conv2dFilterToTfjs(weight);
    const p = conv.padding;
    return {
      depthwise,
      filter: tf.tensor(filter.data, filter.shape),
      bias: tf.tensor1d(bias),
      strides: conv.stride,
      pad: [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]],
      activation: relu6 ? 'relu6' : 'linear',
    };
  };
  const features = model.features.children();
  for (const block of features) {
    if (block instanceof sep.Conv2dNormActivation) {
      const [conv, bn] = block.children();
      layers.push({ kind: 'conv', ops: [convLayer(conv, bn, true)] });
      continue;
    }
    const body = block.body.children();
    const ops = [];
    for (const part of body) {
      if (part instanceof sep.Conv2dNormActivation) {
        const [conv, bn] = part.children();
        ops.push(convLayer(conv, bn, true));
      }
    }
    const projection = body[body.length - 2];
    ops.push(convLayer(projection, body[body.length - 1], false));
    layers.push({ kind: block.useResConnect ? 'residual' : 'conv', ops });
  }
  const linear = model.classifier.children()[1];
  const fcW = tf.transpose(tf.tensor2d(linear.weight.data, linear.weight.shape));
  const fcB = tf.tensor1d(linear.bias.data);
  const runOp = (x, op) => op.depthwise
    ? tf.fused.depthwiseConv2d({ x: tf.pad(x, op.pad), filter: op.filter, strides: op.strides, pad: 'valid', bias: op.bias, activation: op.activation })
    : tf.fused.conv2d({ x, filter: op.filter, strides: op.strides, pad: op.pad, bias: op.bias, activation: op.activation });
  return {
    predict(input) {
      return tf.tidy(() => {
        let x = input;
        for (const layer of layers) {
          let y = x;
          for (const op of layer.ops) y = runOp(y, op);
          x = layer.kind === 'residual' ? tf.add(x, y) : y;
        }
        const pooled = tf.mean(x, [1, 2]);
        return tf.add(tf.matMul(pooled, fcW), fcB);
      });
    },
    dispose() {
      for (const layer of layers) for (const op of layer.ops) { op.filter.dispose(); op.bias.dispose(); }
      fcW.dispose();
      fcB.dispose();
    },
  };
}

/**
 * MobileNetV2 as a TFLite graph (bench/tflite.mjs) from the sepconv model's weights, the same
 * conversion as tfjsMobileNetV2: BatchNorm folded into each convolution's weight and bias, ReLU6
 * fused, residual ADDs, a spatial MEAN and FULLY_CONNECTED (Dropout is the identity in eval mode).
 */
function tfliteMobileNetV2(sep, model, TfliteGraph) {
  const graph = new TfliteGraph();
  let x = graph.input([1, INPUT[2], INPUT[3], INPUT[1]]);
  const conv = (input, c, bn, relu6) => {
    const { weight, bias } = folded(c, bn);
    const p = c.padding;
    if (p.top !== p.bottom || p.left !== p.right || p.top !== p.left || c.stride[0] !== c.stride[1]) {
      throw new Error('bench/models: the TFLite writer takes square strides and symmetric padding');
    }
    return graph.conv(input, { weight: weight.data, shape: weight.shape, bias, stride: c.stride[0], pad: p.top, groups: c.groups, activation: relu6 ? 'relu6' : 'none' });
  };
  for (const block of model.features.children()) {
    if (block instanceof sep.Conv2dNormActivation) {
      const [c, bn] = block.children();
      x = conv(x, c, bn, true);
      continue;
    }
    const body = block.body.children();
    let y = x;
    for (const part of body) {
      if (part instanceof sep.Conv2dNormActivation) {
        const [c, bn] = part.children();
        y = conv(y, c, bn, true);
      }
    }
    y = conv(y, body[body.length - 2], body[body.length - 1], false);
    x = block.useResConnect ? graph.add(x, y) : y;
  }
  const linear = model.classifier.children()[1];
  x = graph.fullyConnected(graph.spatialMean(x), linear.weight.data, linear.weight.shape[0], linear.bias.data);
  graph.output(x);
  return graph.encode('sepconv bench: MobileNetV2');
}

/** Wall time of each call into `samples`, and the process's CPU time of it into `cpu` (every engine here runs on one thread). */
async function timeEngine(run, minMs, samples, minCalls, cpu) {
  await run(); // warm
  const start = performance.now();
  let calls = 0;
  while (calls < minCalls || performance.now() - start < minMs) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
    const used = process.cpuUsage(c0);
    cpu.push((used.user + used.system) / 1000);
    calls++;
  }
}

export async function runModelsBench(argv = []) {
  const opts = parseArgs(argv);
  const distIndex = path.join(rootDir, 'dist', 'index.js');
  if (!existsSync(distIndex)) throw new Error('bench/models: dist/ is missing; run `npm run build` first');
  const sep = await import(pathToFileURL(distIndex).href);
  await sep.setBackend('wasm');
  const info = sep.backendInfo();
  const variants = info.relaxedSimd ? ['plain', 'relaxed'] : ['plain'];
  const minMs = opts.quick ? 0 : 400;
  const minCalls = opts.quick ? 1 : 2;
  let tf = null;
  let litert = null;
  if (opts.peers) {
    const peer = await import('./peers/litert.mjs');
    await peer.loadLitert();
    const { TfliteGraph } = await import('./tflite.mjs');
    litert = { ...peer, TfliteGraph };
  }
  console.log(`sepconv models bench · ${os.cpus()[0]?.model} · Node ${process.versions.node} (V8 ${process.versions.v8}) · wasm SIMD ${info.simd}, relaxed SIMD ${info.relaxedSimd}; sepconv wasm variants: ${variants.join(', ')}` +
    `${litert ? ` · ${litert.litertDetail()}` : ''} · input ${INPUT.join('×')}`);
  console.log(`${opts.rounds} interleaved round(s) × ≥${minMs} ms per engine; medians; GFLOP/s = 2·MACs / time`);
  if (opts.peers) {
    tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
    const wasmBackend = await import('@tensorflow/tfjs-backend-wasm');
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    wasmBackend.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
    wasmBackend.setThreadsCount(1);
  }
  const next = rng(7);
  const inputData = new Float32Array(INPUT.reduce((a, b) => a * b, 1));
  for (let i = 0; i < inputData.length; i++) inputData[i] = 2 * next() - 1;
  const input = { shape: INPUT, data: inputData };
  const results = [];
  for (const [name, make] of MODELS) {
    if (opts.filter && !opts.filter.some((f) => name.includes(f))) continue;
    const model = make(sep);
    randomizeBatchNorms(sep, model, next);
    const s = sep.summary(model, INPUT);
    const separableMacs = s.rows.filter((r) => r.kind === 'conv' && (r.type === 'Conv2d') && isSeparablePart(model, r.name)).reduce((a, r) => a + r.macs, 0);
    const engines = [];
    // Each tier as built (BatchNorm a separate in-place pass, fused with a following ReLU/ReLU6)
    // and with BatchNorm folded into the convolutions (foldBatchNorm), as the TensorFlow.js graph has it.
    const foldedModel = sep.foldBatchNorm(model);
    for (const [tier, variant] of [['js', null], ...variants.map((v) => ['wasm', v])]) {
      await sep.setBackend(tier, variant ? { relaxedSimd: variant === 'relaxed' } : {});
      const label = variant ? `${tier} ${variant}` : tier;
      for (const [suffix, m] of [['', model], [' folded', foldedModel]]) {
        const compiled = m.compile(INPUT);
        engines.push({ name: `${label}${suffix}`, tier, variant, run: () => compiled.run(input), output: () => Float32Array.from(compiled.run(input).data), dispose: () => compiled.dispose?.() });
      }
    }
    if (tf && name === 'mobilenet_v2') {
      // TensorFlow.js cpu takes seconds per MobileNetV2: not in a --quick run
      for (const backend of opts.quick ? ['wasm'] : ['cpu', 'wasm']) {
        await tf.setBackend(backend);
        await tf.ready();
        const net = tfjsMobileNetV2(tf, sep, model);
        const x = tf.tensor(sep.nchwToNhwc(input).data, [1, 224, 224, 3]);
        const run = async () => { const y = net.predict(x); await y.data(); y.dispose(); };
        const output = async () => { const y = net.predict(x); const d = await y.data(); y.dispose(); return Float32Array.from(d); };
        engines.push({ name: `tfjs-${backend}`, tfBackend: backend, run, output, dispose: () => { net.dispose(); x.dispose(); } });
      }
    }
    if (litert && name === 'mobilenet_v2') {
      const bytes = tfliteMobileNetV2(sep, model, litert.TfliteGraph);
      const compiled = await litert.compileTflite(bytes, [1, INPUT[2], INPUT[3], INPUT[1]], sep.nchwToNhwc(input).data);
      engines.push({ name: 'litert', run: compiled.run, output: compiled.output, dispose: compiled.dispose });
    }
    const activate = async (e) => {
      if (e.tier) await sep.setBackend(e.tier, e.variant ? { relaxedSimd: e.variant === 'relaxed' } : {});
      if (e.tfBackend) await tf.setBackend(e.tfBackend);
    };
    // Agreement with the unplanned forward on the JS tier.
    await sep.setBackend('js');
    const ref = model.forward(input).data;
    const errors = {};
    for (const e of engines) {
      await activate(e);
      errors[e.name] = maxRelative(await e.output(), ref);
      if (!(errors[e.name] <= 1e-3)) throw new Error(`${name}: ${e.name} disagrees with the reference forward (${errors[e.name]})`);
    }
    const samples = new Map(engines.map((e) => [e.name, []]));
    const cpuSamples = new Map(engines.map((e) => [e.name, []]));
    for (let round = 0; round < opts.rounds; round++) {
      for (let i = 0; i < engines.length; i++) {
        const e = engines[(i + round) % engines.length];
        await activate(e);
        await timeEngine(e.run, minMs, samples.get(e.name), minCalls, cpuSamples.get(e.name));
      }
    }
    const row = { name, params: model.numParameters(), macs: s.totals.macs, separableMacShare: separableMacs / s.totals.macs, errors, engines: {} };
    for (const e of engines) {
      const ms = median(samples.get(e.name));
      row.engines[e.name] = { medianMs: ms, cpuMedianMs: median(cpuSamples.get(e.name)), gflops: (2 * s.totals.macs) / (ms * 1e6), samples: samples.get(e.name).length };
      e.dispose?.();
    }
    results.push(row);
    const best = `wasm ${variants[variants.length - 1]}`;
    console.log(`${name.padEnd(19)} ` + engines.map((e) => {
      const r = row.engines[e.name];
      return `${e.name} ${r.medianMs.toFixed(1)}ms ${r.gflops.toFixed(2)} GFLOP/s`;
    }).join(' · ') + ['litert', 'tfjs-wasm'].filter((p) => row.engines[p]).map((p) =>
      ` · ${best} = ${(row.engines[p].medianMs / row.engines[best].medianMs).toFixed(2)}× ${p}, ${best} folded = ${(row.engines[p].medianMs / row.engines[`${best} folded`].medianMs).toFixed(2)}× ${p}`).join(''));
  }
  await sep.setBackend('auto');
  const markdown = toMarkdown(results, variants, litert?.litertDetail());
  if (opts.save) {
    const dir = path.join(benchDir, 'results');
    mkdirSync(dir, { recursive: true });
    const report = { date: new Date().toISOString(), command: `node bench/models.mjs ${argv.join(' ')}`.trim(), machine: { cpu: os.cpus()[0]?.model, node: process.versions.node, v8: process.versions.v8 }, variants, litert: litert?.litertDetail() ?? null, input: INPUT, results };
    const stem = `models-node${process.versions.node.split('.')[0]}`;
    writeFileSync(path.join(dir, `${stem}.json`), `${JSON.stringify(report, null, 1)}\n`);
    writeFileSync(path.join(dir, `${stem}.md`), `${markdown}\n`);
  }
  return { results, markdown };
}

/** A depthwise (groups = Cin > 1) or pointwise (1×1, groups 1) convolution of the model. */
function isSeparablePart(model, name) {
  const conv = model.namedModules().find(([n]) => n === name)?.[1];
  if (!conv) return false;
  const depthwise = conv.groups > 1 && conv.groups === conv.inChannels;
  const pointwise = conv.kernelSize[0] === 1 && conv.kernelSize[1] === 1 && conv.groups === 1;
  return depthwise || pointwise;
}

function toMarkdown(results, variants, litertDetail) {
  const sepNames = ['js', 'js folded', ...variants.flatMap((v) => [`wasm ${v}`, `wasm ${v} folded`])];
  const peers = ['litert', 'tfjs-wasm', 'tfjs-cpu'].filter((p) => results.some((r) => r.engines[p]));
  const best = `wasm ${variants[variants.length - 1]}`;
  const ratios = peers.filter((p) => p !== 'tfjs-cpu').flatMap((p) => [[best, p], [`${best} folded`, p]]);
  const lines = [
    `| model | params | MACs | separable share | ${sepNames.map((n) => `${n} ms`).join(' | ')} | ${best} folded GFLOP/s | ${peers.map((p) => `${p} ms`).join(' | ')} | ${ratios.map(([n, p]) => `${n} × ${p}`).join(' | ')} | ${ratios.map(([n, p]) => `${n} × ${p} by CPU time`).join(' | ')} |`,
  ];
  lines.push(`|${'---|'.repeat(lines[0].split('|').length - 2)}`);
  for (const r of results) {
    const e = r.engines;
    const ms = (k) => (e[k] ? e[k].medianMs.toFixed(1) : '–');
    const ratio = ([n, p]) => (e[n] && e[p] ? `${(e[p].medianMs / e[n].medianMs).toFixed(2)}×` : '–');
    const cpuRatio = ([n, p]) => (e[n] && e[p] ? `${(e[p].cpuMedianMs / e[n].cpuMedianMs).toFixed(2)}×` : '–');
    lines.push(`| ${r.name} | ${r.params.toLocaleString('en-US')} | ${r.macs.toLocaleString('en-US')} | ${(100 * r.separableMacShare).toFixed(1)}% | ` +
      `${sepNames.map(ms).join(' | ')} | ${e[`${best} folded`].gflops.toFixed(2)} | ${peers.map(ms).join(' | ')} | ${ratios.map(ratio).join(' | ')} | ${ratios.map(cpuRatio).join(' | ')} |`);
  }
  lines.push('', `Node ${process.versions.node}; "<tier> <variant>" = model.compile(shape) as a user calls it, "folded" = foldBatchNorm(model).compile(shape); ` +
    `sepconv wasm variants: ${variants.join(', ')}${litertDetail ? `; ${litertDetail}` : ''}. "× X" = X's median / the sepconv row's median (above 1: sepconv is faster); ` +
    '"by CPU time" compares medians of each call\'s process CPU time instead of wall time (every engine runs on one thread), which other load on the machine disturbs far less. ' +
    'Peers run MobileNetV2 only.');
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { markdown } = await runModelsBench(process.argv.slice(2));
  console.log(`\n${markdown}`);
}
