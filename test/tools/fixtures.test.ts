/**
 * The repository's copy of the small golden sets (test/fixtures/golden, written by
 * tools/copy-fixtures.mjs): complete in a clone alone, and byte-identical to ../shared/golden
 * whenever that folder is present (so a regenerated shared set cannot silently leave stale copies).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs tool without type declarations
import { compareFixtures, FIXTURE_DIR, FIXTURE_SETS } from '../../tools/copy-fixtures.mjs';
import { FIXTURE_GOLDEN_DIR, goldenDir, sharedData } from '../helpers.js';

const sets = FIXTURE_SETS as string[];

/** Every `{ shape, file }` entry of a manifest, at any depth. */
function tensorEntries(value: unknown, out: { shape: number[]; file: string }[] = []): { shape: number[]; file: string }[] {
  if (Array.isArray(value)) {
    for (const v of value) tensorEntries(v, out);
  } else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.file === 'string' && Array.isArray(o.shape)) out.push({ shape: o.shape as number[], file: o.file });
    else for (const v of Object.values(o)) tensorEntries(v, out);
  }
  return out;
}

describe('test/fixtures/golden', () => {
  it('the tool and the tests agree on the folder', () => {
    expect(resolve(FIXTURE_DIR as string)).toBe(FIXTURE_GOLDEN_DIR);
  });

  it('every set is present, and every float32 tensor its manifest names has 4 × product(shape) bytes', () => {
    let files = 0;
    for (const set of sets) {
      const manifest = JSON.parse(readFileSync(resolve(goldenDir(set), 'manifest.json'), 'utf8')) as unknown;
      for (const entry of tensorEntries(manifest)) {
        const path = resolve(goldenDir(set), entry.file);
        expect(existsSync(path), `${set}/${entry.file}`).toBe(true);
        if (entry.file.endsWith('.bin')) {
          expect(statSync(path).size, `${set}/${entry.file}`).toBe(4 * entry.shape.reduce((a, b) => a * b, 1));
        }
        files++;
      }
    }
    expect(files).toBeGreaterThan(1000);
  });

  const golden = sharedData('golden');
  it.skipIf(!golden.present)(`is byte-identical to ../shared/golden (else: node tools/copy-fixtures.mjs) ${golden.needs}`, () => {
    expect(compareFixtures(golden.path)).toEqual([]);
  });

  const digits = sharedData('data/digits');
  it.skipIf(!digits.present)(`examples/data/digits (train-digits' data) is ../shared/data/digits ${digits.needs}`, () => {
    const ours = fileURLToPath(new URL('../../examples/data/digits/', import.meta.url));
    for (const name of ['images-u8.bin', 'labels-u8.bin']) {
      expect(readFileSync(resolve(ours, name)).equals(readFileSync(resolve(digits.path, name))), name).toBe(true);
    }
  });
});
