/**
 * A pool of persistent workers that runs each convolution split over output channels (or whole
 * images) on the calling thread plus `threads − 1` workers, over SharedArrayBuffer memory. Results
 * are bitwise the same as the synchronous `conv2d`: each output value is computed by one thread
 * with the same kernel code.
 *
 * Per call: validate on the calling thread (bad input rejects before any work is sent), copy the
 * part of any non-shared input, weight or bias that the workers read into the pool's shared
 * scratch, post one job to each worker taking part, compute the first slice here (from the
 * caller's own arrays), take over any worker slice not yet started, then wait for the workers'
 * completion flags. Layers too small to pay for the round trip, or whose copy would cost more
 * than splitting saves, run entirely on the calling thread.
 */
import { checkBackendChoice, loadWasmFor, wasmRuntimeFor, type BackendChoice } from '../ops/backend.js';
import { asTensor, describeValue, shapeSize, type Tensor, type TensorLike } from '../tensor.js';
import { depthwiseGroups, executeOnTier, type DepthwiseConv2dOptions, type PointwiseConv2dOptions } from '../ops/conv2d.js';
import { executeConv2d, kernelSetup, type KernelSetup } from '../kernels/dispatch.js';
import { WasmConvState } from '../ops/wasm-conv.js';
import { Conv2dPlan } from '../ops/plan.js';
import type { WasmRuntime } from '../wasm/runtime.js';
import { Scratch } from '../kernels/scratch.js';
import { checkElements, MAX_POOL_THREADS, MAX_THREADS_PER_CORE, outputFor, readBoolean, readOptions, validateConv2d, type Conv2dCall, type Conv2dOptions } from '../kernels/validate.js';
import { CLAIMED, controlLength, doneIndex, offerIndex, PROGRESS, statusIndex, STATUS_ERROR, type FaultKind, type FromWorker } from './messages.js';
import { isNode, loadPlatform, sharedMemoryAvailable, type Platform, type PoolWorker } from './platform.js';
import { convMacs, DEFAULT_MIN_SLICE_MACS, planSlices, sliceReads, type Range, type Slice } from './split.js';
import { runPoolTask as runTask, type ConvTask, type PoolTask } from './task.js';
import { ModelSchedule, SCHEDULE_MIN_SLICE_MACS, ScheduleStall, ScheduleWorkerError, STEP } from './schedule.js';

export interface WorkerPoolOptions {
  /**
   * Threads computing each large convolution, the calling thread included (so `threads − 1`
   * workers are started). Default: the host's logical cores (`os.availableParallelism()` in
   * Node, `navigator.hardwareConcurrency` in a browser).
   */
  threads?: number;
  /**
   * Where the worker script is (default: `worker.js` beside this module, i.e. `dist/parallel/`).
   * Needed only when this module is run from somewhere the built worker is not, e.g. bundled.
   */
  workerUrl?: string | URL;
  /**
   * Smallest slice worth sending to a worker, in multiply-adds (default measured: see
   * `DEFAULT_MIN_SLICE_MACS` for calls, `SCHEDULE_MIN_SLICE_MACS` for a compiled model's
   * `runAsync`, whose steps cost a barrier in shared memory rather than a message).
   */
  minSliceMacs?: number;
  /**
   * When the calling thread has finished its own slice, it computes any worker's slice that the
   * worker has not started yet (default true), so a descheduled or slow-to-wake worker costs
   * nothing on a busy machine. Results are the same either way.
   */
  steal?: boolean;
  /**
   * Kernel tier of the pool's calls: 'wasm', 'js' or 'auto' (default: the one set with
   * setBackend). On wasm every thread runs the wasm kernels over one shared WebAssembly.Memory;
   * a call's own `backend` option overrides it (a tier the workers were not started with runs
   * on the calling thread alone).
   */
  backend?: BackendChoice;
}

/** Counters since the pool was created. */
export interface WorkerPoolStats {
  /** Calls that ran entirely on the calling thread (too small to split, or one thread). */
  readonly unsplitCalls: number;
  /** Calls split over threads. */
  readonly splitCalls: number;
  /** Slices computed by workers. */
  readonly workerSlices: number;
  /** Worker slices the calling thread took over because their worker had not started them. */
  readonly stolenSlices: number;
  /** Compiled-model runs (`compiled.runAsync`) whose convolutions were split over the threads. */
  readonly scheduledRuns: number;
  /** Chunks of convolutions in those runs, and how many of them the workers computed. */
  readonly scheduledChunks: number;
  readonly workerChunks: number;
}

export class WorkerPoolError extends Error {
  override name = 'WorkerPoolError';
}

const POOL = 'sepconv worker pool';
/** Bounds on blocking the calling thread while workers finish (see `waitUntil`). */
const MAX_BLOCK_MS = 50;
const BLOCK_SLACK_MS = 2;
/**
 * A float copied into shared memory costs about as much as this many multiply-adds of a kernel
 * (copying runs at ~0.4 ns a float in place here, a depthwise multiply-add ~0.4 ns; doubled because
 * both threads streaming memory at once slow each other down).
 */
const COPY_COST_MACS = 2;
let isolationWarned = false;

function warnNoIsolation(): void {
  if (isolationWarned) return;
  isolationWarned = true;
  console.warn(
    `${POOL}: SharedArrayBuffer is unavailable (in a browser the page must be cross-origin isolated: serve it with ` +
      `"Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp"); running single-threaded.`,
  );
}

function isShared(data: Float32Array): boolean {
  return typeof SharedArrayBuffer === 'function' && data.buffer instanceof SharedArrayBuffer;
}

function sharedFloats(size: number): Float32Array {
  checkElements(size, 'a shared-memory copy for the pool');
  return new Float32Array(new SharedArrayBuffer(Math.max(1, size) * Float32Array.BYTES_PER_ELEMENT), 0, size);
}

function rebuildError(name: string, message: string): Error {
  if (name === 'RangeError') return new RangeError(message);
  if (name === 'TypeError') return new TypeError(message);
  const error = new Error(message);
  if (name !== 'Error') error.name = name;
  return error;
}

/** `Atomics.waitAsync` (ES2024; Node ≥ 16, Chromium ≥ 87), typed here for older `lib` settings. */
type WaitAsync = (array: Int32Array, index: number, value: number) => { async: false; value: string } | { async: true; value: Promise<string> };

function findWaitAsync(): WaitAsync | undefined {
  const atomics = (typeof Atomics === 'object' ? Atomics : undefined) as { waitAsync?: WaitAsync } | undefined;
  return typeof atomics?.waitAsync === 'function' ? atomics.waitAsync.bind(Atomics) : undefined;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Rejections nobody awaits (e.g. an abort while no call is waiting) must not be reported as unhandled.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

interface WorkerSlot {
  readonly index: number;
  worker: PoolWorker | null;
  /** Resolves when the worker has its control array; rejects if it dies first. */
  ready: Deferred<void>;
  started: boolean;
  /** The id of the last job posted to it: it is idle when its done flag equals this. */
  lastPosted: number;
  /** The id of the last job whose slice the calling thread took over (the worker will skip it). */
  stolenJob: number;
  /** Errors reported by message, by job id, for jobs whose status flag says they failed. */
  readonly errors: Map<number, Deferred<{ name: string; message: string }>>;
  /** The compiled models' schedules (program ids) this worker has been sent. */
  readonly programs: Set<number>;
}

/** A call split as wasm slices: the state holding its packed weights (a plan's, or the pool's own). */
interface WasmSplit {
  readonly state: WasmConvState;
  readonly setup: KernelSetup;
  /** The state's packed weights are the call's (a plan): do not repack. */
  readonly ownWeights: boolean;
}

/** How the slices of one call are handed out and collected (see WorkerPool.sliceWork). */
interface SliceWork {
  /** The task of a worker computing `slice` as thread `thread`. */
  task(slice: Slice, thread: number): PoolTask;
  /** Computes `slice` on the calling thread (its own, or one taken over from worker thread `thread`). */
  own(slice: Slice, thread: number): void;
  /** The result, once every slice is done. */
  finish(): Tensor;
}

/** Shared scratch kept by the pool: a SharedArrayBuffer per role, grown on demand. */
class SharedScratch {
  private readonly buffers: Float32Array[] = [];
  get(slot: number, size: number): Float32Array {
    let buffer = this.buffers[slot];
    if (buffer === undefined || buffer.length < size) {
      buffer = sharedFloats(size);
      this.buffers[slot] = buffer;
    }
    return buffer.subarray(0, size);
  }
}
const SHARED_INPUT = 0;
const SHARED_WEIGHT = 1;
const SHARED_BIAS = 2;
const SHARED_OUTPUT = 3;

export class WorkerPool {
  private requestedThreads: number | undefined;
  private resolvedThreads = 1;
  private readonly workerUrl: string | URL | undefined;
  private readonly minSliceMacs: number;
  /** The same threshold for compiled models' schedules (the caller's minSliceMacs when given). */
  private readonly scheduleMinSliceMacs: number;
  private readonly steal: boolean;
  /** Set by `injectFault`: the next split call leaves every slice to its worker. */
  private stealSuspended = false;
  private counters = { unsplitCalls: 0, splitCalls: 0, workerSlices: 0, stolenSlices: 0, scheduledRuns: 0, scheduledChunks: 0, workerChunks: 0 };
  /** Each compiled model's schedule (see runCompiled). */
  private readonly schedules = new WeakMap<object, ModelSchedule>();
  private platform: Platform | null = null;
  private control: Int32Array | null = null;
  private readonly slots: WorkerSlot[] = [];
  private readonly mainScratch = new Scratch();
  private readonly shared = new SharedScratch();
  private readonly backendChoice: BackendChoice | undefined;
  /** The wasm runtime the workers were started with (null: JS-only workers). */
  private wasmRuntime: WasmRuntime | null = null;
  /** Packed weights, staging and per-thread scratch of wasm calls, in the shared memory. */
  private wasmState: WasmConvState | null = null;
  private readonly startup: Promise<void>;
  private tail: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private nextJob = 0;
  /** Rejects the call in flight (worker death, dispose). */
  private abort: Deferred<never> | null = null;
  private progressMessage: Deferred<void> = deferred();
  private readonly waitAsync: WaitAsync | undefined = findWaitAsync();
  /** Whether `Atomics.wait` may block this thread (not on a browser's main thread). */
  private readonly canBlock = isNode() || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';

  /** Use `createWorkerPool`. */
  constructor(callerOptions: WorkerPoolOptions = {}) {
    // Own properties only, read once: nothing inherited is an option.
    const options = readOptions<WorkerPoolOptions>(callerOptions, ['threads', 'workerUrl', 'minSliceMacs', 'steal', 'backend'], 'createWorkerPool');
    const { threads, workerUrl, minSliceMacs, steal, backend } = options;
    this.backendChoice = backend === undefined ? undefined : checkBackendChoice(backend, 'backend');
    this.steal = readBoolean(steal, 'steal', true);
    if (threads !== undefined && (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1)) {
      throw new RangeError(`threads must be a positive integer, got ${describeValue(threads)}`);
    }
    // Browsers and Node know the core count synchronously; otherwise start() checks it against
    // the platform's count before any worker or control block exists.
    const knownCores = coresKnownNow();
    if (threads !== undefined) checkThreadCount(threads, knownCores);
    if (workerUrl !== undefined && typeof workerUrl !== 'string' && !(workerUrl instanceof URL)) {
      throw new TypeError(`workerUrl must be a string or a URL, got ${describeValue(workerUrl)}`);
    }
    if (minSliceMacs !== undefined && (typeof minSliceMacs !== 'number' || !(minSliceMacs >= 0) || !Number.isFinite(minSliceMacs))) {
      throw new RangeError(`minSliceMacs must be a finite non-negative number, got ${describeValue(minSliceMacs)}`);
    }
    this.requestedThreads = threads;
    this.resolvedThreads = threads ?? knownCores ?? 1;
    this.workerUrl = workerUrl;
    this.minSliceMacs = minSliceMacs ?? DEFAULT_MIN_SLICE_MACS;
    this.scheduleMinSliceMacs = minSliceMacs ?? SCHEDULE_MIN_SLICE_MACS;
    this.startup = this.start();
    this.startup.catch(() => {});
  }

  /**
   * Threads used per call, the calling thread included: the `threads` option, or the core count
   * once `ready()` has resolved; 1 when shared memory is unavailable.
   */
  get threads(): number {
    return this.resolvedThreads;
  }

  /** Resolves once every worker is running (calls wait for this themselves). */
  ready(): Promise<void> {
    return this.startup;
  }

  /** `conv2d` on the pool: same options, bitwise the same result. The output is allocated in shared memory. */
  conv2d(input: TensorLike, weight: TensorLike, options?: Conv2dOptions): Promise<Tensor> {
    let call: Conv2dCall;
    let backend: BackendChoice | undefined;
    try {
      if (this.disposed) throw new WorkerPoolError(`${POOL}: the pool is disposed`);
      call = validateConv2d(input, weight, options);
      backend = call.backend ?? this.backendChoice;
    } catch (error) {
      return Promise.reject(error);
    }
    const run = this.tail.then(() => this.execute(call, backend));
    this.tail = run.catch(() => {});
    return run;
  }

  /** `depthwiseConv2d` on the pool. */
  depthwiseConv2d(input: TensorLike, weight: TensorLike, options: DepthwiseConv2dOptions = {}): Promise<Tensor> {
    try {
      // The same checks, in the same order and wording, as the synchronous depthwiseConv2d.
      return this.conv2d(input, weight, { ...options, groups: depthwiseGroups(input, weight, options) });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `pointwiseConv2d` on the pool (weight `[Cout, Cin/groups, 1, 1]` or `[Cout, Cin/groups]`). */
  pointwiseConv2d(input: TensorLike, weight: TensorLike, options: PointwiseConv2dOptions = {}): Promise<Tensor> {
    try {
      readOptions(options, ['bias', 'stride', 'groups', 'activation', 'out', 'backend'], 'pointwiseConv2d');
      const w = asTensor(weight, 'weight');
      if (w.shape.length === 2) return this.conv2d(input, { shape: [w.shape[0]!, w.shape[1]!, 1, 1], data: w.data }, options);
      if (w.shape.length !== 4 || w.shape[2] !== 1 || w.shape[3] !== 1) {
        throw new RangeError(`weight must be [Cout, Cin/groups, 1, 1] or [Cout, Cin/groups] for a pointwise convolution, got shape ${describeValue(w.shape)}`);
      }
      return this.conv2d(input, w, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Stops the workers. A call in flight rejects with a WorkerPoolError, and so do later calls.
   * Safe to call more than once.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.abort?.reject(new WorkerPoolError(`${POOL}: disposed while a call was running; the call was abandoned`));
    const terminations: Promise<void>[] = [];
    for (const slot of this.slots) {
      slot.ready.reject(new WorkerPoolError(`${POOL}: disposed`));
      if (slot.worker !== null) terminations.push(slot.worker.terminate());
      slot.worker = null;
    }
    this.wakeWaiters();
    await Promise.all(terminations);
  }

  /** Counters of how calls were run. */
  stats(): WorkerPoolStats {
    return { ...this.counters };
  }

  /**
   * @internal
   * Test hook (not in the published types): makes worker `index` fail its next job in the given way (and keeps the calling
   * thread from taking that job's slices over, so the fault really happens in the worker).
   */
  injectFault(index: number, kind: FaultKind): void {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= this.slots.length) {
      throw new RangeError(`injectFault: index must be a worker index from 0 to ${this.slots.length - 1}, got ${describeValue(index)}`);
    }
    if (typeof kind !== 'string') throw new TypeError(`injectFault: kind must be a fault name, got ${describeValue(kind)}`);
    const worker = this.slots[index]?.worker;
    if (!worker) throw new RangeError(`injectFault: no worker ${index}`);
    worker.post({ type: 'fault', kind });
    this.stealSuspended = true;
  }

  private async start(): Promise<void> {
    // Compile the wasm kernels first (asynchronously: allowed on a browser's main thread too).
    const runtime = await loadWasmFor(this.backendChoice);
    if (!sharedMemoryAvailable()) {
      warnNoIsolation();
      this.resolvedThreads = 1;
      return;
    }
    if (runtime !== null && runtime.variant.shared) this.wasmRuntime = runtime;
    const platform = await loadPlatform();
    this.platform = platform;
    const cores = platform.defaultThreads();
    if (this.requestedThreads !== undefined) checkThreadCount(this.requestedThreads, cores);
    const threads = this.requestedThreads ?? cores;
    this.resolvedThreads = threads;
    if (this.disposed || threads <= 1) return;
    this.control = new Int32Array(new SharedArrayBuffer(controlLength(threads - 1) * Int32Array.BYTES_PER_ELEMENT));
    for (let i = 0; i < threads - 1; i++) {
      const slot: WorkerSlot = { index: i, worker: null, ready: deferred(), started: false, lastPosted: 0, stolenJob: 0, errors: new Map(), programs: new Set() };
      this.slots.push(slot);
      this.spawn(slot);
    }
    await Promise.all(this.slots.map((slot) => slot.ready.promise));
  }

  private spawn(slot: WorkerSlot): void {
    const control = this.control!;
    slot.lastPosted = Atomics.load(control, doneIndex(slot.index));
    slot.errors.clear();
    slot.programs.clear();
    const worker = this.platform!.spawn(this.workerUrl, {
      onMessage: (message) => this.onMessage(slot, worker, message),
      onDeath: (reason) => this.onDeath(slot, worker, reason),
    });
    slot.worker = worker;
    // Referenced until it reports ready, so awaiting startup keeps Node alive; idle workers are not.
    worker.ref();
    const rt = this.wasmRuntime;
    const wasm = rt === null ? null : { module: rt.module, memory: rt.memory, variant: rt.variant };
    worker.post({ type: 'init', control, index: slot.index, notifyByMessage: this.waitAsync === undefined, wasm });
  }

  private onMessage(slot: WorkerSlot, worker: PoolWorker, message: FromWorker): void {
    if (slot.worker !== worker) return;
    if (message.type === 'ready') {
      slot.started = true;
      if (this.abort === null) worker.unref();
      slot.ready.resolve();
    } else if (message.type === 'error') {
      this.errorFor(slot, message.job).resolve({ name: message.name, message: message.message });
    } else {
      this.progressMessage.resolve();
    }
  }

  private errorFor(slot: WorkerSlot, job: number): Deferred<{ name: string; message: string }> {
    let entry = slot.errors.get(job);
    if (entry === undefined) {
      entry = deferred();
      slot.errors.set(job, entry);
    }
    return entry;
  }

  private onDeath(slot: WorkerSlot, worker: PoolWorker, reason: string): void {
    if (slot.worker !== worker || this.disposed) return;
    const busy = !this.idle(slot);
    slot.worker = null;
    const error = new WorkerPoolError(`${POOL}: worker ${slot.index} ${reason}`);
    if (!slot.started) {
      // It never ran: respawning would likely fail the same way (e.g. a wrong workerUrl).
      slot.ready.reject(new WorkerPoolError(`${POOL}: worker ${slot.index} could not start: ${reason}`));
      this.abort?.reject(error);
      this.wakeWaiters();
      return;
    }
    if (busy) this.abort?.reject(new WorkerPoolError(`${POOL}: worker ${slot.index} died during a call (${reason}); it has been replaced and the call rejected`));
    slot.ready = deferred();
    slot.started = false;
    this.spawn(slot);
    this.wakeWaiters();
  }

  /** Re-runs every waiting loop's condition (after a worker was replaced or the pool disposed). */
  private wakeWaiters(): void {
    if (this.control !== null) {
      Atomics.add(this.control, PROGRESS, 1);
      Atomics.notify(this.control, PROGRESS);
    }
    this.progressMessage.resolve();
  }

  private async execute(call: Conv2dCall, backend: BackendChoice | undefined): Promise<Tensor> {
    if (this.disposed) throw new WorkerPoolError(`${POOL}: the pool is disposed`);
    await this.startup;
    if (backend !== undefined && backend !== 'js') await loadWasmFor(backend);
    const runtime = wasmRuntimeFor(backend, 'pool conv2d');
    const setup = kernelSetup(call.geometry);
    const wasmSplit = runtime !== null && runtime === this.wasmRuntime && this.wasmPaths(setup);
    // A wasm runtime the workers were not started with runs on this thread alone (workers run
    // JS slices for any call, and wasm slices over the memory they were given).
    const slices = this.slots.length === 0 || (runtime !== null && runtime !== this.wasmRuntime)
      ? null
      : planSlices(call.geometry, setup.path, this.resolvedThreads, this.minSliceMacs);
    if (slices === null || slices.length <= 1 || (!wasmSplit && this.copyOutweighsSplit(call, slices))) {
      this.counters.unsplitCalls++;
      const y = outputFor(call);
      if (runtime === null) executeConv2d(call, y.data, this.mainScratch);
      else executeOnTier(runtime, call, y.data);
      return y;
    }
    return this.executeSliced(call, slices, wasmSplit ? { state: this.wasmState!, setup, ownWeights: false } : null);
  }

  /**
   * Runs a prepared plan (prepareConv2d) split over the pool: bitwise what `plan.run(input, out)`
   * computes. A wasm-tier plan keeps its packed weights in the shared memory, so nothing but the
   * input (when it is not a wasmZeros tensor) is copied per call.
   */
  runPlan(plan: Conv2dPlan, input: TensorLike, out?: Tensor | null): Promise<Tensor> {
    let x: Tensor;
    let y: Tensor;
    try {
      if (this.disposed) throw new WorkerPoolError(`${POOL}: the pool is disposed`);
      if (!(plan instanceof Conv2dPlan)) throw new TypeError(`runPlan: plan must be a Conv2dPlan (from prepareConv2d), got ${describeValue(plan)}`);
      x = asTensor(input, 'input');
      y = plan.checkedOutput(input, x, out);
    } catch (error) {
      return Promise.reject(error);
    }
    const run = this.tail.then(() => this.executePlan(plan, x, y));
    this.tail = run.catch(() => {});
    return run;
  }

  private async executePlan(plan: Conv2dPlan, x: Tensor, y: Tensor): Promise<Tensor> {
    if (this.disposed) throw new WorkerPoolError(`${POOL}: the pool is disposed`);
    await this.startup;
    const setup = plan.kernelSetupFor(x.shape);
    const state = plan.wasmState;
    const wasmSplit = state !== null && state.rt === this.wasmRuntime && state.supports(setup);
    const slices = this.slots.length === 0 || (state !== null && state.rt !== this.wasmRuntime)
      ? null
      : planSlices(setup.callGeometry, setup.path, this.resolvedThreads, this.minSliceMacs);
    if (slices === null || slices.length <= 1) {
      this.counters.unsplitCalls++;
      return plan.run(x, y);
    }
    const call = plan.callFor(x, y);
    if (!wasmSplit && this.copyOutweighsSplit(call, slices)) {
      this.counters.unsplitCalls++;
      return plan.run(x, y);
    }
    return this.executeSliced(call, slices, wasmSplit ? { state: state!, setup, ownWeights: true } : null);
  }

  /**
   * @internal
   * A compiled model's forward on the pool (`compiled.runAsync`): runs `body` (the model's
   * synchronous `run`) on the calling thread with every planned wasm convolution of `runtime`
   * split over the threads, one job per worker per run (schedule.ts). The first run records the
   * model's convolutions and runs on this thread alone; so do models whose tier the workers do not
   * run (the JS tier, or another wasm runtime) and pools of one thread. Bitwise `body()`'s result.
   */
  runCompiled<T>(model: object, runtime: WasmRuntime | null, body: () => T): Promise<T> {
    if (this.disposed) return Promise.reject(new WorkerPoolError(`${POOL}: the pool is disposed`));
    const run = this.tail.then(() => this.executeCompiled(model, runtime, body));
    this.tail = run.catch(() => {});
    return run;
  }

  /** @internal Drops a compiled model's schedule (its `dispose`); the workers forget its program. */
  forgetCompiled(model: object): void {
    const schedule = this.schedules.get(model);
    if (schedule === undefined) return;
    this.schedules.delete(model);
    for (const slot of this.slots) {
      if (slot.programs.delete(schedule.id)) slot.worker?.post({ type: 'forget', id: schedule.id });
    }
  }

  private async executeCompiled<T>(model: object, runtime: WasmRuntime | null, body: () => T): Promise<T> {
    if (this.disposed) throw new WorkerPoolError(`${POOL}: the pool is disposed`);
    await this.startup;
    if (this.disposed) throw new WorkerPoolError(`${POOL}: the pool is disposed`);
    if (this.slots.length === 0 || runtime === null || runtime !== this.wasmRuntime) return body();
    let schedule = this.schedules.get(model);
    if (schedule === undefined) {
      schedule = new ModelSchedule(runtime, this.scheduleMinSliceMacs);
      this.schedules.set(model, schedule);
    }
    const threads = this.slots.length + 1;
    if (schedule.needsRecording(threads)) {
      // The workers get the new program with their next run.
      for (const slot of this.slots) slot.programs.delete(schedule.id);
      return schedule.record(threads, body);
    }
    if (schedule.splitSteps === 0) return body();
    const abort = deferred<never>();
    this.abort = abort;
    for (const slot of this.slots) slot.worker?.ref();
    try {
      await Promise.race([Promise.all(this.slots.map((slot) => slot.ready.promise)), abort.promise]);
      await this.waitUntil(() => this.slots.every((slot) => this.idle(slot)), abort, MAX_BLOCK_MS);
      const control = this.control!;
      const job = (this.nextJob = this.nextJob >= 0x3fffffff ? 1 : this.nextJob + 1);
      // Without stealing (or with a fault injected) chunk k is thread k mod threads's: the workers compute theirs.
      const claim = this.steal && !this.stealSuspended;
      this.stealSuspended = false;
      Atomics.store(schedule.control, STEP, -1);
      for (const slot of this.slots) {
        const worker = slot.worker!;
        if (!slot.programs.has(schedule.id)) {
          worker.post({ type: 'program', id: schedule.id, control: schedule.control, steps: schedule.steps });
          slot.programs.add(schedule.id);
        }
        slot.lastPosted = job;
        worker.post({ type: 'runProgram', job, id: schedule.id, thread: slot.index + 1, threads, claim });
      }
      let outcome: { result: T; mainChunks: number; chunks: number };
      try {
        outcome = schedule.runSplit(threads, claim, this.canBlock, body);
      } catch (error) {
        if (error instanceof ScheduleStall) {
          // A worker that claimed a chunk and never finished it may still write: stop it before rejecting.
          const stuck = this.slots.filter((slot) => slot.worker !== null && Atomics.load(control, doneIndex(slot.index)) !== job);
          await Promise.all(stuck.map((slot) => this.replace(slot)));
          throw new WorkerPoolError(`${POOL}: ${error.message} (it was replaced and the run rejected)`);
        }
        if (error instanceof ScheduleWorkerError) {
          await this.waitUntil(() => this.slots.every((slot) => this.idle(slot)), abort, MAX_BLOCK_MS);
          for (const slot of this.slots) {
            if (Atomics.load(control, statusIndex(slot.index)) === STATUS_ERROR && Atomics.load(control, doneIndex(slot.index)) === job) {
              const report = await Promise.race([this.errorFor(slot, job).promise, abort.promise]);
              slot.errors.delete(job);
              throw rebuildError(report.name, report.message);
            }
          }
          throw new WorkerPoolError(`${POOL}: a worker failed during a compiled model's run`);
        }
        throw error;
      }
      this.counters.scheduledRuns++;
      this.counters.scheduledChunks += outcome.chunks;
      this.counters.workerChunks += outcome.chunks - outcome.mainChunks;
      return outcome.result;
    } finally {
      this.abort = null;
      for (const slot of this.slots) slot.worker?.unref();
    }
  }

  /** Stops a worker (waiting until it can no longer touch shared memory) and starts a new one in its place. */
  private async replace(slot: WorkerSlot): Promise<void> {
    const old = slot.worker;
    slot.worker = null;
    if (old !== null) await old.terminate();
    if (this.disposed) return;
    slot.ready = deferred();
    slot.started = false;
    this.spawn(slot);
  }

  /** Whether the call's path runs as wasm (otherwise JS slices over SharedArrayBuffers). */
  private wasmPaths(setup: KernelSetup): boolean {
    this.wasmState ??= new WasmConvState(this.wasmRuntime!);
    return this.wasmState.supports(setup);
  }

  /**
   * The slices of a call, as tasks for the workers and work for this thread: JS slices read the
   * caller's arrays here and shared copies in the workers; wasm slices run over the call staged
   * once in the shared wasm memory.
   */
  private sliceWork(call: Conv2dCall, slices: Slice[], wasm: WasmSplit | null): SliceWork {
    const g = call.geometry;
    const size = shapeSize(g.outputShape);
    let result: Tensor;
    if (wasm !== null) {
      const { state, setup: wasmSetup } = wasm;
      result = call.out ?? { shape: g.outputShape.slice(), data: sharedFloats(size) };
      if (!wasm.ownWeights) state.invalidateWeights(); // every call brings its own weights
      const staged = state.prepare(wasmSetup, call.input.data, call.weight.data, call.bias, call.act, result.data, slices.length)!;
      const task = (slice: Slice, thread: number): PoolTask => ({ kind: 'wasm', call: staged, thread, ...slice });
      return {
        task,
        own: (slice, thread) => runTask(task(slice, thread), this.mainScratch, this.wasmRuntime),
        finish: () => {
          state.finish(staged, result.data, 0, g.outChannels);
          return result;
        },
      };
    }
    // The calling thread computes from the caller's arrays; only what the workers read is
    // copied into shared memory (already shared data is used in place).
    const reads = sliceReads(g, slices.slice(1));
    const input = this.sharedPart(call.input.data, reads.input, SHARED_INPUT);
    const weight = this.sharedPart(call.weight.data, reads.weight, SHARED_WEIGHT);
    const bias = call.bias === null ? null : this.sharedPart(call.bias, [0, call.bias.length], SHARED_BIAS);
    let output: Float32Array;
    if (call.out !== null) {
      result = call.out;
      output = isShared(call.out.data) ? call.out.data : this.shared.get(SHARED_OUTPUT, size);
    } else {
      output = sharedFloats(size);
      result = { shape: g.outputShape.slice(), data: output };
    }
    const own = (slice: Slice): ConvTask => ({
      geometry: g, input: call.input.data, weight: call.weight.data, bias: call.bias, act: call.act, output, ...slice,
    });
    return {
      task: (slice) => ({ geometry: g, input, weight, bias, act: call.act, output, ...slice }),
      own: (slice) => runTask(own(slice), this.mainScratch, null),
      finish: () => {
        if (output !== result.data) result.data.set(output);
        return result;
      },
    };
  }

  /**
   * Whether copying the workers' share of non-shared input and weight into shared memory (done by
   * this thread, before its own slice) would cost more than splitting saves. It decides for
   * memory-bound layers with large inputs, e.g. a stride-2 depthwise layer on an ordinary array
   * (measured 0.82× when split, against 1.41× with a shared input); with shared tensors, as in a
   * pooled forward, nothing is copied and it never applies.
   */
  private copyOutweighsSplit(call: Conv2dCall, slices: readonly Slice[]): boolean {
    if (this.minSliceMacs === 0) return false;
    const reads = sliceReads(call.geometry, slices.slice(1));
    let copied = 0;
    if (!isShared(call.input.data)) copied += reads.input[1] - reads.input[0];
    if (!isShared(call.weight.data)) copied += reads.weight[1] - reads.weight[0];
    const saved = (convMacs(call.geometry) * (1 - 1 / slices.length)) / 2;
    return copied * COPY_COST_MACS > saved;
  }

  private async executeSliced(call: Conv2dCall, slices: Slice[], wasm: WasmSplit | null): Promise<Tensor> {
    const abort = deferred<never>();
    this.abort = abort;
    const participants = this.slots.slice(0, slices.length - 1);
    for (const slot of this.slots) slot.worker?.ref();
    try {
      await Promise.race([Promise.all(participants.map((slot) => slot.ready.promise)), abort.promise]);
      // A previous call abandoned by an error may have left workers finishing into shared scratch.
      await this.waitUntil(() => this.slots.every((slot) => this.idle(slot)), abort);
      const work = this.sliceWork(call, slices, wasm);

      const control = this.control!;
      // Ids stay positive, so an offer (the job id) is never confused with CLAIMED (0).
      const job = (this.nextJob = this.nextJob >= 0x3fffffff ? 1 : this.nextJob + 1);
      this.counters.splitCalls++;
      for (let i = 0; i < participants.length; i++) {
        const slot = participants[i]!;
        slot.lastPosted = job;
        Atomics.store(control, offerIndex(slot.index), job);
        slot.worker!.post({ type: 'run', job, task: work.task(slices[i + 1]!, i + 1) });
      }
      let mainError: unknown = null;
      const ownStart = performance.now();
      try {
        work.own(slices[0]!, 0);
        if (this.steal && !this.stealSuspended) {
          for (let i = participants.length - 1; i >= 0; i--) {
            const slot = participants[i]!;
            if (Atomics.compareExchange(control, offerIndex(slot.index), job, CLAIMED) !== job) continue;
            slot.stolenJob = job;
            this.counters.stolenSlices++;
            work.own(slices[i + 1]!, i + 1);
          }
        }
      } catch (error) {
        mainError = error;
      }
      this.stealSuspended = false;
      const workers = participants.filter((slot) => slot.stolenJob !== job);
      this.counters.workerSlices += workers.length;
      // Workers got slices like this thread's: allow them about as long again, plus scheduling slack.
      const blockMs = Math.min(MAX_BLOCK_MS, performance.now() - ownStart + BLOCK_SLACK_MS);
      await this.waitUntil(() => workers.every((slot) => Atomics.load(control, doneIndex(slot.index)) === job), abort, blockMs);
      if (mainError !== null) throw mainError;
      for (const slot of workers) {
        if (Atomics.load(control, statusIndex(slot.index)) === STATUS_ERROR) {
          const report = await Promise.race([this.errorFor(slot, job).promise, abort.promise]);
          slot.errors.delete(job);
          throw rebuildError(report.name, report.message);
        }
      }
      return work.finish();
    } finally {
      this.abort = null;
      for (const slot of this.slots) slot.worker?.unref();
    }
  }

  /** Whether a worker can no longer touch shared memory of earlier calls. */
  private idle(slot: WorkerSlot): boolean {
    // A slice that was taken over is skipped by its worker without reading anything.
    if (slot.worker === null || slot.stolenJob === slot.lastPosted) return true;
    return Atomics.load(this.control!, doneIndex(slot.index)) === slot.lastPosted;
  }

  /**
   * `data` as shared memory for the workers: itself when it already is; otherwise the pool's
   * shared scratch for `role`, with elements `[start, end)` copied to the same positions (the
   * rest is not read by any worker).
   */
  private sharedPart(data: Float32Array, [start, end]: Range, role: number): Float32Array {
    if (isShared(data)) return data;
    const copy = this.shared.get(role, data.length);
    if (end > start) copy.set(data.subarray(start, end), start);
    return copy;
  }

  /**
   * Waits for `condition` (re-checked whenever a worker reports progress). With `blockMs` > 0 and
   * where this thread may block (Node, or inside a worker), it first blocks in `Atomics.wait` for
   * up to that long: waking from a futex is faster than an event-loop turn, and the workers
   * normally finish within a few microseconds of the calling thread. A worker's death cannot be
   * seen while blocked, hence the bound; after it the wait goes asynchronous.
   */
  private async waitUntil(condition: () => boolean, abort: Deferred<never>, blockMs = 0): Promise<void> {
    const control = this.control!;
    if (blockMs > 0 && this.canBlock) {
      const deadline = performance.now() + blockMs;
      while (!condition()) {
        const seen = Atomics.load(control, PROGRESS);
        if (condition()) return;
        const left = deadline - performance.now();
        if (left <= 0) break;
        Atomics.wait(control, PROGRESS, seen, left);
      }
    }
    while (!condition()) {
      if (this.disposed) throw new WorkerPoolError(`${POOL}: disposed while a call was running; the call was abandoned`);
      const seen = Atomics.load(control, PROGRESS);
      if (condition()) return;
      if (this.waitAsync !== undefined) {
        const wait = this.waitAsync(control, PROGRESS, seen);
        if (wait.async) await Promise.race([wait.value, abort.promise]);
      } else {
        this.progressMessage = deferred();
        if (Atomics.load(control, PROGRESS) !== seen) continue;
        await Promise.race([this.progressMessage.promise, abort.promise]);
      }
    }
  }
}

/**
 * The hardware threads, where they can be known synchronously: `navigator.hardwareConcurrency`
 * (browsers, Node ≥ 21) or `os.availableParallelism()` through `process.getBuiltinModule` (Node
 * ≥ 20.16); null elsewhere (start() then learns it from the platform).
 */
function coresKnownNow(): number | null {
  const fromNavigator = (globalThis as { navigator?: { hardwareConcurrency?: unknown } }).navigator?.hardwareConcurrency;
  if (typeof fromNavigator === 'number' && Number.isInteger(fromNavigator) && fromNavigator >= 1) return fromNavigator;
  const processObject = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  if (typeof processObject?.getBuiltinModule === 'function') {
    const os = processObject.getBuiltinModule('node:os') as { availableParallelism?: () => number } | undefined;
    const cores = os?.availableParallelism?.();
    if (typeof cores === 'number' && Number.isInteger(cores) && cores >= 1) return cores;
  }
  return null;
}

/**
 * Starts a pool of persistent workers (`threads − 1` of them; the calling thread computes the
 * first slice of every call). Workers start in the background; the first call waits for them.
 * An idle pool does not keep a Node process alive; `dispose()` stops it.
 */
/**
 * Threads above MAX_THREADS_PER_CORE × the hardware threads only add memory and contention; an
 * absolute ceiling applies while the core count is not yet known (Node 20 learns it at startup).
 */
function checkThreadCount(threads: number, cores: number | null): void {
  const limit = cores === null ? MAX_POOL_THREADS : Math.min(MAX_POOL_THREADS, MAX_THREADS_PER_CORE * cores);
  if (threads > limit) {
    const why = cores === null ? `sepconv's ceiling of ${MAX_POOL_THREADS}` : `${MAX_THREADS_PER_CORE} × ${cores} hardware threads`;
    throw new RangeError(`threads must be at most ${limit} (${why}), got ${describeValue(threads)}`);
  }
}

export function createWorkerPool(options: WorkerPoolOptions = {}): WorkerPool {
  return new WorkerPool(options);
}
