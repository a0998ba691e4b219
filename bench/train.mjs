#!/usr/bin/env node
/**
 * The training table: one training step (zeroGrad, train-mode forward, cross-entropy, backward,
 * SGD step) of MobileNetV1 at width 0.5, 128×128, batch 8, one thread, beside the same step of
 * TensorFlow.js cpu training the same architecture (built from tfjs ops: conv2d, depthwiseConv2d,
 * batch-statistics BatchNorm, relu6, global average pool, dense; gradients by tf.variableGrads),
 * and beside sepconv's own train-mode forward of the same batch (issue 12 asks for the step
 * within 3.5× a forward). TensorFlow.js cpu's step takes long, so it is timed over few steps.
 *
 *   node bench/train.mjs [--steps n] [--tfjs-steps n] [--no-peers] [--save]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rng } from './workloads.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const distIndex = path.join(path.dirname(benchDir), 'dist', 'index.js');
const WIDTH = 0.5;
const SIZE = 128;
const BATCH = 8;
const CLASSES = 1000;
const BLOCKS = [[64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2], [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1]];

function parseArgs(argv) {
  const opts = { steps: 7, tfjsSteps: 1, peers: true, save: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--steps') opts.steps = Number(argv[++i]);
    else if (arg === '--tfjs-steps') opts.tfjsSteps = Number(argv[++i]);
    else if (arg === '--no-peers') opts.peers = false;
    else if (arg === '--save') opts.save = true;
    else {
      console.error(`usage: node bench/train.mjs [--steps n] [--tfjs-steps n] [--no-peers] [--save]\nunknown argument ${JSON.stringify(arg)}`);
      process.exit(2);
    }
  }
  for (const key of ['steps', 'tfjsSteps']) {
    if (!Number.isInteger(opts[key]) || opts[key] < 1) {
      console.error(`bench/train: --${key === 'steps' ? 'steps' : 'tfjs-steps'} needs a positive integer`);
      process.exit(2);
    }
  }
  return opts;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function batchData() {
  const random = rng(7);
  const data = Float32Array.from({ length: BATCH * 3 * SIZE * SIZE }, () => random() * 2 - 1);
  const labels = Array.from({ length: BATCH }, () => Math.floor(random() * CLASSES));
  return { data, labels };
}

async function sepconvStep(steps) {
  const sc = await import(pathToFileURL(distIndex).href);
  await sc.setBackend('auto'); // the default tier and variant (bench/run.mjs selects the JS tier for its own table)
  const model = sc.mobilenetV1({ widthMultiplier: WIDTH, numClasses: CLASSES, seed: 1 });
  const { data, labels } = batchData();
  const x = { shape: [BATCH, 3, SIZE, SIZE], data };
  const opt = new sc.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const gradOut = { shape: [BATCH, CLASSES], data: new Float32Array(BATCH * CLASSES) };
  model.train();
  const step = () => {
    opt.zeroGrad();
    const logits = model.forward(x);
    const { gradient } = sc.crossEntropy(logits, labels, { out: gradOut });
    model.backward(gradient);
    opt.step();
  };
  const forwardOnly = () => model.forward(x);
  step();
  step();
  const stepTimes = [];
  const forwardTimes = [];
  for (let i = 0; i < steps; i++) {
    let t = performance.now();
    forwardOnly();
    forwardTimes.push(performance.now() - t);
    t = performance.now();
    step();
    stepTimes.push(performance.now() - t);
  }
  return { stepMs: median(stepTimes), forwardMs: median(forwardTimes), params: model.numParameters(), backend: sc.getBackend() === 'wasm' ? `wasm ${sc.backendInfo().wasmVariant}` : sc.getBackend() };
}

async function tfjsStep(steps) {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  await (await import('./peers/tfjs-gradients.mjs')).registerTfjsGradients();
  await tf.setBackend('cpu');
  const random = rng(11);
  const variable = (shape, fanIn) => tf.variable(tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (random() * 2 - 1) / Math.sqrt(fanIn)), shape));
  const width = (c) => Math.max(1, Math.floor(c * WIDTH));
  const bn = (c) => ({ gamma: tf.variable(tf.ones([c])), beta: tf.variable(tf.zeros([c])) });
  const layers = [];
  let c = width(32);
  layers.push({ kind: 'conv', w: variable([3, 3, 3, c], 27), stride: 2, bn: bn(c) });
  for (const [out, stride] of BLOCKS) {
    const o = width(out);
    layers.push({ kind: 'dw', w: variable([3, 3, c, 1], 9), stride, bn: bn(c) });
    layers.push({ kind: 'conv', w: variable([1, 1, c, o], c), stride: 1, bn: bn(o) });
    c = o;
  }
  const fcW = variable([c, CLASSES], c);
  const fcB = tf.variable(tf.zeros([CLASSES]));
  const { data, labels } = batchData();
  // NCHW → NHWC for TensorFlow's layout; the same numbers as sepconv's batch.
  const nhwc = new Float32Array(data.length);
  for (let n = 0; n < BATCH; n++) for (let ch = 0; ch < 3; ch++) for (let p = 0; p < SIZE * SIZE; p++) nhwc[(n * SIZE * SIZE + p) * 3 + ch] = data[(n * 3 + ch) * SIZE * SIZE + p];
  const x = tf.tensor4d(nhwc, [BATCH, SIZE, SIZE, 3]);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const loss = () => {
    let h = x;
    for (const l of layers) {
      h = l.kind === 'conv' ? tf.conv2d(h, l.w, l.stride, l.w.shape[0] === 1 ? 'valid' : 'same') : tf.depthwiseConv2d(h, l.w, l.stride, 'same');
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      h = tf.clipByValue(tf.batchNorm(h, mean, variance, l.bn.beta, l.bn.gamma, 1e-5), 0, 6);
    }
    const pooled = tf.mean(h, [1, 2]);
    const logits = tf.add(tf.matMul(pooled, fcW), fcB);
    return tf.losses.softmaxCrossEntropy(y, logits);
  };
  const step = () => tf.tidy(() => { optimizer.minimize(loss); });
  const forwardTimes = [];
  const stepTimes = [];
  for (let i = 0; i < steps; i++) {
    let t = performance.now();
    tf.tidy(() => loss().dataSync());
    forwardTimes.push(performance.now() - t);
    t = performance.now();
    step();
    stepTimes.push(performance.now() - t);
  }
  return { stepMs: median(stepTimes), forwardMs: median(forwardTimes), version: tf.version_core };
}

export async function runTrainBench(argv = []) {
  const opts = parseArgs(argv);
  const ours = await sepconvStep(opts.steps);
  const peer = opts.peers ? await tfjsStep(opts.tfjsSteps) : null;
  const rows = [
    `| engine | step ms | train-mode forward ms | step / forward |`,
    `|---|---:|---:|---:|`,
    `| sepconv (${ours.backend} tier), 1 thread | ${ours.stepMs.toFixed(1)} | ${ours.forwardMs.toFixed(1)} | ${(ours.stepMs / ours.forwardMs).toFixed(2)} (target ≤ 3.5) |`,
  ];
  if (peer) rows.push(`| TensorFlow.js ${peer.version} cpu | ${peer.stepMs.toFixed(0)} | ${peer.forwardMs.toFixed(0)} | ${(peer.stepMs / peer.forwardMs).toFixed(2)} |`);
  const title = `Node ${process.versions.node}: one training step of MobileNetV1 (width ${WIDTH}, ${SIZE}×${SIZE}, batch ${BATCH}, ${CLASSES} classes, ${ours.params.toLocaleString('en-US')} parameters), medians of ${opts.steps} sepconv steps${peer ? ` and ${opts.tfjsSteps} TensorFlow.js step(s)` : ''}`;
  const markdown = [title, '', ...rows, '', peer ? `sepconv's step is ${(peer.stepMs / ours.stepMs).toFixed(0)}× faster than TensorFlow.js cpu's.` : ''].join('\n');
  if (opts.save) {
    const dir = path.join(benchDir, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'train.json'), JSON.stringify({ date: new Date().toISOString(), cpu: os.cpus()[0]?.model, ours, peer }, null, 1));
    writeFileSync(path.join(dir, 'train.md'), `${markdown}\n`);
  }
  return { markdown, ours, peer };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { markdown } = await runTrainBench(process.argv.slice(2));
  console.log(markdown);
}
