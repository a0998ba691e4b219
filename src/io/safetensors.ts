/**
 * The safetensors format (https://github.com/huggingface/safetensors):
 *
 *   [8 bytes: N, unsigned little-endian 64-bit] [N bytes: JSON header] [data]
 *
 * The header maps each tensor name to `{ dtype, shape, data_offsets: [begin, end] }` (offsets in
 * bytes, relative to the start of the data section) plus an optional `"__metadata__"` object of
 * string values. Tensors are C-order, little-endian. F32 loads as is; F16, BF16 and F64 are
 * converted to float32; I64 (PyTorch's `torch.long`, e.g. BatchNorm's `num_batches_tracked`) loads
 * as an int64 tensor (`BigInt64Array`). A PyTorch `state_dict` written by
 * `safetensors.torch.save_file` therefore loads into the matching sepconv model with `loadStateDict`.
 *
 * The header is read by a strict parser: duplicate names are an error (JSON.parse would keep the
 * last one silently), and the returned records have no prototype, so a tensor may be named
 * "__proto__" like any other.
 */
import { float16ToFloat32 } from '../bits.js';
import { describeValue, shapeSize } from '../tensor.js';
import { asTensor } from '../tensor.js';
import { asInt64Tensor, isInt64Tensor, type StateTensor, type StateTensorLike } from '../int64.js';
import { MAX_DIMENSION, readBoolean, readOptions } from '../kernels/validate.js';
import { MAX_RANK } from '../checks.js';
import { JsonSyntaxError, parseJson, type JsonValue } from './json.js';
import { wrongFormatHint } from '../sniff.js';

/** Every dtype the format defines, with its size in bytes (sub-byte F4 types are rejected by name). */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
  C64: 8,
};
const LOADABLE = ['F32', 'F16', 'BF16', 'F64', 'I64'];
/** The largest header accepted (the limit of the reference implementation, 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;
/** A header is at most an object of entries holding arrays; deeper nesting only appears in extra fields. */
const MAX_HEADER_DEPTH = 32;

export interface LoadSafetensorsOptions {
  /** Leave out tensors of a dtype sepconv does not load (U8, BOOL, I32, ...) instead of failing. */
  skipUnsupported?: boolean;
}

export interface SafetensorsContents {
  /** By name, in file order; a record without a prototype (any name, "__proto__" included, is an own key). */
  readonly tensors: Record<string, StateTensor>;
  readonly metadata: Record<string, string> | null;
  /** Names left out because of their dtype (only with `skipUnsupported`). */
  readonly skipped: string[];
}

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(`safetensors: ${message}`);
    this.name = 'SafetensorsError';
  }
}

interface HeaderEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

function toBytes(bytes: unknown, fn: string): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (typeof SharedArrayBuffer !== 'undefined' && bytes instanceof SharedArrayBuffer) return new Uint8Array(bytes);
  throw new TypeError(`${fn}: bytes must be a Uint8Array (or ArrayBuffer), got ${describeValue(bytes)}`);
}

/** A name as shown in messages: quoted, and cut short if long. */
function quote(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}

function parseEntry(name: string, raw: JsonValue): HeaderEntry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SafetensorsError(`header entry ${quote(name)} must be an object { dtype, shape, data_offsets }, got ${describeValue(raw)}`);
  }
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, JsonValue | undefined>;
  if (typeof dtype !== 'string') throw new SafetensorsError(`tensor ${quote(name)}: dtype must be a string, got ${describeValue(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && Number.isSafeInteger(d) && d >= 0 && d <= MAX_DIMENSION)) {
    throw new SafetensorsError(`tensor ${quote(name)}: shape must be an array of integers from 0 to ${MAX_DIMENSION}, got ${describeValue(shape)}`);
  }
  if (shape.length > MAX_RANK) throw new SafetensorsError(`tensor ${quote(name)}: shape has ${shape.length} dimensions, more than sepconv's limit of ${MAX_RANK}`);
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
  ) {
    throw new SafetensorsError(`tensor ${quote(name)}: data_offsets must be [begin, end] (non-negative integers), got ${describeValue(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw new SafetensorsError(`tensor ${quote(name)}: data_offsets [${begin}, ${end}] end before they begin`);
  return { name, dtype, shape: shape as number[], begin, end };
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function decodeInt64(entry: HeaderEntry, bytes: Uint8Array, dataStart: number): BigInt64Array {
  const count = shapeSize(entry.shape);
  const out = new BigInt64Array(count);
  if (littleEndianHost) {
    new Uint8Array(out.buffer).set(bytes.subarray(dataStart + entry.begin, dataStart + entry.end));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart + entry.begin, entry.end - entry.begin);
    for (let i = 0; i < count; i++) out[i] = view.getBigInt64(8 * i, true);
  }
  return out;
}

function decode(entry: HeaderEntry, bytes: Uint8Array, dataStart: number): Float32Array {
  const count = shapeSize(entry.shape);
  const start = bytes.byteOffset + dataStart + entry.begin;
  const view = new DataView(bytes.buffer, start, entry.end - entry.begin);
  const out = new Float32Array(count);
  switch (entry.dtype) {
    case 'F32':
      if (littleEndianHost) {
        // One bulk copy; the source offset need not be 4-byte aligned.
        new Uint8Array(out.buffer).set(bytes.subarray(dataStart + entry.begin, dataStart + entry.end));
      } else {
        for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      }
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = float16ToFloat32(view.getUint16(2 * i, true));
      break;
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      break;
    }
  }
  return out;
}

/** Parses a safetensors file; see `loadSafetensors`. Also returns `__metadata__`. */
export function parseSafetensors(input: Uint8Array | ArrayBuffer, options: LoadSafetensorsOptions = {}, fn = 'parseSafetensors'): SafetensorsContents {
  const bytes = toBytes(input, fn);
  // Own properties only: an inherited or polluted `skipUnsupported` is no option.
  const skipUnsupported = readBoolean(readOptions<LoadSafetensorsOptions>(options, ['skipUnsupported'], fn).skipUnsupported, `${fn}: skipUnsupported`, false);
  const hint = wrongFormatHint(bytes, 'safetensors');
  if (hint !== null) throw new SafetensorsError(`not a safetensors file: ${hint}`);
  if (bytes.length < 8) {
    throw new SafetensorsError(`truncated file: ${bytes.length} bytes, shorter than the 8-byte header length prefix`);
  }
  const lengths = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const headerLength = lengths.getUint32(0, true) + lengths.getUint32(4, true) * 4294967296;
  if (headerLength > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`the header length prefix says ${headerLength} bytes, more than the limit of ${MAX_HEADER_BYTES}`);
  }
  if (headerLength > bytes.length - 8) {
    throw new SafetensorsError(`truncated file: the header length prefix says ${headerLength} bytes, but only ${bytes.length - 8} follow it`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw new SafetensorsError(`the ${headerLength}-byte header is not valid UTF-8`);
  }
  let header: JsonValue;
  try {
    header = parseJson(text, MAX_HEADER_DEPTH);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw new SafetensorsError(`the ${headerLength}-byte header is not valid JSON: ${error.message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError(`the header must be a JSON object, got ${describeValue(header)}`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  let metadata: Record<string, string> | null = null;
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
        throw new SafetensorsError(`__metadata__ must be an object of string values, got ${describeValue(raw)}`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    entries.push(parseEntry(name, raw));
  }
  for (const e of entries) {
    const size = DTYPE_BYTES[e.dtype];
    if (size === undefined) {
      throw new SafetensorsError(`tensor ${quote(e.name)} has an unknown dtype ${quote(e.dtype)}`);
    }
    const expected = shapeSize(e.shape) * size;
    if (e.end - e.begin !== expected) {
      throw new SafetensorsError(
        `tensor ${quote(e.name)}: data_offsets [${e.begin}, ${e.end}] span ${e.end - e.begin} bytes, but ${e.dtype} shape ${describeValue(e.shape)} needs ${expected}`,
      );
    }
    if (e.end > dataLength) {
      throw new SafetensorsError(
        `tensor ${quote(e.name)}: data_offsets [${e.begin}, ${e.end}] run past the end of the data section (${dataLength} bytes; the file may be truncated)`,
      );
    }
  }
  // The format requires the tensors to tile the data section exactly: no overlap, no gap.
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    if (e.begin < cursor) {
      const other = sorted[i - 1]!;
      throw new SafetensorsError(
        `tensors ${quote(other.name)} [${other.begin}, ${other.end}] and ${quote(e.name)} [${e.begin}, ${e.end}] have overlapping data_offsets`,
      );
    }
    if (e.begin > cursor) {
      throw new SafetensorsError(`data bytes [${cursor}, ${e.begin}) belong to no tensor (before ${quote(e.name)}); data_offsets must be contiguous`);
    }
    cursor = e.end;
  }
  if (cursor !== dataLength) {
    throw new SafetensorsError(`the data section has ${dataLength} bytes but the tensors cover ${cursor}; the file is truncated or has trailing bytes`);
  }
  const tensors = Object.create(null) as Record<string, StateTensor>;
  const skipped: string[] = [];
  for (const e of entries) {
    if (!LOADABLE.includes(e.dtype)) {
      if (skipUnsupported) {
        skipped.push(e.name);
        continue;
      }
      throw new SafetensorsError(
        `tensor ${quote(e.name)} has dtype ${e.dtype}; sepconv loads F32, F16, BF16, F64 (as float32) and I64. Pass { skipUnsupported: true } to leave such tensors out`,
      );
    }
    tensors[e.name] = {
      shape: e.shape.slice(),
      data: e.dtype === 'I64' ? decodeInt64(e, bytes, dataStart) : decode(e, bytes, dataStart),
    } as StateTensor;
  }
  return { tensors, metadata, skipped };
}

/**
 * Reads a safetensors file into tensors by name (copies: the result does not alias `bytes`):
 * float32 tensors, and int64 ones (`BigInt64Array` data) for I64. Throws a SafetensorsError naming
 * the problem for a truncated file, a bad header (duplicate names included), overlapping or
 * out-of-range offsets, or a dtype other than F32/F16/BF16/F64/I64.
 */
export function loadSafetensors(bytes: Uint8Array | ArrayBuffer, options: LoadSafetensorsOptions = {}): Record<string, StateTensor> {
  return parseSafetensors(bytes, options, 'loadSafetensors').tensors;
}

/**
 * Writes tensors in the safetensors format: float32 ones as F32, int64 ones (`BigInt64Array`
 * data) as I64. Names are sorted and may be any string but `"__metadata__"` ("__proto__"
 * included: the dictionary's own keys are used); the header is padded with spaces to a multiple of
 * 8 bytes so the data is aligned. `metadata` becomes `__metadata__`.
 */
export function saveSafetensors(dict: Record<string, StateTensorLike>, metadata?: Record<string, string>): Uint8Array {
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
    throw new TypeError(`saveSafetensors: dict must be an object mapping names to tensors, got ${describeValue(dict)}`);
  }
  // No prototype, so that a tensor named "__proto__" is written as an ordinary key.
  const header = Object.create(null) as Record<string, unknown>;
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata) || !Object.values(metadata).every((v) => typeof v === 'string')) {
      throw new TypeError(`saveSafetensors: metadata must be an object of string values, got ${describeValue(metadata)}`);
    }
    const copy = Object.create(null) as Record<string, string>;
    for (const key of Object.keys(metadata)) copy[key] = metadata[key]!;
    header.__metadata__ = copy;
  }
  const names = Object.keys(dict).sort();
  const tensors: StateTensor[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new RangeError('saveSafetensors: "__metadata__" is reserved and cannot name a tensor');
    const value = dict[name];
    const t: StateTensor = isInt64Tensor(value) ? asInt64Tensor(value, name) : asTensor(value, name);
    tensors.push(t);
    header[name] = { dtype: isInt64Tensor(t) ? 'I64' : 'F32', shape: t.shape.slice(), data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(json);
  const padding = (8 - (headerBytes.length % 8)) % 8;
  if (padding > 0) {
    json += ' '.repeat(padding);
    headerBytes = encoder.encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerBytes.length, true);
  view.setUint32(4, 0, true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const t of tensors) {
    if (littleEndianHost) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), position);
    } else if (isInt64Tensor(t)) {
      for (let i = 0; i < t.data.length; i++) view.setBigInt64(position + 8 * i, t.data[i]!, true);
    } else {
      for (let i = 0; i < t.data.length; i++) view.setFloat32(position + 4 * i, t.data[i]!, true);
    }
    position += t.data.byteLength;
  }
  return out;
}
