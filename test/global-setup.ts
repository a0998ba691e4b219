/**
 * Runs once before the test files: the worker pool's tests start real workers, which load the
 * built `dist/parallel/worker.js`, so dist/ must be current. Rebuilds only when a source file is
 * newer than the build.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUILT_WORKER = join(ROOT, 'dist/parallel/worker.js');

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

export default function setup(): void {
  if (builtTime() >= newestSource(join(ROOT, 'src'))) return;
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status === 0) return;
  // tsc still emits when some file has type errors (the typecheck reports those); only a missing
  // worker is fatal here.
  if (builtTime() === 0) throw new Error('global setup: npm run build failed and dist/parallel/worker.js is missing');
  console.warn('global setup: npm run build reported errors; testing the emitted dist/');
}
