#!/usr/bin/env node
/**
 * `npm run test:browser`: loads the built package (`dist/`) as a native ES module in headless
 * Chromium, from a localhost server with `Content-Security-Policy: script-src 'self'`, runs the
 * shared cases (every conv2d kernel path, layers, a small MobileNetV1) there and in Node, and
 * requires the outputs to be identical (or, if the JS engines round differently, within 1e-6
 * relative). Also runs the browser example page. Exits non-zero on any failure.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBuilt, ROOT } from './ensure-built.mjs';
import { launchBrowser, openPage } from './harness.mjs';
import { maxRelativeError, runCases, CONV_CASES, LAYER_EXPORTS } from './cases.js';
import { startServer } from './server.mjs';
import { hashFloats, onnxInput } from './onnx-case.js';
import { runMain, scriptChecks } from '../script-checks.mjs';

const CROSS_ENGINE_TOLERANCE = 1e-6;
const REFERENCE_TOLERANCE = 1e-4;
const KERNEL_PATHS = ['depthwise3x3s1', 'depthwise3x3s2', 'depthwise', 'pointwise', 'grouped'];

const checks = scriptChecks('test:browser');
const { check } = checks;

function fromBase64(text) {
  const bytes = Buffer.from(text, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function bitwiseEqual(a, b) {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/**
 * The cases in the page (`mode`: see page.js) against the same cases in Node on the tier the page
 * must end up on. Under the strict CSP, 'auto' tries one compile: its violation report is
 * expected (exactly one), and so is exactly one sepconv console warning.
 */
async function checkCasesPage(context, origin, nodeResults, mode) {
  console.log(`page test/browser/page.html?mode=${mode} (conv2d on every kernel path, layers, MobileNetV1)`);
  const warnings = [];
  const listener = (message) => {
    if (message.type() === 'warning' && message.text().includes('sepconv')) warnings.push(message.text());
  };
  context.on('console', listener);
  let opened;
  try {
    opened = await openPage(context, `${origin}/test/browser/page.html?mode=${mode}`);
  } finally {
    context.off('console', listener);
  }
  const { page, status, problems } = opened;
  const report = await page.evaluate(() => window.sepconvResults);
  await page.close();
  const expectedViolation = (p) => mode === 'auto' && /CSP violation: script-src/.test(p);
  const violationReports = problems.filter(expectedViolation);
  check(problems.filter((p) => !expectedViolation(p)).length === 0, `page problems:\n    ${problems.join('\n    ')}`);
  if (!check(status === 'done', `page status ${status}: ${report?.error ?? ''}`)) return;
  if (mode === 'auto') {
    check(report.violations.length <= 1 && violationReports.length <= 1, `'auto' under the strict CSP: ${violationReports.length} violation reports (one compile attempt at most)`);
  } else check(report.violations.length === 0, `CSP violations: ${report.violations.join(', ')}`);
  const expectedBackend = mode === 'wasm' ? 'wasm' : 'js';
  check(report.backend === expectedBackend, `mode ${mode}: the page ran on ${report.backend}, expected ${expectedBackend}`);
  if (mode === 'auto') {
    check(warnings.length === 1, `'auto' under the strict CSP: ${warnings.length} sepconv warnings, expected exactly one (${warnings.join(' | ')})`);
    check(/Content-Security-Policy/.test(warnings[0] ?? ''), `the fallback warning does not name the CSP: ${warnings[0]}`);
    check(/Content-Security-Policy/.test(report.info.wasmUnavailable ?? ''), `backendInfo().wasmUnavailable does not say why: ${report.info.wasmUnavailable}`);
    console.log(`  fell back to JS with one warning: ${warnings[0]}`);
  } else check(warnings.length === 0, `mode ${mode}: unexpected sepconv warnings: ${warnings.join(' | ')}`);
  if (mode === 'wasm') {
    check(/await (setBackend|ready)/.test(report.forgotAwait ?? ''), `a call before await ready() must say to await it, got: ${report.forgotAwait}`);
    check(report.info.wasmVariant === 'plain', `backendInfo().wasmVariant is ${report.info.wasmVariant}`);
    console.log(`  before await ready(): ${report.forgotAwait}`);
  }
  console.log(`  browser: ${report.userAgent}`);
  console.log(`  page ran ${report.results.length} cases in ${report.elapsedMs.toFixed(0)} ms`);
  check(report.results.length === nodeResults.length, `page ran ${report.results.length} cases, Node ${nodeResults.length}`);

  let identical = 0;
  let close = 0;
  for (const [i, node] of nodeResults.entries()) {
    const browser = report.results[i];
    if (!check(browser && browser.name === node.name, `case ${i}: page has ${browser?.name}, Node has ${node.name}`)) continue;
    const data = fromBase64(browser.bytes);
    check(JSON.stringify(browser.shape) === JSON.stringify(node.shape), `${node.name}: shape ${browser.shape} in page, ${node.shape} in Node`);
    if (node.kind === 'conv2d') {
      check(browser.path === node.expectedPath, `${node.name}: page dispatched to ${browser.path}, expected ${node.expectedPath}`);
      check(browser.referenceError <= REFERENCE_TOLERANCE, `${node.name}: page vs float64 reference ${browser.referenceError}`);
    }
    let verdict;
    if (bitwiseEqual(data, node.data)) {
      identical++;
      verdict = 'bitwise identical';
    } else {
      const err = maxRelativeError(data, node.data);
      if (check(err <= CROSS_ENGINE_TOLERANCE, `${node.name}: page vs Node max relative error ${err} > ${CROSS_ENGINE_TOLERANCE}`)) close++;
      verdict = `max relative error ${err.toExponential(2)}`;
    }
    console.log(`  ${node.name.padEnd(44)} [${node.shape.join(',')}]${node.path ? ` ${node.path}` : ''}: ${verdict}`);
  }
  console.log(`  page vs Node (${expectedBackend} tier): ${identical} bitwise identical, ${close} within ${CROSS_ENGINE_TOLERANCE} relative, of ${nodeResults.length}`);
}

/** The server's CSP must really be in force, or the pages above prove nothing. */
async function checkCspProbe(context, origin) {
  console.log('page test/browser/csp-probe.html (the CSP is enforced)');
  const { page, status, problems } = await openPage(context, `${origin}/test/browser/csp-probe.html`);
  const probe = await page.evaluate(() => window.cspProbe);
  await page.close();
  check(status === 'done', `probe status ${status}`);
  check(probe?.evalBlocked === true, 'new Function was not refused: the CSP is not in force');
  check(probe?.inlineScriptRan === false, 'an inline script ran: the CSP is not in force');
  check(problems.some((p) => p.includes('CSP violation')), `no CSP violation reported; saw: ${problems.join('; ')}`);
  console.log(`  new Function refused: ${probe?.evalBlocked}, inline script blocked: ${probe?.inlineScriptRan === false}`);
}

async function checkExamplePage(context, origin) {
  console.log('page examples/browser/index.html (MobileNetV1 on a canvas image)');
  const { page, status, problems } = await openPage(context, `${origin}/examples/browser/index.html`);
  const example = await page.evaluate(() => window.sepconvExample);
  await page.close();
  check(problems.length === 0, `example problems:\n    ${problems.join('\n    ')}`);
  if (!check(status === 'done', `example status ${status}: ${example?.error ?? ''}`)) return;
  check(example.logits === 1000, `example produced ${example.logits} logits, expected 1000`);
  check(example.allFinite === true, 'example logits are not all finite');
  check(example.backend === 'wasm', `example ran on ${example.backend}, expected wasm (its CSP allows 'wasm-unsafe-eval')`);
  check(Array.isArray(example.top5) && example.top5.length === 5, 'example did not report a top 5');
  console.log(`  ${example.logits} logits in ${example.elapsedMs.toFixed(0)} ms on ${example.backend}; top-1 class ${example.top5[0]?.index}`);
}

async function checkClassifyPage(context, origin) {
  console.log('page examples/browser/classify.html (decodeImage, imageToTensor, MobileNetV2, topClasses)');
  const { page, status, problems } = await openPage(context, `${origin}/examples/browser/classify.html`);
  const result = await page.evaluate(() => window.sepconvClassify);
  await page.close();
  check(problems.length === 0, `classify page problems:\n    ${problems.join('\n    ')}`);
  if (!check(status === 'done', `classify page status ${status}: ${result?.error ?? ''}`)) return;
  check(result.logits === 1000 && result.allFinite === true, 'classify page: logits not 1000 finite values');
  check(Array.isArray(result.top5) && result.top5.length === 5 && typeof result.top5[0].label === 'string', 'classify page did not report a labelled top 5');
  check(result.png.worst === 0, `a canvas PNG decoded by sepconv differs from the canvas pixels by up to ${result.png.worst}`);
  check(result.bitmap.worst === 0 && result.bitmap.channels === 4, `decodeImage(ImageBitmap) differs from the canvas pixels by up to ${result.bitmap.worst}`);
  check(result.canvas.worst === 0 && result.canvas.channels === 4, `decodeImage(canvas) differs from the canvas pixels by up to ${result.canvas.worst}`);
  // Chromium decodes JPEG with libjpeg-turbo as Pillow does; sepconv reproduces it.
  check(result.jpeg.worst <= 1, `a canvas JPEG decoded by sepconv differs from Chromium's decoding by up to ${result.jpeg.worst}`);
  console.log(`  PNG vs canvas: largest difference ${result.png.worst}; JPEG vs Chromium: largest ${result.jpeg.worst}, mean ${result.jpeg.mean.toFixed(3)}; top-1 ${result.top5[0].label} in ${result.elapsedMs.toFixed(0)} ms on ${result.backend}`);
}

/**
 * An ONNX file written by sepconv's exporter (a small MobileNetV2), fetched and run by the page on
 * `tier`: run and compile must give bitwise Node's outputs on the same tier and variant.
 */
async function checkOnnxPage(context, origin, tier, expected) {
  console.log(`page test/browser/onnx-page.html?tier=${tier} (loadOnnx of a fetched file, run and compile)`);
  const { page, status, problems } = await openPage(context, `${origin}/test/browser/onnx-page.html?tier=${tier}`);
  const result = await page.evaluate(() => window.sepconvOnnx);
  await page.close();
  check(problems.length === 0, `ONNX page (${tier}) problems:\n    ${problems.join('\n    ')}`);
  if (!check(status === 'done', `ONNX page (${tier}) status ${status}: ${result?.error ?? ''}`)) return;
  check(result.backend === tier, `ONNX page ran on ${result.backend}, expected ${tier}`);
  check(result.hash === expected.hash, `ONNX page (${tier}): run output differs from Node's (hash ${result.hash} vs ${expected.hash})`);
  check(result.compiledHash === expected.compiledHash, `ONNX page (${tier}): compiled output differs from Node's`);
  console.log(`  ${result.nodes} nodes, output [${result.shape.join(', ')}]: run and compile bitwise Node's on ${tier}`);
}

/** Writes the ONNX page's model and returns Node's hashes of its outputs on each tier. */
async function onnxExpectations(lib) {
  const bytes = lib.exportOnnx(lib.mobilenetV2({ widthMult: 0.25, numClasses: 10, seed: 3 }).eval(), [1, 3, 32, 32]);
  mkdirSync(join(ROOT, 'test/browser/.generated'), { recursive: true });
  writeFileSync(join(ROOT, 'test/browser/.generated/model.onnx'), bytes);
  const expected = {};
  for (const tier of ['js', 'wasm']) {
    await lib.setBackend(tier, { relaxedSimd: false });
    const model = lib.loadOnnx(bytes);
    const input = model.inputs[0].name;
    const output = model.outputs[0].name;
    const x = onnxInput();
    expected[tier] = {
      hash: hashFloats(model.run({ [input]: x })[output].data),
      compiledHash: hashFloats(model.compile({ [input]: x.shape }).run({ [input]: x })[output].data),
    };
  }
  return expected;
}

async function main() {
  ensureBuilt();
  const lib = await import(pathToFileURL(join(ROOT, 'dist/index.js')).href);
  const onnxExpected = await onnxExpectations(lib);
  await lib.setBackend('wasm', { relaxedSimd: false }); // the tier and variant of the page served with 'wasm-unsafe-eval'
  const nodeWasmResults = runCases(lib);
  await lib.setBackend('js'); // the tier of the strict-CSP pages
  const nodeStarted = performance.now();
  const nodeResults = runCases(lib);
  console.log(`Node ${process.version}: ${nodeResults.length} cases in ${(performance.now() - nodeStarted).toFixed(0)} ms (and on the wasm tier)`);

  const missing = LAYER_EXPORTS.filter((name) => !(name in lib));
  check(missing.length === 0, `the package does not export ${missing.join(', ')}: layer cases skipped`);
  const covered = new Set(nodeResults.map((r) => r.path).filter(Boolean));
  for (const path of KERNEL_PATHS) check(covered.has(path), `no case dispatches to kernel path ${path}`);
  for (const [i, c] of CONV_CASES.entries()) {
    check(nodeResults[i].path === c.path, `${c.name}: Node dispatched to ${nodeResults[i].path}, expected ${c.path}`);
    check(nodeResults[i].referenceError <= REFERENCE_TOLERANCE, `${c.name}: Node vs float64 reference ${nodeResults[i].referenceError}`);
  }

  const server = await startServer({ root: ROOT });
  // The example compiles WebAssembly (await ready()), which its CSP must allow.
  const wasmServer = await startServer({ root: ROOT, csp: "script-src 'self' 'wasm-unsafe-eval'" });
  const browser = await launchBrowser();
  console.log(`Chromium ${browser.version}, serving ${server.origin} with CSP script-src 'self'`);
  try {
    await checkCasesPage(browser.context, server.origin, nodeResults, 'js');
    await checkCasesPage(browser.context, server.origin, nodeResults, 'auto');
    await checkCasesPage(browser.context, wasmServer.origin, nodeWasmResults, 'wasm');
    await checkCspProbe(browser.context, server.origin);
    await checkExamplePage(browser.context, wasmServer.origin);
    await checkClassifyPage(browser.context, wasmServer.origin);
    await checkOnnxPage(browser.context, server.origin, 'js', onnxExpected.js);
    await checkOnnxPage(browser.context, wasmServer.origin, 'wasm', onnxExpected.wasm);
  } finally {
    await browser.close();
    await server.close();
    await wasmServer.close();
  }
  checks.finish();
}

runMain(main);
