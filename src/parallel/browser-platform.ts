/** Browser adapter: module Web Workers. */
import type { FromWorker, ToWorker } from './messages.js';
import type { Platform, PoolWorker, WorkerEvents } from './platform-types.js';

function spawn(url: string | URL | undefined, events: WorkerEvents): PoolWorker {
  // The literal `new Worker(new URL('./worker.js', import.meta.url), ...)` form is what bundlers
  // recognise to emit the worker file next to this one.
  const worker = url === undefined
    ? new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })
    : new Worker(url, { type: 'module' });
  let dead = false;
  const die = (reason: string): void => {
    if (dead) return;
    dead = true;
    // A browser worker survives an uncaught error, but its state is unknown: replace it.
    worker.terminate();
    events.onDeath(reason);
  };
  worker.addEventListener('message', (event: MessageEvent<FromWorker>) => events.onMessage(event.data));
  worker.addEventListener('error', (event: ErrorEvent) => {
    event.preventDefault();
    die(`failed: ${event.message || 'script error (could the worker file be loaded?)'}`);
  });
  worker.addEventListener('messageerror', () => die('failed: a message could not be deserialised'));
  return {
    post: (message: ToWorker) => worker.postMessage(message),
    terminate: async () => {
      dead = true;
      worker.terminate();
    },
    ref: () => {},
    unref: () => {},
  };
}

export const browserPlatform: Platform = {
  name: 'browser',
  defaultThreads: () => Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1),
  spawn,
};
