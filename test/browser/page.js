// Runs the shared cases against the built package, loaded as a native ES module, and leaves the
// results on `window.sepconvResults` for the test runner to read back.
import * as lib from '/dist/index.js';
import { runCases } from './cases.js';

const violations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  violations.push(`${event.violatedDirective}: ${event.blockedURI}`);
});

/** Float32 data → base64 of its bytes, so the runner gets exactly the bits the page computed. */
function toBase64(data) {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

const log = document.getElementById('log');
// ?mode=js (default): the strict CSP page, JS tier chosen explicitly so that no compile is
// attempted (an attempt would be reported as a CSP violation). ?mode=auto: the same strict CSP,
// but 'auto', which must fall back to JS with one warning. ?mode=wasm: a CSP with
// 'wasm-unsafe-eval'; first a call that forgot to await ready() (it must say so), then the wasm tier.
const mode = new URLSearchParams(location.search).get('mode') ?? 'js';
try {
  let forgotAwait = null;
  let backend;
  if (mode === 'js') backend = await lib.setBackend('js');
  else if (mode === 'auto') {
    backend = await lib.setBackend('auto');
    await lib.ready(); // asking again must not warn again
  } else {
    const x = { shape: [1, 2, 4, 4], data: new Float32Array(32).fill(1) };
    const w = { shape: [2, 2, 3, 3], data: new Float32Array(36).fill(1) };
    try {
      lib.conv2d(x, w);
      forgotAwait = 'no error';
    } catch (error) {
      forgotAwait = String(error && error.message);
    }
    // The same kernel variant as the Node side compares against (Node 20 has no relaxed SIMD).
    await lib.setBackend('auto', { relaxedSimd: false });
    backend = await lib.ready();
  }
  const info = lib.backendInfo();
  const started = performance.now();
  const results = runCases(lib);
  const elapsedMs = performance.now() - started;
  window.sepconvResults = {
    userAgent: navigator.userAgent,
    mode,
    backend,
    info: { simd: info.simd, wasmVariant: info.wasmVariant, wasmUnavailable: info.wasmUnavailable ?? null },
    forgotAwait,
    elapsedMs,
    violations,
    results: results.map(({ data, ...rest }) => ({ ...rest, bytes: toBase64(data) })),
  };
  log.textContent = results.map((r) => `${r.name}: [${r.shape.join(', ')}]`).join('\n');
  document.body.dataset.status = 'done';
} catch (error) {
  window.sepconvResults = { error: String(error && error.stack ? error.stack : error) };
  log.textContent = String(error);
  document.body.dataset.status = 'failed';
}
