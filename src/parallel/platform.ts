/**
 * The thin layer between the pool and the host's threads: Node `worker_threads` or browser Web
 * Workers. The matching adapter is loaded on demand so neither environment imports the other's
 * modules.
 */
import type { Platform } from './platform-types.js';

export type { Platform, PoolWorker, WorkerEvents } from './platform-types.js';

export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p === 'object' && p !== null && typeof p.versions?.node === 'string';
}

/** Whether threads can share memory here (in a browser this needs cross-origin isolation). */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
}

export async function loadPlatform(): Promise<Platform> {
  if (isNode()) {
    // A computed specifier keeps browser bundlers from following the Node adapter.
    const nodeAdapter = './node-platform.js';
    const module = (await import(/* @vite-ignore */ /* webpackIgnore: true */ nodeAdapter)) as typeof import('./node-platform.js');
    return checked(module.nodePlatform, nodeAdapter);
  }
  const module = await import('./browser-platform.js');
  return checked(module.browserPlatform, './browser-platform.js');
}

function checked(platform: Platform | undefined, from: string): Platform {
  if (platform === undefined) throw new Error(`sepconv worker pool: ${from} exports no platform adapter (is the build complete?)`);
  return platform;
}
