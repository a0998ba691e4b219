/**
 * What the pool and its workers say to each other. Setup and per-call jobs travel by
 * postMessage (a job names new SharedArrayBuffers, e.g. each call's output, which only
 * postMessage can carry); completion is signalled through a small shared control array with
 * Atomics, which the calling thread can check without waiting for its event loop.
 */
import type { PoolTask } from './task.js';
import type { ProgramStep } from './schedule.js';
import type { KernelMemory, KernelModule, WasmVariant } from '../wasm/runtime.js';

export interface WasmInit {
  readonly module: KernelModule;
  readonly memory: KernelMemory;
  readonly variant: WasmVariant;
}

/**
 * Control array layout (Int32Array over a SharedArrayBuffer):
 *   [PROGRESS]          bumped (and notified) after every completed job, by any worker
 *   [doneIndex(i)]      the id of the last job worker i finished (or skipped)
 *   [statusIndex(i)]    0 when that job succeeded, 1 when it threw (details follow by message)
 *   [offerIndex(i)]     the id of the job whose slice is on offer to worker i, 0 once claimed:
 *                       the worker and the calling thread both try to claim it (compareExchange),
 *                       so a slice whose worker has not started yet can be taken over
 */
export const PROGRESS = 0;
export const doneIndex = (worker: number): number => 1 + 3 * worker;
export const statusIndex = (worker: number): number => 2 + 3 * worker;
export const offerIndex = (worker: number): number => 3 + 3 * worker;
export const controlLength = (workers: number): number => 1 + 3 * workers;
/** The value of an offer slot once its slice has been claimed. */
export const CLAIMED = 0;
export const STATUS_OK = 0;
export const STATUS_ERROR = 1;

/**
 * Test hooks for the next job: `throw` fails it like a kernel error, `crash` kills the worker by
 * an uncaught error outside any job, `exit` ends its thread (Node), `stall` delays it by 5 s.
 */
export type FaultKind = 'throw' | 'crash' | 'exit' | 'stall';

export type ToWorker =
  | {
    readonly type: 'init'; readonly control: Int32Array; readonly index: number; readonly notifyByMessage: boolean;
    /** The pool's wasm kernels and their shared memory, when the pool runs the wasm tier. */
    readonly wasm: WasmInit | null;
  }
  | { readonly type: 'run'; readonly job: number; readonly task: PoolTask }
  /** A compiled model's schedule (schedule.ts): its split convolutions and its control array. */
  | { readonly type: 'program'; readonly id: number; readonly control: Int32Array; readonly steps: readonly ProgramStep[] }
  /** One run of program `id`: follow the calling thread as thread `thread` of `threads`. */
  | { readonly type: 'runProgram'; readonly job: number; readonly id: number; readonly thread: number; readonly threads: number; readonly claim: boolean }
  | { readonly type: 'forget'; readonly id: number }
  | { readonly type: 'fault'; readonly kind: FaultKind };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'error'; readonly job: number; readonly name: string; readonly message: string }
  | { readonly type: 'done'; readonly job: number };
