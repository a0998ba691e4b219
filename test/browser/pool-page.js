// The worker pool in the browser: pooled conv2d (every call split over Web Workers) and a pooled
// MobileNetV1 forward against the synchronous results, compared bit for bit in the page. Served
// with cross-origin isolation the pool must use workers; without it, it must fall back to one
// thread (with one console warning) and still give the same results.
import * as lib from '/dist/index.js';
import { CONV_CASES, rng } from './cases.js';

function randomTensor(shape, random) {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = random() * 2 - 1;
  return { shape: shape.slice(), data };
}

/** FNV-1a over the bytes of `data`: the runner compares it with Node's result for the same case. */
function hashBytes(data) {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h;
}

function firstDifference(a, b) {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return `index ${i}: ${a[i]} vs ${b[i]}`;
  return null;
}

const log = document.getElementById('log');
// ?backend=wasm: the pool's workers run the wasm kernels over one shared WebAssembly.Memory (the
// page is then served with 'wasm-unsafe-eval'); default: the JS tier under the strict CSP.
const backend = new URLSearchParams(location.search).get('backend') ?? 'js';
const report = { crossOriginIsolated: globalThis.crossOriginIsolated === true, backend, cases: [], error: null };
window.sepconvPool = report;
let pool = null;
try {
  // strict CSP: the JS tier (see page.js); plain mul+add, the variant Node 20 computes the expected hashes with
  report.tier = await lib.setBackend(backend, { relaxedSimd: false });
  // Split every call and leave every slice to its worker, so the workers really compute.
  pool = lib.createWorkerPool({ threads: 3, minSliceMacs: 0, steal: false, backend });
  await pool.ready();
  report.threads = pool.threads;
  report.outputShared = false;
  const random = rng(99);
  for (const c of CONV_CASES) {
    const x = randomTensor(c.x, random);
    const w = randomTensor(c.w, random);
    const options = { ...c.options, bias: c.bias ? randomTensor([c.w[0]], random).data : null };
    const expected = lib.conv2d(x, w, options);
    const actual = await pool.conv2d(x, w, options);
    report.outputShared ||= typeof SharedArrayBuffer === 'function' && actual.data.buffer instanceof SharedArrayBuffer;
    report.cases.push({ name: c.name, difference: firstDifference(actual.data, expected.data), hash: hashBytes(actual.data) });
  }
  const model = lib.mobilenetV1({ widthMultiplier: 0.25, seed: 1 });
  const input = randomTensor([1, 3, 64, 64], rng(5));
  const expected = model.forward(input);
  const actual = await model.forwardAsync(input, { pool });
  report.cases.push({ name: 'MobileNetV1 x0.25 forwardAsync', difference: firstDifference(actual.data, expected.data), hash: hashBytes(actual.data) });
  report.stats = pool.stats();
  // A second pool in the same page must not warn again.
  const second = lib.createWorkerPool({ threads: 2 });
  await second.ready();
  await second.dispose();
  log.textContent = report.cases.map((c) => `${c.name}: ${c.difference ?? 'bitwise equal'}`).join('\n');
  document.body.dataset.status = 'done';
} catch (error) {
  report.error = String(error && error.stack ? error.stack : error);
  log.textContent = report.error;
  document.body.dataset.status = 'failed';
} finally {
  await pool?.dispose();
}
