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
try {
  // This page is served with a strict CSP (no 'wasm-unsafe-eval'): the JS tier, chosen explicitly
  // so that no compile is attempted (an attempt would be reported as a CSP violation).
  await lib.setBackend('js');
  const started = performance.now();
  const results = runCases(lib);
  const elapsedMs = performance.now() - started;
  window.sepconvResults = {
    userAgent: navigator.userAgent,
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
