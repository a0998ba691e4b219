/**
 * The tier API (setBackend/getBackend/backendInfo, the `backend` option) and the SIMD tile edges
 * of the wasm GEMM paths. Runs in both test projects (vitest.config.ts): the default tier first,
 * then with setBackend('js'); the explicit-tier tests pass `backend` themselves.
 */
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectWasmFeatures } from '../../src/wasm/runtime.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backendInfo, conv2d, createWorkerPool, getBackend, releaseWasmTensor, wasmZeros, pointwiseConv2d, prepareConv2d, ready, referenceConv2d, setBackend,
  type Conv2dOptions, type Tensor,
} from '../../src/index.js';
import { expectBitwiseEqual, expectClose, randomTensor, rng } from '../helpers.js';
import { ensureWorkerBuilt } from '../parallel/ensure-worker-built.js';
import { testPool } from '../parallel/pool-helpers.js';

const SENTINEL = 12345.5;

function sentinelOut(shape: readonly number[]): Tensor {
  return { shape: shape.slice(), data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(SENTINEL) };
}

/** Each output written once, every value within the float32-lane tolerance of the float64 reference. */
function checkAgainstReference(x: Tensor, w: Tensor, options: Conv2dOptions, label: string): void {
  const expected = referenceConv2d(x, w, options);
  const out = sentinelOut(expected.shape);
  const y = conv2d(x, w, { ...options, out });
  expect(y).toBe(out);
  const left = out.data.indexOf(SENTINEL);
  expect(left, `${label}: output ${left} never written`).toBe(-1);
  expectClose(y, expected, 1e-5, label);
}

describe('tile edges of the GEMM paths (W = 4k ± 1, channel tiles ± 1), outputs prefilled with a sentinel', () => {
  const random = rng(77);
  const activations = ['none', 'relu', 'relu6'] as const;
  for (const cout of [1, 3, 4, 5, 8, 9]) {
    for (const width of [1, 3, 4, 5, 7, 8, 9, 15, 16, 17]) {
      it(`pointwise Cout=${cout} W=${width} (H=2, Cin=3, bias, ${activations[width % 3]})`, () => {
        const x = randomTensor([2, 3, 2, width], random);
        const w = randomTensor([cout, 3, 1, 1], random);
        checkAgainstReference(x, w, { bias: randomTensor([cout], random).data, activation: activations[width % 3] }, 'pointwise');
      });
      it(`grouped 3x3 p1 Cout=${cout} W=${width} and stride 2`, () => {
        const x = randomTensor([1, 2, 3, width], random);
        const w = randomTensor([cout, 2, 3, 3], random);
        checkAgainstReference(x, w, { padding: 1 }, 'grouped s1');
        checkAgainstReference(x, w, { padding: 1, stride: 2, activation: 'relu' }, 'grouped s2');
      });
    }
  }
  it('groups whose channel count is not a multiple of the 4-row tile, with dilation', () => {
    const x = randomTensor([2, 6, 9, 13], random);
    const w = randomTensor([9, 2, 3, 2], random);
    checkAgainstReference(x, w, { groups: 3, padding: [2, 1], dilation: [2, 1] }, 'grouped g3');
    checkAgainstReference(x, randomTensor([9, 2, 1, 1], random), { groups: 3, bias: randomTensor([9], random).data }, 'pointwise g3');
  });
});

describe('determinism and channel splits', () => {
  it('repeats are bitwise identical; any channel range is bitwise what the whole call computes', () => {
    const random = rng(78);
    const x = randomTensor([2, 7, 11, 10], random);
    for (const [shape, options] of [[[13, 7, 1, 1], {}], [[13, 7, 3, 3], { padding: 1 }], [[13, 7, 3, 3], { stride: 2, padding: 1 }]] as const) {
      const w = randomTensor(shape, random);
      const plan = prepareConv2d(w, options);
      const whole = plan.run(x);
      expectBitwiseEqual(plan.run(x).data, whole.data, 'repeat');
      expectBitwiseEqual(conv2d(x, w, options).data, whole.data, 'one-shot');
      for (const [c0, c1] of [[0, 5], [5, 6], [6, 13], [1, 11]]) {
        const part = new Float32Array(whole.data.length);
        plan.runChannels(x, part, c0, c1);
        const pixels = whole.data.length / 2 / 13;
        for (let n = 0; n < 2; n++) {
          const at = (n * 13 + c0) * pixels;
          const end = (n * 13 + c1) * pixels;
          expectBitwiseEqual(part.subarray(at, end), whole.data.subarray(at, end), `channels [${c0}, ${c1})`);
        }
      }
    }
  });
});

describe('the backend API', () => {
  const initial = getBackend();
  afterAll(async () => {
    await setBackend(initial);
  });

  it('backendInfo reports what Node 20 has: SIMD, shared memory; relaxed SIMD only with a flag', async () => {
    const info = backendInfo();
    expect(info.simd).toBe(true);
    expect(info.threads).toBe(true);
    expect(info.wasmUnavailable).toBe(null);
    expect(await ready()).toBe(getBackend());
  });

  it('setBackend switches the tier; plans report theirs; a per-call option overrides the global one', async () => {
    const random = rng(79);
    const x = randomTensor([1, 8, 6, 7], random);
    const w = randomTensor([6, 8, 3, 3], random);
    expect(await setBackend('js')).toBe('js');
    expect(getBackend()).toBe('js');
    expect(backendInfo().backend).toBe('js');
    expect(prepareConv2d(w).backend).toBe('js');
    const onJs = conv2d(x, w);
    expect(await setBackend('wasm')).toBe('wasm');
    // Relaxed SIMD by default wherever the engine validates it (Node ≥ 22), plain mul+add elsewhere.
    expect(backendInfo().wasmVariant).toBe(backendInfo().relaxedSimd ? 'relaxed' : 'plain');
    expect(prepareConv2d(w).backend).toBe('wasm');
    const onWasm = conv2d(x, w);
    // The tiers differ only by float32 vs float64 accumulation.
    expectClose(onWasm, onJs, 1e-5, 'wasm vs js');
    expectBitwiseEqual(conv2d(x, w, { backend: 'js' }).data, onJs.data, 'backend: js under wasm');
    await setBackend('js');
    expectBitwiseEqual(conv2d(x, w, { backend: 'wasm' }).data, onWasm.data, 'backend: wasm under js');
    expectBitwiseEqual(prepareConv2d(w, { backend: 'wasm' }).run(x).data, onWasm.data, 'plan backend: wasm');
    const w1 = randomTensor([6, 8], random);
    expectBitwiseEqual(pointwiseConv2d(x, w1, { backend: 'auto' }).data, pointwiseConv2d(x, w1, { backend: 'wasm' }).data, 'auto = wasm here');
  });

  it('a bad backend is refused before any work, naming the option', async () => {
    const x = randomTensor([1, 2, 3, 3], rng(1));
    const w = randomTensor([2, 2, 1, 1], rng(2));
    expect(() => conv2d(x, w, { backend: 'gpu' as never })).toThrow(/backend must be one of 'auto', 'wasm', 'js', got "gpu"/);
    expect(() => prepareConv2d(w, { backend: 1 as never })).toThrow(RangeError);
    await expect(setBackend('fast' as never)).rejects.toThrow(/backend must be one of/);
    await expect(setBackend('wasm', { relaxedSimd: 'yes' as never })).rejects.toThrow(TypeError);
    expect(() => createWorkerPool({ backend: 'webgpu' as never })).toThrow(/backend must be one of/);
  });

  beforeAll(ensureWorkerBuilt, 300_000);

  it('the pool runs wasm slices, bitwise equal to one thread, with 1, 2 and 3 threads', async () => {
    const random = rng(80);
    const x = randomTensor([1, 16, 20, 21], random);
    const cases: [Tensor, Conv2dOptions][] = [
      [randomTensor([37, 16, 1, 1], random), { bias: randomTensor([37], random).data, activation: 'relu6' }],
      [randomTensor([22, 16, 3, 3], random), { padding: 1 }],
      [randomTensor([20, 4, 3, 3], random), { stride: 2, padding: 1, groups: 4 }],
    ];
    for (const threads of [1, 2, 3]) {
      const pool = testPool(threads, { backend: 'wasm' });
      try {
        for (const [w, options] of cases) {
          const expected = conv2d(x, w, { ...options, backend: 'wasm' });
          expectBitwiseEqual((await pool.conv2d(x, w, options)).data, expected.data, `threads=${threads}`);
        }
        if (threads > 1) expect(pool.stats().workerSlices).toBeGreaterThan(0);
      } finally {
        await pool.dispose();
      }
    }
  });
});

describe('plans on the pool, tensors in wasm memory', () => {
  beforeAll(ensureWorkerBuilt, 300_000);

  it('pool.runPlan is bitwise plan.run with 1, 2 and 3 threads, on both tiers, with wasmZeros tensors too', async () => {
    const random = rng(81);
    const x = randomTensor([1, 12, 17, 18], random);
    const specs: [number[], Conv2dOptions][] = [
      [[40, 12, 1, 1], { activation: 'relu' }],
      [[24, 12, 3, 3], { padding: 1 }],
      [[12, 1, 3, 3], { padding: 1, groups: 12 }],
    ];
    const inWasm = wasmZeros(x.shape);
    inWasm.data.set(x.data);
    try {
      for (const backend of ['wasm', 'js'] as const) {
        for (const threads of [1, 2, 3]) {
          const pool = testPool(threads, { backend });
          try {
            for (const [shape, options] of specs) {
              const plan = prepareConv2d(randomTensor(shape, random), { ...options, backend });
              const expected = plan.run(x);
              expectBitwiseEqual((await pool.runPlan(plan, x)).data, expected.data, `${backend} threads=${threads}`);
              const out = wasmZeros(expected.shape);
              try {
                expect(await pool.runPlan(plan, inWasm, out)).toBe(out);
                expectBitwiseEqual(out.data, expected.data, `${backend} threads=${threads} wasmZeros`);
              } finally {
                releaseWasmTensor(out);
              }
            }
          } finally {
            await pool.dispose();
          }
        }
      }
    } finally {
      releaseWasmTensor(inWasm);
    }
  });
});

describe('relaxed SIMD', () => {
  it('the relaxed module (f32x4.relaxed_madd) runs where the engine has it, within the float32 tolerance of plain mul+add', () => {
    // Node 20 needs a flag (run the check in a child process with it); Node ≥ 22 has relaxed SIMD
    // by default and rejects the flag, so it is passed only where this Node still knows it.
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
    const script = resolve(root, 'test/wasm/relaxed-check.mjs');
    const flags = detectWasmFeatures().relaxedSimd ? [] : ['--experimental-wasm-relaxed-simd'];
    const result = spawnSync(process.execPath, [...flags, script], { encoding: 'utf8', cwd: root });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/relaxed ok/);
  });
});
