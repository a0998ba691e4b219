// Load PyTorch weights from a .safetensors file into sepconv's MobileNetV1 and run inference, with
// and without BatchNorm folding. Run `npm run build` first, then
//
//   node examples/load-safetensors.mjs [mobilenet_v1.safetensors] [runs]
//
// A file for the widespread PyTorch MobileNetV1 port (model.0.0.weight ... fc.bias) is written by
//
//   from safetensors.torch import save_file
//   save_file(model.state_dict(), "mobilenet_v1.safetensors")
//
// Without a file argument the script first writes one from a seeded sepconv model, to show the
// round trip. Times are medians over `runs` forward passes (batch 1, 224x224, one thread).
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchNorm2d, foldBatchNorm, loadSafetensors, mobilenetV1, saveSafetensors } from 'sepconv';

const input = { shape: [1, 3, 224, 224], data: Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.01)) };

/**
 * Sets every BatchNorm's running statistics to the statistics of its input on `x` (a one-image
 * calibration), so a freshly initialised stand-in network neither vanishes nor explodes.
 */
function calibrate(model, x) {
  const leaves = (m) => (m.children().length === 0 ? [m] : m.children().flatMap(leaves));
  for (const layer of leaves(model)) {
    if (layer instanceof BatchNorm2d) {
      const [n, c, h, w] = x.shape;
      const plane = h * w;
      for (let ch = 0; ch < c; ch++) {
        let sum = 0;
        let sq = 0;
        for (let b = 0; b < n; b++) {
          for (let i = (b * c + ch) * plane, end = i + plane; i < end; i++) {
            sum += x.data[i];
            sq += x.data[i] * x.data[i];
          }
        }
        const mean = sum / (n * plane);
        layer.runningMean.data[ch] = mean;
        layer.runningVar.data[ch] = Math.max(sq / (n * plane) - mean * mean, 1e-6);
      }
    }
    x = layer.forward(x);
  }
}

let path = process.argv[2] || undefined;
const runs = Number(process.argv[3] ?? 7);
if (path === undefined) {
  const standIn = mobilenetV1({ seed: 42 });
  calibrate(standIn, input);
  path = join(mkdtempSync(join(tmpdir(), 'sepconv-')), 'mobilenet_v1.safetensors');
  writeFileSync(path, saveSafetensors(standIn.stateDict(), { format: 'pt' }));
  console.log(`wrote ${path} (a seeded, calibrated stand-in for trained weights)`);
}

// PyTorch stores BatchNorm's num_batches_tracked as int64 (I64); it loads as a BigInt64Array count.
const weights = loadSafetensors(readFileSync(path));
const model = mobilenetV1({ numClasses: weights['fc.weight'].shape[0] });
model.loadStateDict(weights);
console.log(`loaded ${Object.keys(weights).length} tensors, ${model.numParameters()} parameters`);

function median(values) {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function time(label, run) {
  run(); // warm-up: JIT, buffers, packed weights
  const times = [];
  let y;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    y = run();
    times.push(performance.now() - t0);
  }
  let best = 0;
  for (let i = 1; i < y.data.length; i++) if (y.data[i] > y.data[best]) best = i;
  console.log(`${label}: median ${median(times).toFixed(1)} ms over ${runs} runs (top class ${best})`);
  return y;
}

const plain = model.compile(input.shape);
const folded = foldBatchNorm(model).compile(input.shape);
const a = time('MobileNetV1, BatchNorm separate', () => plain.run(input));
const aCopy = Float32Array.from(a.data);
const b = time('MobileNetV1, BatchNorm folded  ', () => folded.run(input));
let err = 0;
let ref = 0;
for (let i = 0; i < aCopy.length; i++) {
  err = Math.max(err, Math.abs(aCopy[i] - b.data[i]));
  ref = Math.max(ref, Math.abs(aCopy[i]));
}
// Folding changes float32 rounding only; in a deep network the difference grows with depth (on this
// calibrated random stand-in, a one-ulp change of the input moves the logits by a similar amount).
console.log(`folded vs unfolded: max|difference| / max|logit| = ${(err / ref).toExponential(2)}`);
