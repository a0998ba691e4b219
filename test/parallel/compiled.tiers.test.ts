/**
 * Compiled models on the pool: `model.compile(shape, { pool })` then `await compiled.runAsync(x)`
 * equals the single-thread compile of the same options (`compiled.run(x)`) bitwise, on the wasm
 * tier split over the workers (one job per run, barriers in shared memory) and on the JS tier
 * run on the calling thread. Worker faults reject the run and the pool recovers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  efficientnetB0, mnasnet, mobilenetV1, mobilenetV2, mobilenetV3Large, mobilenetV3Small, shufflenetV2, type Module, type Tensor,
} from '../../src/index.js';
import { createWorkerPool, WorkerPoolError, type WorkerPool } from '../../src/parallel/pool.js';
import { SCHEDULE_MIN_SLICE_MACS } from '../../src/parallel/schedule.js';
import { loadWasmFor } from '../../src/ops/backend.js';
import { expectBitwiseEqual, randomTensor, rng } from '../helpers.js';
import { testPool, WORKER_URL } from './pool-helpers.js';
import { ensureWorkerBuilt } from './ensure-worker-built.js';

beforeAll(async () => {
  await ensureWorkerBuilt();
  await loadWasmFor('wasm');
}, 300_000);

/** Every convolution split (minSliceMacs 0) with chunk k fixed to thread k mod 2 (steal false), so the worker computes half. */
let fixed: WorkerPool;
/** The defaults: dynamic claiming, small convolutions left on the calling thread. */
let defaults: WorkerPool;
/** Three threads, every convolution split. */
let three: WorkerPool;

beforeAll(async () => {
  fixed = testPool(2, { backend: 'wasm' });
  defaults = createWorkerPool({ threads: 2, workerUrl: WORKER_URL, backend: 'wasm' });
  three = testPool(3, { backend: 'wasm' });
  await Promise.all([fixed.ready(), defaults.ready(), three.ready()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([fixed?.dispose(), defaults?.dispose(), three?.dispose()]);
});

/** runAsync `runs` times (the first records the schedule) and compares each result with `reference`. */
async function expectRunsEqual(model: Module, shape: number[], pool: WorkerPool, options: { backend?: 'wasm' | 'js'; foldBatchNorm?: boolean }, runs = 3): Promise<void> {
  const single = model.compile(shape, options);
  const pooled = model.compile(shape, { ...options, pool });
  try {
    for (let r = 0; r < runs; r++) {
      const x = randomTensor(shape, rng(100 + r));
      const expected = Float32Array.from(single.run(x).data);
      const actual: Tensor = await pooled.runAsync(x);
      expect(actual.shape).toEqual(single.outputShape);
      expectBitwiseEqual(actual.data, expected, `run ${r}`);
    }
  } finally {
    single.dispose();
    pooled.dispose();
  }
}

const zoo: [string, () => Module][] = [
  ['mobilenet_v2 w0.35', () => mobilenetV2({ widthMult: 0.35, numClasses: 10, seed: 1 })],
  ['mobilenet_v3_small', () => mobilenetV3Small({ numClasses: 10, seed: 2 })],
  ['mobilenet_v3_large', () => mobilenetV3Large({ numClasses: 10, seed: 3 })],
  ['shufflenet_v2 x0.5', () => shufflenetV2({ width: 0.5, numClasses: 10, seed: 4 })],
  ['mnasnet 0.5', () => mnasnet({ alpha: 0.5, numClasses: 10, seed: 5 })],
  ['efficientnet_b0', () => efficientnetB0({ numClasses: 10, seed: 6 })],
];

describe('zoo models, compiled on the pool (wasm tier)', () => {
  for (const [name, build] of zoo) {
    it(`${name}: runAsync equals the single-thread compiled run bitwise, every run`, async () => {
      const model = build().eval();
      const before = fixed.stats();
      await expectRunsEqual(model, [1, 3, 67, 67], fixed, { backend: 'wasm' });
      const after = fixed.stats();
      // The first run records; the other two are split, and with fixed chunks the worker computes some.
      expect(after.scheduledRuns - before.scheduledRuns).toBe(2);
      expect(after.workerChunks - before.workerChunks).toBeGreaterThan(0);
    });
  }

  it('mobilenet_v2 w0.35 with the default pool settings, and with foldBatchNorm: false', async () => {
    const model = mobilenetV2({ widthMult: 0.35, numClasses: 10, seed: 7 }).eval();
    await expectRunsEqual(model, [1, 3, 67, 67], defaults, { backend: 'wasm' });
    await expectRunsEqual(model, [1, 3, 67, 67], defaults, { backend: 'wasm', foldBatchNorm: false });
  });

  it('small convolutions: split from 2^14 multiply-adds per thread by default, not under a minSliceMacs the caller gives', async () => {
    // one 1×1 convolution of 32→32 channels on 12×12: 147,456 multiply-adds (73,728 per thread)
    const { Conv2d, Sequential } = await import('../../src/index.js');
    const model = new Sequential(new Conv2d(32, 32, 1, { seed: 3 })).eval();
    expect(SCHEDULE_MIN_SLICE_MACS).toBe(1 << 14);
    const large = createWorkerPool({ threads: 2, workerUrl: WORKER_URL, backend: 'wasm', minSliceMacs: 1 << 18 });
    await large.ready();
    try {
      for (const [pool, split] of [[defaults, true], [large, false]] as const) {
        const before = pool.stats();
        await expectRunsEqual(model, [1, 32, 12, 12], pool, { backend: 'wasm' });
        expect(pool.stats().scheduledChunks - before.scheduledChunks > 0, `split with ${pool === large ? 'minSliceMacs 2^18' : 'the defaults'}`).toBe(split);
      }
    } finally {
      await large.dispose();
    }
  });

  it('mobilenet_v2 w0.35 on three threads', async () => {
    const model = mobilenetV2({ widthMult: 0.35, numClasses: 10, seed: 8 }).eval();
    const before = three.stats().workerChunks;
    await expectRunsEqual(model, [1, 3, 67, 67], three, { backend: 'wasm' });
    expect(three.stats().workerChunks).toBeGreaterThan(before);
  });
});

describe('MobileNetV1, compiled on the pool', () => {
  it('full width at 128×128, both pools, five runs', async () => {
    const model = mobilenetV1({ seed: 9 }).eval();
    await expectRunsEqual(model, [1, 3, 128, 128], fixed, { backend: 'wasm' }, 5);
    await expectRunsEqual(model, [1, 3, 128, 128], defaults, { backend: 'wasm' }, 5);
  });

  it('batch 2 (split by images) and batch 3 (split by channels)', async () => {
    const model = mobilenetV1({ widthMultiplier: 0.5, seed: 10 }).eval();
    await expectRunsEqual(model, [2, 3, 64, 64], fixed, { backend: 'wasm' });
    await expectRunsEqual(model, [3, 3, 64, 64], fixed, { backend: 'wasm' });
    await expectRunsEqual(model, [3, 3, 64, 64], three, { backend: 'wasm' });
  });

  it('the JS tier runs on the calling thread, with the same result', async () => {
    const model = mobilenetV1({ widthMultiplier: 0.25, seed: 11 }).eval();
    const before = fixed.stats();
    await expectRunsEqual(model, [2, 3, 64, 64], fixed, { backend: 'js' });
    expect(fixed.stats().scheduledRuns).toBe(before.scheduledRuns);
  });

  it('the global tier (no backend options): split on wasm, on the calling thread on the JS tier', async () => {
    const pool = testPool(2);
    try {
      const model = mobilenetV1({ widthMultiplier: 0.25, seed: 14 }).eval();
      await expectRunsEqual(model, [1, 3, 64, 64], pool, {});
      const { getBackend } = await import('../../src/ops/backend.js');
      if (getBackend() === 'js') expect(pool.stats().scheduledRuns).toBe(0);
      else expect(pool.stats().workerChunks).toBeGreaterThan(0);
    } finally {
      await pool.dispose();
    }
  });

  it('runs queued together resolve in order, the last one leaving its result', async () => {
    const model = mobilenetV1({ widthMultiplier: 0.25, seed: 12 }).eval();
    const shape = [1, 3, 64, 64];
    const single = model.compile(shape, { backend: 'wasm' });
    const pooled = model.compile(shape, { backend: 'wasm', pool: fixed });
    const inputs = [0, 1, 2, 3].map((i) => randomTensor(shape, rng(200 + i)));
    const results = await Promise.all(inputs.map((x) => pooled.runAsync(x)));
    // The result tensor is reused, as `run`'s is: every promise resolves to it, holding the last run.
    for (const r of results) expect(r).toBe(results[0]);
    expectBitwiseEqual(results[0]!.data, single.run(inputs[3]!).data, 'last');
    single.dispose();
    pooled.dispose();
  });
});

describe('errors and lifetime', () => {
  const shape = [1, 3, 64, 64];
  const build = (): Module => mobilenetV1({ widthMultiplier: 0.5, seed: 13 }).eval();

  it('rejects a wrong input shape and a non-pool option before any work', async () => {
    const compiled = build().compile(shape, { backend: 'wasm', pool: fixed });
    await expect(compiled.runAsync(randomTensor([1, 3, 32, 32], rng(1)))).rejects.toThrow(RangeError);
    expect(() => build().compile(shape, { pool: { conv2d() {} } as unknown as WorkerPool })).toThrow(/pool must be a WorkerPool/);
    compiled.dispose();
  });

  it('dispose while idle: later runs reject, the pool keeps serving other models', async () => {
    const model = build();
    const compiled = model.compile(shape, { backend: 'wasm', pool: fixed });
    const x = randomTensor(shape, rng(3));
    await compiled.runAsync(x);
    await compiled.runAsync(x);
    compiled.dispose();
    await expect(compiled.runAsync(x)).rejects.toThrow(/after dispose/);
    await expectRunsEqual(model, shape, fixed, { backend: 'wasm' });
  });

  it('a disposed pool rejects runs with a WorkerPoolError', async () => {
    const pool = testPool(2, { backend: 'wasm' });
    const compiled = build().compile(shape, { backend: 'wasm', pool });
    const x = randomTensor(shape, rng(4));
    await compiled.runAsync(x);
    await pool.dispose();
    await expect(compiled.runAsync(x)).rejects.toThrow(WorkerPoolError);
  });

  for (const kind of ['throw', 'exit', 'crash', 'stall'] as const) {
    it(`a worker fault (${kind}) rejects the run; the next runs are bitwise right again`, async () => {
      const pool = testPool(2, { backend: 'wasm' });
      try {
        const model = build();
        const single = model.compile(shape, { backend: 'wasm' });
        const pooled = model.compile(shape, { backend: 'wasm', pool });
        const x = randomTensor(shape, rng(5));
        const expected = Float32Array.from(single.run(x).data);
        await pooled.runAsync(x); // records
        expectBitwiseEqual((await pooled.runAsync(x)).data, expected, 'before the fault');
        pool.injectFault(0, kind);
        const failed = pooled.runAsync(x);
        if (kind === 'throw') await expect(failed).rejects.toThrow(/injected kernel fault/);
        else await expect(failed).rejects.toThrow(WorkerPoolError);
        for (let r = 0; r < 2; r++) expectBitwiseEqual((await pooled.runAsync(x)).data, expected, `after the fault, run ${r}`);
        expect(pool.stats().workerChunks).toBeGreaterThan(0);
        single.dispose();
        pooled.dispose();
      } finally {
        await pool.dispose();
      }
    }, 30_000);
  }
});
