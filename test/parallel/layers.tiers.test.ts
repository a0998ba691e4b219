/** Layers on the pool: `model.forwardAsync(x, { pool })` equals `model.forward(x)` bitwise. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mobilenetV1 } from '../../src/layers/models/mobilenet.js';
import type { ConvRunner } from '../../src/layers/module.js';
import type { WorkerPool } from '../../src/parallel/pool.js';
import { expectBitwiseEqual, randomTensor, rng } from '../helpers.js';
import { testPool, WORKER_URL } from './pool-helpers.js';
import { createWorkerPool } from '../../src/parallel/pool.js';
import { ensureWorkerBuilt } from './ensure-worker-built.js';

beforeAll(ensureWorkerBuilt, 300_000);

describe('MobileNetV1 (width 0.25) on the pool', () => {
  const model = mobilenetV1({ widthMultiplier: 0.25, seed: 1 });
  const x = randomTensor([1, 3, 96, 96], rng(17));
  const expected = model.forward(x);
  const pools: WorkerPool[] = [];
  beforeAll(() => {
    // Every conv split (minSliceMacs 0), and the default threshold that keeps small layers local.
    pools.push(testPool(2), testPool(3), createWorkerPool({ threads: 2, workerUrl: WORKER_URL }));
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.dispose()));
  });

  it('the pool satisfies the layers\' ConvRunner interface', () => {
    const runner: ConvRunner = pools[0]!;
    expect(typeof runner.conv2d).toBe('function');
  });

  for (const [i, label] of ['threads=2 split everything', 'threads=3 split everything', 'threads=2 default threshold'].entries()) {
    it(`${label}: forwardAsync equals forward bitwise`, async () => {
      const actual = await model.forwardAsync(x, { pool: pools[i]! });
      expect(actual.shape).toEqual(expected.shape);
      expectBitwiseEqual(actual.data, expected.data, label);
    });
  }
});
