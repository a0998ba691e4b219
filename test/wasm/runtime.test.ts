import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildFeatureProbes, buildKernelModule, KERNEL_FAMILIES } from '../../src/wasm/emit/module.js';
import * as generated from '../../src/wasm/gen/modules.js';
import { Arena, ARENA_ALIGN, callKernel, compileKernelModuleSync, detectWasmFeatures, kernelModuleBytes, WasmRuntime } from '../../src/wasm/runtime.js';

describe('generated kernel modules', () => {
  it('src/wasm/gen/modules.ts is what tools/gen-wasm.mjs generates', () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
    const result = spawnSync(process.execPath, [resolve(root, 'tools/gen-wasm.mjs'), '--check'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('the committed bytes are what the kernel families emit now (run npm run gen if not)', () => {
    for (const [name, relaxed, shared] of [['plain', false, false], ['plainShared', false, true], ['relaxed', true, false], ['relaxedShared', true, true]] as const) {
      expect(Array.from(kernelModuleBytes({ relaxed, shared })), name).toEqual(Array.from(buildKernelModule({ relaxed, shared }).bytes));
    }
    expect(generated.exportNames).toEqual(buildKernelModule({ relaxed: false, shared: false }).exports);
  });

  it('every export starts with its family name', () => {
    const names = buildKernelModule({ relaxed: false, shared: false }).exports;
    for (const name of names) expect(KERNEL_FAMILIES.some((f) => name.startsWith(`${f.name}_`)), name).toBe(true);
  });

  it('the plain modules and probes validate; Node 20 has SIMD and shared memory', () => {
    expect(WebAssembly.validate(kernelModuleBytes({ relaxed: false, shared: false }))).toBe(true);
    expect(WebAssembly.validate(kernelModuleBytes({ relaxed: false, shared: true }))).toBe(true);
    const probes = buildFeatureProbes();
    expect(WebAssembly.validate(probes.simd)).toBe(true);
    const features = detectWasmFeatures();
    expect(features.simd).toBe(true);
    expect(features.threads).toBe(true);
    // Where the relaxed probe validates, so does the relaxed module.
    if (features.relaxedSimd) expect(WebAssembly.validate(kernelModuleBytes({ relaxed: true, shared: false }))).toBe(true);
  });
});

describe('Arena', () => {
  function arena(maximumPages = 4) {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: maximumPages });
    return new Arena(memory, maximumPages);
  }

  it('aligns, reuses freed blocks first-fit and coalesces neighbours', () => {
    const a = arena();
    const p = a.alloc(10);
    const q = a.alloc(100);
    const r = a.alloc(64);
    expect(p % ARENA_ALIGN).toBe(0);
    expect(p).toBeGreaterThan(0);
    expect(q).toBe(p + 64);
    expect(r).toBe(q + 128);
    a.release(q);
    expect(a.alloc(64)).toBe(q); // first fit in the hole
    a.release(p);
    a.release(q); // p and q coalesce into 192 bytes
    expect(a.alloc(192)).toBe(p);
    expect(a.used).toBe(256);
    expect(() => a.release(12345)).toThrow(RangeError);
  });

  it('grows the memory and reports a clear RangeError beyond its limit', () => {
    const a = arena(4);
    const big = a.alloc(3 * 65536, 'weights');
    expect(a.memory.buffer.byteLength).toBeGreaterThanOrEqual(big + 3 * 65536);
    expect(() => a.alloc(2 * 65536, 'activation')).toThrow(/activation needs WebAssembly memory up to .* MiB, beyond what the engine can grow to/);
    a.release(big);
    expect(a.alloc(2 * 65536)).toBe(ARENA_ALIGN);
  });
});

describe('WasmRuntime', () => {
  it('runs a kernel over the arena; fill_f32 covers the 4-wide body and the 1..3 tail', () => {
    const rt = WasmRuntime.instantiate(compileKernelModuleSync({ relaxed: false, shared: false }), { relaxed: false, shared: false });
    for (const count of [0, 1, 3, 4, 5, 7, 8, 9, 33]) {
      const p = rt.arena.alloc(4 * (count + 2));
      rt.view(p, count + 2).fill(-1);
      rt.kernels.fill_f32(p, count, 2.5);
      const v = rt.view(p, count + 2);
      expect(Array.from(v.subarray(0, count))).toEqual(new Array(count).fill(2.5));
      expect(Array.from(v.subarray(count))).toEqual([-1, -1]); // sentinels untouched
      rt.arena.release(p);
    }
  });

  it('a trap becomes a RangeError', () => {
    const rt = WasmRuntime.instantiate(compileKernelModuleSync({ relaxed: false, shared: false }), { relaxed: false, shared: false });
    expect(() => callKernel('fill_f32', () => rt.kernels.fill_f32(rt.memory.buffer.byteLength - 8, 16, 0))).toThrow(/wasm kernel fill_f32 trapped/);
  });
});
