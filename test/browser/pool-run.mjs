#!/usr/bin/env node
/**
 * The worker pool in headless Chromium (part of `npm run test:browser`): the same page served
 * with cross-origin isolation (COOP/COEP, so SharedArrayBuffer exists and the pool runs Web
 * Workers) and without it (the pool must fall back to one thread with a single warning). Every
 * pooled result must equal the synchronous one bit for bit. Exits non-zero on any failure.
 */
import { ensureBuilt, ROOT } from './ensure-built.mjs';
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

async function runPage(context, isolated) {
  const server = await startServer({ root: ROOT, headers: isolated ? CROSS_ORIGIN_ISOLATION : {} });
  const label = isolated ? 'with COOP/COEP' : 'without isolation';
  console.log(`page test/browser/pool-page.html ${label}`);
  const warnings = [];
  const listener = (message) => {
    if (message.type() === 'warning' && message.text().includes('sepconv worker pool')) warnings.push(message.text());
  };
  context.on('console', listener);
  try {
    const { page, status, problems } = await openPage(context, `${server.origin}/test/browser/pool-page.html`);
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
    for (const c of report.cases) check(c.difference === null, `${label}: ${c.name}: pooled differs from sync at ${c.difference}`);
    console.log(`  threads ${report.threads}, ${stats.workerSlices} slices computed in workers, ${report.cases.filter((c) => c.difference === null).length}/${report.cases.length} cases bitwise equal to sync, ${warnings.length} warning(s)`);
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
