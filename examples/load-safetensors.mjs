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
import { foldBatchNorm, loadSafetensors, mobilenetV1, saveSafetensors } from 'sepconv';

let path = process.argv[2] || undefined;
const runs = Number(process.argv[3] ?? 7);
if (path === undefined) {
  path = join(mkdtempSync(join(tmpdir(), 'sepconv-')), 'mobilenet_v1.safetensors');
  writeFileSync(path, saveSafetensors(mobilenetV1({ seed: 42 }).stateDict(), { format: 'pt' }));
  console.log(`wrote ${path}`);
}

// PyTorch stores BatchNorm's num_batches_tracked as int64; inference does not need it.
const weights = loadSafetensors(readFileSync(path), { skipUnsupported: true });
const model = mobilenetV1({ numClasses: weights['fc.weight'].shape[0] });
model.loadStateDict(weights);
console.log(`loaded ${Object.keys(weights).length} tensors, ${model.numParameters()} parameters`);

const input = { shape: [1, 3, 224, 224], data: Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.01)) };

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
console.log(`folded vs unfolded: max relative difference ${(err / ref).toExponential(2)}`);
