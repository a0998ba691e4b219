#!/usr/bin/env node
/**
 * loadPretrained in headless Chromium (test/hub/browser-page.js): streamed download, SHA-256 with
 * crypto.subtle, the Cache API as the cache (hit, damaged entry, nothing cached on a mismatch) and
 * the global fetch's HTTP errors. Runs against the built package (`dist/`, built when stale).
 *
 *   node test/hub/browser-run.mjs
 */
import { ensureBuilt, ROOT } from '../browser/ensure-built.mjs';
import { launchBrowser, openPage } from '../browser/harness.mjs';
import { startServer } from '../browser/server.mjs';
import { runMain, scriptChecks } from '../script-checks.mjs';

const checks = scriptChecks('hub browser test');

async function main() {
  ensureBuilt();
  const server = await startServer({ root: ROOT });
  const browser = await launchBrowser();
  try {
    console.log(`Chromium ${browser.version}: ${server.origin}/test/hub/browser-page.html`);
    const { page, problems } = await openPage(browser.context, `${server.origin}/test/hub/browser-page.html`);
    const results = await page.evaluate(() => window.hubResults);
    await page.close();
    // The page asks for one missing file on purpose: its HTTP 404, Chromium's console line for it and
    // the body's cancellation (ERR_ABORTED) are expected.
    const expected404 = (p) => p.includes('/test/hub/no-such-weights-0123abcd.pth') || p === 'console error: Failed to load resource: the server responded with a status of 404 (Not Found)';
    checks.check(problems.filter((p) => p.startsWith('HTTP 404')).length === 1, `expected one HTTP 404:\n    ${problems.join('\n    ')}`);
    const unexpected = problems.filter((p) => !expected404(p));
    checks.check(unexpected.length === 0, `page problems:\n    ${unexpected.join('\n    ')}`);
    checks.check(Array.isArray(results) && results.length === 8, `expected 8 results, got ${JSON.stringify(results)}`);
    for (const r of results ?? []) {
      console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.ok ? '' : `: ${r.detail}`}`);
      checks.check(r.ok, `${r.name}: ${r.detail}`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
  checks.finish();
}

runMain(main);
