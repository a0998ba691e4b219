/**
 * PyTorch checkpoints (`torch.save` files) in and out, without Python and without running anything
 * from the file.
 *
 * Reading understands both formats `torch.save` has written:
 * - the zip format (PyTorch ≥ 1.6): `<name>/data.pkl` (a pickle whose tensors refer to storages by
 *   persistent id), `<name>/data/<key>` (each storage's raw bytes), `<name>/byteorder`, `<name>/version`;
 * - the legacy format (`_use_new_zipfile_serialization=False`, and every file before 1.6): five
 *   pickles in a row (magic number, protocol version, system info, the object, the storage keys)
 *   followed by each storage as an 8-byte element count and its raw bytes.
 *
 * The pickle is read by the restricted unpickler of `pickle.ts` with an allow-list of the globals a
 * checkpoint needs (tensor rebuilding, storage types, `OrderedDict`, `torch.Size`, dtypes, numpy
 * scalars and arrays for metrics). Any other global is refused by name at the opcode that names it — before any
 * storage is read — and a pickled `nn.Module` (`torch.save(model)`) is refused with the advice to
 * save `model.state_dict()`. Tensors are materialised only after the whole pickle has been read:
 * offsets, shapes and strides are checked against their storage, and the total output is bounded by
 * a multiple of the file's size, so a small hostile file cannot ask for gigabytes.
 */
import { float16ToFloat32 } from '../bits.js';
import { describeValue, MAX_DIMENSION, MAX_RANK, ownElement, readBoolean, readOptions } from '../checks.js';
import { asInt64Tensor, isInt64Tensor, type Int64Tensor, type StateTensorLike } from '../int64.js';
import { asTensor, checkShape, shapeSize, type Tensor } from '../tensor.js';
import { isDict, newDict, PickleError, setDictItem, toIntValue, unpickle, type PickleCallable, type UnpickleHooks } from './pickle.js';
import { PickleWriter } from './pickle-writer.js';
import { sniffFormat, wrongFormatHint } from '../sniff.js';
import { readZip, writeZip, ZipError, type ZipArchive } from './zip.js';

export type TorchDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export type TorchTensorData = Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

const DTYPE_BYTES: Record<TorchDtype, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** The array type each dtype's data has. */
const ARRAY_FOR: Record<TorchDtype, typeof Float32Array | typeof BigInt64Array | typeof Int32Array | typeof Int16Array | typeof Int8Array | typeof Uint8Array> = {
  float32: Float32Array, float64: Float32Array, float16: Float32Array, bfloat16: Float32Array,
  int64: BigInt64Array, int32: Int32Array, int16: Int16Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
};

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * A tensor read from a checkpoint: contiguous (C order) data, and the dtype it had in the file.
 * float32, float64, float16 and bfloat16 load as a Float32Array (as `loadSafetensors` does), int64
 * as a BigInt64Array, int32/int16/int8/uint8 as their typed arrays and bool as a Uint8Array of 0/1.
 */
export class TorchTensor {
  readonly shape: number[];
  readonly data: TorchTensorData;
  readonly dtype: TorchDtype;

  /** Checks that `data` is the array type of `dtype` and has one element per entry of `shape` (not copied). */
  constructor(shape: readonly number[], data: TorchTensorData, dtype: TorchDtype) {
    if (typeof dtype !== 'string' || !hasOwn(DTYPE_BYTES, dtype)) {
      throw new TypeError(`TorchTensor: dtype must be one of ${Object.keys(DTYPE_BYTES).join(', ')}, got ${describeValue(dtype)}`);
    }
    checkShape(shape, 'TorchTensor', 0, 'TorchTensor: shape');
    const array = ARRAY_FOR[dtype];
    if (!(data instanceof array)) throw new TypeError(`TorchTensor: the data of ${dtype} tensors must be a ${array.name}, got ${describeValue(data)}`);
    const size = shapeSize(shape);
    if (data.length !== size) throw new RangeError(`TorchTensor: data.length must equal the product of shape ${describeValue(shape)} = ${size}, got ${data.length}`);
    this.shape = shape.slice();
    this.data = data;
    this.dtype = dtype;
  }
}

/** A tensor of a loaded state dict: a float32 or int64 tensor that `loadStateDict` takes as it is. */
export type TorchStateTensor = (Tensor | Int64Tensor) & { readonly dtype: TorchDtype };

/** What a checkpoint holds: dicts are objects without a prototype, lists and tuples arrays, None null. */
export type TorchValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | TorchTensor
  | TorchValue[]
  | { [key: string]: TorchValue };

const PREFIX = 'torch checkpoint: ';

export class TorchCheckpointError extends Error {
  constructor(message: string) {
    super(`${PREFIX}${message}`);
    this.name = 'TorchCheckpointError';
  }
}

export interface ReadTorchCheckpointOptions {
  /**
   * The most bytes of tensor data to materialise. By default 8 times the file's size plus 64 MiB:
   * enough for float16 files (which double) and tensors sharing a storage, not for a small file
   * whose thousand views of one storage would each become a copy.
   */
  maxTensorBytes?: number;
}

export interface LoadTorchCheckpointOptions extends ReadTorchCheckpointOptions, TorchStateDictOptions {}

export interface TorchStateDictOptions {
  /** Where the state dict is inside the checkpoint: a key (`'model'`, `'state_dict'`) or a path of keys. */
  entry?: string | readonly string[];
  /** Removed from the start of every key that has it (`'module.'` for `nn.DataParallel` checkpoints). */
  stripPrefix?: string;
  /** Leave out entries that are not float or int64 tensors (int32, uint8, bool tensors, numbers) instead of failing. */
  skipUnsupported?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Dtypes and storages


/** `torch.<X>Storage` → dtype (the storage types persistent ids name). */
const STORAGE_TYPES: Record<string, TorchDtype> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8', BoolStorage: 'bool',
};

/** `torch.<name>` dtype objects (they appear as arguments of `_rebuild_tensor_v3`). */
const TORCH_DTYPES: Record<string, TorchDtype> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16',
  bfloat16: 'bfloat16', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16',
  int8: 'int8', uint8: 'uint8', bool: 'bool',
};


class StorageType {
  constructor(readonly name: string, readonly dtype: TorchDtype) {}
}

class DtypeObject {
  constructor(readonly dtype: TorchDtype) {}
}

/** A storage a persistent id names; its bytes are found only when tensors are materialised. */
class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: TorchDtype,
    readonly numel: number,
    /** Legacy storage views: the element offset into the root storage `key`. */
    readonly viewOffset: number,
  ) {}
}

/** A tensor whose arguments are checked but whose data is not read yet. */
class PendingTensor {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
    /** The bytes, when they are in the pickle itself (a numpy array) rather than in a storage record. */
    readonly inline: StorageBytes | null = null,
  ) {}
}

/**
 * A numpy array between `_reconstruct` (which makes it empty) and BUILD (which gives it shape,
 * dtype and bytes); memo entries may hold it before BUILD, so BUILD fills it in place.
 */
class NumpyArray {
  tensor: PendingTensor | null = null;
}

/** numpy type codes → dtype (arrays of other types are refused by name). */
const NUMPY_DTYPES: Record<string, TorchDtype> = {
  f4: 'float32', f8: 'float64', f2: 'float16', i8: 'int64', i4: 'int32', i2: 'int16', i1: 'int8', u1: 'uint8', b1: 'bool',
};

class ClassMarker {
  constructor(readonly qualifiedName: string) {}
}

/** `numpy.dtype(code, align, copy)` and the byte order BUILD gives it. */
class NumpyDtype {
  littleEndian = true;
  constructor(readonly code: string) {}
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** `value` if it is an integer in [min, max]; `what` names it in the error (a function: built only then). */
function integerArg(value: unknown, what: () => string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TorchCheckpointError(`${what()} must be an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

function integerList(value: unknown, what: string, min: number): number[] {
  if (!Array.isArray(value)) throw new TorchCheckpointError(`${what} must be a tuple of integers, got ${describeValue(value)}`);
  if (value.length > MAX_RANK) throw new TorchCheckpointError(`${what} has ${value.length} dimensions, more than ${MAX_RANK}`);
  const out: number[] = [];
  for (let i = 0; i < value.length; i++) out.push(integerArg(value[i], () => `${what}[${i}]`, min, MAX_DIMENSION));
  return out;
}

function rebuildTensor(fn: string, args: unknown[], dtypeOverride?: unknown): PendingTensor {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw new TorchCheckpointError(`${fn}: the storage argument must be a storage, got ${describeValue(storage)}`);
  const shape = integerList(size, `${fn}: size`, 0);
  const strides = integerList(stride, `${fn}: stride`, 0);
  if (strides.length !== shape.length) {
    throw new TorchCheckpointError(`${fn}: size ${describeValue(shape)} and stride ${describeValue(strides)} have different lengths`);
  }
  if (dtypeOverride !== undefined && !(dtypeOverride instanceof DtypeObject && dtypeOverride.dtype === storage.dtype)) {
    throw new TorchCheckpointError(`${fn}: dtype ${describeValue(dtypeOverride)} does not match its ${storage.dtype} storage`);
  }
  return new PendingTensor(storage, integerArg(offset, () => `${fn}: storage_offset`), shape, strides);
}

function callable(qualifiedName: string, call: (args: unknown[]) => unknown): PickleCallable {
  return { qualifiedName, call };
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** numpy scalar bytes → number, bigint or boolean. */
function numpyScalar(dtype: unknown, data: unknown): unknown {
  if (!(dtype instanceof NumpyDtype)) throw new TorchCheckpointError(`numpy scalar: expected a numpy dtype, got ${describeValue(dtype)}`);
  if (!(data instanceof Uint8Array)) throw new TorchCheckpointError(`numpy scalar: expected its bytes, got ${describeValue(data)}`);
  const kinds: Record<string, [number, (v: DataView, le: boolean) => unknown]> = {
    f8: [8, (v, le) => v.getFloat64(0, le)], f4: [4, (v, le) => v.getFloat32(0, le)], f2: [2, (v, le) => float16ToFloat32(v.getUint16(0, le))],
    i8: [8, (v, le) => toIntValue(v.getBigInt64(0, le))], i4: [4, (v, le) => v.getInt32(0, le)], i2: [2, (v, le) => v.getInt16(0, le)], i1: [1, (v) => v.getInt8(0)],
    u8: [8, (v, le) => toIntValue(v.getBigUint64(0, le))], u4: [4, (v, le) => v.getUint32(0, le)], u2: [2, (v, le) => v.getUint16(0, le)], u1: [1, (v) => v.getUint8(0)],
    b1: [1, (v) => v.getUint8(0) !== 0],
  };
  const kind = hasOwn(kinds, dtype.code) ? kinds[dtype.code]! : undefined;
  if (kind === undefined) throw new TorchCheckpointError(`numpy scalar of dtype ${quote(dtype.code)} is not supported (only bool, int, uint and float)`);
  if (data.length !== kind[0]) throw new TorchCheckpointError(`numpy scalar of dtype ${dtype.code} must have ${kind[0]} bytes, got ${data.length}`);
  return kind[1](new DataView(data.buffer, data.byteOffset, data.length), dtype.littleEndian);
}

/** BUILD state of a numpy array: (version, shape, dtype, is_fortran, raw bytes) → a tensor over those bytes. */
function numpyArray(state: unknown): PendingTensor {
  if (!Array.isArray(state) || state.length !== 5) throw new TorchCheckpointError(`numpy array: unexpected state ${describeValue(state)}`);
  const [, shapeValue, dtype, fortran, raw] = state as unknown[];
  if (!(dtype instanceof NumpyDtype)) throw new TorchCheckpointError(`numpy array: expected a numpy dtype, got ${describeValue(dtype)}`);
  const kind = hasOwn(NUMPY_DTYPES, dtype.code) ? NUMPY_DTYPES[dtype.code]! : undefined;
  if (kind === undefined) throw new TorchCheckpointError(`numpy arrays of dtype ${quote(dtype.code)} are not supported (only bool, int8-64, uint8 and float16-64)`);
  if (!(raw instanceof Uint8Array)) throw new TorchCheckpointError(`numpy array: expected its bytes, got ${describeValue(raw)}`);
  const shape = integerList(shapeValue, 'numpy array shape', 0);
  let numel = 1;
  for (const d of shape) numel *= d;
  if (numel * DTYPE_BYTES[kind] !== raw.length) {
    throw new TorchCheckpointError(`numpy array of shape ${describeValue(shape)} and dtype ${dtype.code} needs ${numel * DTYPE_BYTES[kind]} bytes, got ${raw.length}`);
  }
  // C order, or Fortran order (first index fastest) read through strides.
  const stride = new Array<number>(shape.length);
  let step = 1;
  if (fortran === true) {
    for (let i = 0; i < shape.length; i++) {
      stride[i] = step;
      step *= shape[i]!;
    }
  } else {
    for (let i = shape.length - 1; i >= 0; i--) {
      stride[i] = step;
      step *= shape[i]!;
    }
  }
  return new PendingTensor(new StorageRef('(numpy array)', kind, numel, 0), 0, shape, stride, { bytes: raw, littleEndian: dtype.littleEndian });
}

/**
 * Calls that copy a list or a string (OrderedDict(pairs), set(list), _codecs.encode(text)) cost
 * its length: a pickle could pass one memoized long list again and again, so their total work is bounded by a multiple of the input.
 */
interface WorkBudget {
  left: number;
}

function spend(budget: WorkBudget, items: number, what: string): void {
  budget.left -= items;
  if (budget.left < 0) throw new TorchCheckpointError(`${what}: the pickle copies more items than a file of its size can hold (a hostile or corrupt pickle)`);
}

/** The globals a checkpoint may name, by `module.name`, each written in TypeScript. */
function allowedGlobal(module: string, name: string, budget: WorkBudget): unknown {
  const qualified = `${module}.${name}`;
  const dtype = (module === 'torch' && hasOwn(STORAGE_TYPES, name)) ? STORAGE_TYPES[name] : undefined;
  if (dtype !== undefined) return new StorageType(qualified, dtype);
  if (module === 'torch' && hasOwn(TORCH_DTYPES, name)) return new DtypeObject(TORCH_DTYPES[name]!);
  switch (qualified) {
    case 'collections.OrderedDict':
    case 'builtins.dict':
      return callable(qualified, (args) => {
        const dict = newDict();
        if (args.length === 0) return dict;
        // OrderedDict([(key, value), ...]), as protocol 0/1 pickles spell it.
        if (args.length !== 1 || !Array.isArray(args[0])) throw new TorchCheckpointError(`${qualified}: expected no arguments or a list of pairs, got ${describeValue(args)}`);
        spend(budget, (args[0] as unknown[]).length, qualified);
        for (const pair of args[0] as unknown[]) {
          if (!Array.isArray(pair) || pair.length !== 2) throw new TorchCheckpointError(`${qualified}: expected (key, value) pairs, got ${describeValue(pair)}`);
          setDictItem(dict, pair[0], pair[1]);
        }
        return dict;
      });
    case 'builtins.set':
    case 'builtins.frozenset':
    case 'builtins.list':
    case 'builtins.tuple':
      return callable(qualified, (args) => {
        if (args.length === 0) return [];
        if (args.length !== 1 || !Array.isArray(args[0])) throw new TorchCheckpointError(`${qualified}: expected a list, got ${describeValue(args)}`);
        spend(budget, (args[0] as unknown[]).length, qualified);
        return (args[0] as unknown[]).slice();
      });
    case 'builtins.bytes':
    case 'builtins.bytearray':
      // Protocol 2 spells b'' as bytes() (non-empty bytes go through _codecs.encode), bytearray(x) as such.
      return callable(qualified, (args) => {
        if (args.length === 0) return new Uint8Array(0);
        if (args.length !== 1 || !(args[0] instanceof Uint8Array)) throw new TorchCheckpointError(`${qualified}: expected no arguments or bytes, got ${describeValue(args)}`);
        spend(budget, args[0].length, qualified);
        return args[0].slice();
      });
    case 'torch.Size':
      return callable(qualified, (args) => {
        if (args.length === 0) return [];
        return integerList(args[0], 'torch.Size', 0);
      });
    case 'torch.device':
      return callable(qualified, (args) => {
        if (typeof args[0] !== 'string') throw new TorchCheckpointError(`torch.device: expected a string, got ${describeValue(args[0])}`);
        return args.length > 1 && typeof args[1] === 'number' ? `${args[0]}:${args[1]}` : args[0];
      });
    case 'torch._utils._rebuild_tensor':
      return callable(qualified, (args) => rebuildTensor(name, args));
    case 'torch._utils._rebuild_tensor_v2':
      return callable(qualified, (args) => rebuildTensor(name, args));
    case 'torch._utils._rebuild_tensor_v3':
      return callable(qualified, (args) => rebuildTensor(name, args, args[6]));
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      return callable(qualified, (args) => {
        if (!(args[0] instanceof PendingTensor)) throw new TorchCheckpointError(`${name}: expected a tensor, got ${describeValue(args[0])}`);
        return args[0];
      });
    case 'torch._tensor._rebuild_from_type_v2':
      // (func, type, args, state): a tensor subclass; only plain tensors and parameters are read.
      return callable(qualified, (args) => {
        const [func, type, funcArgs] = args;
        if (!(type instanceof ClassMarker)) throw new TorchCheckpointError(`${name}: tensor type ${describeValue(type)} is not supported`);
        if (typeof func !== 'object' || func === null || typeof (func as PickleCallable).call !== 'function' || !Array.isArray(funcArgs)) {
          throw new TorchCheckpointError(`${name}: expected a rebuild function and its arguments, got ${describeValue(args)}`);
        }
        if (funcArgs.length > 16) throw new TorchCheckpointError(`${name}: ${funcArgs.length} arguments, more than any rebuild function takes`);
        return (func as PickleCallable).call(funcArgs.slice());
      });
    case 'torch.Tensor':
    case 'torch.nn.parameter.Parameter':
      return new ClassMarker(qualified);
    case '_codecs.encode':
      // How protocol 2 spells bytes: encode(text, 'latin1').
      return callable(qualified, (args) => {
        const [text, encoding] = args;
        if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1' && encoding !== 'utf-8' && encoding !== 'utf8')) {
          throw new TorchCheckpointError(`_codecs.encode: expected (str, 'latin1'), got ${describeValue(args)}`);
        }
        spend(budget, text.length, qualified);
        if (encoding === 'utf-8' || encoding === 'utf8') return new TextEncoder().encode(text);
        const out = new Uint8Array(text.length);
        for (let i = 0; i < text.length; i++) {
          const c = text.charCodeAt(i);
          if (c > 255) throw new TorchCheckpointError(`_codecs.encode: character ${c} is not latin-1`);
          out[i] = c;
        }
        return out;
      });
    case 'numpy.dtype':
      return callable(qualified, (args) => {
        if (typeof args[0] !== 'string') throw new TorchCheckpointError(`numpy.dtype: expected a type code, got ${describeValue(args[0])}`);
        return new NumpyDtype(args[0]);
      });
    case 'numpy.core.multiarray.scalar':
    case 'numpy._core.multiarray.scalar':
      return callable(qualified, (args) => numpyScalar(args[0], args[1]));
    case 'numpy.core.multiarray._reconstruct':
    case 'numpy._core.multiarray._reconstruct':
      // _reconstruct(numpy.ndarray, (0,), b'b'): an empty array that BUILD fills.
      return callable(qualified, (args) => {
        if (!(args[0] instanceof ClassMarker) || args[0].qualifiedName !== 'numpy.ndarray') {
          throw new TorchCheckpointError(`${qualified}: only numpy.ndarray is read, got ${describeValue(args[0])}`);
        }
        return new NumpyArray();
      });
    case 'numpy.ndarray':
      return new ClassMarker(qualified);
    default:
      return refuse(module, name);
  }
}

function refuse(module: string, name: string): never {
  const qualified = `${module}.${name}`;
  if (module.startsWith('__torch__')) {
    throw new TorchCheckpointError(
      `the file names the TorchScript class ${qualified}: it is a TorchScript archive (torch.jit.save), not a torch.save file. ` +
        'In Python, save the weights instead: torch.save(model.state_dict(), path)',
    );
  }
  if (module.startsWith('torch.nn.') || module === '__main__' || module.startsWith('torchvision.models') || module.startsWith('timm.')) {
    throw new TorchCheckpointError(
      `the file holds a pickled model (it names the class ${qualified}), as torch.save(model) writes; sepconv never runs code from a file. ` +
        'In Python, save the weights instead: torch.save(model.state_dict(), path), then load them with loadTorchCheckpoint',
    );
  }
  throw new TorchCheckpointError(
    `refused global ${qualified}: a checkpoint may name only tensors, storages, dtypes, OrderedDict, torch.Size and numpy scalars, and nothing in it is ever executed` +
      (/^[A-Z]/.test(name) ? ` (if ${name} is a class of yours, save plain data instead, e.g. model.state_dict() and numbers)` : ''),
  );
}

function build(object: unknown, state: unknown): unknown {
  // OrderedDict's attributes (a state dict's `_metadata`) are not items: they are dropped.
  if (isDict(object)) return object;
  if (object instanceof NumpyDtype) {
    if (!Array.isArray(state) || typeof state[1] !== 'string') throw new TorchCheckpointError(`numpy.dtype: unexpected state ${describeValue(state)}`);
    object.littleEndian = state[1] !== '>';
    return object;
  }
  if (object instanceof PendingTensor) return object;
  if (object instanceof NumpyArray) {
    object.tensor = numpyArray(state);
    return object;
  }
  throw new TorchCheckpointError(`cannot set the state (BUILD) of ${describeValue(object)}`);
}

function storageFromPid(pid: unknown, legacy: boolean, storages: Map<string, StorageRef[]>): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
    throw new TorchCheckpointError(`persistent id ${describeValue(pid)} is not a storage ('storage', type, key, location, size)`);
  }
  const [, type, key, , numelValue] = pid as unknown[];
  if (!(type instanceof StorageType)) throw new TorchCheckpointError(`persistent id: ${describeValue(type)} is not a storage type`);
  if (typeof key !== 'string') throw new TorchCheckpointError(`persistent id: storage key must be a string, got ${describeValue(key)}`);
  const numel = integerArg(numelValue, () => `storage ${quote(key)}: size`);
  const list = storages.get(key) ?? [];
  list.push(new StorageRef(key, type.dtype, numel, 0));
  storages.set(key, list);
  const view = legacy ? pid[5] : null;
  if (view === null || view === undefined) return list[list.length - 1]!;
  // Pre-0.4 storage views: (view key, offset, size), a slice of the root storage `key`.
  if (!Array.isArray(view) || view.length !== 3 || typeof view[0] !== 'string') {
    throw new TorchCheckpointError(`storage ${quote(key)}: its view metadata ${describeValue(view)} is not (key, offset, size)`);
  }
  const viewOffset = integerArg(view[1], () => `storage view ${quote(view[0] as string)}: offset`);
  const viewSize = integerArg(view[2], () => `storage view ${quote(view[0] as string)}: size`);
  if (viewOffset + viewSize > numel) {
    throw new TorchCheckpointError(`storage view ${quote(view[0])} [${viewOffset}, ${viewOffset + viewSize}) lies outside its ${numel}-element root storage ${quote(key)}`);
  }
  return new StorageRef(key, type.dtype, viewSize, viewOffset);
}

function hooksFor(legacy: boolean, storages: Map<string, StorageRef[]>, inputBytes: number): UnpickleHooks {
  const budget: WorkBudget = { left: 4 * inputBytes + 1_000_000 };
  return {
    resolveGlobal: (module, name) => allowedGlobal(module, name, budget),
    persistentLoad: (pid) => storageFromPid(pid, legacy, storages),
    build,
  };
}

// ---------------------------------------------------------------------------------------------
// Materialising tensors

interface StorageBytes {
  readonly bytes: Uint8Array;
  readonly littleEndian: boolean;
}

function allocate(dtype: TorchDtype, n: number): TorchTensorData {
  switch (dtype) {
    case 'int64': return new BigInt64Array(n);
    case 'int32': return new Int32Array(n);
    case 'int16': return new Int16Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8':
    case 'bool': return new Uint8Array(n);
    default: return new Float32Array(n);
  }
}

/** Reads element `index` of a storage into `out[at]`. */
type ElementReader = (index: number, at: number) => void;

function elementReader(dtype: TorchDtype, source: StorageBytes, out: TorchTensorData): ElementReader {
  const view = new DataView(source.bytes.buffer, source.bytes.byteOffset, source.bytes.byteLength);
  const le = source.littleEndian;
  const f = out as Float32Array;
  switch (dtype) {
    case 'float32': return (i, at) => { f[at] = view.getFloat32(4 * i, le); };
    case 'float64': return (i, at) => { f[at] = view.getFloat64(8 * i, le); };
    case 'float16': return (i, at) => { f[at] = float16ToFloat32(view.getUint16(2 * i, le)); };
    case 'bfloat16': {
      const bits = new Uint32Array(f.buffer, f.byteOffset, f.length);
      return (i, at) => { bits[at] = view.getUint16(2 * i, le) << 16; };
    }
    case 'int64': return (i, at) => { (out as BigInt64Array)[at] = view.getBigInt64(8 * i, le); };
    case 'int32': return (i, at) => { (out as Int32Array)[at] = view.getInt32(4 * i, le); };
    case 'int16': return (i, at) => { (out as Int16Array)[at] = view.getInt16(2 * i, le); };
    case 'int8': return (i, at) => { (out as Int8Array)[at] = view.getInt8(i); };
    case 'uint8': return (i, at) => { (out as Uint8Array)[at] = view.getUint8(i); };
    case 'bool': return (i, at) => { (out as Uint8Array)[at] = view.getUint8(i) === 0 ? 0 : 1; };
  }
}

function materialise(t: PendingTensor, source: StorageBytes, name: string): TorchTensor {
  const { storage, shape, stride } = t;
  const offset = t.offset + storage.viewOffset;
  let numel = 1;
  for (const d of shape) numel *= d;
  // The storage's size as the file records it; the view must lie inside it.
  const available = Math.floor(source.bytes.length / DTYPE_BYTES[storage.dtype]);
  if (numel > 0) {
    let last = offset;
    for (let i = 0; i < shape.length; i++) last += (shape[i]! - 1) * stride[i]!;
    if (last >= available || last >= storage.viewOffset + storage.numel) {
      throw new TorchCheckpointError(
        `tensor ${name}: shape ${describeValue(shape)}, stride ${describeValue(stride)} and offset ${t.offset} reach element ${last} of storage ${quote(storage.key)}, which has ${Math.min(available - storage.viewOffset, storage.numel)}`,
      );
    }
  } else if (offset > available) {
    throw new TorchCheckpointError(`tensor ${name}: offset ${t.offset} lies past the end of storage ${quote(storage.key)} (${available} elements)`);
  }
  const out = allocate(storage.dtype, numel);
  if (numel === 0) return new TorchTensor(shape.slice(), out, storage.dtype);
  // Contiguous (C order) in the storage: one run.
  let contiguous = true;
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) contiguous = false;
    expected *= shape[i]!;
  }
  if (contiguous && source.littleEndian === littleEndianHost && storage.dtype !== 'bool' && DTYPE_BYTES[storage.dtype] === out.BYTES_PER_ELEMENT) {
    const size = DTYPE_BYTES[storage.dtype];
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(source.bytes.subarray(offset * size, (offset + numel) * size));
    return new TorchTensor(shape.slice(), out, storage.dtype);
  }
  const read = elementReader(storage.dtype, source, out);
  if (contiguous) {
    for (let i = 0; i < numel; i++) read(offset + i, i);
    return new TorchTensor(shape.slice(), out, storage.dtype);
  }
  // A strided view: walk the index space in C order.
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let source_i = offset;
  for (let at = 0; at < numel; at++) {
    read(source_i, at);
    for (let d = rank - 1; d >= 0; d--) {
      index[d]!++;
      source_i += stride[d]!;
      if (index[d]! < shape[d]!) break;
      source_i -= stride[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return new TorchTensor(shape.slice(), out, storage.dtype);
}

/**
 * Replaces every PendingTensor in the graph by its TorchTensor (iteratively: the graph may be deep
 * or cyclic). Tensors reached twice (one memoized tensor) become the same object.
 */
function materialiseAll(root: unknown, storageBytes: (ref: StorageRef) => StorageBytes, maxBytes: number): unknown {
  const done = new Map<PendingTensor, TorchTensor>();
  let total = 0;
  const convert = (t: PendingTensor, where: Where): TorchTensor => {
    const existing = done.get(t);
    if (existing !== undefined) return existing;
    let numel = 1;
    for (const d of t.shape) numel *= d;
    const outBytes = numel * (DTYPE_BYTES[t.storage.dtype] === 2 ? 4 : DTYPE_BYTES[t.storage.dtype]);
    total += outBytes;
    if (total > maxBytes) {
      throw new TorchCheckpointError(
        `tensor ${pathOf(where)} brings the tensor data to ${total} bytes, more than the limit of ${maxBytes} (raise it with maxTensorBytes if the file is genuine)`,
      );
    }
    const tensor = materialise(t, t.inline ?? storageBytes(t.storage), pathOf(where));
    done.set(t, tensor);
    return tensor;
  };
  const seen = new Set<object>();
  // Iterative, with paths kept as parent links and spelled out only for a message: a deep graph
  // costs neither stack nor quadratic string building. Each item is also checked to be data.
  const work: [object, Where][] = [];
  const visit = (item: unknown, where: Where): unknown => {
    if (item instanceof PendingTensor) return convert(item, where);
    if (item instanceof NumpyArray) {
      if (item.tensor === null) throw new TorchCheckpointError(`${pathOf(where)} is a numpy array that was never given its data (no BUILD)`);
      return convert(item.tensor, where);
    }
    if (Array.isArray(item) || isDict(item)) work.push([item, where]);
    else checkData(item, where);
    return item;
  };
  const top = visit(root, null);
  while (work.length > 0) {
    const [node, where] = work.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const item: unknown = node[i];
        if (typeof item === 'object' && item !== null) node[i] = visit(item, { parent: where, key: i });
      }
    } else {
      const dict = node as Record<string, unknown>;
      for (const key in dict) {
        const item = dict[key];
        if (typeof item === 'object' && item !== null) dict[key] = visit(item, { parent: where, key });
      }
    }
  }
  return top;
}

/** Only data may come out: a marker object (a storage type, a dtype, a storage, a function) left in the graph is an error. */
function checkData(v: unknown, where: Where): void {
  if (
    v instanceof StorageType || v instanceof StorageRef || v instanceof ClassMarker || v instanceof NumpyDtype || v instanceof DtypeObject ||
    (typeof v === 'object' && v !== null && typeof (v as PickleCallable).call === 'function')
  ) {
    throw new TorchCheckpointError(`${pathOf(where)} is ${describeValue(v)}, which is not data (a storage, type or function outside a tensor)`);
  }
}

/** Where a value sits in the checkpoint: its key and its container's place (null for the top). */
type Where = { readonly parent: Where; readonly key: string | number } | null;

/** A path for messages: `"model" → "0.weight"`, `"history"[2]`, its last 6 steps at most. */
function pathOf(where: Where): string {
  if (where === null) return '(the checkpoint itself)';
  const parts: string[] = [];
  for (let w: Where = where; w !== null && parts.length < 7; w = w.parent) parts.push(typeof w.key === 'number' ? `[${w.key}]` : quote(w.key));
  if (parts.length === 7) parts[6] = '…';
  return parts.reverse().join(' → ');
}

// ---------------------------------------------------------------------------------------------
// The two file formats

function toBytes(input: unknown, fn: string): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (typeof SharedArrayBuffer !== 'undefined' && input instanceof SharedArrayBuffer) return new Uint8Array(input);
  throw new TypeError(`${fn}: bytes must be a Uint8Array (or ArrayBuffer), got ${describeValue(input)}`);
}

function wrap<T>(where: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof PickleError || error instanceof ZipError) throw new TorchCheckpointError(`${where}: ${error.message}`);
    if (error instanceof TorchCheckpointError) throw new TorchCheckpointError(`${where}: ${error.message.slice(PREFIX.length)}`);
    throw error;
  }
}

function readZipCheckpoint(bytes: Uint8Array, maxBytes: number): unknown {
  const archive: ZipArchive = wrap('the archive', () => readZip(bytes));
  const pickles = [...archive.entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    const names = [...archive.entries.keys()].slice(0, 8).map(quote).join(', ');
    throw new TorchCheckpointError(
      pickles.length === 0
        ? `the zip archive has no <name>/data.pkl record, so it is not a torch.save file (its entries: ${names}${archive.entries.size > 8 ? ', …' : ''})`
        : `the zip archive has ${pickles.length} data.pkl records (${pickles.map(quote).join(', ')}); a torch.save file has one`,
    );
  }
  const prefix = pickles[0]!.slice(0, -'data.pkl'.length);
  if (archive.entries.has(`${prefix}constants.pkl`) || [...archive.entries.keys()].some((n) => n.startsWith(`${prefix}code/`))) {
    throw new TorchCheckpointError(
      'this is a TorchScript archive (torch.jit.save: it has code/ and constants.pkl), not a torch.save file; sepconv never runs code from a file. ' +
        'In Python, save the weights instead: torch.save(model.state_dict(), path)',
    );
  }
  let littleEndian = true;
  if (archive.entries.has(`${prefix}byteorder`)) {
    const order = new TextDecoder().decode(wrap(`${prefix}byteorder`, () => archive.read(`${prefix}byteorder`))).trim();
    if (order !== 'little' && order !== 'big') throw new TorchCheckpointError(`${prefix}byteorder says ${quote(order)}, not "little" or "big"`);
    littleEndian = order === 'little';
  }
  const storages = new Map<string, StorageRef[]>();
  const pickle = wrap(pickles[0]!, () => archive.read(pickles[0]!));
  const { value, end } = wrap(pickles[0]!, () => unpickle(pickle, hooksFor(false, storages, bytes.length)));
  if (end !== pickle.length) throw new TorchCheckpointError(`${pickles[0]}: ${pickle.length - end} bytes follow the pickle's STOP opcode`);
  const cache = new Map<string, StorageBytes>();
  const storageBytes = (ref: StorageRef): StorageBytes => {
    let found = cache.get(ref.key);
    if (found === undefined) {
      const name = `${prefix}data/${ref.key}`;
      if (!archive.entries.has(name)) throw new TorchCheckpointError(`the pickle refers to storage ${quote(ref.key)}, but the archive has no record ${quote(name)}`);
      const data = wrap(name, () => archive.read(name));
      const needed = ref.numel * DTYPE_BYTES[ref.dtype];
      if (data.length < needed) {
        throw new TorchCheckpointError(`record ${quote(name)} has ${data.length} bytes, but its ${ref.numel}-element ${ref.dtype} storage needs ${needed}`);
      }
      found = { bytes: data, littleEndian };
      cache.set(ref.key, found);
    }
    return found;
  };
  checkStorageTypes(storages);
  return materialiseAll(value, storageBytes, maxBytes);
}

/** One key, one dtype: a file whose persistent ids give a storage two dtypes is corrupt. */
function checkStorageTypes(storages: Map<string, StorageRef[]>): void {
  for (const [key, refs] of storages) {
    for (const r of refs) {
      if (r.dtype !== refs[0]!.dtype) throw new TorchCheckpointError(`storage ${quote(key)} is named with two dtypes, ${refs[0]!.dtype} and ${r.dtype}`);
    }
  }
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function readLegacyCheckpoint(bytes: Uint8Array, maxBytes: number): unknown {
  const plain: UnpickleHooks = { resolveGlobal: refuse };
  let at = 0;
  const next = (what: string, hooks: UnpickleHooks): unknown => {
    const result = wrap(`legacy format, ${what}`, () => unpickle(bytes, hooks, at));
    at = result.end;
    return result.value;
  };
  if (next('magic number', plain) !== LEGACY_MAGIC) throw new TorchCheckpointError('legacy format: the file does not start with torch.save\'s magic number');
  const version = next('protocol version', plain);
  if (version !== 1001) throw new TorchCheckpointError(`legacy format: protocol version ${describeValue(version)} is not 1001`);
  const info = next('system info', plain);
  if (!isDict(info)) throw new TorchCheckpointError(`legacy format: the system info must be a dict, got ${describeValue(info)}`);
  const littleEndian = info.little_endian !== false;
  const storages = new Map<string, StorageRef[]>();
  const value = next('object', hooksFor(true, storages, bytes.length));
  const keys = next('storage keys', plain);
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
    throw new TorchCheckpointError(`legacy format: the storage keys must be a list of strings, got ${describeValue(keys)}`);
  }
  checkStorageTypes(storages);
  const found = new Map<string, StorageBytes>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys as string[]) {
    const refs = storages.get(key);
    if (refs === undefined) throw new TorchCheckpointError(`legacy format: storage ${quote(key)} is listed but no tensor uses it, so its element size is unknown`);
    if (found.has(key)) throw new TorchCheckpointError(`legacy format: storage ${quote(key)} is listed twice`);
    if (at + 8 > bytes.length) throw new TorchCheckpointError(`legacy format: the file ends before storage ${quote(key)}'s size (offset ${at}; the file is truncated)`);
    const declared = view.getBigInt64(at, littleEndian);
    const numel = declared >= 0n && declared <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(declared) : -1;
    const size = DTYPE_BYTES[refs[0]!.dtype];
    if (numel < 0 || numel * size > bytes.length - at - 8) {
      throw new TorchCheckpointError(
        `legacy format: storage ${quote(key)} declares ${declared} ${refs[0]!.dtype} elements, but only ${bytes.length - at - 8} bytes remain (the file is truncated or corrupt)`,
      );
    }
    found.set(key, { bytes: bytes.subarray(at + 8, at + 8 + numel * size), littleEndian });
    at += 8 + numel * size;
  }
  if (at !== bytes.length) throw new TorchCheckpointError(`legacy format: ${bytes.length - at} bytes follow the last storage`);
  return materialiseAll(value, (ref) => {
    const data = found.get(ref.key);
    if (data === undefined) throw new TorchCheckpointError(`legacy format: the pickle refers to storage ${quote(ref.key)}, which the file does not contain`);
    return data;
  }, maxBytes);
}

/**
 * Reads a `torch.save` file — a state dict, a training checkpoint, any nest of dicts, lists, numbers,
 * strings and tensors — as it is. Tensors are `TorchTensor`s (see its dtypes), dicts are objects
 * without a prototype, lists and tuples arrays, None null, numpy scalars numbers. Throws a
 * TorchCheckpointError naming the problem; nothing from the file is executed.
 */
export function readTorchCheckpoint(bytes: Uint8Array | ArrayBuffer, options: ReadTorchCheckpointOptions = {}): TorchValue {
  const fn = 'readTorchCheckpoint';
  const input = toBytes(bytes, fn);
  return readCheckpoint(input, readMaxBytes(readOptions<ReadTorchCheckpointOptions>(options, ['maxTensorBytes'], fn).maxTensorBytes, input, fn));
}

function readMaxBytes(value: unknown, input: Uint8Array, fn: string): number {
  if (value === undefined) return 8 * input.length + 64 * 2 ** 20;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${fn}: maxTensorBytes must be a finite non-negative number of bytes, got ${describeValue(value)}`);
  }
  return value;
}

function readCheckpoint(input: Uint8Array, maxBytes: number): TorchValue {
  const format = sniffFormat(input);
  if (format === 'torch-zip') return readZipCheckpoint(input, maxBytes) as TorchValue;
  if (format === 'torch-legacy') return readLegacyCheckpoint(input, maxBytes) as TorchValue;
  const hint = wrongFormatHint(input, ['torch-zip', 'torch-legacy']);
  if (hint !== null) throw new TorchCheckpointError(`not a torch.save file: ${hint}`);
  if (input.length > 2 && input[0] === 0x80 && input[1]! >= 2 && input[1]! <= 5) {
    // A pickle: the legacy format written with another protocol (pickle_protocol=4 starts with a
    // FRAME before the magic number), or a plain pickle that is no checkpoint.
    let first: unknown;
    try {
      first = unpickle(input, { resolveGlobal: refuse }).value;
    } catch {
      first = undefined;
    }
    if (first === LEGACY_MAGIC) return readLegacyCheckpoint(input, maxBytes) as TorchValue;
    throw new TorchCheckpointError(
      'this is a Python pickle, but not a torch.save file (it does not start with the magic number of torch.save\'s legacy format); sepconv reads only torch.save files',
    );
  }
  // The first torch.save format (before PyTorch 0.4) was a tar archive: "ustar" at offset 257.
  if (input.length > 262 && String.fromCharCode(...input.subarray(257, 262)) === 'ustar') {
    throw new TorchCheckpointError(
      'this is a tar archive, the format of the first torch.save (before PyTorch 0.4), which sepconv does not read: load it in Python and save it again with torch.save(obj, path)',
    );
  }
  throw new TorchCheckpointError(`not a torch.save file (it starts neither with a zip header nor with the legacy format's magic number; ${input.length} bytes)`);
}

/** The longest `entry` path accepted (checkpoints nest a state dict a few levels deep at most). */
const MAX_ENTRY_DEPTH = 64;

/** A dict as readTorchCheckpoint makes it (no prototype), or a plain object built by the caller. */
function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === null || proto === Object.prototype;
}

function isStateDict(value: unknown): value is Record<string, TorchTensor> {
  return isRecord(value) && Object.values(value).every((v) => v instanceof TorchTensor);
}

/**
 * The state dict inside a checkpoint read by `readTorchCheckpoint`: the entry `options.entry`
 * names (or the checkpoint itself), with `options.stripPrefix` removed from its keys. Values must
 * be float or int64 tensors, unless `skipUnsupported` leaves the others out.
 */
export function torchStateDict(checkpoint: TorchValue, options: TorchStateDictOptions = {}, fn = 'torchStateDict'): Record<string, TorchStateTensor> {
  const allowed = fn === 'torchStateDict' ? ['entry', 'stripPrefix', 'skipUnsupported'] : ['maxTensorBytes', 'entry', 'stripPrefix', 'skipUnsupported'];
  const read = readOptions<LoadTorchCheckpointOptions>(options, allowed, fn);
  const skip = readBoolean(read.skipUnsupported, `${fn}: skipUnsupported`, false);
  const entry = read.entry === undefined ? [] : typeof read.entry === 'string' ? [read.entry] : read.entry;
  // Length first: a sparse array of 2^32 - 1 holes must not be walked.
  if (!Array.isArray(entry) || entry.length > MAX_ENTRY_DEPTH || !Array.from({ length: entry.length }, (_, i) => ownElement(entry, i)).every((k) => typeof k === 'string')) {
    throw new TypeError(`${fn}: entry must be a key or an array of at most ${MAX_ENTRY_DEPTH} keys, got ${describeValue(read.entry)}`);
  }
  if (read.stripPrefix !== undefined && typeof read.stripPrefix !== 'string') {
    throw new TypeError(`${fn}: stripPrefix must be a string, got ${describeValue(read.stripPrefix)}`);
  }
  let value: unknown = checkpoint;
  const path: string[] = [];
  for (const key of entry as string[]) {
    if (!isRecord(value) || !hasOwn(value, key)) {
      const keys = isRecord(value) ? Object.keys(value).slice(0, 12).map(quote).join(', ') : describeValue(value);
      throw new TorchCheckpointError(`entry ${path.concat(key).map(quote).join(' → ')} is not in the checkpoint (${path.length === 0 ? 'its' : 'that dict\'s'} keys: ${keys})`);
    }
    value = value[key];
    path.push(key);
  }
  const where = path.length === 0 ? 'the checkpoint' : `entry ${path.map(quote).join(' → ')}`;
  if (!isRecord(value)) throw new TorchCheckpointError(`${where} is ${describeValue(value)}, not a state dict (a dict of tensors)`);
  if (!skip && !isStateDict(value)) {
    const candidates = Object.keys(value).filter((k) => isStateDict(value[k]) && Object.keys(value[k] as object).length > 0);
    const offending = Object.keys(value).find((k) => !((value as Record<string, unknown>)[k] instanceof TorchTensor))!;
    const suggestion = candidates.length > 0
      ? `; the state dict looks to be under ${candidates.map(quote).join(' or ')}: pass { entry: ${quote(candidates[0]!)} }`
      : '';
    throw new TorchCheckpointError(
      `${where} is not a state dict: its entry ${quote(offending)} is ${describeValue((value as Record<string, unknown>)[offending])}, not a tensor (keys: ${Object.keys(value).slice(0, 12).map(quote).join(', ')})${suggestion}. ` +
        'readTorchCheckpoint returns everything; { skipUnsupported: true } keeps only the tensors',
    );
  }
  const out = newDict() as Record<string, TorchStateTensor>;
  const prefix = read.stripPrefix as string | undefined;
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (!(v instanceof TorchTensor) || !(v.data instanceof Float32Array || v.data instanceof BigInt64Array)) {
      if (skip) continue;
      throw new TorchCheckpointError(
        `${where}: tensor ${quote(key)} has dtype ${(v as TorchTensor).dtype}; sepconv computes with float tensors and keeps int64 counts. Pass { skipUnsupported: true } to leave such tensors out`,
      );
    }
    const name = prefix !== undefined && prefix !== '' && key.startsWith(prefix) ? key.slice(prefix.length) : key;
    if (hasOwn(out, name)) throw new TorchCheckpointError(`${where}: stripping ${quote(prefix!)} makes two keys ${quote(name)}`);
    setDictItem(out, name, v);
  }
  return out;
}

/**
 * Reads a `torch.save` file (zip or legacy format) and returns its state dict, ready for
 * `model.loadStateDict`: float tensors (float32/float64/float16/bfloat16) as float32 and int64
 * tensors (`num_batches_tracked`) as int64, each with the `dtype` it had in the file. For a
 * training checkpoint, `entry` names where the state dict is (`{ entry: 'model' }`); `stripPrefix:
 * 'module.'` undoes `nn.DataParallel`'s prefix. A pickled model (`torch.save(model)`) or any
 * pickle naming a global outside the checkpoint allow-list is refused with a TorchCheckpointError.
 */
export function loadTorchCheckpoint(bytes: Uint8Array | ArrayBuffer, options: LoadTorchCheckpointOptions = {}): Record<string, TorchStateTensor> {
  const fn = 'loadTorchCheckpoint';
  const input = toBytes(bytes, fn);
  const read = readOptions<LoadTorchCheckpointOptions>(options, ['maxTensorBytes', 'entry', 'stripPrefix', 'skipUnsupported'], fn);
  return torchStateDict(readCheckpoint(input, readMaxBytes(read.maxTensorBytes, input, fn)), options, fn);
}

// ---------------------------------------------------------------------------------------------
// Writing

/** What `saveTorchCheckpoint` writes: tensors and plain data nested in objects and arrays. */
export type TorchSaveValue =
  | StateTensorLike
  | TorchTensor
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly TorchSaveValue[]
  | { readonly [key: string]: TorchSaveValue };

/**
 * The storage type a tensor is written as: from its data's array type, and for float32 data from
 * its `dtype` when that is float16, bfloat16 or float64 (a tensor read from such a file goes back
 * as it came: the values are converted, rounding to nearest even).
 */
function storageTypeOf(data: unknown, dtype: unknown): string | null {
  if (data instanceof Float32Array) {
    if (dtype === 'float16') return 'HalfStorage';
    if (dtype === 'bfloat16') return 'BFloat16Storage';
    if (dtype === 'float64') return 'DoubleStorage';
    return 'FloatStorage';
  }
  if (data instanceof BigInt64Array) return 'LongStorage';
  if (data instanceof Float64Array) return 'DoubleStorage';
  if (data instanceof Int32Array) return 'IntStorage';
  if (data instanceof Int16Array) return 'ShortStorage';
  if (data instanceof Int8Array) return 'CharStorage';
  if (data instanceof Uint8Array) return dtype === 'bool' ? 'BoolStorage' : 'ByteStorage';
  return null;
}

const float32Scratch = new Float32Array(1);
const float32Bits = new Uint32Array(float32Scratch.buffer);

/** float32 → IEEE half (bits), rounding to nearest even; overflow gives infinity, NaN stays NaN. */
export function floatToHalf(value: number): number {
  float32Scratch[0] = value;
  const x = float32Bits[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = ((x >>> 23) & 0xff) - 127 + 15;
  let mantissa = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    // A subnormal half (or zero): the 24-bit significand shifted into 10 bits.
    if (exponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - exponent;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) !== 0)) half++;
    return sign | half;
  }
  let half = (exponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) !== 0)) half++;
  return sign | half;
}

/** float32 → bfloat16 (bits): the top half of the float32, rounded to nearest even; NaN stays NaN. */
export function floatToBfloat16(value: number): number {
  float32Scratch[0] = value;
  const x = float32Bits[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) & 0x8000) | 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** A storage's little-endian bytes. */
function storageBytesOf(data: TorchTensorData | Float64Array, type: string): Uint8Array {
  if (type === 'HalfStorage' || type === 'BFloat16Storage' || type === 'DoubleStorage') {
    const floats = data as Float32Array;
    const out = new Uint8Array(floats.length * (type === 'DoubleStorage' ? 8 : 2));
    const view = new DataView(out.buffer);
    if (type === 'DoubleStorage') for (let i = 0; i < floats.length; i++) view.setFloat64(8 * i, floats[i]!, true);
    else {
      const convert = type === 'HalfStorage' ? floatToHalf : floatToBfloat16;
      for (let i = 0; i < floats.length; i++) view.setUint16(2 * i, convert(floats[i]!), true);
    }
    return out;
  }
  const bytes = new Uint8Array(data.byteLength);
  if (littleEndianHost || data.BYTES_PER_ELEMENT === 1) {
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return bytes;
  }
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof BigInt64Array) view.setBigInt64(8 * i, data[i]!, true);
    else if (data instanceof Float32Array) view.setFloat32(4 * i, data[i]!, true);
    else if (data instanceof Float64Array) view.setFloat64(8 * i, data[i]!, true);
    else if (data instanceof Int32Array) view.setInt32(4 * i, data[i]!, true);
    else if (data instanceof Int16Array) view.setInt16(2 * i, data[i]!, true);
  }
  return bytes;
}

const MAX_SAVE_DEPTH = 256;

/**
 * Writes a `torch.save` file (the zip format) that `torch.load` reads, `weights_only=True`
 * included: a state dict (an object of tensors) becomes an `OrderedDict` of tensors, so
 * `model.load_state_dict(torch.load(path))` works in Python. Nested objects, arrays, numbers,
 * strings, booleans and null are written too (a training checkpoint); integers are Python ints,
 * other numbers floats. Float32 tensors are written as float32, or as float16/bfloat16/float64
 * when their `dtype` says so (a `TorchTensor` read from such a file goes back as it came; values
 * are rounded to nearest even); int64 tensors (BigInt64Array) as int64, and int32/int16/int8/
 * uint8/bool `TorchTensor`s as themselves. Tensors whose data is the same array share one storage,
 * as in PyTorch.
 */
export function saveTorchCheckpoint(value: TorchSaveValue): Uint8Array {
  const fn = 'saveTorchCheckpoint';
  const writer = new PickleWriter();
  const storages = new Map<string, Map<object, string>>();
  const records: { name: string; data: Uint8Array }[] = [];
  const path: object[] = [];

  const writeTensor = (data: TorchTensorData | Float64Array, shape: readonly number[], dtype: unknown, where: string): void => {
    const type = storageTypeOf(data, dtype);
    if (type === null) throw new TypeError(`${fn}: ${where} has data of an unsupported type ${describeValue(data)}`);
    // One storage per array and storage type (a Uint8Array written as bool and as uint8 needs two).
    let byArray = storages.get(type);
    if (byArray === undefined) storages.set(type, (byArray = new Map()));
    let key = byArray.get(data);
    if (key === undefined) {
      key = String(records.length);
      byArray.set(data, key);
      records.push({ name: `archive/data/${key}`, data: storageBytesOf(data, type) });
    }
    // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks)
    writer.global('torch._utils', '_rebuild_tensor_v2');
    writer.mark();
    writer.mark();
    writer.string('storage');
    writer.global('torch', type);
    writer.string(key);
    writer.string('cpu');
    writer.int(data.length);
    writer.tuple();
    writer.binPersId();
    writer.int(0);
    writer.mark();
    for (const d of shape) writer.int(d);
    writer.tuple();
    writer.mark();
    let stride = 1;
    const strides: number[] = [];
    for (let i = shape.length - 1; i >= 0; i--) {
      strides[i] = stride;
      stride *= shape[i]!;
    }
    for (const s of strides) writer.int(s);
    writer.tuple();
    writer.bool(false);
    writer.global('collections', 'OrderedDict');
    writer.emptyTuple();
    writer.reduce();
    writer.tuple();
    writer.reduce();
  };

  const isTensorLike = (v: object): boolean => {
    const data = (v as { data?: unknown }).data;
    return hasOwn(v, 'data') && hasOwn(v, 'shape') && ArrayBuffer.isView(data) && !(data instanceof DataView);
  };

  // Where the value being written sits, for messages: `value."model"."0.weight"`, its last steps only.
  const keys: (string | number)[] = [];
  const here = (): string => {
    const tail = keys.slice(-6).map((k) => (typeof k === 'number' ? `[${k}]` : `.${quote(k)}`)).join('');
    return `value${keys.length > 6 ? '…' : ''}${tail}`;
  };

  const write = (v: unknown): void => {
    if (v === null) return writer.none();
    if (typeof v === 'boolean') return writer.bool(v);
    if (typeof v === 'bigint') return writer.int(v);
    if (typeof v === 'number') return Number.isSafeInteger(v) && !Object.is(v, -0) ? writer.int(v) : writer.float(v);
    if (typeof v === 'string') return writer.string(v);
    const where = here();
    if (typeof v !== 'object') throw new TypeError(`${fn}: ${where} is ${describeValue(v)}, which a checkpoint cannot hold`);
    if (path.includes(v)) throw new TypeError(`${fn}: ${where} contains itself`);
    if (path.length >= MAX_SAVE_DEPTH) throw new RangeError(`${fn}: ${where} is nested more than ${MAX_SAVE_DEPTH} levels deep`);
    if (v instanceof TorchTensor || (isTensorLike(v) && !(((v as { data: unknown }).data) instanceof Float32Array))) {
      const t = v as TorchTensor;
      if (isInt64Tensor(t)) asInt64Tensor(t, where);
      else if (!(t.data instanceof Float32Array)) {
        const n = shapeSize((checkShape(t.shape, where, 0), t.shape));
        if (t.data.length !== n) throw new RangeError(`${where}.data.length must equal the product of ${where}.shape ${describeValue(t.shape)} = ${n}, got ${t.data.length}`);
      } else asTensor(t, where);
      return writeTensor(t.data, t.shape, t.dtype, where);
    }
    if (isTensorLike(v) || hasOwn(v, 'stride')) {
      const t = asTensor(v as Tensor, where); // gathers an ndarray view
      return writeTensor(t.data, t.shape, 'float32', where);
    }
    path.push(v);
    if (Array.isArray(v)) {
      writer.emptyList();
      if (v.length > 0) {
        writer.mark();
        for (let i = 0; i < v.length; i++) {
          // Own elements only: a hole is not a value (and a sparse array stops at its first hole).
          if (!hasOwn(v, String(i))) throw new TypeError(`${fn}: ${where} is an array with a hole at index ${i}, which a checkpoint cannot hold`);
          keys.push(i);
          write(v[i]);
          keys.pop();
        }
        writer.appends();
      }
    } else if (isRecord(v)) {
      const names = Object.keys(v);
      const allTensors = names.length > 0 && names.every((k) => {
        const item = v[k];
        return typeof item === 'object' && item !== null && isTensorLike(item);
      });
      if (allTensors) {
        writer.global('collections', 'OrderedDict');
        writer.emptyTuple();
        writer.reduce();
      } else writer.emptyDict();
      if (names.length > 0) {
        writer.mark();
        for (const k of names) {
          writer.string(k);
          keys.push(k);
          write(v[k]);
          keys.pop();
        }
        writer.setItems();
      }
    } else {
      throw new TypeError(`${fn}: ${where} is ${describeValue(v)}; a checkpoint holds tensors, plain objects, arrays, numbers, strings, booleans and null`);
    }
    path.pop();
  };

  if (typeof value !== 'object' || value === null) throw new TypeError(`${fn}: value must be a state dict (an object of tensors) or a checkpoint object, got ${describeValue(value)}`);
  write(value);
  const pickle = writer.finish();
  const encoder = new TextEncoder();
  return writeZip([
    { name: 'archive/data.pkl', data: pickle },
    { name: 'archive/byteorder', data: encoder.encode('little') },
    ...records,
    { name: 'archive/version', data: encoder.encode('3\n') },
  ]);
}
