/** An idle or disposed pool never keeps a Node process alive. */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureWorkerBuilt } from './ensure-worker-built.js';

beforeAll(ensureWorkerBuilt, 300_000);

const DIST_POOL = new URL('../../dist/parallel/pool.js', import.meta.url).href;

function runScript(body: string): { status: number | null; ms: number; stderr: string; stdout: string } {
  const source = `import { createWorkerPool } from ${JSON.stringify(DIST_POOL)};\n${body}`;
  // A file, not `-e`: workers inherit the parent's exec flags, and `--input-type` is not valid for them.
  const dir = mkdtempSync(join(tmpdir(), 'sepconv-exit-'));
  const script = join(dir, 'script.mjs');
  writeFileSync(script, source);
  const started = performance.now();
  const result = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 });
  rmSync(dir, { recursive: true, force: true });
  return { status: result.status, ms: performance.now() - started, stderr: result.stderr, stdout: result.stdout };
}

const CALL = `
const x = { shape: [1, 32, 16, 16], data: new Float32Array(32 * 256).fill(0.5) };
const w = { shape: [64, 32, 1, 1], data: new Float32Array(64 * 32).fill(0.25) };
const y = await pool.conv2d(x, w);
console.log(y.data[0], y.data[y.data.length - 1]);
`;

describe('process exit', () => {
  for (const [label, body] of [
    ['create, call, dispose', `const pool = createWorkerPool({ threads: 2, minSliceMacs: 0 });${CALL}await pool.dispose();`],
    ['create, call, never dispose (idle workers are unref\'d)', `const pool = createWorkerPool({ threads: 3, minSliceMacs: 0 });${CALL}`],
    ['create and dispose without a call', `const pool = createWorkerPool({ threads: 2 }); await pool.dispose(); console.log('4 4');`],
    ['create and walk away', `const pool = createWorkerPool({ threads: 2 }); console.log('4 4');`],
  ] as const) {
    it(`${label}: exits promptly with code 0`, () => {
      const { status, ms, stderr, stdout } = runScript(body);
      expect(stderr).toBe('');
      expect(status).toBe(0);
      expect(stdout.trim()).toBe('4 4');
      // A hang would run into the 30 s spawn timeout; normal startup plus teardown is well under this.
      expect(ms).toBeLessThan(15_000);
    });
  }
});
