/**
 * The wasm GEMV (src/wasm/emit/gemv.ts) and its Linear driver (src/wasm/linear.ts) against a float64
 * reference: every row count around the 4-row group, every k tail around the 8- and 4-wide
 * steps, with and without bias, clamps, staged and in-memory inputs; row splits bitwise equal.
 * Runs on the variant this engine loads by default; relaxed-paths.test.ts runs the relaxed one.
 */
import { describe, expect, it } from 'vitest';
import { compileKernelModuleSync, WasmRuntime } from '../../src/wasm/runtime.js';
import { WasmLinear } from '../../src/wasm/linear.js';
import { rng } from '../helpers.js';
import { checkLinear } from './linear-check.js';

describe('wasm GEMV / Linear (plain module)', () => {
  const variant = { relaxed: false, shared: false };
  const rt = WasmRuntime.instantiate(compileKernelModuleSync(variant), variant);

  it('matches the float64 reference for rows 1..9, 13 and k = 1..17, 31..33, 1280', () => {
    checkLinear(rt, rng(5));
  });

  it('a row range computed alone is bitwise what the whole call gives; repeats are bitwise equal', () => {
    const random = rng(6);
    const K = 37;
    const N = 11;
    const w = Float32Array.from({ length: N * K }, () => random() * 2 - 1);
    const b = Float32Array.from({ length: N }, () => random() - 0.5);
    const x = Float32Array.from({ length: K }, () => random() * 2 - 1);
    const whole = new WasmLinear(rt, w, b, K, N);
    const y = new Float32Array(N);
    whole.run(x, 1, y);
    const again = new Float32Array(N);
    whole.run(x, 1, again);
    expect(Array.from(again)).toEqual(Array.from(y));
    for (const [o0, o1] of [[0, 1], [1, 6], [5, 11], [3, 4]]) {
      const part = new WasmLinear(rt, w.subarray(o0 * K, o1 * K), b.subarray(o0, o1), K, o1 - o0);
      const yp = new Float32Array(o1 - o0);
      part.run(x, 1, yp);
      for (let o = o0; o < o1; o++) expect(Object.is(yp[o - o0], y[o]), `row ${o} of [${o0}, ${o1})`).toBe(true);
      part.dispose();
    }
    whole.dispose();
  });

  it('refuses weights and biases of the wrong size', () => {
    expect(() => new WasmLinear(rt, new Float32Array(5), null, 2, 3)).toThrow(/outFeatures × inFeatures = 6/);
    expect(() => new WasmLinear(rt, new Float32Array(6), new Float32Array(2), 2, 3)).toThrow(/bias must hold 3/);
  });
});
