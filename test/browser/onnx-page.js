// An ONNX file fetched over HTTP and run in the page: loadOnnx, run and compile on the tier of
// ?tier= (js under the strict CSP; wasm where the page allows 'wasm-unsafe-eval'). The runner
// (run.mjs) writes the file (sepconv's own exporter) and compares the hashes with Node's.
import * as lib from '../../dist/index.js';
import { onnxInput, hashFloats } from './onnx-case.js';

const tier = new URLSearchParams(location.search).get('tier') ?? 'js';
const report = { tier, error: null };
window.sepconvOnnx = report;
try {
  // plain mul+add: the variant Node 20 computes the expected hashes with
  report.backend = await lib.setBackend(tier, { relaxedSimd: false });
  const response = await fetch('./.generated/model.onnx');
  const model = lib.loadOnnx(new Uint8Array(await response.arrayBuffer()));
  const input = model.inputs[0].name;
  const output = model.outputs[0].name;
  const x = onnxInput();
  const y = model.run({ [input]: x })[output];
  const compiled = model.compile({ [input]: x.shape });
  report.shape = y.shape;
  report.hash = hashFloats(y.data);
  report.compiledHash = hashFloats(compiled.run({ [input]: x })[output].data);
  report.nodes = model.namedChildren().length;
  document.body.dataset.status = 'done';
} catch (error) {
  report.error = String(error && error.stack ? error.stack : error);
  document.body.dataset.status = 'error';
}
document.getElementById('log').textContent = JSON.stringify(report, null, 2);
