/**
 * Browser-test plumbing shared by the runners: launching headless Chromium with a throwaway
 * profile, and opening a page while recording everything that should fail a test (console
 * errors, uncaught exceptions, failed requests, CSP violations).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/**
 * Launches Chromium with a fresh user-data-dir. Resolves to `{ context, version, close }`;
 * `close()` shuts the browser down and deletes the profile.
 */
export async function launchBrowser() {
  const profile = await mkdtemp(join(tmpdir(), 'sepconv-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 60_000,
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw new Error(`could not launch Chromium at ${CHROMIUM_PATH} (install Debian's chromium package, or set CHROMIUM_PATH): ${error.message}`);
  }
  const version = context.browser()?.version() ?? 'unknown';
  return {
    context,
    version,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens `url` in a new tab and waits until `document.body.dataset.status` leaves 'loading'.
 * Resolves to `{ page, status, problems }`: `problems` lists console errors, page errors, failed
 * or non-2xx requests and CSP violations, in the order they happened.
 */
export async function openPage(context, url, { timeout = 120_000 } = {}) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught exception: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  // Registered before any page script runs, so violations during module loading are seen too.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || '(inline)'}`);
    });
  });
  await page.goto(url, { waitUntil: 'load', timeout });
  try {
    await page.waitForFunction(() => document.body && document.body.dataset.status !== 'loading', null, { timeout });
  } catch (error) {
    throw new Error(`${url} did not finish: ${error.message}\n  ${problems.join('\n  ') || '(no console errors)'}`);
  }
  const status = await page.evaluate(() => document.body.dataset.status);
  return { page, status, problems };
}
