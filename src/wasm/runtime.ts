// The WebAssembly tier at run time: feature detection, compiling the generated kernel module,
// the memory the kernels work in and an arena that hands out blocks of it.
//
// Nothing is emitted here: the module bytes come from gen/modules.ts (tools/gen-wasm.mjs).
// Traps and failed memory growth never reach callers as raw WebAssembly errors: callKernel and
// Arena.alloc turn them into RangeErrors that say what ran out.
import type { WasmKernels } from './abi.js';
import * as generated from './gen/modules.js';

/**
 * The WebAssembly objects as the published types name them: declared here rather than taken from
 * the DOM or Node typings, so a consumer compiling without either still type-checks sepconv.
 */
export interface KernelMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
/** A compiled kernel module (a WebAssembly.Module; it can be posted to workers). */
export type KernelModule = object;

const PAGE_BYTES = 65536;
/** Arena blocks start on a cache line, so v128 accesses in kernels are aligned. */
export const ARENA_ALIGN = 64;
/** Default largest memory: 32768 pages = 2 GiB (wasm32 allows 4 GiB; engines may refuse that). */
export const DEFAULT_MAX_PAGES = 32768;

/** What the engine supports, as WebAssembly.validate says. */
export interface WasmFeatures {
  /** 128-bit SIMD validates. */
  simd: boolean;
  /** Relaxed SIMD (f32x4.relaxed_madd) validates. */
  relaxedSimd: boolean;
  /** A shared WebAssembly.Memory can be created and imported (the worker pool needs it). */
  threads: boolean;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

let featureCache: WasmFeatures | null = null;

/** Detects SIMD, relaxed SIMD and shared memory; validate never compiles, so no CSP applies. */
export function detectWasmFeatures(): WasmFeatures {
  if (featureCache) return featureCache;
  const hasWasm = typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function';
  const validates = (base64: string): boolean => {
    try {
      return hasWasm && WebAssembly.validate(decodeBase64(base64));
    } catch {
      return false;
    }
  };
  let threads = false;
  if (validates(generated.probeSharedMemory) && typeof SharedArrayBuffer === 'function') {
    try {
      threads = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
    } catch {
      threads = false;
    }
  }
  featureCache = { simd: validates(generated.probeSimd), relaxedSimd: validates(generated.probeRelaxedSimd), threads };
  return featureCache;
}

/** Which generated module: plain mul+add or relaxed madd; unshared or shared memory. */
export interface WasmVariant {
  relaxed: boolean;
  shared: boolean;
}

/** The bytes of one variant of the kernel module. */
export function kernelModuleBytes(variant: WasmVariant): Uint8Array<ArrayBuffer> {
  const name = `${variant.relaxed ? 'relaxed' : 'plain'}${variant.shared ? 'Shared' : ''}` as const;
  return decodeBase64(generated[name]);
}

/** Compiles a variant asynchronously (the only way browsers allow on the main thread). */
export function compileKernelModule(variant: WasmVariant): Promise<KernelModule> {
  return WebAssembly.compile(kernelModuleBytes(variant));
}

/** Compiles a variant synchronously (Node, workers). */
export function compileKernelModuleSync(variant: WasmVariant): KernelModule {
  return new WebAssembly.Module(kernelModuleBytes(variant));
}

/** Creates the memory the kernels use; shared memories need a maximum up front. */
export function createKernelMemory(shared: boolean, initialPages = 16, maximumPages = DEFAULT_MAX_PAGES): KernelMemory {
  return new WebAssembly.Memory({ initial: initialPages, maximum: maximumPages, shared });
}

/**
 * A free-list allocator over a WebAssembly.Memory: blocks are byte addresses, aligned to
 * ARENA_ALIGN, first fit, neighbours coalesced on free, the memory grown when nothing fits.
 * Address 0..ARENA_ALIGN-1 is never handed out, so 0 can mean "no block".
 */
export class Arena {
  /** Free blocks [start, end) sorted by start. */
  private readonly free: { start: number; end: number }[] = [];
  private readonly sizes = new Map<number, number>();
  private top = ARENA_ALIGN;
  private usedBytes = 0;
  private peakBytes = 0;

  constructor(readonly memory: KernelMemory, private readonly maximumPages: number) {}

  /** Bytes currently allocated, and the most ever allocated at once. */
  get used(): number { return this.usedBytes; }
  get peak(): number { return this.peakBytes; }

  /** Allocates `bytes` (rounded up to ARENA_ALIGN) and returns the address. */
  alloc(bytes: number, what = 'block'): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`wasm arena: ${what} size must be a non-negative integer, got ${bytes}`);
    const size = Math.max(ARENA_ALIGN, Math.ceil(bytes / ARENA_ALIGN) * ARENA_ALIGN);
    let address = -1;
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i]!;
      if (block.end - block.start >= size) {
        address = block.start;
        block.start += size;
        if (block.start === block.end) this.free.splice(i, 1);
        break;
      }
    }
    if (address < 0) {
      // Take from the top, merging a free block that ends there.
      const last = this.free[this.free.length - 1];
      let start = this.top;
      if (last && last.end === this.top) {
        start = last.start;
        this.free.pop();
      }
      this.ensureCapacity(start + size, what);
      address = start;
      this.top = start + size;
    }
    this.sizes.set(address, size);
    this.usedBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.usedBytes);
    return address;
  }

  /** Returns a block to the arena. */
  release(address: number): void {
    const size = this.sizes.get(address);
    if (size === undefined) throw new RangeError(`wasm arena: ${address} is not an allocated block`);
    this.sizes.delete(address);
    this.usedBytes -= size;
    let start = address;
    let end = address + size;
    let i = 0;
    while (i < this.free.length && this.free[i]!.start < start) i++;
    const before = this.free[i - 1];
    const after = this.free[i];
    if (after && after.start === end) {
      end = after.end;
      this.free.splice(i, 1);
    }
    if (before && before.end === start) {
      before.end = end;
      start = before.start;
    } else {
      this.free.splice(i, 0, { start, end });
    }
    // Keep the top tight so later large blocks do not fragment.
    const last = this.free[this.free.length - 1]!;
    if (last.end === this.top) {
      this.top = last.start;
      this.free.pop();
    }
  }

  private ensureCapacity(endByte: number, what: string): void {
    const have = this.memory.buffer.byteLength;
    if (endByte <= have) return;
    const needPages = Math.ceil((endByte - have) / PAGE_BYTES);
    const growPages = Math.max(needPages, Math.ceil(have / PAGE_BYTES / 4)); // grow by ≥ 25%, fewer regrowths
    const currentPages = have / PAGE_BYTES;
    const pages = Math.min(growPages, this.maximumPages - currentPages);
    if (pages < needPages) throw memoryLimitError(endByte, what, this.maximumPages);
    try {
      this.memory.grow(pages);
    } catch {
      try {
        this.memory.grow(needPages);
      } catch {
        throw memoryLimitError(endByte, what, this.maximumPages);
      }
    }
  }
}

function memoryLimitError(endByte: number, what: string, maximumPages: number): RangeError {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  return new RangeError(
    `wasm tier: the ${what} needs WebAssembly memory up to ${mib(endByte)}, beyond what the engine can grow to ` +
      `(limit ${mib(maximumPages * PAGE_BYTES)}); use smaller inputs or the 'js' backend`,
  );
}

/** Runs `kernel`, turning a wasm trap into a RangeError naming the kernel. */
export function callKernel<T>(name: string, kernel: () => T): T {
  try {
    return kernel();
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError) {
      throw new RangeError(`wasm kernel ${name} trapped (${error.message}); this is a bug in sepconv's wasm tier, please report it`, { cause: error });
    }
    throw error;
  }
}

/** A compiled and instantiated kernel module over its memory and arena. */
export class WasmRuntime {
  readonly arena: Arena;
  private f32View: Float32Array;
  private i32View: Int32Array;
  /** Every buffer object a shared memory has handed out (they all alias the same memory). */
  private readonly sharedBuffers = new WeakSet<object>();

  private constructor(
    readonly module: KernelModule,
    readonly memory: KernelMemory,
    readonly kernels: WasmKernels,
    readonly variant: WasmVariant,
    maximumPages: number,
  ) {
    this.arena = new Arena(memory, maximumPages);
    this.f32View = new Float32Array(memory.buffer);
    this.i32View = new Int32Array(memory.buffer);
    if (variant.shared) this.sharedBuffers.add(memory.buffer);
  }

  /** Instantiates a compiled module over a memory (a new one unless given, e.g. a pool's shared one). */
  static instantiate(module: KernelModule, variant: WasmVariant, memory?: KernelMemory, maximumPages = DEFAULT_MAX_PAGES): WasmRuntime {
    const mem = memory ?? createKernelMemory(variant.shared, 16, maximumPages);
    const instance = new WebAssembly.Instance(module as WebAssembly.Module, { env: { memory: mem as WebAssembly.Memory } });
    return new WasmRuntime(module, mem, instance.exports as unknown as WasmKernels, variant, maximumPages);
  }

  /** Asynchronous instantiation (browsers' main thread refuses synchronous instances of large modules). */
  static async instantiateAsync(module: KernelModule, variant: WasmVariant, memory?: KernelMemory, maximumPages = DEFAULT_MAX_PAGES): Promise<WasmRuntime> {
    const mem = memory ?? createKernelMemory(variant.shared, 16, maximumPages);
    const instance = await WebAssembly.instantiate(module as WebAssembly.Module, { env: { memory: mem as WebAssembly.Memory } });
    return new WasmRuntime(module, mem, instance.exports as unknown as WasmKernels, variant, maximumPages);
  }

  /**
   * A Float32Array over the whole memory. Growing the memory replaces its buffer, so take this
   * after every allocation and never keep it across one.
   */
  f32(): Float32Array {
    if (this.f32View.buffer !== this.memory.buffer || this.f32View.byteLength !== this.memory.buffer.byteLength) {
      this.f32View = new Float32Array(this.memory.buffer);
      if (this.variant.shared) this.sharedBuffers.add(this.memory.buffer);
    }
    return this.f32View;
  }

  /**
   * The byte address of `data` in this memory, or -1 if it lives elsewhere. A shared memory that
   * grew hands out a new SharedArrayBuffer object, but views on the older ones still alias the
   * same memory, so those count too; a non-shared memory's older buffers are detached.
   */
  addressOf(data: Float32Array): number {
    const buffer = data.buffer;
    if (buffer === this.memory.buffer) return data.byteOffset;
    if (this.variant.shared && this.sharedBuffers.has(buffer)) return data.byteOffset;
    return -1;
  }

  /** An Int32Array over the whole memory (same rule as f32()). */
  i32(): Int32Array {
    if (this.i32View.buffer !== this.memory.buffer || this.i32View.byteLength !== this.memory.buffer.byteLength) {
      this.i32View = new Int32Array(this.memory.buffer);
      if (this.variant.shared) this.sharedBuffers.add(this.memory.buffer);
    }
    return this.i32View;
  }

  /** Copies `data` into the arena at byte address `address`. */
  write(address: number, data: Float32Array): void {
    this.f32().set(data, address >>> 2);
  }

  /** A copy-free view of `length` floats at `address` (valid until the next allocation). */
  view(address: number, length: number): Float32Array {
    return this.f32().subarray(address >>> 2, (address >>> 2) + length);
  }
}
