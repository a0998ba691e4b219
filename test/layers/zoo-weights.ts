/**
 * State dicts and inputs generated from a hash of each key and element index: the same function
 * as tools/zoo-fixtures.py, so the zoo's logits fixtures need no weight files.
 */
import type { Module, StateDict } from '../../src/layers/module.js';
import type { Tensor } from '../../src/tensor.js';
import { isInt64Tensor } from '../../src/int64.js';

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/** u in [0, 1) for elements 0..count-1 of `key` (24-bit, exact in float32). */
export function hashedUniform(key: string, count: number): Float64Array {
  const base = fnv1a(key);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let x = (Math.imul(i, 0x9e3779b1) + base) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x85ebca6b) >>> 0;
    x ^= x >>> 13;
    x = Math.imul(x, 0xc2b2ae35) >>> 0;
    x ^= x >>> 16;
    out[i] = (x >>> 8) / 16777216;
  }
  return out;
}

export function hashedTensor(key: string, shape: readonly number[]): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  const u = hashedUniform(key, count);
  const name = key.slice(key.lastIndexOf('.') + 1);
  const data = new Float32Array(count);
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  for (let i = 0; i < count; i++) {
    const v = u[i]!;
    if (key === 'input') data[i] = 2 * v - 1;
    else if (name === 'running_var') data[i] = 0.5 + v;
    else if (name === 'running_mean') data[i] = 0.2 * (2 * v - 1);
    else if (name === 'weight' && shape.length === 1) data[i] = 0.5 + v;
    else if (name === 'bias') data[i] = 0.1 * (2 * v - 1);
    else data[i] = Math.sqrt(6 / fanIn) * (2 * v - 1);
  }
  return { shape: shape.slice(), data };
}

/** The hashed state dict for `model`'s own keys and shapes. */
export function hashedStateDict(model: Module): StateDict {
  const dict: StateDict = {};
  for (const [key, t] of Object.entries(model.stateDict())) {
    if (isInt64Tensor(t)) {
      const u = hashedUniform(key, t.data.length);
      dict[key] = { shape: t.shape.slice(), data: BigInt64Array.from(u, (v) => BigInt(Math.floor(v * 1000))) };
    } else dict[key] = hashedTensor(key, t.shape);
  }
  return dict;
}
