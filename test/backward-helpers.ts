/**
 * Shared by the backward tests: loading a PyTorch-autograd golden set (`../shared/golden/<set>`),
 * finite differences of the float64 forward reference, and random backward cases.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Tensor } from '../src/tensor.js';
import { readFloat32, SHARED_DIR } from './helpers.js';

export interface GoldenEntry {
  shape: number[];
  file: string;
}

/** A golden set's cases; throws (failing the suite rather than skipping it) when the folder is missing. */
export function loadGoldenSet<T>(set: string): { dir: string; cases: T[] } {
  const dir = resolve(SHARED_DIR, 'golden', set);
  const manifestPath = resolve(dir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`golden set ${set} not found at ${dir}; the repository expects ../shared beside it`);
  return { dir, cases: (JSON.parse(readFileSync(manifestPath, 'utf8')) as { cases: T[] }).cases };
}

export function loadEntry(dir: string, entry: GoldenEntry): Tensor {
  return { shape: entry.shape, data: readFloat32(resolve(dir, entry.file)) };
}
