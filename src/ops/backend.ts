/**
 * Which kernel tier a call runs on, chosen in one place.
 *
 * - 'js': the scalar JavaScript kernels (float64 accumulation), everywhere.
 * - 'wasm': WebAssembly SIMD kernels (float32 lanes), where SIMD validates and compiling is allowed.
 * - 'auto' (the default): wasm where available, JS otherwise.
 *
 * The wasm module is compiled once per thread. Browsers forbid synchronous compiles of larger
 * modules on the main thread, so there `await setBackend(...)` or `await ready()` must come before
 * the first convolution; Node compiles synchronously on first use when nobody awaited. A page
 * whose Content-Security-Policy lacks 'wasm-unsafe-eval' cannot compile wasm at all: 'auto' then
 * runs on JS, with one console warning.
 */
import { checkShape, describeValue } from '../tensor.js';
import { checkBackendChoice, checkShapeElements, readBoolean, readOptions, type Backend, type BackendChoice } from '../checks.js';
import {
  compileKernelModule, compileKernelModuleSync, detectWasmFeatures, WasmRuntime, type WasmFeatures, type WasmVariant,
} from '../wasm/runtime.js';

export { BACKEND_CHOICES, checkBackendChoice, type Backend, type BackendChoice } from '../checks.js';

export interface SetBackendOptions {
  /**
   * Use the relaxed-SIMD kernels (f32x4.relaxed_madd: a fused multiply-add where the machine has
   * one) wherever the engine validates relaxed SIMD (Chrome ≥ 114, Firefox ≥ 145, Node ≥ 22).
   * Default true; false forces the plain mul+add module. Either way results are bitwise
   * repeatable on one machine and variant, and within float32 rounding across machines (fused
   * and unfused multiply-adds round differently).
   */
  relaxedSimd?: boolean;
}

export interface BackendInfo {
  /** The tier calls without a `backend` option run on now. */
  readonly backend: Backend;
  /** What was asked for with setBackend (default 'auto'). */
  readonly requested: BackendChoice;
  /** WebAssembly 128-bit SIMD validates in this engine. */
  readonly simd: boolean;
  /** Relaxed SIMD validates in this engine. */
  readonly relaxedSimd: boolean;
  /** Shared WebAssembly memory is available (the worker pool can run wasm kernels). */
  readonly threads: boolean;
  /** The wasm kernels in use: 'relaxed' (relaxed_madd), 'plain' (mul+add), or null when wasm is not loaded. */
  readonly wasmVariant: 'relaxed' | 'plain' | null;
  /** Why wasm is off, when it is (no SIMD, compiling forbidden by CSP, ...), else null. */
  readonly wasmUnavailable: string | null;
}

type WasmState =
  | { kind: 'unloaded' }
  | { kind: 'loading'; promise: Promise<void> }
  | { kind: 'ready'; runtime: WasmRuntime }
  | { kind: 'unavailable'; reason: string };

let requested: BackendChoice = 'auto';
let wantRelaxed = true;
let state: WasmState = { kind: 'unloaded' };
let cspWarned = false;
/** The asynchronous load whose outcome decides the state (null: none, or it was overtaken). */
let loadToken: object | null = null;

const isNode = typeof process === 'object' && process !== null && typeof process.versions?.node === 'string';

function variantFor(features: WasmFeatures): WasmVariant {
  return { relaxed: wantRelaxed && features.relaxedSimd, shared: features.threads };
}


/** Why compiling failed, in words; CSP failures are recognised by their message. */
function describeCompileFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/content security|wasm-unsafe-eval|unsafe-eval|CSP/i.test(message)) {
    return `compiling WebAssembly is forbidden by the page's Content-Security-Policy (add 'wasm-unsafe-eval' to script-src): ${message}`;
  }
  return `compiling the kernel module failed: ${message}`;
}

function unavailableBeforeCompile(): string | null {
  const features = detectWasmFeatures();
  if (typeof WebAssembly !== 'object') return 'this engine has no WebAssembly';
  if (!features.simd) return 'this engine does not support WebAssembly SIMD (128-bit)';
  return null;
}

function markUnavailable(reason: string): void {
  state = { kind: 'unavailable', reason };
  if (requested === 'auto' && !cspWarned && /Content-Security-Policy/.test(reason)) {
    cspWarned = true;
    console.warn(`sepconv: ${reason}. Running on the JavaScript kernels.`);
  }
}

function loadAsync(): Promise<void> {
  if (state.kind === 'loading') return state.promise;
  if (state.kind !== 'unloaded') return Promise.resolve();
  const reason = unavailableBeforeCompile();
  if (reason !== null) {
    markUnavailable(reason);
    return Promise.resolve();
  }
  const variant = variantFor(detectWasmFeatures());
  const token = {};
  loadToken = token;
  const promise = (async () => {
    try {
      const module = await compileKernelModule(variant);
      const runtime = await WasmRuntime.instantiateAsync(module, variant);
      // A synchronous call in Node may have finished the load meanwhile (loadSync): keep its runtime.
      if (loadToken === token) state = { kind: 'ready', runtime };
    } catch (error) {
      if (loadToken === token) markUnavailable(describeCompileFailure(error));
    }
  })();
  state = { kind: 'loading', promise };
  return promise;
}

/**
 * Node (and workers) may compile synchronously; browsers' main threads may not. In Node a
 * synchronous call never waits for, or fails because of, an asynchronous load in flight (a worker
 * pool starting, an unawaited setBackend): it compiles the same variant now, and the async load,
 * when it ends, keeps this runtime.
 */
function loadSync(): void {
  if (state.kind !== 'unloaded' && state.kind !== 'loading') return;
  loadToken = null; // an async load in flight no longer decides the state
  const reason = unavailableBeforeCompile();
  if (reason !== null) {
    markUnavailable(reason);
    return;
  }
  const variant = variantFor(detectWasmFeatures());
  try {
    state = { kind: 'ready', runtime: WasmRuntime.instantiate(compileKernelModuleSync(variant), variant) };
  } catch (error) {
    markUnavailable(describeCompileFailure(error));
  }
}

/**
 * Chooses the tier for calls without a `backend` option and loads the wasm kernels if needed.
 * Resolves to the tier now in use; rejects when 'wasm' is asked for and cannot run (the reason
 * says why). `options.relaxedSimd` selects the relaxed-SIMD kernels where supported.
 */
export async function setBackend(choice: BackendChoice, options: SetBackendOptions = {}): Promise<Backend> {
  checkBackendChoice(choice, 'backend');
  const relaxed = readBoolean(readOptions<SetBackendOptions>(options, ['relaxedSimd'], 'setBackend').relaxedSimd, 'setBackend: relaxedSimd', true);
  if (choice !== 'js') {
    if (state.kind === 'loading') await state.promise;
    wantRelaxed = relaxed;
    if (state.kind === 'ready' && state.runtime.variant.relaxed !== variantFor(detectWasmFeatures()).relaxed) {
      // Another variant: compile it. Plans made before keep (and keep using) the old runtime.
      state = { kind: 'unloaded' };
    }
    await loadAsync();
    if (choice === 'wasm' && state.kind === 'unavailable') {
      throw new Error(`sepconv: the wasm backend is unavailable: ${state.reason}`);
    }
  }
  requested = choice;
  return getBackend();
}

/** Loads what the current choice needs (the wasm kernels unless 'js'); resolves to the tier in use. */
export async function ready(): Promise<Backend> {
  if (requested !== 'js') await loadAsync();
  return getBackend();
}

/** The tier calls without a `backend` option run on. */
export function getBackend(): Backend {
  if (requested === 'js') return 'js';
  if (state.kind === 'ready') return 'wasm';
  if (state.kind === 'unavailable') return 'js';
  // Not loaded yet: what the first call will decide.
  return unavailableBeforeCompile() === null ? 'wasm' : 'js';
}

/** What was detected and what runs. */
export function backendInfo(): BackendInfo {
  const features = detectWasmFeatures();
  return {
    backend: getBackend(),
    requested,
    simd: features.simd,
    relaxedSimd: features.relaxedSimd,
    threads: features.threads,
    wasmVariant: state.kind === 'ready' ? (state.runtime.variant.relaxed ? 'relaxed' : 'plain') : null,
    wasmUnavailable: state.kind === 'unavailable' ? state.reason : unavailableBeforeCompile(),
  };
}

/**
 * The wasm runtime a call runs on, or null for the JS tier: `option` is the call's `backend`
 * option (undefined = the global choice). Compiles synchronously in Node on first use; elsewhere
 * an unloaded wasm tier is an error that says to await setBackend/ready first.
 */
/**
 * `wasmRuntimeFor`, or null (the JS tier) where it would throw: for the steps around the
 * convolutions (activations, a compile's buffers), which must not fail for want of the wasm tier
 * (a browser page that has not awaited `ready()` yet); the convolutions themselves say why.
 */
export function wasmRuntimeIfAvailable(option: unknown, fn: string): WasmRuntime | null {
  try {
    return wasmRuntimeFor(option, fn);
  } catch {
    return null;
  }
}

export function wasmRuntimeFor(option: unknown, fn: string): WasmRuntime | null {
  const choice = option === undefined ? requested : checkBackendChoice(option, `${fn}: backend`);
  if (choice === 'js') return null;
  if (state.kind === 'loading' && isNode) loadSync();
  if (state.kind === 'unloaded') {
    if (isNode) loadSync();
    else if (unavailableBeforeCompile() === null) {
      throw new Error(
        `${fn}: the wasm backend is not loaded yet; call \`await setBackend('auto')\` (or \`await ready()\`) once before the first ` +
          `convolution (browsers compile WebAssembly asynchronously), or pass backend: 'js'`,
      );
    } else markUnavailable(unavailableBeforeCompile()!);
  }
  const now = currentState(); // loadSync may have changed it
  if (now.kind === 'loading') {
    throw new Error(`${fn}: the wasm backend is still loading; await setBackend(...) or ready() before calling`);
  }
  if (now.kind === 'ready') return now.runtime;
  if (choice === 'wasm') throw new Error(`${fn}: the wasm backend is unavailable: ${now.kind === 'unavailable' ? now.reason : 'not loaded'}`);
  return null;
}

/**
 * Loads the wasm kernels (asynchronously) when `option` (undefined = the global choice) may use
 * them, and resolves to the runtime that option runs on, or null for JS.
 */
export async function loadWasmFor(option: BackendChoice | undefined): Promise<WasmRuntime | null> {
  const choice = option ?? requested;
  if (choice === 'js') return null;
  await loadAsync();
  return wasmRuntimeFor(choice, 'sepconv');
}

function currentState(): WasmState {
  return state;
}

/** The loaded runtime (for the pool and compiled models), or null. */
export function loadedWasmRuntime(): WasmRuntime | null {
  return state.kind === 'ready' ? state.runtime : null;
}

/**
 * A zero-filled tensor whose data lives in the wasm tier's memory, so wasm-tier plans and pools
 * read and write it in place (no copy in or out). Needs a shared memory (Node, or a
 * cross-origin-isolated page): its data then stays valid when the memory grows. Give it back with
 * `releaseWasmTensor` when done.
 */
export function wasmZeros(shape: readonly number[]): { shape: number[]; data: Float32Array } {
  const runtime = wasmRuntimeFor('wasm', 'wasmZeros');
  checkShape(shape, 'wasmZeros', 0, 'wasmZeros: shape'); // stops at a hole: never walks a huge sparse array
  checkShapeElements(shape, 'wasmZeros: the tensor');
  if (!runtime!.variant.shared) {
    throw new Error('wasmZeros: needs a shared WebAssembly.Memory (Node, or a cross-origin-isolated page), which this engine does not provide');
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const address = runtime!.arena.alloc(4 * size, 'wasm tensor');
  const data = new Float32Array(runtime!.memory.buffer, address, size);
  data.fill(0);
  runtime!.f32(); // registers the current buffer as this memory's
  wasmTensors.set(data, address);
  return { shape: shape.slice(), data };
}

const wasmTensors = new WeakMap<Float32Array, number>();

/** Returns a `wasmZeros` tensor's memory to the arena; the tensor must not be used afterwards. */
export function releaseWasmTensor(tensor: { data: Float32Array }): void {
  if (typeof tensor !== 'object' || tensor === null) throw new TypeError(`releaseWasmTensor: tensor must be a wasmZeros tensor, got ${describeValue(tensor)}`);
  const address = wasmTensors.get(tensor.data);
  const runtime = loadedWasmRuntime();
  if (address === undefined || runtime === null) throw new RangeError('releaseWasmTensor: not a live wasmZeros tensor');
  wasmTensors.delete(tensor.data);
  runtime.arena.release(address);
}
