#!/usr/bin/env node
/**
 * The worker pool in headless Chromium (part of `npm run test:browser`): the same page served
 * with cross-origin isolation (COOP/COEP, so SharedArrayBuffer exists and the pool runs Web
 * Workers) and without it (the pool must fall back to one thread with a single warning). Every
 * pooled result must equal the synchronous one bit for bit. Exits non-zero on any failure.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBuilt, ROOT } from './ensure-built.mjs';
import { CONV_CASES, rng } from './cases.js';
import { launchBrowser, openPage } from './harness.mjs';
import { CROSS_ORIGIN_ISOLATION, startServer } from './server.mjs';

let failures = 0;
let passes = 0;
function check(ok, message) {
  if (ok) passes++;
  else {
    failures++;
    console.log(`  FAIL ${message}`);
  }
  return ok;
}

/** The page's cases computed synchronously in Node on `backend`: FNV-1a hashes of the outputs, in page order. */
async function nodeHashes(backend) {
  const lib = await import(pathToFileURL(join(ROOT, 'dist/index.js')).href);
  await lib.setBackend(backend, { relaxedSimd: false }); // the page's variant (see pool-page.js)
  const randomTensor = (shape, random) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = random() * 2 - 1;
    return { shape: shape.slice(), data };
  };
  const hash = (data) => {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let h = 0x811c9dc5;
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
    return h;
  };
  const random = rng(99);
  const hashes = [];
  for (const c of CONV_CASES) {
    const x = randomTensor(c.x, random);
    const w = randomTensor(c.w, random);
    hashes.push(hash(lib.conv2d(x, w, { ...c.options, bias: c.bias ? randomTensor([c.w[0]], random).data : null }).data));
  }
  hashes.push(hash(lib.mobilenetV1({ widthMultiplier: 0.25, seed: 1 }).forward(randomTensor([1, 3, 64, 64], rng(5))).data));
  await lib.setBackend('auto');
  return hashes;
}

async function runPage(context, isolated, backend = 'js') {
  const csp = backend === 'wasm' ? "script-src 'self' 'wasm-unsafe-eval'" : undefined;
  const server = await startServer({ root: ROOT, headers: isolated ? CROSS_ORIGIN_ISOLATION : {}, ...(csp ? { csp } : {}) });
  const label = `${isolated ? 'with COOP/COEP' : 'without isolation'}, ${backend} tier`;
  console.log(`page test/browser/pool-page.html?backend=${backend} ${label}`);
  const expectedHashes = await nodeHashes(backend);
  const warnings = [];
  const listener = (message) => {
    if (message.type() === 'warning' && message.text().includes('sepconv worker pool')) warnings.push(message.text());
  };
  context.on('console', listener);
  try {
    const { page, status, problems } = await openPage(context, `${server.origin}/test/browser/pool-page.html?backend=${backend}`);
    const report = await page.evaluate(() => window.sepconvPool);
    await page.close();
    check(problems.length === 0, `${label}: page problems:\n    ${problems.join('\n    ')}`);
    if (!check(status === 'done', `${label}: page status ${status}: ${report?.error ?? ''}`)) return;
    check(report.crossOriginIsolated === isolated, `${label}: crossOriginIsolated is ${report.crossOriginIsolated}`);
    check(report.threads === (isolated ? 3 : 1), `${label}: pool.threads is ${report.threads}`);
    check(report.outputShared === isolated, `${label}: pooled outputs ${report.outputShared ? 'are' : 'are not'} in shared memory`);
    check(warnings.length === (isolated ? 0 : 1), `${label}: ${warnings.length} pool warnings (${warnings.join(' | ')})`);
    if (!isolated && warnings[0]) check(/Cross-Origin-Embedder-Policy: require-corp/.test(warnings[0]), `${label}: the warning does not name the headers: ${warnings[0]}`);
    const stats = report.stats ?? {};
    if (isolated) check(stats.workerSlices > 20, `${label}: workers computed only ${stats.workerSlices} slices`);
    else check(stats.splitCalls === 0, `${label}: ${stats.splitCalls} calls were split without shared memory`);
    check(report.cases.length > 10, `${label}: only ${report.cases.length} cases ran`);
    check(report.tier === backend, `${label}: the page ran on ${report.tier}`);
    for (const c of report.cases) check(c.difference === null, `${label}: ${c.name}: pooled differs from sync at ${c.difference}`);
    const sameAsNode = report.cases.filter((c, i) => c.hash === expectedHashes[i]).length;
    check(sameAsNode === expectedHashes.length, `${label}: ${sameAsNode}/${expectedHashes.length} pooled outputs bitwise equal to Node's (${backend} tier)`);
    console.log(`  threads ${report.threads}, ${stats.workerSlices} slices computed in workers, ${report.cases.filter((c) => c.difference === null).length}/${report.cases.length} cases bitwise equal to sync, ${sameAsNode} to Node, ${warnings.length} warning(s)`);
  } finally {
    context.off('console', listener);
    await server.close();
  }
}

async function main() {
  const started = Date.now();
  ensureBuilt();
  const browser = await launchBrowser();
  console.log(`Chromium ${browser.version}`);
  try {
    await runPage(browser.context, true);
    await runPage(browser.context, false);
    await runPage(browser.context, true, 'wasm');
  } finally {
    await browser.close();
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failures > 0) {
    console.log(`pool browser test FAILED: ${failures} check(s) failed (${seconds} s)`);
    process.exit(1);
  }
  console.log(`pool browser test passed: ${passes} checks (${seconds} s)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
