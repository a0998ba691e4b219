/** Shared test utilities: a seeded PRNG, random tensors, and element-wise comparison. */
import { expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../src/tensor.js';

/** The shared oracle folder beside the repository (`../shared`). */
export const SHARED_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared');

/** mulberry32: a small deterministic PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A tensor with values uniform in [-1, 1). */
export function randomTensor(shape: readonly number[], random: () => number): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = random() * 2 - 1;
  return { shape: shape.slice(), data };
}

export function readFloat32(path: string): Float32Array {
  if (!existsSync(path)) throw new Error(`missing oracle file ${path}`);
  const bytes = readFileSync(path);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

/**
 * Asserts exact shape equality and |actual - expected| <= tol * (1 + |expected|) element-wise,
 * naming the first failing index.
 */
export function expectClose(actual: Tensor, expected: Tensor, tol = 1e-4, label = ''): void {
  expect(actual.shape, `${label} shape`).toEqual(expected.shape);
  const a = actual.data;
  const e = expected.data;
  expect(a.length, `${label} length`).toBe(e.length);
  for (let i = 0; i < e.length; i++) {
    const ref = e[i]!;
    const err = Math.abs(a[i]! - ref);
    if (!(err <= tol * (1 + Math.abs(ref)))) {
      throw new Error(`${label}: mismatch at flat index ${i}: got ${a[i]}, expected ${ref} (|diff| ${err}, tol ${tol})`);
    }
  }
}

/** Asserts bitwise equality of two float arrays. */
export function expectBitwiseEqual(a: Float32Array, b: Float32Array, label = ''): void {
  expect(a.length, `${label} length`).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) throw new Error(`${label}: bitwise mismatch at flat index ${i}: ${a[i]} vs ${b[i]}`);
  }
}
