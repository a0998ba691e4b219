/** What the pool needs from a host's threads; implemented by node-platform.ts and browser-platform.ts. */
import type { FromWorker, ToWorker } from './messages.js';

export interface PoolWorker {
  post(message: ToWorker): void;
  terminate(): Promise<void>;
  /** Node: whether this worker keeps the process alive. A no-op in browsers. */
  ref(): void;
  unref(): void;
}

export interface WorkerEvents {
  onMessage(message: FromWorker): void;
  /** The worker is gone (exited, crashed or failed to load); `reason` says how. */
  onDeath(reason: string): void;
}

export interface Platform {
  readonly name: 'node' | 'browser';
  /** The number of logical cores the host reports. */
  defaultThreads(): number;
  spawn(url: string | URL | undefined, events: WorkerEvents): PoolWorker;
}
