/**
 * The activation memory of a compiled model: every planned layer takes its output buffer from
 * here, and a chain (`Sequential`, a model's stage list) gives a buffer back as soon as the step
 * that reads it has been planned, so a later layer can take it over. Plans run in the order they
 * were built, so a buffer handed back while planning step i+1 is only written again by steps that
 * run after step i+1 has read it: the compiled model's outputs are bitwise those of `forward`,
 * while its activations need a few buffers instead of one per layer.
 *
 * On the wasm tier (a shared WebAssembly.Memory) the buffers live in wasm memory, so consecutive
 * wasm kernels read and write them in place: a compiled model copies nothing between layers.
 *
 * Outside `compile` (a layer's own `plan` called directly) there is no planner: `planOutput`
 * allocates a fresh array and nothing is ever reused.
 */
import type { WasmRuntime } from '../wasm/runtime.js';
import type { Tensor } from '../tensor.js';
import { checkShapeElements } from '../kernels/validate.js';

/** Wasm arena blocks of collected planners (a compiled model dropped without dispose()). */
const finalizer = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry<{ runtime: WasmRuntime; addresses: number[] }>(({ runtime, addresses }) => {
    for (const address of addresses) runtime.arena.release(address);
  })
  : null;

export class ActivationMemory {
  /** Whole buffers not in use, by length ascending (best fit takes the first that is large enough). */
  private readonly free: Float32Array[] = [];
  /** The whole buffer behind each live (possibly shorter) view handed out. */
  private readonly live = new Map<Float32Array, Float32Array>();
  private readonly addresses: number[] = [];
  private capacityBytes = 0;
  private disposed = false;
  /** The planned convolutions' own memory (packed weights, scratch): its size, and how to free it. */
  private readonly plans: PlanResources[] = [];

  /** `runtime`: put the buffers in this shared wasm memory; null: ordinary Float32Arrays. */
  constructor(private readonly runtime: WasmRuntime | null) {
    if (runtime !== null && finalizer !== null) finalizer.register(this, { runtime, addresses: this.addresses }, this);
  }

  /** Whether the buffers live in WebAssembly memory. */
  get inWasmMemory(): boolean {
    return this.runtime !== null;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Bytes of every buffer allocated (the activation memory the compiled model holds). */
  get bytes(): number {
    return this.capacityBytes;
  }

  /** Registers a planned step's own memory, counted by `planBytes` and freed by `dispose`. */
  trackPlan(resources: PlanResources): void {
    this.plans.push(resources);
  }

  /** Bytes the planned convolutions hold now: packed weights and scratch (wasm memory on the wasm tier). */
  get planBytes(): number {
    let total = 0;
    for (const plan of this.plans) total += plan.bytes();
    return total;
  }

  /** A zero-filled tensor of `shape`: a free buffer that is large enough, or a new one. */
  acquire(shape: readonly number[], what: string): Tensor {
    const size = checkShapeElements(shape, what);
    const index = this.free.findIndex((b) => b.length >= size);
    const block = index >= 0 ? this.free.splice(index, 1)[0]! : this.allocate(size, what);
    const data = block.length === size ? block : block.subarray(0, size);
    data.fill(0);
    this.live.set(data, block);
    return { shape: shape.slice(), data };
  }

  /** Whether `data` is a live buffer of this planner. */
  owns(data: Float32Array): boolean {
    return this.live.has(data);
  }

  /** Gives back a live buffer: later `acquire`s may hand it out again. */
  release(data: Float32Array): void {
    const block = this.live.get(data);
    if (block === undefined) throw new Error('ActivationMemory.release: not a live buffer of this plan');
    this.live.delete(data);
    let i = 0;
    while (i < this.free.length && this.free[i]!.length < block.length) i++;
    this.free.splice(i, 0, block);
  }

  /**
   * Whether two arrays share memory. Views of a shared wasm memory made before and after it grew
   * have different SharedArrayBuffer objects but the same addresses, so those compare by address.
   */
  overlaps(a: Float32Array, b: Float32Array): boolean {
    if (a.buffer !== b.buffer) {
      const rt = this.runtime;
      if (rt === null || rt.addressOf(a) < 0 || rt.addressOf(b) < 0) return false;
    }
    return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
  }

  /** Returns the wasm memory now (activations and plans); the planned steps must not run afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const plan of this.plans) plan.dispose();
    if (this.runtime !== null) {
      for (const address of this.addresses) this.runtime.arena.release(address);
      this.addresses.length = 0;
      finalizer?.unregister(this);
    }
  }

  private allocate(size: number, what: string): Float32Array {
    let data: Float32Array;
    if (this.runtime === null) data = new Float32Array(size);
    else {
      const address = this.runtime.arena.alloc(4 * size, what);
      this.addresses.push(address);
      this.runtime.f32(); // registers the (possibly grown) buffer as this memory's
      data = new Float32Array(this.runtime.memory.buffer, address, size);
    }
    this.capacityBytes += 4 * size;
    return data;
  }
}

/** The planner of the compile in progress (null outside `compile`). */
let planning: ActivationMemory | null = null;

/** Runs `build` with `memory` as the planner that `planOutput` takes buffers from. */
export function withActivationMemory<T>(memory: ActivationMemory, build: () => T): T {
  const outer = planning;
  planning = memory;
  try {
    return build();
  } finally {
    planning = outer;
  }
}

export interface PlanResources {
  bytes(): number;
  dispose(): void;
}

/** Counts a planned step's own memory in the compile's `memory()` and `dispose()` (no-op outside `compile`). */
export function trackPlanResources(resources: PlanResources): void {
  planning?.trackPlan(resources);
}

/**
 * The output buffer of a planned step: from the compile's planner, or a new zero-filled tensor
 * outside `compile`. `what` names it in a size error.
 */
export function planOutput(shape: readonly number[], what: string): Tensor {
  if (planning !== null) return planning.acquire(shape, what);
  return { shape: shape.slice(), data: new Float32Array(checkShapeElements(shape, what)) };
}

/**
 * What a planned step returns, as far as it is known at plan time: its own fixed tensor, the
 * tensor it was given ('input': in-place steps, views, identities), or unknown (null).
 */
export type StepOutput = Tensor | 'input' | null;

/**
 * Follows a chain of planned steps and gives each intermediate buffer back to the planner once
 * the step reading it has been planned. `start()` begins at the chain's input (never released:
 * it belongs to whoever made it); `after(step)` is called once per step, in order.
 */
export class ChainBuffers {
  /** The previous step's output: a known tensor, the chain's input, or unknown. */
  private current: StepOutput = 'input';

  after(output: StepOutput | undefined): void {
    const next: StepOutput = output === undefined || output === null ? null : output === 'input' ? this.current : output;
    const previous = this.current;
    // Release only a buffer this chain's own steps produced, known to be read by nothing later:
    // the step just planned is its only reader, and it does not pass it on.
    if (planning !== null && typeof previous === 'object' && previous !== null && next !== null
      && !(typeof next === 'object' && planning.overlaps(next.data, previous.data)) && planning.owns(previous.data)) {
      planning.release(previous.data);
    }
    this.current = next;
  }

  /** The chain's output: what its last step returns. */
  get output(): StepOutput {
    return this.current;
  }
}
