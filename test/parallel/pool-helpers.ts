/** Shared by the pool tests: vitest runs the TypeScript sources, so workers load the built entry. */
import { createWorkerPool, type WorkerPool, type WorkerPoolOptions } from '../../src/parallel/pool.js';

export const WORKER_URL = new URL('../../dist/parallel/worker.js', import.meta.url);

/**
 * A pool that splits every call it can (`minSliceMacs: 0`) and never takes a worker's slice over
 * (`steal: false`), so even small test shapes are computed partly in the workers.
 */
export function testPool(threads: number, options: WorkerPoolOptions = {}): WorkerPool {
  return createWorkerPool({ threads, workerUrl: WORKER_URL, minSliceMacs: 0, steal: false, ...options });
}

/** A copy of `data` in a SharedArrayBuffer. */
export function sharedCopy(data: Float32Array): Float32Array {
  const copy = new Float32Array(new SharedArrayBuffer(data.byteLength));
  copy.set(data);
  return copy;
}
