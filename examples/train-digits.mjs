// Trains a small depthwise-separable CNN on the digits data set (1,797 8×8 images; the first 1,437
// for training, the last 360 held out), on one thread, seeded so a run repeats exactly:
//
//   npm run train                       # builds, then trains with the defaults below
//   npm run train -- --epochs 30 --seed 2 --html report.html
//
// Options: --epochs N (default 15), --batch-size N (32), --lr X (AdamW, 0.003), --seed N (1),
// --html FILE (loss and accuracy curves as SVG). Prints a progress line per epoch (loss, accuracy,
// samples/s), the held-out accuracy and its confusion matrix.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AdamW, AdaptiveAvgPool2d, BatchNorm2d, Conv2d, CosineAnnealingLR, Flatten, Generator, Linear, MaxPool2d, ReLU, ReLU6,
  Sequential, crossEntropy, depthwise_separable_conv,
} from 'sepconv';

const DATA = join(dirname(fileURLToPath(import.meta.url)), 'data', 'digits');
const TRAIN = 1437;

function parseArgs(argv) {
  const options = { epochs: 15, batchSize: 32, lr: 3e-3, seed: 1, html: null };
  const numeric = { '--epochs': 'epochs', '--batch-size': 'batchSize', '--lr': 'lr', '--seed': 'seed' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--html') options.html = argv[++i];
    else if (flag in numeric) options[numeric[flag]] = Number(argv[++i]);
    else throw new Error(`unknown option ${flag}; use --epochs, --batch-size, --lr, --seed or --html`);
  }
  for (const key of ['epochs', 'batchSize', 'seed']) {
    if (!Number.isInteger(options[key]) || options[key] < 1) throw new Error(`--${key} must be a positive integer`);
  }
  if (!(options.lr > 0)) throw new Error('--lr must be a positive number');
  if (options.html === undefined) throw new Error('--html needs a file name');
  return options;
}

/** Conv 3×3 → BN → ReLU, then two of the seed's depthwise-separable blocks, global pool, linear. */
function digitsNet(seed) {
  const generator = new Generator(seed);
  return new Sequential(
    new Conv2d({ inChannels: 1, outChannels: 32, kernelSize: 3, padding: 1, generator }),
    new BatchNorm2d(32),
    new ReLU(),
    new depthwise_separable_conv(32, 2, 64, { generator }),
    new BatchNorm2d(64),
    new ReLU6(),
    new MaxPool2d(2),
    new depthwise_separable_conv(64, 1, 128, { generator }),
    new BatchNorm2d(128),
    new ReLU(),
    new AdaptiveAvgPool2d(1),
    new Flatten(),
    new Linear(128, 10, { generator }),
  );
}

function loadDigits() {
  const images = readFileSync(join(DATA, 'images-u8.bin'));
  const labels = readFileSync(join(DATA, 'labels-u8.bin'));
  const x = Float32Array.from(images, (v) => v / 16);
  return { x, labels: Uint8Array.from(labels), count: labels.length };
}

/** Copies samples `order[start..start+n)` into the batch tensor and label list (reused across steps). */
function fillBatch(data, order, start, n, batch, targets) {
  for (let i = 0; i < n; i++) {
    const s = order[start + i];
    batch.data.set(data.x.subarray(s * 64, s * 64 + 64), i * 64);
    targets[i] = data.labels[s];
  }
}

function argmax(row) {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
  return best;
}

/** Eval-mode accuracy and confusion matrix over samples [from, to). */
function evaluate(model, data, from, to) {
  model.eval();
  const n = to - from;
  const x = { shape: [n, 1, 8, 8], data: data.x.subarray(from * 64, to * 64) };
  const logits = model.forward(x);
  const confusion = Array.from({ length: 10 }, () => new Array(10).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const predicted = argmax(logits.data.subarray(i * 10, i * 10 + 10));
    const actual = data.labels[from + i];
    confusion[actual][predicted]++;
    if (predicted === actual) correct++;
  }
  model.train();
  return { accuracy: correct / n, confusion };
}

function bar(fraction, width = 24) {
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function chart(title, series, yLabel) {
  const w = 520, h = 240, left = 50, right = 110, top = 28, bottom = 32;
  const all = series.flatMap((s) => s.values);
  const lo = Math.min(...all), hi = Math.max(...all);
  const span = hi - lo || 1;
  const n = Math.max(...series.map((s) => s.values.length));
  const px = (i) => left + (n === 1 ? 0 : (i * (w - left - right)) / (n - 1));
  const py = (v) => top + (h - top - bottom) * (1 - (v - lo) / span);
  const lines = series.map((s, k) => {
    const points = s.values.map((v, i) => `${px(i).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
    return `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${points}"/>` +
      `<text x="${w - right + 8}" y="${top + 16 + 18 * k}" fill="${s.color}" font-size="12">${s.name}</text>`;
  }).join('');
  const ticks = [lo, (lo + hi) / 2, hi].map((v) => `<text x="${left - 6}" y="${py(v) + 4}" text-anchor="end" font-size="11">${v.toFixed(3)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img" aria-label="${title}">` +
    `<text x="${left}" y="16" font-size="13" font-weight="bold">${title}</text>` +
    `<line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}" stroke="#888"/>` +
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}" stroke="#888"/>${ticks}${lines}` +
    `<text x="${(left + w - right) / 2}" y="${h - 6}" text-anchor="middle" font-size="11">epoch (1..${n})</text>` +
    `<text x="12" y="${top - 8}" font-size="11">${yLabel}</text></svg>`;
}

function htmlReport(history, final, options, seconds) {
  const rows = final.confusion.map((row, d) => `<tr><th>${d}</th>${row.map((v) => `<td>${v}</td>`).join('')}</tr>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>sepconv: digits training</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}td,th{padding:2px 6px;text-align:right}table{border-collapse:collapse}td{border:1px solid #ddd}</style></head><body>
<h1>Digits: a depthwise-separable CNN trained with sepconv</h1>
<p>${options.epochs} epochs, batch ${options.batchSize}, AdamW lr ${options.lr} with cosine annealing, label smoothing 0.1, seed ${options.seed};
${TRAIN} training samples, ${1797 - TRAIN} held out. Held-out accuracy <b>${(100 * final.accuracy).toFixed(2)}%</b> after ${seconds.toFixed(1)} s.</p>
${chart('Training loss (mean cross-entropy per epoch)', [{ name: 'train loss', color: '#c0392b', values: history.map((e) => e.loss) }], 'loss')}
${chart('Accuracy', [
    { name: 'train', color: '#2471a3', values: history.map((e) => e.trainAccuracy) },
    { name: 'held out', color: '#229954', values: history.map((e) => e.testAccuracy) },
  ], 'accuracy')}
<h2>Held-out confusion matrix (rows: actual digit, columns: predicted)</h2>
<table><tr><th></th>${[...Array(10).keys()].map((d) => `<th>${d}</th>`).join('')}</tr>${rows}</table>
</body></html>`;
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const data = loadDigits();
  const model = digitsNet(options.seed).train();
  const optimizer = new AdamW(model.parameters(), { lr: options.lr, weightDecay: 1e-2 });
  const schedule = new CosineAnnealingLR(optimizer, { tMax: options.epochs });
  const shuffle = new Generator(options.seed + 1000);
  const order = Int32Array.from({ length: TRAIN }, (_, i) => i);
  const bs = options.batchSize;
  const batch = { shape: [bs, 1, 8, 8], data: new Float32Array(bs * 64) };
  const targets = new Array(bs).fill(0);
  const gradientOut = { shape: [bs, 10], data: new Float32Array(bs * 10) };
  const steps = Math.floor(TRAIN / bs); // the last partial batch is dropped, as DataLoader(drop_last=True)
  const history = [];
  const tty = process.stdout.isTTY;
  console.log(`sepconv: training a depthwise-separable CNN on digits (${TRAIN} train / ${1797 - TRAIN} held out), ${model.numParameters().toLocaleString('en-US')} parameters, seed ${options.seed}`);
  const started = performance.now();
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    for (let i = TRAIN - 1; i > 0; i--) {
      const j = Math.floor(shuffle.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const epochStart = performance.now();
    let lossSum = 0, correct = 0;
    for (let s = 0; s < steps; s++) {
      fillBatch(data, order, s * bs, bs, batch, targets);
      optimizer.zeroGrad();
      const logits = model.forward(batch);
      const { loss, gradient } = crossEntropy(logits, targets, { labelSmoothing: 0.1, out: gradientOut });
      model.backward(gradient);
      optimizer.step();
      lossSum += loss;
      for (let i = 0; i < bs; i++) if (argmax(logits.data.subarray(i * 10, i * 10 + 10)) === targets[i]) correct++;
      if (tty) process.stdout.write(`\repoch ${String(epoch).padStart(2)}/${options.epochs} ${bar((s + 1) / steps)} loss ${(lossSum / (s + 1)).toFixed(4)}`);
    }
    schedule.step();
    const seconds = (performance.now() - epochStart) / 1000;
    const test = evaluate(model, data, TRAIN, 1797);
    const entry = { loss: lossSum / steps, trainAccuracy: correct / (steps * bs), testAccuracy: test.accuracy, samplesPerSecond: (steps * bs) / seconds };
    history.push(entry);
    const line = `epoch ${String(epoch).padStart(2)}/${options.epochs} ${bar(1)} loss ${entry.loss.toFixed(4)}  train acc ${(100 * entry.trainAccuracy).toFixed(2)}%  held-out acc ${(100 * entry.testAccuracy).toFixed(2)}%  ${Math.round(entry.samplesPerSecond)} samples/s`;
    if (tty) process.stdout.write(`\r${line}\n`);
    else console.log(line);
  }
  const seconds = (performance.now() - started) / 1000;
  const final = evaluate(model, data, TRAIN, 1797);
  console.log(`\nheld-out accuracy ${(100 * final.accuracy).toFixed(2)}% (${Math.round(final.accuracy * (1797 - TRAIN))}/${1797 - TRAIN}) after ${seconds.toFixed(1)} s of training on one thread`);
  console.log('confusion matrix (rows: actual digit, columns: predicted):');
  console.log(`      ${[...Array(10).keys()].map((d) => String(d).padStart(4)).join('')}`);
  final.confusion.forEach((row, d) => console.log(`   ${d}  ${row.map((v) => String(v).padStart(4)).join('')}`));
  if (options.html) {
    writeFileSync(options.html, htmlReport(history, final, options, seconds));
    console.log(`wrote ${options.html}`);
  }
}

main();
