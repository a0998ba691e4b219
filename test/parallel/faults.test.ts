/**
 * Faults never hang a call: a kernel error in a worker rejects with that error, a dying worker is
 * replaced and its call rejected, dispose() during a call rejects it, and the pool keeps working
 * after each recoverable fault.
 */
import { beforeAll, afterEach, describe, expect, it } from 'vitest';
import { conv2d } from '../../src/ops/conv2d.js';
import { createWorkerPool, WorkerPoolError, type WorkerPool } from '../../src/parallel/pool.js';
import { expectBitwiseEqual, randomTensor, rng } from '../helpers.js';
import { testPool } from './pool-helpers.js';
import { ensureWorkerBuilt } from './ensure-worker-built.js';

beforeAll(ensureWorkerBuilt, 300_000);

const random = rng(21);
const input = randomTensor([1, 32, 12, 12], random);
const weight = randomTensor([64, 32, 3, 3], random);
const options = { padding: 1 };
const expected = conv2d(input, weight, options);

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected the call to reject');
    },
    (error: unknown) => error as Error,
  );
}

async function stillWorks(pool: WorkerPool): Promise<void> {
  expectBitwiseEqual((await pool.conv2d(input, weight, options)).data, expected.data, 'after the fault');
}

describe('worker pool faults', () => {
  let pool: WorkerPool | null = null;
  afterEach(async () => {
    await pool?.dispose();
    pool = null;
  });

  it('a kernel error in a worker rejects the call with that error; the pool carries on', async () => {
    pool = testPool(2);
    await pool.ready();
    pool.injectFault(0, 'throw');
    const error = await rejection(pool.conv2d(input, weight, options));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe('injected kernel fault (test hook)');
    await stillWorks(pool);
  });

  for (const kind of ['crash', 'exit'] as const) {
    it(`a worker that dies during a call (${kind}) is replaced and the call rejects`, async () => {
      pool = testPool(3);
      await pool.ready();
      pool.injectFault(1, kind);
      const error = await rejection(pool.conv2d(input, weight, options));
      expect(error).toBeInstanceOf(WorkerPoolError);
      expect(error.message).toMatch(/worker 1 died during a call .*replaced and the call rejected/);
      if (kind === 'exit') expect(error.message).toMatch(/exited with code 3/);
      if (kind === 'crash') expect(error.message).toMatch(/injected worker crash/);
      await stillWorks(pool);
      await stillWorks(pool);
    });
  }

  it('dispose() during a call rejects it cleanly, and later calls too', async () => {
    pool = testPool(2);
    await pool.ready();
    pool.injectFault(0, 'stall');
    const call = pool.conv2d(input, weight, options);
    const queued = pool.conv2d(input, weight, options);
    // Let the call dispatch and the calling thread finish its own slice.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await pool.dispose();
    const error = await rejection(call);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(error).toBeInstanceOf(WorkerPoolError);
    expect(error.message).toMatch(/disposed while a call was running/);
    expect((await rejection(queued)).message).toMatch(/disposed/);
    expect((await rejection(pool.conv2d(input, weight, options))).message).toMatch(/the pool is disposed/);
    await pool.dispose();
  });

  it('dispose() before the first call rejects it without starting work', async () => {
    pool = testPool(2);
    const call = pool.conv2d(input, weight, options);
    await pool.dispose();
    expect((await rejection(call)).message).toMatch(/disposed/);
  });

  it('a worker script that cannot load rejects calls with a clear error instead of hanging', async () => {
    pool = createWorkerPool({ threads: 2, minSliceMacs: 0, workerUrl: new URL('./no-such-worker.js', import.meta.url) });
    const error = await rejection(pool.conv2d(input, weight, options));
    expect(error).toBeInstanceOf(WorkerPoolError);
    expect(error.message).toMatch(/worker 0 could not start/);
  });

  it('threads = 1 starts no worker and computes on the calling thread', async () => {
    pool = createWorkerPool({ threads: 1, workerUrl: new URL('./no-such-worker.js', import.meta.url) });
    await pool.ready();
    await stillWorks(pool);
  });
});
