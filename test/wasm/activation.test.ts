/**
 * The wasm `act` kernels (SiLU, Sigmoid, Hardswish in float32 lanes) against float64 formulas,
 * in ulps, over a seeded sweep and the special values; tails (n mod 4) through the same code as
 * full vectors; no write past n; in place; and the modules on the wasm tier give the same bits
 * whether their arrays live in wasm memory or not.
 */
import { describe, expect, it } from 'vitest';
import { Hardswish, SiLU, Sigmoid, setBackend, wasmZeros, releaseWasmTensor } from '../../src/index.js';
import { loadedWasmRuntime, wasmRuntimeFor } from '../../src/ops/backend.js';
import type { ActKernel } from '../../src/wasm/activation-run.js';
import { expectBitwiseEqual, rng } from '../helpers.js';

const REFERENCES: [ActKernel, (v: number) => number, number][] = [
  ['act_silu_f32', (v) => v / (1 + Math.exp(-v)), 4],
  ['act_sigmoid_f32', (v) => 1 / (1 + Math.exp(-v)), 2],
  ['act_hardswish_f32', (v) => { const t = v + 3; return (v * (t < 0 ? 0 : t > 6 ? 6 : t)) / 6; }, 2],
];

/** The distance between two float32 values in units in the last place of `expected`. */
function ulps(actual: number, expected: number): number {
  if (actual === expected) return 0;
  const bits = new Float32Array([Math.abs(expected)]);
  const next = new Float32Array(1);
  new Int32Array(next.buffer)[0] = new Int32Array(bits.buffer)[0]! + 1;
  return Math.abs(actual - expected) / (next[0]! - bits[0]!);
}

const SPECIAL = [0, -0, 1, -1, 3, -3, 6, -6, 2.5, -2.5, 1e-30, -1e-30, 1e-45, -1e-45, 20, -20, 86.9, -86.9, 87, -87, 87.5, -87.5, 88.8, -88.8, 1e30, -1e30, Infinity, -Infinity, NaN];

function sweep(length: number, seed: number): Float32Array {
  const next = rng(seed);
  const x = new Float32Array(length);
  for (let i = 0; i < length; i++) x[i] = (next() * 2 - 1) * (i % 3 === 0 ? 90 : i % 3 === 1 ? 8 : 0.01);
  x.set(SPECIAL.slice(0, Math.min(SPECIAL.length, length)));
  return x;
}

describe('wasm act kernels', () => {
  it('agree with the float64 formulas within a few ulps, and on every special value', () => {
    const rt = wasmRuntimeFor('wasm', 'test')!;
    const n = 40_003;
    const x = sweep(n, 3);
    for (const [kernel, reference, bound] of REFERENCES) {
      const y = new Float32Array(n);
      const xs = rt.arena.alloc(4 * n);
      const ys = rt.arena.alloc(4 * (n + 4));
      rt.write(xs, x);
      rt.view(ys, n + 4).fill(-777);
      rt.kernels[kernel](xs, ys, n);
      y.set(rt.view(ys, n));
      expect(Array.from(rt.view(ys + 4 * n, 4)), `${kernel} wrote past n`).toEqual([-777, -777, -777, -777]);
      rt.arena.release(xs);
      rt.arena.release(ys);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const expected = Math.fround(reference(x[i]!));
        if (Number.isNaN(expected)) {
          expect(y[i], `${kernel}(${x[i]})`).toBeNaN();
          continue;
        }
        // Below x = −87 SiLU and Sigmoid are under 2e-36 (PyTorch's float32 exp overflows there): absolute error only.
        if (Math.abs(expected) < 1e-35) {
          expect(Math.abs(y[i]! - expected), `${kernel}(${x[i]})`).toBeLessThan(1e-35);
          continue;
        }
        worst = Math.max(worst, ulps(y[i]!, expected));
      }
      expect(worst, kernel).toBeLessThanOrEqual(bound);
      // Exact where it matters: signs of zero, saturation, the midpoint.
      const at = (v: number) => y[SPECIAL.findIndex((s) => Object.is(s, v))];
      if (kernel === 'act_sigmoid_f32') {
        expect([at(0), at(-0), at(Infinity), at(-Infinity)]).toEqual([0.5, 0.5, 1, 0]);
      } else {
        expect(Object.is(at(0), 0) && Object.is(at(-0), -0), `${kernel} keeps the sign of zero`).toBe(true);
        expect(at(Infinity)).toBe(Infinity);
        expect(at(-Infinity)).toBeNaN(); // −∞ / (1 + ∞) and −∞ · 0, as in PyTorch
      }
    }
  });

  it('computes a tail element exactly as it computes the same value inside a full vector, in place or not', () => {
    const rt = wasmRuntimeFor('wasm', 'test')!;
    const values = sweep(64, 5);
    for (const [kernel] of REFERENCES) {
      const full = rt.arena.alloc(4 * 64);
      rt.write(full, values);
      rt.kernels[kernel](full, full, 64); // in place, every element in a full vector
      const vectorResults = rt.view(full, 64).slice();
      // lengths below one vector, below one main-loop step (16), and past it with a single vector and a tail
      for (const length of [1, 2, 3, 5, 6, 7, 15, 17, 21, 23, 37]) {
        for (let start = 0; start + length <= 64; start += 9) {
          const xs = rt.arena.alloc(4 * length);
          const ys = rt.arena.alloc(4 * length);
          rt.write(xs, values.subarray(start, start + length));
          rt.kernels[kernel](xs, ys, length);
          expectBitwiseEqual(rt.view(ys, length), vectorResults.subarray(start, start + length), `${kernel} n=${length} from ${start}`);
          rt.arena.release(xs);
          rt.arena.release(ys);
        }
      }
      rt.arena.release(full);
    }
  });

  it('act_scale_f32 scales each plane by its factor with the bits of JS (one float32 multiply), in place or not, nothing past the end', () => {
    const rt = wasmRuntimeFor('wasm', 'test')!;
    const next = rng(21);
    for (const plane of [0, 1, 2, 3, 4, 5, 7, 8, 9, 49, 196]) {
      for (const planes of [1, 3, 6]) {
        const n = plane * planes;
        const x = sweep(n, plane + planes);
        const scales = new Float32Array(planes).map(() => (next() * 2 - 1) * 3);
        if (planes > 2) scales.set([0, -0, Number.NaN].slice(0, planes));
        const expected = new Float32Array(n);
        for (let p = 0; p < planes; p++) for (let i = 0; i < plane; i++) expected[p * plane + i] = x[p * plane + i]! * scales[p]!;
        const xs = rt.arena.alloc(4 * (n + 4));
        const ys = rt.arena.alloc(4 * (n + 4));
        const ss = rt.arena.alloc(4 * planes);
        rt.write(xs, x);
        rt.write(ss, scales);
        rt.view(ys, n + 4).fill(-777);
        rt.kernels.act_scale_f32(xs, ys, plane, ss, planes);
        expectBitwiseEqual(rt.view(ys, n), expected, `plane ${plane} × ${planes}`);
        expect(Array.from(rt.view(ys + 4 * n, 4)), 'wrote past the end').toEqual([-777, -777, -777, -777]);
        rt.kernels.act_scale_f32(xs, xs, plane, ss, planes);
        expectBitwiseEqual(rt.view(xs, n), expected, `in place, plane ${plane} × ${planes}`);
        rt.arena.release(ss);
        rt.arena.release(ys);
        rt.arena.release(xs);
      }
    }
  });

  it('act_add_f32 adds with the bits of JS (one float32 add), into either operand or a third array, nothing past the end', () => {
    const rt = wasmRuntimeFor('wasm', 'test')!;
    for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 9, 33, 100]) {
      const a = sweep(n, n + 1);
      const b = sweep(n, n + 2).map((v, i) => (i % 5 === 0 ? -v : v * 0.5));
      const expected = a.map((v, i) => v + b[i]!);
      const as = rt.arena.alloc(4 * (n + 4));
      const bs = rt.arena.alloc(4 * (n + 4));
      const out = rt.arena.alloc(4 * (n + 4));
      for (const target of ['third', 'a', 'b'] as const) {
        rt.write(as, a);
        rt.write(bs, b);
        rt.view(out, n + 4).fill(-777);
        const to = target === 'third' ? out : target === 'a' ? as : bs;
        rt.kernels.act_add_f32(as, bs, to, n);
        expectBitwiseEqual(rt.view(to, n), expected, `n=${n} into ${target}`);
        if (target === 'third') expect(Array.from(rt.view(out + 4 * n, 4)), 'wrote past the end').toEqual([-777, -777, -777, -777]);
      }
      for (const block of [out, bs, as]) rt.arena.release(block);
    }
  });

  it('the modules on the wasm tier: the same bits from ordinary arrays (staged) and from wasm memory; float64 formulas on the JS tier', async () => {
    for (const [Module, kernel] of [[SiLU, 'act_silu_f32'], [Sigmoid, 'act_sigmoid_f32'], [Hardswish, 'act_hardswish_f32']] as const) {
      const reference = REFERENCES.find(([k]) => k === kernel)![1];
      const shape = [2, 3, 5, 7];
      const data = sweep(210, 11);
      await setBackend('wasm');
      try {
        const fromArray = new Module().forward({ shape, data }).data;
        const resident = wasmZeros(shape);
        resident.data.set(data);
        const fromWasm = new Module().forward(resident).data;
        expectBitwiseEqual(fromArray, fromWasm, `${Module.name} staged vs resident`);
        releaseWasmTensor(resident);
        expect(loadedWasmRuntime()).not.toBeNull();
        await setBackend('js');
        const js = new Module().forward({ shape, data }).data;
        for (let i = 0; i < data.length; i++) {
          const expected = Math.fround(reference(data[i]!));
          if (Number.isNaN(expected)) expect(js[i]).toBeNaN();
          else expect(Object.is(js[i], expected), `${Module.name} js tier at ${data[i]}`).toBe(true);
        }
      } finally {
        await setBackend('auto');
      }
    }
  });
});
