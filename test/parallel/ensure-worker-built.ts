/**
 * The pool's workers load the built `dist/parallel/worker.js` (vitest runs the TypeScript sources,
 * which a worker thread cannot). Each pool test file calls `ensureWorkerBuilt()` first: it runs
 * `npm run build` when a source file is newer than the build, under a lock directory so test files
 * running in parallel build once. Only runs that include these tests pay for the build.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILT_WORKER = join(ROOT, 'dist/parallel/worker.js');
// Outside dist/, so a lock can never end up in a package; one per checkout.
const LOCK = join(tmpdir(), `sepconv-pool-build-${ROOT.replace(/[^A-Za-z0-9]+/g, '-')}.lock`);
const LOCK_STALE_MS = 300_000;

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function builtTime(): number {
  try {
    return statSync(BUILT_WORKER).mtimeMs;
  } catch {
    return 0;
  }
}

const upToDate = (): boolean => builtTime() >= newestSource(join(ROOT, 'src'));

function tryLock(): boolean {
  try {
    mkdirSync(LOCK);
    return true;
  } catch {
    // A lock left by a killed run must not block forever.
    try {
      if (Date.now() - statSync(LOCK).mtimeMs > LOCK_STALE_MS) rmSync(LOCK, { recursive: true, force: true });
    } catch {
      // Released meanwhile.
    }
    return false;
  }
}

export async function ensureWorkerBuilt(): Promise<void> {
  while (!upToDate()) {
    if (!tryLock()) {
      await new Promise((done) => setTimeout(done, 250));
      continue;
    }
    try {
      if (upToDate()) return;
      const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
      // tsc still emits when some file has type errors (the typecheck reports those); only a
      // missing worker is fatal here.
      if (result.status !== 0 && builtTime() === 0) throw new Error('npm run build failed and dist/parallel/worker.js is missing');
      if (result.status !== 0) console.warn('npm run build reported errors; testing the emitted dist/');
      return;
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
}
