// A minimal WebAssembly binary emitter: just what the kernels in this folder use.
//
// A module is built with ModuleBuilder (an imported memory, function types, exported functions)
// and each function body with a FunctionBuilder, whose methods append one instruction each, with
// the opcode and immediates of the WebAssembly core spec (binary format, §5) and of the fixed-width
// SIMD proposal (0xFD prefix + LEB128 sub-opcode). Nothing here validates stack types: the engine
// does that (tests run every emitted module through WebAssembly.validate).
//
// Encodings worth knowing when reading a hex dump:
//   LEB128      7 bits a byte, low first, bit 7 = "more"; signed variants sign-extend bit 6.
//   memarg      alignment as log2 (2 for a float, 4 for a v128), then the byte offset, both LEB128.
//   shared mem  limits flag 0x03 (min and max follow); 0x01 = min and max, 0x00 = min only.

/** Value types. */
export const i32 = 0x7f;
export const i64 = 0x7e;
export const f32 = 0x7d;
export const f64 = 0x7c;
export const v128 = 0x7b;
export type ValType = typeof i32 | typeof i64 | typeof f32 | typeof f64 | typeof v128;

/** Block type "no result". */
const EMPTY_BLOCK = 0x40;

/** Unsigned LEB128 of a non-negative integer below 2^32. */
export function uleb(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`uleb: expected an integer in [0, 2^32), got ${value}`);
  }
  const out: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of an integer in [-2^31, 2^31). */
export function sleb(value: number): number[] {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new RangeError(`sleb: expected an integer in [-2^31, 2^31), got ${value}`);
  }
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const signBitSet = (byte & 0x40) !== 0;
    if ((v === 0 && !signBitSet) || (v === -1 && signBitSet)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** A name as the binary format stores it: UTF-8 length, then the bytes. */
export function encodeName(name: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(name));
  return [...uleb(bytes.length), ...bytes];
}

/** A vector: element count, then the elements. */
function vec(items: readonly number[][]): number[] {
  const out = uleb(items.length);
  for (const item of items) out.push(...item);
  return out;
}

function section(id: number, contents: number[]): number[] {
  return [id, ...uleb(contents.length), ...contents];
}

const f32Scratch = new DataView(new ArrayBuffer(4));

/** The four little-endian bytes of a float32. */
export function f32Bytes(value: number): number[] {
  f32Scratch.setFloat32(0, value, true);
  return [f32Scratch.getUint8(0), f32Scratch.getUint8(1), f32Scratch.getUint8(2), f32Scratch.getUint8(3)];
}

/** Natural alignment (log2 bytes) of the memory accesses below. */
const ALIGN_32 = 2;
const ALIGN_64 = 3;
const ALIGN_128 = 4;

/**
 * The body of one function: parameters are locals 0..params-1, further locals come from `local()`.
 * Methods append one instruction and return `this`, so a body reads as a sequence.
 */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];
  private depth = 0;

  constructor(readonly params: readonly ValType[], readonly results: readonly ValType[]) {}

  /** Declares a local and returns its index. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  private simd(subOpcode: number, ...immediates: number[]): this {
    return this.op(0xfd, ...uleb(subOpcode), ...immediates);
  }

  private memarg(align: number, offset: number): number[] {
    return [...uleb(align), ...uleb(offset)];
  }

  // control
  unreachable(): this { return this.op(0x00); }
  nop(): this { return this.op(0x01); }
  block(): this { this.depth++; return this.op(0x02, EMPTY_BLOCK); }
  loop(): this { this.depth++; return this.op(0x03, EMPTY_BLOCK); }
  /** `if` with no result, or one value of type `result` (then both arms must leave one). */
  if(result?: ValType): this { this.depth++; return this.op(0x04, result ?? EMPTY_BLOCK); }
  else(): this { return this.op(0x05); }
  end(): this { this.depth--; return this.op(0x0b); }
  /** Branch to the enclosing block/loop `label` levels out (0 = innermost). */
  br(label: number): this { return this.op(0x0c, ...uleb(label)); }
  brIf(label: number): this { return this.op(0x0d, ...uleb(label)); }
  return(): this { return this.op(0x0f); }
  call(functionIndex: number): this { return this.op(0x10, ...uleb(functionIndex)); }
  drop(): this { return this.op(0x1a); }
  select(): this { return this.op(0x1b); }

  // locals
  get(index: number): this { return this.op(0x20, ...uleb(index)); }
  set(index: number): this { return this.op(0x21, ...uleb(index)); }
  tee(index: number): this { return this.op(0x22, ...uleb(index)); }

  // scalar memory (offset in bytes, added to the address on the stack)
  i32Load(offset = 0): this { return this.op(0x28, ...this.memarg(ALIGN_32, offset)); }
  f32Load(offset = 0): this { return this.op(0x2a, ...this.memarg(ALIGN_32, offset)); }
  i32Store(offset = 0): this { return this.op(0x36, ...this.memarg(ALIGN_32, offset)); }
  f32Store(offset = 0): this { return this.op(0x38, ...this.memarg(ALIGN_32, offset)); }
  memorySize(): this { return this.op(0x3f, 0x00); }
  memoryGrow(): this { return this.op(0x40, 0x00); }

  // constants
  i32Const(value: number): this { return this.op(0x41, ...sleb(value)); }
  f32Const(value: number): this { return this.op(0x43, ...f32Bytes(value)); }

  // i32 comparisons and arithmetic
  i32Eqz(): this { return this.op(0x45); }
  i32Eq(): this { return this.op(0x46); }
  i32Ne(): this { return this.op(0x47); }
  i32LtS(): this { return this.op(0x48); }
  i32LtU(): this { return this.op(0x49); }
  i32GtS(): this { return this.op(0x4a); }
  i32GtU(): this { return this.op(0x4b); }
  i32LeS(): this { return this.op(0x4c); }
  i32LeU(): this { return this.op(0x4d); }
  i32GeS(): this { return this.op(0x4e); }
  i32GeU(): this { return this.op(0x4f); }
  i32Add(): this { return this.op(0x6a); }
  i32Sub(): this { return this.op(0x6b); }
  i32Mul(): this { return this.op(0x6c); }
  i32DivS(): this { return this.op(0x6d); }
  i32DivU(): this { return this.op(0x6e); }
  i32RemU(): this { return this.op(0x70); }
  i32And(): this { return this.op(0x71); }
  i32Or(): this { return this.op(0x72); }
  i32Shl(): this { return this.op(0x74); }
  i32ShrS(): this { return this.op(0x75); }
  i32ShrU(): this { return this.op(0x76); }

  // f32 comparisons and arithmetic
  f32Eq(): this { return this.op(0x5b); }
  f32Ne(): this { return this.op(0x5c); }
  f32Lt(): this { return this.op(0x5d); }
  f32Gt(): this { return this.op(0x5e); }
  f32Le(): this { return this.op(0x5f); }
  f32Ge(): this { return this.op(0x60); }
  f32Abs(): this { return this.op(0x8b); }
  f32Neg(): this { return this.op(0x8c); }
  f32Sqrt(): this { return this.op(0x91); }
  f32Add(): this { return this.op(0x92); }
  f32Sub(): this { return this.op(0x93); }
  f32Mul(): this { return this.op(0x94); }
  f32Div(): this { return this.op(0x95); }
  f32Min(): this { return this.op(0x96); }
  /** f32.convert_i32_u: an unsigned i32 to the nearest float32. */
  f32ConvertI32U(): this { return this.op(0xb3); }
  f32Max(): this { return this.op(0x97); }

  // SIMD memory
  v128Load(offset = 0): this { return this.simd(0x00, ...this.memarg(ALIGN_128, offset)); }
  v128Load32Splat(offset = 0): this { return this.simd(0x09, ...this.memarg(ALIGN_32, offset)); }
  v128Load64Splat(offset = 0): this { return this.simd(0x0a, ...this.memarg(ALIGN_64, offset)); }
  v128Store(offset = 0): this { return this.simd(0x0b, ...this.memarg(ALIGN_128, offset)); }
  v128Load32Zero(offset = 0): this { return this.simd(0x5c, ...this.memarg(ALIGN_32, offset)); }
  v128Load64Zero(offset = 0): this { return this.simd(0x5d, ...this.memarg(ALIGN_64, offset)); }
  v128Load32Lane(lane: number, offset = 0): this { return this.simd(0x56, ...this.memarg(ALIGN_32, offset), laneIndex(lane, 4)); }
  v128Load64Lane(lane: number, offset = 0): this { return this.simd(0x57, ...this.memarg(ALIGN_64, offset), laneIndex(lane, 2)); }
  v128Store32Lane(lane: number, offset = 0): this { return this.simd(0x5a, ...this.memarg(ALIGN_32, offset), laneIndex(lane, 4)); }
  v128Store64Lane(lane: number, offset = 0): this { return this.simd(0x5b, ...this.memarg(ALIGN_64, offset), laneIndex(lane, 2)); }

  // SIMD constants, lanes, shuffles
  v128Const(bytes: readonly number[]): this {
    if (bytes.length !== 16) throw new RangeError(`v128Const: expected 16 bytes, got ${bytes.length}`);
    return this.simd(0x0c, ...bytes.map((b) => b & 0xff));
  }
  f32x4Const(a: number, b: number, c: number, d: number): this {
    return this.v128Const([...f32Bytes(a), ...f32Bytes(b), ...f32Bytes(c), ...f32Bytes(d)]);
  }
  /** Byte lanes 0..15 pick from the first operand, 16..31 from the second. */
  i8x16Shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31)) {
      throw new RangeError(`i8x16Shuffle: expected 16 lane indices in [0, 31], got [${lanes.join(', ')}]`);
    }
    return this.simd(0x0d, ...lanes);
  }
  /** A shuffle written with float lanes: 0..3 from the first operand, 4..7 from the second. */
  f32x4Shuffle(a: number, b: number, c: number, d: number): this {
    const lanes: number[] = [];
    for (const l of [a, b, c, d]) lanes.push(4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3);
    return this.i8x16Shuffle(lanes);
  }
  i32x4Splat(): this { return this.simd(0x11); }
  f32x4Splat(): this { return this.simd(0x13); }
  f32x4ExtractLane(lane: number): this { return this.simd(0x1f, laneIndex(lane, 4)); }
  f32x4ReplaceLane(lane: number): this { return this.simd(0x20, laneIndex(lane, 4)); }

  // SIMD bitwise
  v128Not(): this { return this.simd(0x4d); }
  v128And(): this { return this.simd(0x4e); }
  v128AndNot(): this { return this.simd(0x4f); }
  v128Or(): this { return this.simd(0x50); }
  v128Xor(): this { return this.simd(0x51); }
  v128Bitselect(): this { return this.simd(0x52); }

  // f32x4 comparisons and arithmetic
  f32x4Eq(): this { return this.simd(0x41); }
  f32x4Ne(): this { return this.simd(0x42); }
  f32x4Lt(): this { return this.simd(0x43); }
  f32x4Gt(): this { return this.simd(0x44); }
  f32x4Le(): this { return this.simd(0x45); }
  f32x4Ge(): this { return this.simd(0x46); }
  f32x4Abs(): this { return this.simd(0xe0); }
  f32x4Neg(): this { return this.simd(0xe1); }
  f32x4Sqrt(): this { return this.simd(0xe3); }
  f32x4Add(): this { return this.simd(0xe4); }
  f32x4Sub(): this { return this.simd(0xe5); }
  f32x4Mul(): this { return this.simd(0xe6); }
  f32x4Div(): this { return this.simd(0xe7); }
  /** IEEE-style min/max: NaN in either lane gives NaN (costly on x86). */
  f32x4Min(): this { return this.simd(0xe8); }
  f32x4Max(): this { return this.simd(0xe9); }
  /** Pseudo-min: `b < a ? b : a` per lane (one minps on x86). */
  f32x4Pmin(): this { return this.simd(0xea); }
  /** Pseudo-max: `a < b ? b : a` per lane; pmax(x, 0) keeps a NaN in x, pmax(0, x) drops it. */
  f32x4Pmax(): this { return this.simd(0xeb); }
  f32x4Nearest(): this { return this.simd(0x6a); }
  i32x4Shl(): this { return this.simd(0xab); }
  i32x4TruncSatF32x4S(): this { return this.simd(0xf8); }
  i32x4ShrS(): this { return this.simd(0xac); }
  i32x4Add(): this { return this.simd(0xae); }
  i32x4Sub(): this { return this.simd(0xb1); }
  i32x4Mul(): this { return this.simd(0xb5); }

  // relaxed SIMD (a module containing these fails to compile on engines without the proposal)
  /** a*b + c, fused or not depending on the machine. Stack: a b c. */
  f32x4RelaxedMadd(): this { return this.simd(0x105); }
  /** -(a*b) + c, fused or not. Stack: a b c. */
  f32x4RelaxedNmadd(): this { return this.simd(0x106); }

  /** The function body as the code section stores it: locals grouped by type, code, end. */
  encode(): number[] {
    if (this.depth !== 0) throw new Error(`FunctionBuilder: ${this.depth} unclosed block(s)`);
    const groups: number[][] = [];
    let i = 0;
    while (i < this.localTypes.length) {
      let j = i;
      while (j < this.localTypes.length && this.localTypes[j] === this.localTypes[i]) j++;
      groups.push([...uleb(j - i), this.localTypes[i]!]);
      i = j;
    }
    const body = [...vec(groups), ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

function laneIndex(lane: number, lanes: number): number {
  if (!Number.isInteger(lane) || lane < 0 || lane >= lanes) {
    throw new RangeError(`lane index: expected an integer in [0, ${lanes - 1}], got ${lane}`);
  }
  return lane;
}

export interface MemoryImport {
  module: string;
  name: string;
  /** Initial size in 64 KiB pages. */
  initial: number;
  /** Maximum size in pages; required when shared. */
  maximum?: number;
  shared: boolean;
}

interface FunctionEntry {
  name: string;
  typeIndex: number;
  builder: FunctionBuilder;
  exported: boolean;
}

/** A module: one imported memory, functions (exported by name or internal), nothing else. */
export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly typeBytes: number[][] = [];
  private readonly functions: FunctionEntry[] = [];
  private readonly names = new Set<string>();

  constructor(readonly memory: MemoryImport) {
    if (memory.shared && memory.maximum === undefined) {
      throw new RangeError('ModuleBuilder: a shared memory needs a maximum');
    }
  }

  private typeIndex(params: readonly ValType[], results: readonly ValType[]): number {
    const bytes = [0x60, ...vec(params.map((t) => [t])), ...vec(results.map((t) => [t]))];
    const key = bytes.join(',');
    let index = this.types.indexOf(key);
    if (index < 0) {
      index = this.types.length;
      this.types.push(key);
      this.typeBytes.push(bytes);
    }
    return index;
  }

  /**
   * Adds a function and returns its index (for `call`). `body` appends the instructions; the
   * final `end` is added by the encoder.
   */
  addFunction(
    name: string,
    params: readonly ValType[],
    results: readonly ValType[],
    body: (f: FunctionBuilder) => void,
    options: { exported?: boolean } = {},
  ): number {
    if (this.names.has(name)) throw new Error(`ModuleBuilder: duplicate function name ${name}`);
    this.names.add(name);
    const builder = new FunctionBuilder(params, results);
    body(builder);
    this.functions.push({ name, typeIndex: this.typeIndex(params, results), builder, exported: options.exported ?? true });
    return this.functions.length - 1;
  }

  /** Names of the exported functions, in order. */
  exportNames(): string[] {
    return this.functions.filter((f) => f.exported).map((f) => f.name);
  }

  bytes(): Uint8Array<ArrayBuffer> {
    const m = this.memory;
    const limits = m.shared
      ? [0x03, ...uleb(m.initial), ...uleb(m.maximum!)]
      : m.maximum === undefined
        ? [0x00, ...uleb(m.initial)]
        : [0x01, ...uleb(m.initial), ...uleb(m.maximum)];
    const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    out.push(...section(1, vec(this.typeBytes)));
    out.push(...section(2, vec([[...encodeName(m.module), ...encodeName(m.name), 0x02, ...limits]])));
    out.push(...section(3, vec(this.functions.map((f) => uleb(f.typeIndex)))));
    const exports = this.functions.flatMap((f, index) => (f.exported ? [[...encodeName(f.name), 0x00, ...uleb(index)]] : []));
    out.push(...section(7, vec(exports)));
    out.push(...section(10, vec(this.functions.map((f) => f.builder.encode()))));
    return new Uint8Array(out);
  }
}
