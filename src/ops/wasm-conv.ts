/**
 * Running a convolution on the wasm tier: the state a plan (or a one-shot call) keeps in wasm
 * memory (packed weights, scratch, and staging copies of an input or output that does not already
 * live in that memory), and the slices the calling thread and the pool's workers run. Which wasm
 * kernel serves a path is tiers.ts's decision.
 */
import type { KernelPath, KernelSetup } from '../kernels/dispatch.js';
import type { Conv2dGeometry } from '../geometry.js';
import { padInput } from '../kernels/pad.js';
import { wasmPathFor, WASM_PATHS } from './tiers.js';
import { callKernel, type WasmRuntime } from '../wasm/runtime.js';

/**
 * One convolution staged in wasm memory (byte addresses), ready for runWasmSlice on any thread
 * sharing the memory: thread t uses scratch + t·scratchStride.
 */
export interface WasmConvCall {
  readonly path: KernelPath;
  readonly geometry: Conv2dGeometry;
  readonly act: number;
  readonly weights: number;
  readonly input: number;
  readonly output: number;
  readonly scratch: number;
  readonly scratchStride: number;
  readonly stagedOutput: boolean;
}

/**
 * Computes one slice of a staged call (the same code on the calling thread and in workers);
 * with `pixelStart`/`pixelEnd`, only those output pixels of each plane (paths with runPixels).
 */
export function runWasmSlice(
  rt: WasmRuntime, call: WasmConvCall, thread: number,
  channelStart: number, channelEnd: number, imageStart: number, imageEnd: number, pixelStart?: number, pixelEnd?: number,
): void {
  const impl = WASM_PATHS[call.path]!;
  const scratch = call.scratch + thread * call.scratchStride;
  if (pixelStart !== undefined && pixelEnd !== undefined) {
    if (impl.runPixels === undefined) throw new RangeError(`runWasmSlice: the ${call.path} path cannot run a pixel slice`);
    const runPixels = impl.runPixels;
    callKernel(call.path, () => runPixels(rt, call.geometry, call.act, call.weights, call.input, call.output, scratch, channelStart, channelEnd, imageStart, imageEnd, pixelStart, pixelEnd));
    return;
  }
  callKernel(call.path, () => impl.run(rt, call.geometry, call.act, call.weights, call.input, call.output, scratch, channelStart, channelEnd, imageStart, imageEnd));
}

/**
 * A hook that may take a whole `WasmConvState.run` over (the worker pool's whole-model schedule,
 * which splits each planned convolution of a compiled model over threads); it returns false to let
 * the call run as usual. Null except while a scheduled run is executing on this thread.
 */
export type WasmRunHook = (
  state: WasmConvState, setup: KernelSetup, x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number, y: Float32Array,
  channelStart: number, channelEnd: number,
) => boolean;
let runHook: WasmRunHook | null = null;

/** Installs `hook` (null: none); returns the previous one, for the caller to restore. */
export function setWasmRunHook(hook: WasmRunHook | null): WasmRunHook | null {
  const previous = runHook;
  runHook = hook;
  return previous;
}

/** Arena blocks a state holds, by role. */
const Slot = { Weights: 0, Scratch: 1, Input: 2, Padded: 3, Output: 4 } as const;
type Slot = (typeof Slot)[keyof typeof Slot];
const SLOT_NAMES = ['packed weights', 'scratch', 'input copy', 'padded input', 'output buffer'];

/** Releases a collected state's arena blocks (a plan dropped without dispose()). */
const finalizer = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry<{ rt: WasmRuntime; blocks: number[] }>(({ rt, blocks }) => {
    for (const address of blocks) if (address > 0) rt.arena.release(address);
  })
  : null;

/** The address of `data` in the runtime's memory, or -1 when it lives elsewhere. */
export function addressIn(rt: WasmRuntime, data: Float32Array): number {
  return rt.addressOf(data);
}

export class WasmConvState {
  private readonly blocks = [0, 0, 0, 0, 0];
  private readonly sizes = [0, 0, 0, 0, 0];
  private packedPath: KernelPath | null = null;

  constructor(readonly rt: WasmRuntime) {
    finalizer?.register(this, { rt, blocks: this.blocks }, this);
  }

  /** A block of at least `bytes` for `slot`, reallocated when too small (its contents are then lost). */
  private block(slot: Slot, bytes: number): number {
    if (this.sizes[slot]! >= bytes && this.blocks[slot]! > 0) return this.blocks[slot]!;
    if (this.blocks[slot]! > 0) this.rt.arena.release(this.blocks[slot]!);
    this.blocks[slot] = 0;
    this.sizes[slot] = 0;
    this.blocks[slot] = this.rt.arena.alloc(bytes, SLOT_NAMES[slot]);
    this.sizes[slot] = bytes;
    if (slot === Slot.Weights) this.packedPath = null;
    return this.blocks[slot]!;
  }

  /** Whether `setup` runs on a wasm kernel (wasmPathFor). */
  supports(setup: KernelSetup): boolean {
    return wasmPathFor(setup) !== null;
  }

  /** Forgets the packed weights, so the next run packs them again (after the plan's weights changed). */
  invalidateWeights(): void {
    this.packedPath = null;
  }

  /** Bytes of wasm memory this state holds. */
  get bytes(): number {
    return this.sizes.reduce((a, b) => a + b, 0);
  }

  /**
   * Output channels `[channelStart, channelEnd)` of `setup` into `y`; false (and nothing done)
   * when the path has no wasm implementation.
   */
  run(
    setup: KernelSetup, x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number, y: Float32Array,
    channelStart: number, channelEnd: number,
  ): boolean {
    if (runHook !== null && runHook(this, setup, x, w, bias, act, y, channelStart, channelEnd)) return true;
    const call = this.prepare(setup, x, w, bias, act, y, 1);
    if (call === null) return false;
    runWasmSlice(this.rt, call, 0, channelStart, channelEnd, 0, setup.geometry.batch);
    this.finish(call, y, channelStart, channelEnd);
    return true;
  }

  /**
   * Everything before the kernels run, for `threads` threads: packs the weights (unless packed),
   * stages the input (unless it lives in wasm memory) and pads it for a padding mode, and sizes
   * the output and per-thread scratch. Null when the path has no wasm implementation.
   */
  prepare(
    setup: KernelSetup, x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number, y: Float32Array, threads: number,
  ): WasmConvCall | null {
    const impl = wasmPathFor(setup);
    if (impl === null) return null;
    const rt = this.rt;
    const g = setup.geometry;
    // Allocate everything first: growing the memory replaces its buffer (and views on it).
    const weights = this.block(Slot.Weights, impl.weightBytes(g, rt));
    const scratchStride = Math.ceil(impl.scratchBytes(g) / 64) * 64;
    const scratch = this.block(Slot.Scratch, scratchStride * threads);
    let input = addressIn(rt, x);
    const stageInput = input < 0 && setup.paddedSize === 0;
    if (stageInput) input = this.block(Slot.Input, 4 * x.length);
    const padded = setup.paddedSize > 0 ? this.block(Slot.Padded, 4 * setup.paddedSize) : -1;
    let output = addressIn(rt, y);
    const stageOutput = output < 0;
    if (stageOutput) output = this.block(Slot.Output, 4 * y.length);
    // Views are taken after the last allocation.
    if (this.packedPath !== setup.path) {
      impl.packWeights(rt, g, w, bias, weights);
      this.packedPath = setup.path;
    }
    if (stageInput) rt.write(input, x);
    if (padded > 0) {
      padInput(x, rt.view(padded, setup.paddedSize), setup.callGeometry);
      input = padded;
    }
    return { path: setup.path, geometry: g, act, weights, input, output, scratch, scratchStride, stagedOutput: stageOutput };
  }

  /** Copies channels [channelStart, channelEnd) of a staged output back to `y`. */
  finish(call: WasmConvCall, y: Float32Array, channelStart: number, channelEnd: number): void {
    const g = call.geometry;
    if (call.stagedOutput) copyChannels(this.rt.f32(), call.output >>> 2, y, g.batch, g.outChannels, g.outHeight * g.outWidth, channelStart, channelEnd);
  }

  /** Returns every block to the arena; the state must not be used afterwards. */
  dispose(): void {
    for (let slot = 0; slot < this.blocks.length; slot++) {
      if (this.blocks[slot]! > 0) this.rt.arena.release(this.blocks[slot]!);
      this.blocks[slot] = 0;
      this.sizes[slot] = 0;
    }
    finalizer?.unregister(this);
  }
}

/** Copies channels [c0, c1) of every image from wasm memory (float index `src`) to `y`. */
function copyChannels(mem: Float32Array, src: number, y: Float32Array, batch: number, channels: number, pixels: number, c0: number, c1: number): void {
  if (c0 === 0 && c1 === channels) {
    y.set(mem.subarray(src, src + batch * channels * pixels));
    return;
  }
  for (let n = 0; n < batch; n++) {
    const start = (n * channels + c0) * pixels;
    const end = (n * channels + c1) * pixels;
    y.set(mem.subarray(src + start, src + end), start);
  }
}
