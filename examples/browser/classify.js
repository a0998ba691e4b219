// An image in, a labelled answer out, in a page: decodeImage → imageToTensor → MobileNetV2 →
// topClasses. Serve the repository root over HTTP after `npm run build` and open
// /examples/browser/classify.html. In an application, import from 'sepconv' instead of the built file.
//
// On load the page classifies a scene it draws itself, after a round trip through the browser's
// own PNG and JPEG encoders and sepconv's decoders (compared with the browser's decoding).
import {
  decodeImage, imageToTensor, loadSafetensors, mobilenetV2, ready, topClasses,
} from '../../dist/index.js';

const output = document.getElementById('output');
const canvas = document.getElementById('image');
let model = mobilenetV2({ seed: 0 }).eval();
let weightsName = 'seeded random weights';

/** A synthetic scene (sky, sun, hills, a striped flag) so the page needs no image file. */
function drawScene() {
  const g = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  const sky = g.createLinearGradient(0, 0, 0, h);
  sky.addColorStop(0, '#4a90d9');
  sky.addColorStop(1, '#cfe8ff');
  g.fillStyle = sky;
  g.fillRect(0, 0, w, h);
  g.fillStyle = '#ffd23f';
  g.beginPath();
  g.arc(w * 0.75, h * 0.25, h * 0.1, 0, 2 * Math.PI);
  g.fill();
  g.fillStyle = '#3f7d3a';
  g.beginPath();
  g.moveTo(0, h);
  g.quadraticCurveTo(w * 0.3, h * 0.45, w * 0.6, h * 0.8);
  g.quadraticCurveTo(w * 0.8, h * 0.6, w, h * 0.7);
  g.lineTo(w, h);
  g.fill();
  for (let i = 0; i < 6; i++) {
    g.fillStyle = i % 2 ? '#ffffff' : '#c0392b';
    g.fillRect(w * 0.2, h * 0.2 + i * 8, 60, 8);
  }
  return g.getImageData(0, 0, w, h);
}

const toBlob = (type, quality) => new Promise((resolve) => canvas.toBlob(resolve, type, quality));

/** The largest and mean absolute differences between two RGBA/RGB sample arrays (RGB compared). */
function compare(rgba, image) {
  let worst = 0;
  let sum = 0;
  const n = rgba.length / 4;
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(rgba[p * 4 + c] - image.data[p * image.channels + c]);
      worst = Math.max(worst, d);
      sum += d;
    }
  }
  return { worst, mean: sum / (3 * n) };
}

/** The browser's own decoding of a blob, as RGBA. */
async function browserDecode(blob) {
  const bitmap = await createImageBitmap(blob);
  const c = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = c.getContext('2d');
  g.drawImage(bitmap, 0, 0);
  return g.getImageData(0, 0, bitmap.width, bitmap.height).data;
}

function classify(image, title) {
  const started = performance.now();
  const input = imageToTensor(image);
  const logits = model.forward(input);
  const elapsedMs = performance.now() - started;
  const top5 = topClasses(logits, { k: 5 });
  output.textContent = [
    `${title}: ${image.width}×${image.height} → [${input.shape.join(', ')}] → MobileNetV2 (${weightsName}) in ${elapsedMs.toFixed(0)} ms`,
    ...top5.map((c) => `  ${(c.probability * 100).toFixed(2).padStart(6)} %  ${c.label} (${c.index})`),
  ].join('\n');
  return { top5, elapsedMs, logits };
}

async function decodeAny(file) {
  try {
    return await decodeImage(file);
  } catch {
    // Not PNG or JPEG (GIF, WebP, …): let the browser decode it.
    return decodeImage(await createImageBitmap(file));
  }
}

try {
  const backend = await ready();
  const pixels = drawScene();
  const pngBlob = await toBlob('image/png');
  const jpegBlob = await toBlob('image/jpeg', 0.9);
  const png = await decodeImage(pngBlob);
  const jpeg = await decodeImage(jpegBlob);
  const fromBitmap = await decodeImage(await createImageBitmap(pngBlob));
  const fromCanvas = await decodeImage(canvas);
  const pngDiff = compare(pixels.data, png);
  const bitmapDiff = compare(pixels.data, fromBitmap);
  const canvasDiff = compare(pixels.data, fromCanvas);
  const jpegDiff = compare(await browserDecode(jpegBlob), jpeg);
  const { top5, elapsedMs, logits } = classify(png, 'canvas scene (PNG)');
  output.textContent += `\nPNG decoded by sepconv vs the canvas: largest difference ${pngDiff.worst}` +
    `\nJPEG decoded by sepconv vs the browser: largest difference ${jpegDiff.worst}, mean ${jpegDiff.mean.toFixed(3)}`;
  window.sepconvClassify = {
    backend, elapsedMs, top5, logits: logits.data.length, allFinite: logits.data.every(Number.isFinite),
    png: { width: png.width, height: png.height, channels: png.channels, ...pngDiff },
    jpeg: { width: jpeg.width, height: jpeg.height, channels: jpeg.channels, ...jpegDiff },
    bitmap: { width: fromBitmap.width, height: fromBitmap.height, channels: fromBitmap.channels, ...bitmapDiff },
    canvas: { width: fromCanvas.width, height: fromCanvas.height, channels: fromCanvas.channels, ...canvasDiff },
  };
  document.body.dataset.status = 'done';
} catch (error) {
  output.textContent = `error: ${error.message}`;
  window.sepconvClassify = { error: error.message };
  document.body.dataset.status = 'error';
}

document.getElementById('weights-file').addEventListener('change', async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  try {
    const next = mobilenetV2().eval();
    next.loadStateDict(loadSafetensors(new Uint8Array(await file.arrayBuffer())));
    model = next;
    weightsName = file.name;
    output.textContent = `loaded ${file.name}; pick an image`;
  } catch (error) {
    output.textContent = `error loading ${file.name}: ${error.message}`;
  }
});

document.getElementById('image-file').addEventListener('change', async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  try {
    const image = await decodeAny(file);
    canvas.width = image.width;
    canvas.height = image.height;
    const rgba = new Uint8ClampedArray(image.width * image.height * 4);
    for (let p = 0; p < image.width * image.height; p++) {
      const s = p * image.channels;
      const gray = image.channels <= 2;
      rgba[p * 4] = image.data[s];
      rgba[p * 4 + 1] = image.data[gray ? s : s + 1];
      rgba[p * 4 + 2] = image.data[gray ? s : s + 2];
      rgba[p * 4 + 3] = 255;
    }
    canvas.getContext('2d').putImageData(new ImageData(rgba, image.width, image.height), 0, 0);
    classify(image, file.name);
  } catch (error) {
    output.textContent = `error: ${error.message}`;
  }
});
