/**
 * A compiled model's whole forward pass on the worker pool, with one hand-off per run instead of
 * one per layer.
 *
 * The calling thread runs the compiled model's steps as usual. Every planned wasm convolution it
 * meets is split into chunks (ranges of output channels, or of whole images) fixed when the
 * schedule is recorded; the chunks of one convolution are claimed by the calling thread and the
 * workers through counters in shared memory, and the calling thread waits for the last chunk
 * before it goes on (a barrier), so the next step reads a finished output. The workers learn
 * the model's convolutions (kernel path, geometry, chunks) once, in a `program` message; for each
 * run they get one `runProgram` job and follow the calling thread step by step through the shared
 * control array, where it also writes each convolution's wasm addresses (packed weights, input,
 * output, scratch) before publishing it. Everything else (element-wise steps, pooling, the
 * classifier) runs on the calling thread between barriers.
 *
 * Each output value is computed by one thread with the same kernel as the single-thread run, so
 * results are bitwise those of `compiled.run`.
 */
import type { KernelPath, KernelSetup } from '../kernels/dispatch.js';
import type { Conv2dGeometry } from '../geometry.js';
import { runWasmSlice, setWasmRunHook, type WasmConvCall, type WasmConvState } from '../ops/wasm-conv.js';
import type { WasmRuntime } from '../wasm/runtime.js';
import { planSlices, type Slice } from './split.js';

/**
 * Control array of one program (Int32Array over a SharedArrayBuffer):
 *   [STEP]   the index of the split convolution published last (-1: none yet; steps.length: the run is over)
 *   [ERROR]  1 once a worker's chunk failed
 * then per split convolution s, at stepBase(s): the next chunk to claim, the chunks finished,
 * and its call in this run: wasm addresses (weights, input, output, scratch), scratch stride, activation.
 */
export const STEP = 0;
export const ERROR = 1;
const HEADER = 4;
const STEP_INTS = 8;
const NEXT = 0;
const DONE = 1;
const WEIGHTS = 2;
const INPUT = 3;
const OUTPUT = 4;
const SCRATCH = 5;
const SCRATCH_STRIDE = 6;
const ACT = 7;
export const stepBase = (step: number): number => HEADER + STEP_INTS * step;
export const programControlLength = (steps: number): number => HEADER + STEP_INTS * steps;

/**
 * How long the calling thread waits at a barrier for a chunk a worker has claimed before it gives
 * the run up (the worker is then replaced), beyond four times what its own chunks of that step took. A chunk normally takes well under a millisecond; this
 * only guards against a worker that died or hangs mid-chunk, which the calling thread cannot see
 * while it is blocked.
 */
export const STALL_MS = 2000;

/** One split convolution as the workers know it: everything but what the control array gives per run. */
export interface ProgramStep {
  readonly path: KernelPath;
  readonly geometry: Conv2dGeometry;
  readonly chunks: readonly Slice[];
}

/** What a worker keeps of a model's schedule. */
export interface WorkerProgram {
  readonly control: Int32Array;
  readonly steps: readonly ProgramStep[];
}

/** The call of step `s` in the run in progress, from its static part and the control array. */
function stepCall(program: WorkerProgram, s: number): WasmConvCall {
  const step = program.steps[s]!;
  const c = program.control;
  const base = stepBase(s);
  return {
    path: step.path, geometry: step.geometry, act: Atomics.load(c, base + ACT), scratchStride: Atomics.load(c, base + SCRATCH_STRIDE), stagedOutput: false,
    weights: Atomics.load(c, base + WEIGHTS), input: Atomics.load(c, base + INPUT), output: Atomics.load(c, base + OUTPUT), scratch: Atomics.load(c, base + SCRATCH),
  };
}

function runChunk(rt: WasmRuntime, call: WasmConvCall, thread: number, chunk: Slice): void {
  runWasmSlice(rt, call, thread, chunk.channelStart, chunk.channelEnd, chunk.imageStart, chunk.imageEnd, chunk.pixelStart, chunk.pixelEnd);
}

/** Marks one chunk of step `s` finished, waking the calling thread when it was the last. */
function finishChunk(c: Int32Array, s: number, chunks: number): void {
  if (Atomics.add(c, stepBase(s) + DONE, 1) + 1 >= chunks) Atomics.notify(c, stepBase(s) + DONE);
}

/**
 * A worker's side of one run: follows the published steps and computes the chunks it claims
 * (`claim`: dynamically, through the counters; otherwise chunk k goes to thread k mod threads).
 * `beforeChunk` is the fault-injection hook. A chunk that throws is still counted as finished (so
 * the calling thread never waits on it), with ERROR set; the error is rethrown.
 */
export function followProgram(
  program: WorkerProgram, rt: WasmRuntime, thread: number, threads: number, claim: boolean, beforeChunk: () => void,
): void {
  const c = program.control;
  const count = program.steps.length;
  for (let s = 0; s < count; s++) {
    let published = spinWhile(c, STEP, (v) => v < s);
    while (published < s) {
      Atomics.wait(c, STEP, published);
      published = Atomics.load(c, STEP);
    }
    if (published >= count || Atomics.load(c, ERROR) !== 0) return;
    const chunks = program.steps[s]!.chunks;
    let call: WasmConvCall | null = null;
    for (let k = claim ? Atomics.add(c, stepBase(s) + NEXT, 1) : thread; k < chunks.length; k = claim ? Atomics.add(c, stepBase(s) + NEXT, 1) : k + threads) {
      try {
        beforeChunk();
        call ??= stepCall(program, s);
        runChunk(rt, call, thread, chunks[k]!);
      } catch (error) {
        Atomics.store(c, ERROR, 1);
        finishChunk(c, s, chunks.length);
        if (!claim) {
          // Count this thread's other chunks too: nobody else will compute them.
          for (let j = k + threads; j < chunks.length; j += threads) finishChunk(c, s, chunks.length);
        }
        throw error;
      }
      finishChunk(c, s, chunks.length);
    }
  }
}

/** A convolution met while recording: the plan's state and its setup for this shape. */
interface Recorded {
  readonly state: WasmConvState;
  readonly setup: KernelSetup;
  /** Its index among the split convolutions, or -1 when it runs on the calling thread alone. */
  split: number;
}

/** Thrown inside the run when a worker does not finish a claimed chunk within STALL_MS. */
export class ScheduleStall extends Error {
  override name = 'ScheduleStall';
}

/** Thrown inside the run when a worker reported a failed chunk (its message follows by postMessage). */
export class ScheduleWorkerError extends Error {
  override name = 'ScheduleWorkerError';
}

let nextProgramId = 1;

/**
 * A compiled model's schedule: recorded from one single-thread run (the order of its wasm
 * convolutions), then the program the workers follow.
 */
export class ModelSchedule {
  readonly id = nextProgramId++;
  private recorded: Recorded[] | null = null;
  private program: ProgramStep[] = [];
  private controlArray: Int32Array | null = null;
  private threadCount = 0;

  constructor(readonly runtime: WasmRuntime, private readonly minChunkMacs: number) {}

  /** Whether the schedule must be (re)recorded before a split run for `threads` threads. */
  needsRecording(threads: number): boolean {
    return this.recorded === null || this.threadCount !== threads;
  }

  get control(): Int32Array {
    return this.controlArray!;
  }

  get steps(): readonly ProgramStep[] {
    return this.program;
  }

  /** Split convolutions in the program. */
  get splitSteps(): number {
    return this.program.length;
  }

  /** Runs `body` on this thread alone, noting the wasm convolutions it runs, and builds the program for `threads`. */
  record<T>(threads: number, body: () => T): T {
    const seen: Recorded[] = [];
    const previous = setWasmRunHook((state, setup, _x, _w, _b, _act, _y, channelStart, channelEnd) => {
      if (state.rt === this.runtime && channelStart === 0 && channelEnd === setup.geometry.outChannels) seen.push({ state, setup, split: -1 });
      return false;
    });
    let result: T;
    try {
      result = body();
    } finally {
      setWasmRunHook(previous);
    }
    const program: ProgramStep[] = [];
    for (const entry of seen) {
      const g = entry.setup.geometry;
      const chunks = planSlices(g, entry.setup.path, threads * CHUNKS_PER_THREAD, this.minChunkMacs, { pixels: true });
      if (chunks.length <= 1) continue;
      entry.split = program.length;
      program.push({ path: entry.setup.path, geometry: g, chunks });
    }
    this.recorded = seen;
    this.program = program;
    this.threadCount = threads;
    this.controlArray = new Int32Array(new SharedArrayBuffer(programControlLength(program.length) * Int32Array.BYTES_PER_ELEMENT));
    return result;
  }

  /**
   * Runs `body` on this thread with the split convolutions shared with the workers; `claim`
   * selects dynamic chunk claiming (else chunk k belongs to thread k mod threads), `canBlock`
   * whether this thread may Atomics.wait (else it spins).
   * Always ends the run for the workers (STEP = end), also when `body` throws.
   */
  runSplit<T>(threads: number, claim: boolean, canBlock: boolean, body: () => T): { result: T; mainChunks: number; chunks: number } {
    const c = this.control;
    const recorded = this.recorded!;
    const program = this.program;
    let occurrence = 0;
    let mismatch = false;
    let mainChunks = 0;
    let chunks = 0;
    Atomics.store(c, ERROR, 0);
    const previous = setWasmRunHook((state, setup, x, w, bias, act, y, channelStart, channelEnd) => {
      if (mismatch || state.rt !== this.runtime || channelStart !== 0 || channelEnd !== setup.geometry.outChannels) return false;
      const entry = recorded[occurrence++];
      if (entry === undefined || entry.state !== state || entry.setup !== setup) {
        // Not the convolution recorded here: this run follows another course; leave the rest unsplit.
        mismatch = true;
        return false;
      }
      if (entry.split < 0) return false;
      const s = entry.split;
      const step = program[s]!;
      const call = state.prepare(setup, x, w, bias, act, y, threads)!;
      const base = stepBase(s);
      Atomics.store(c, base + WEIGHTS, call.weights);
      Atomics.store(c, base + INPUT, call.input);
      Atomics.store(c, base + OUTPUT, call.output);
      Atomics.store(c, base + SCRATCH, call.scratch);
      Atomics.store(c, base + SCRATCH_STRIDE, call.scratchStride);
      Atomics.store(c, base + ACT, call.act);
      Atomics.store(c, base + NEXT, 0);
      Atomics.store(c, base + DONE, 0);
      Atomics.store(c, STEP, s);
      Atomics.notify(c, STEP);
      const n = step.chunks.length;
      chunks += n;
      const ownStart = performance.now();
      if (claim) {
        for (let k = Atomics.add(c, base + NEXT, 1); k < n; k = Atomics.add(c, base + NEXT, 1)) {
          runChunk(this.runtime, call, 0, step.chunks[k]!);
          mainChunks++;
          finishChunk(c, s, n);
        }
      } else {
        for (let k = 0; k < n; k += threads) {
          runChunk(this.runtime, call, 0, step.chunks[k]!);
          mainChunks++;
          finishChunk(c, s, n);
        }
      }
      // A worker's chunk is about as large as this thread's: a slow device's large chunks get as long again, several times over.
      waitUntil(c, base + DONE, (v) => v >= n, canBlock, 'finish its chunk', STALL_MS + 4 * (performance.now() - ownStart));
      if (Atomics.load(c, ERROR) !== 0) throw new ScheduleWorkerError('a worker failed a chunk');
      state.finish(call, y, 0, setup.geometry.outChannels);
      return true;
    });
    try {
      const result = body();
      return { result, mainChunks, chunks };
    } finally {
      setWasmRunHook(previous);
      Atomics.store(c, STEP, program.length);
      Atomics.notify(c, STEP);
      if (mismatch) this.recorded = null;
    }
  }
}

/**
 * The smallest chunk of a compiled model's split convolution (multiply-adds), unless the pool was
 * given minSliceMacs. A split step costs a barrier in shared memory (a few microseconds), not a
 * message, so far smaller layers pay than for a pool's single calls (DEFAULT_MIN_SLICE_MACS):
 * MobileNetV2's 7×7 depthwise layers (423K multiply-adds) are split at this size and were not at
 * that one. Interleaved on two threads (Node 24, against one thread): MobileNetV2 1.63–1.69× with
 * 2¹⁸ → 1.70–1.74× with 2¹⁴ (2¹⁶ 1.66×, 0 1.71×); MobileNetV1 1.78–1.80× → 1.82–1.83×.
 */
export const SCHEDULE_MIN_SLICE_MACS = 1 << 14;

/**
 * Chunks per thread of each split convolution. More than one lets the calling thread take over
 * part of a late worker's share, at the cost of more, smaller kernel calls; 2 and 4 cost 10–20%
 * more CPU time in all on MobileNetV1/V2 (bench/threads.mjs --models) for no wall-clock gain that
 * could be measured on a busy machine, so one.
 */
export const CHUNKS_PER_THREAD = 1;

/**
 * How long a thread polls a control word before it sleeps on it. Between two convolutions the
 * next step is usually published, and the other thread's chunk finished, within tens of
 * microseconds: sooner than a futex wake-up, which cost 20–80 µs per step here. Measured on
 * MobileNetV2 224 (2 threads against 1, both run under SCHED_FIFO so other processes could not
 * take the cores; interleaved, three times): no polling 0.97–1.10×, 30 µs 1.10–1.13×, 150 µs
 * 1.12–1.20×. Bounded, so on a busy machine a wait costs at most this much CPU before it sleeps.
 */
export const SPIN_MICROSECONDS = 100;

/** Polls `control[index]` while `keep(value)` holds, for at most SPIN_MICROSECONDS; returns the last value read. */
function spinWhile(c: Int32Array, index: number, keep: (value: number) => boolean): number {
  let value = Atomics.load(c, index);
  if (!keep(value)) return value;
  const until = performance.now() + SPIN_MICROSECONDS / 1000;
  for (;;) {
    for (let i = 0; i < 64; i++) {
      value = Atomics.load(c, index);
      if (!keep(value)) return value;
    }
    if (performance.now() >= until) return value;
  }
}

/**
 * Waits until `accept(control[index])`, blocking in Atomics.wait (or spinning where this thread
 * may not block) for at most `limitMs`.
 */
function waitUntil(c: Int32Array, index: number, accept: (value: number) => boolean, canBlock: boolean, what: string, limitMs: number): void {
  let value = spinWhile(c, index, (v) => !accept(v));
  if (accept(value)) return;
  const deadline = performance.now() + limitMs;
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) throw new ScheduleStall(`a worker did not ${what} within ${Math.round(limitMs)} ms`);
    if (canBlock) Atomics.wait(c, index, value, Math.min(left, 10));
    value = Atomics.load(c, index);
    if (accept(value)) return;
  }
}
