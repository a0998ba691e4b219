// MobileNetV1 inference on an image-shaped input, in a page. Serve the repository root over HTTP
// (any static server; module scripts do not load from file://) after `npm run build`, and open
// /examples/browser/. In an application, import from 'sepconv' instead of the built file.
import { mobilenetV1, ready, tensor } from '../../dist/index.js';

const params = new URLSearchParams(location.search);
const widthMultiplier = Number(params.get('width') ?? 0.25);
const size = Number(params.get('size') ?? 224);

/** Draws a synthetic scene (sky, sun, hills) so the example needs no image file. */
function drawScene(canvas) {
  canvas.width = size;
  canvas.height = size;
  const g = canvas.getContext('2d');
  const sky = g.createLinearGradient(0, 0, 0, size);
  sky.addColorStop(0, '#4a90d9');
  sky.addColorStop(1, '#cfe8ff');
  g.fillStyle = sky;
  g.fillRect(0, 0, size, size);
  g.fillStyle = '#ffd23f';
  g.beginPath();
  g.arc(size * 0.72, size * 0.25, size * 0.1, 0, 2 * Math.PI);
  g.fill();
  g.fillStyle = '#3f7d3a';
  g.beginPath();
  g.moveTo(0, size);
  g.quadraticCurveTo(size * 0.3, size * 0.45, size * 0.6, size * 0.8);
  g.quadraticCurveTo(size * 0.8, size * 0.6, size, size * 0.7);
  g.lineTo(size, size);
  g.fill();
  return g.getImageData(0, 0, size, size);
}

/** RGBA pixels → a [1, 3, H, W] float tensor, normalised with the ImageNet mean and std. */
function toInputTensor(image) {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const plane = image.width * image.height;
  const data = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) data[c * plane + i] = (image.data[i * 4 + c] / 255 - mean[c]) / std[c];
  }
  return tensor(data, [1, 3, image.height, image.width]);
}

function topK(values, k) {
  const max = Math.max(...values);
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return Array.from(values, (logit, index) => ({ index, logit, probability: Math.exp(logit - max) / sum }))
    .sort((a, b) => b.logit - a.logit)
    .slice(0, k);
}

const output = document.getElementById('output');
try {
  // Compiles the WebAssembly kernels (needs 'wasm-unsafe-eval' in the page's CSP; without it the
  // JavaScript kernels run, after one console warning). Browsers require this await before the first call.
  const backend = await ready();
  const input = toInputTensor(drawScene(document.getElementById('image')));
  const model = mobilenetV1({ widthMultiplier, numClasses: 1000, seed: 0 });
  const started = performance.now();
  const logits = model.forward(input);
  const elapsedMs = performance.now() - started;
  const top5 = topK(logits.data, 5);
  window.sepconvExample = {
    backend,
    logits: logits.data.length,
    shape: logits.shape.slice(),
    allFinite: logits.data.every(Number.isFinite),
    top5,
    elapsedMs,
  };
  output.textContent = [
    `MobileNetV1 width ${widthMultiplier}, input [${input.shape.join(', ')}] → logits [${logits.shape.join(', ')}] in ${elapsedMs.toFixed(0)} ms`,
    'top 5 (class: logit, softmax probability):',
    ...top5.map((t) => `  ${String(t.index).padStart(4)}: ${t.logit.toFixed(4)}  ${(t.probability * 100).toFixed(2)} %`),
  ].join('\n');
  document.body.dataset.status = 'done';
} catch (error) {
  window.sepconvExample = { error: String(error && error.stack ? error.stack : error) };
  output.textContent = String(error);
  document.body.dataset.status = 'failed';
}
