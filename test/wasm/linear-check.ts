/** The GEMV / WasmLinear check shared by gemv.test.ts (plain) and relaxed-paths.test.ts (relaxed). */
import { expect } from 'vitest';
import { WasmLinear } from '../../src/wasm/linear.js';
import type { WasmRuntime } from '../../src/wasm/runtime.js';

const SENTINEL = 12345.5;

export function checkLinear(rt: WasmRuntime, random: () => number): void {
  let checked = 0;
  for (const N of [1, 2, 3, 4, 5, 7, 8, 9, 13]) {
    for (const K of [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 32, 33, 1280]) {
      if (K === 1280 && N > 5) continue;
      const w = Float32Array.from({ length: N * K }, () => random() * 2 - 1);
      const bias = (N + K) % 2 === 0 ? Float32Array.from({ length: N }, () => random() - 0.5) : null;
      const rows = K % 3 === 0 ? 2 : 1;
      const x = Float32Array.from({ length: rows * K }, () => random() * 2 - 1);
      const [min, max] = K % 5 === 0 ? [-0.5, 0.25] : [-Infinity, Infinity];
      const linear = new WasmLinear(rt, w, bias, K, N);
      // staged (plain arrays) and in place (x and y in the runtime's memory), with sentinels around y
      const y = new Float32Array(rows * N + 2).fill(SENTINEL);
      linear.run(x, rows, y.subarray(1, 1 + rows * N), min, max);
      expect(y[0]).toBe(SENTINEL);
      expect(y[rows * N + 1]).toBe(SENTINEL);
      const xIn = rt.arena.alloc(4 * x.length);
      const yIn = rt.arena.alloc(4 * rows * N);
      rt.write(xIn, x);
      linear.run(rt.view(xIn, x.length), rows, rt.view(yIn, rows * N), min, max);
      const inPlace = Float32Array.from(rt.view(yIn, rows * N));
      rt.arena.release(yIn);
      rt.arena.release(xIn);
      for (let r = 0; r < rows; r++) {
        for (let o = 0; o < N; o++) {
          let ref = bias === null ? 0 : bias[o]!;
          for (let i = 0; i < K; i++) ref += w[o * K + i]! * x[r * K + i]!;
          ref = Math.min(Math.max(ref, min), max);
          const got = y[1 + r * N + o]!;
          expect(Math.abs(got - ref) / (1 + Math.abs(ref)), `N=${N} K=${K} row ${r} out ${o}: ${got} vs ${ref}`).toBeLessThanOrEqual(1e-5);
          expect(Object.is(inPlace[r * N + o], got), `N=${N} K=${K}: in place vs staged`).toBe(true);
          checked++;
        }
      }
      linear.dispose();
    }
  }
  expect(checked).toBeGreaterThan(500);
}
