/** Node adapter: `worker_threads`, unref'd so an idle pool never keeps the process alive. */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './messages.js';
import type { Platform, PoolWorker, WorkerEvents } from './platform-types.js';

function spawn(url: string | URL | undefined, events: WorkerEvents): PoolWorker {
  const worker = new Worker(url ?? new URL('./worker.js', import.meta.url));
  let lastError: unknown = null;
  let dead = false;
  worker.on('message', (message: FromWorker) => events.onMessage(message));
  worker.on('error', (error) => {
    lastError = error;
  });
  worker.on('exit', (code) => {
    dead = true;
    const detail = lastError instanceof Error ? `: ${lastError.name}: ${lastError.message}` : '';
    events.onDeath(`exited with code ${code}${detail}`);
  });
  worker.unref();
  return {
    post: (message: ToWorker) => worker.postMessage(message),
    terminate: async () => {
      if (!dead) await worker.terminate();
    },
    ref: () => worker.ref(),
    unref: () => worker.unref(),
  };
}

export const nodePlatform: Platform = {
  name: 'node',
  defaultThreads: () => availableParallelism(),
  spawn,
};
