/**
 * Decoding ONNX's ModelProto (onnx.proto) into plain objects: the fields sepconv reads, every
 * other field skipped. Tensors are materialised here: `raw_data` (little-endian, often at byte
 * offsets that are not a multiple of 4, so it is read through a DataView) or the typed repeated
 * fields, float16/bfloat16/double converted to float32 and every integer type held as exact JS
 * numbers. Sizes are checked against the bytes present before anything is allocated.
 */
import { MAX_DIMENSION, MAX_ELEMENTS, MAX_RANK } from '../checks.js';
import { WIRE_BYTES, WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT, WireReader, wireError } from './wire.js';
import { float16ToFloat32 } from '../bits.js';
import type { DType, OValue } from './values.js';

/** A symbolic dimension keeps its `dim_param` name (`'batch'`); an unnamed unknown one is `'?'`. */
export type Dim = number | string;

export interface ValueInfo {
  readonly name: string;
  /** ONNX elem_type (1 float, 7 int64, ...), 0 when not given. */
  readonly elemType: number;
  /** null when the type has no shape. */
  readonly shape: Dim[] | null;
}

export type AttributeValue =
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'tensor'; readonly value: OValue }
  | { readonly type: 'floats'; readonly value: number[] }
  | { readonly type: 'ints'; readonly value: number[] }
  | { readonly type: 'strings'; readonly value: string[] }
  | { readonly type: 'graph' | 'other'; readonly value: null };

export interface NodeProto {
  readonly inputs: string[];
  readonly outputs: string[];
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly attributes: Map<string, AttributeValue>;
}

export interface GraphProto {
  readonly name: string;
  readonly nodes: NodeProto[];
  readonly initializers: Map<string, OValue>;
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
}

export interface ModelProto {
  readonly irVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly opsets: Map<string, number>;
  readonly graph: GraphProto;
}

/** ONNX TensorProto.DataType codes. */
export const ELEM = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, BFLOAT16: 16,
} as const;

const ELEM_NAMES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16',
};

export function elemTypeName(code: number): string {
  return ELEM_NAMES[code] ?? `data type ${code}`;
}

/** The dtype sepconv computes a tensor of ONNX element type `code` in, or null when unsupported. */
export function dtypeOf(code: number): DType | null {
  switch (code) {
    case ELEM.FLOAT: case ELEM.FLOAT16: case ELEM.DOUBLE: case ELEM.BFLOAT16: return 'float32';
    case ELEM.BOOL: return 'bool';
    case ELEM.UINT8: case ELEM.INT8: case ELEM.UINT16: case ELEM.INT16: case ELEM.INT32: case ELEM.INT64: case ELEM.UINT32: case ELEM.UINT64:
      return 'int64';
    default: return null;
  }
}

/** Bytes per element in raw_data. */
function elemBytes(code: number): number {
  switch (code) {
    case ELEM.UINT8: case ELEM.INT8: case ELEM.BOOL: return 1;
    case ELEM.UINT16: case ELEM.INT16: case ELEM.FLOAT16: case ELEM.BFLOAT16: return 2;
    case ELEM.FLOAT: case ELEM.INT32: case ELEM.UINT32: return 4;
    default: return 8;
  }
}

/** Limits on counts of things in a file, far above any real model and far below what would hurt. */
const MAX_NODES = 1_000_000;
const MAX_LIST = 1 << 24;

export interface DecodeOptions {
  /** Bytes of tensors stored outside the model file, by their `location`. */
  readonly externalData?: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>;
}

export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): ModelProto {
  const r = new WireReader(bytes, 0, bytes.length, 'ModelProto');
  let irVersion = 0;
  let producerName = '';
  let producerVersion = '';
  const opsets = new Map<string, number>();
  let graphRange: [number, number] | null = null;
  while (!r.done) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1: r.expect(wire, WIRE_VARINT, 'ir_version'); irVersion = r.varint(); break;
      case 2: r.expect(wire, WIRE_BYTES, 'producer_name'); producerName = r.string(); break;
      case 3: r.expect(wire, WIRE_BYTES, 'producer_version'); producerVersion = r.string(); break;
      case 7: r.expect(wire, WIRE_BYTES, 'graph'); graphRange = r.lengthDelimited(); break;
      case 8: {
        r.expect(wire, WIRE_BYTES, 'opset_import');
        const o = r.message('ModelProto.opset_import');
        let domain = '';
        let version = 0;
        while (!o.done) {
          const [f, w] = o.tag();
          if (f === 1 && w === WIRE_BYTES) domain = o.string();
          else if (f === 2 && w === WIRE_VARINT) version = o.varint();
          else o.skip(w);
        }
        opsets.set(domain === 'ai.onnx' ? '' : domain, version);
        break;
      }
      default: r.skip(wire);
    }
  }
  if (graphRange === null) throw new TypeError('onnx: the model has no graph (ModelProto field 7): not an ONNX model, or an empty one');
  const graph = decodeGraph(new WireReader(bytes, graphRange[0], graphRange[1], 'GraphProto'), options);
  return { irVersion, producerName, producerVersion, opsets, graph };
}

function decodeGraph(r: WireReader, options: DecodeOptions): GraphProto {
  let name = '';
  const nodes: NodeProto[] = [];
  const initializers = new Map<string, OValue>();
  const inputs: ValueInfo[] = [];
  const outputs: ValueInfo[] = [];
  while (!r.done) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
        r.expect(wire, WIRE_BYTES, 'GraphProto.node');
        if (nodes.length >= MAX_NODES) throw wireError('GraphProto', `more than ${MAX_NODES} nodes`);
        nodes.push(decodeNode(r.message(`node ${nodes.length}`), options));
        break;
      case 2: r.expect(wire, WIRE_BYTES, 'GraphProto.name'); name = r.string(); break;
      case 5: {
        r.expect(wire, WIRE_BYTES, 'GraphProto.initializer');
        const t = decodeTensor(r.message(`initializer ${initializers.size}`), options);
        initializers.set(t.name, t.value);
        break;
      }
      case 11: r.expect(wire, WIRE_BYTES, 'GraphProto.input'); inputs.push(decodeValueInfo(r.message('GraphProto.input'))); break;
      case 12: r.expect(wire, WIRE_BYTES, 'GraphProto.output'); outputs.push(decodeValueInfo(r.message('GraphProto.output'))); break;
      case 15: throw new TypeError('onnx: the graph has sparse initializers (GraphProto.sparse_initializer), which sepconv does not read');
      default: r.skip(wire);
    }
  }
  return { name, nodes, initializers, inputs, outputs };
}

function decodeNode(r: WireReader, options: DecodeOptions): NodeProto {
  const inputs: string[] = [];
  const outputs: string[] = [];
  let name = '';
  let opType = '';
  let domain = '';
  const attributes = new Map<string, AttributeValue>();
  while (!r.done) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1: r.expect(wire, WIRE_BYTES, 'NodeProto.input'); inputs.push(r.string()); break;
      case 2: r.expect(wire, WIRE_BYTES, 'NodeProto.output'); outputs.push(r.string()); break;
      case 3: r.expect(wire, WIRE_BYTES, 'NodeProto.name'); name = r.string(); break;
      case 4: r.expect(wire, WIRE_BYTES, 'NodeProto.op_type'); opType = r.string(); break;
      case 5: {
        r.expect(wire, WIRE_BYTES, 'NodeProto.attribute');
        const [attrName, value] = decodeAttribute(r.message(`attribute of node ${JSON.stringify(name || opType)}`), options);
        attributes.set(attrName, value);
        break;
      }
      case 7: r.expect(wire, WIRE_BYTES, 'NodeProto.domain'); domain = r.string(); break;
      default: r.skip(wire);
    }
  }
  if (inputs.length > MAX_LIST || outputs.length > MAX_LIST) throw wireError('NodeProto', 'too many inputs or outputs');
  return { inputs, outputs, name, opType, domain: domain === 'ai.onnx' ? '' : domain, attributes };
}

const ATTRIBUTE_TYPES: Record<number, AttributeValue['type']> = { 1: 'float', 2: 'int', 3: 'string', 4: 'tensor', 5: 'graph', 6: 'floats', 7: 'ints', 8: 'strings' };

function decodeAttribute(r: WireReader, options: DecodeOptions): [string, AttributeValue] {
  let name = '';
  let type = 0;
  let f: number | undefined;
  let i: number | undefined;
  let s: string | undefined;
  let t: OValue | undefined;
  let hasGraph = false;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  while (!r.done) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1: r.expect(wire, WIRE_BYTES, 'AttributeProto.name'); name = r.string(); break;
      case 2: r.expect(wire, WIRE_FIXED32, 'AttributeProto.f'); f = r.fixed32Float(); break;
      case 3: r.expect(wire, WIRE_VARINT, 'AttributeProto.i'); i = r.varint(); break;
      case 4: r.expect(wire, WIRE_BYTES, 'AttributeProto.s'); s = r.string(); break;
      case 5: r.expect(wire, WIRE_BYTES, 'AttributeProto.t'); t = decodeTensor(r.message('AttributeProto.t'), options).value; break;
      case 6: r.skip(wire); hasGraph = true; break;
      case 7: r.repeatedFloat(wire, floats, MAX_LIST); break;
      case 8: r.repeatedVarint(wire, ints, MAX_LIST); break;
      case 9: r.expect(wire, WIRE_BYTES, 'AttributeProto.strings'); strings.push(r.string()); break;
      case 20: r.expect(wire, WIRE_VARINT, 'AttributeProto.type'); type = r.varint(); break;
      default: r.skip(wire);
    }
  }
  // Old files may omit `type`: infer it from the one field present.
  let kind: AttributeValue['type'] | undefined = ATTRIBUTE_TYPES[type];
  if (type === 0) {
    kind = f !== undefined ? 'float' : i !== undefined ? 'int' : s !== undefined ? 'string' : t !== undefined ? 'tensor' : hasGraph ? 'graph'
      : floats.length > 0 ? 'floats' : ints.length > 0 ? 'ints' : strings.length > 0 ? 'strings' : 'ints';
  }
  switch (kind) {
    case 'float': return [name, { type: 'float', value: f ?? 0 }];
    case 'int': return [name, { type: 'int', value: i ?? 0 }];
    case 'string': return [name, { type: 'string', value: s ?? '' }];
    case 'tensor':
      if (t === undefined) throw wireError(`attribute ${JSON.stringify(name)}`, 'of type TENSOR has no tensor');
      return [name, { type: 'tensor', value: t }];
    case 'floats': return [name, { type: 'floats', value: floats }];
    case 'ints': return [name, { type: 'ints', value: ints }];
    case 'strings': return [name, { type: 'strings', value: strings }];
    case 'graph': return [name, { type: 'graph', value: null }];
    default: return [name, { type: 'other', value: null }];
  }
}

function decodeValueInfo(r: WireReader): ValueInfo {
  let name = '';
  let elemType = 0;
  let shape: Dim[] | null = null;
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_BYTES) name = r.string();
    else if (field === 2 && wire === WIRE_BYTES) {
      const type = r.message('TypeProto');
      while (!type.done) {
        const [tf, tw] = type.tag();
        if (tf !== 1 || tw !== WIRE_BYTES) {
          type.skip(tw);
          continue;
        }
        const tensorType = type.message('TypeProto.tensor_type');
        while (!tensorType.done) {
          const [f, w] = tensorType.tag();
          if (f === 1 && w === WIRE_VARINT) elemType = tensorType.varint();
          else if (f === 2 && w === WIRE_BYTES) shape = decodeShape(tensorType.message('TensorShapeProto'));
          else tensorType.skip(w);
        }
      }
    } else r.skip(wire);
  }
  return { name, elemType, shape };
}

function decodeShape(r: WireReader): Dim[] {
  const dims: Dim[] = [];
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field !== 1 || wire !== WIRE_BYTES) {
      r.skip(wire);
      continue;
    }
    if (dims.length >= MAX_RANK) throw wireError('TensorShapeProto', `more than ${MAX_RANK} dimensions`);
    const d = r.message('TensorShapeProto.dim');
    let dim: Dim = '?';
    while (!d.done) {
      const [f, w] = d.tag();
      if (f === 1 && w === WIRE_VARINT) {
        const v = d.varint();
        if (v < 0 || v > MAX_DIMENSION) throw wireError('TensorShapeProto.dim', `dim_value ${v} is negative or too large`);
        dim = v;
      } else if (f === 2 && w === WIRE_BYTES) dim = d.string() || '?';
      else d.skip(w);
    }
    dims.push(dim);
  }
  return dims;
}

interface TensorFields {
  name: string;
  dims: number[];
  dataType: number;
  raw: [number, number] | null;
  floats: number[];
  /** int32_data holds int32, int16, int8, uint16, uint8, bool and float16 (bits) values. */
  int32s: number[];
  int64s: number[];
  doubles: number[];
  external: Map<string, string> | null;
  dataLocation: number;
  hasStrings: boolean;
}

/** Decodes a TensorProto and materialises its values (`name` names it in errors). */
export function decodeTensor(r: WireReader, options: DecodeOptions): { name: string; value: OValue } {
  const t: TensorFields = {
    name: '', dims: [], dataType: 0, raw: null, floats: [], int32s: [], int64s: [], doubles: [], external: null, dataLocation: 0, hasStrings: false,
  };
  // Repeated typed fields are bounded by the bytes they occupy, so collecting them is safe.
  while (!r.done) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1: r.repeatedVarint(wire, t.dims, MAX_RANK); break;
      case 2: r.expect(wire, WIRE_VARINT, 'TensorProto.data_type'); t.dataType = r.varint(); break;
      case 4: r.repeatedFloat(wire, t.floats, MAX_ELEMENTS); break;
      case 5: r.repeatedVarint(wire, t.int32s, MAX_ELEMENTS); break;
      case 6: r.skip(wire); t.hasStrings = true; break;
      case 7: r.repeatedVarint(wire, t.int64s, MAX_ELEMENTS); break;
      case 8: r.expect(wire, WIRE_BYTES, 'TensorProto.name'); t.name = r.string(); break;
      case 9: r.expect(wire, WIRE_BYTES, 'TensorProto.raw_data'); t.raw = r.lengthDelimited(); break;
      case 10: readDoubles(r, wire, t.doubles); break;
      case 11: r.repeatedVarint(wire, t.int64s, MAX_ELEMENTS); break;
      case 13: {
        r.expect(wire, WIRE_BYTES, 'TensorProto.external_data');
        const e = r.message('TensorProto.external_data');
        let key = '';
        let value = '';
        while (!e.done) {
          const [f, w] = e.tag();
          if (f === 1 && w === WIRE_BYTES) key = e.string();
          else if (f === 2 && w === WIRE_BYTES) value = e.string();
          else e.skip(w);
        }
        (t.external ??= new Map()).set(key, value);
        break;
      }
      case 14: r.expect(wire, WIRE_VARINT, 'TensorProto.data_location'); t.dataLocation = r.varint(); break;
      default: r.skip(wire);
    }
  }
  return { name: t.name, value: materialise(t, r.bytes, options) };
}

function readDoubles(r: WireReader, wire: number, out: number[]): void {
  if (wire === WIRE_FIXED64) {
    out.push(r.fixed64Double());
    return;
  }
  r.expect(wire, WIRE_BYTES, 'TensorProto.double_data');
  const [start, end] = r.lengthDelimited();
  if ((end - start) % 8 !== 0) throw wireError('TensorProto.double_data', `${end - start} bytes, not a multiple of 8`);
  const view = new DataView(r.bytes.buffer, r.bytes.byteOffset + start, end - start);
  for (let p = 0; p < end - start; p += 8) out.push(view.getFloat64(p, true));
}

function materialise(t: TensorFields, fileBytes: Uint8Array, options: DecodeOptions): OValue {
  const what = `tensor ${JSON.stringify(t.name)}`;
  let count = 1;
  for (const d of t.dims) {
    if (d < 0 || d > MAX_DIMENSION || !Number.isSafeInteger(d)) throw new RangeError(`onnx: ${what} has dimension ${d} (dims ${JSON.stringify(t.dims)}): dimensions must be from 0 to ${MAX_DIMENSION}`);
    count *= d;
  }
  if (count > MAX_ELEMENTS) {
    throw new RangeError(`onnx: ${what} has dims ${JSON.stringify(t.dims)} = ${count} elements, over sepconv's limit of ${MAX_ELEMENTS} per tensor`);
  }
  const dtype = dtypeOf(t.dataType);
  if (dtype === null) {
    throw new TypeError(`onnx: ${what} has data type ${elemTypeName(t.dataType)}, which sepconv does not compute with (float32/16/64, bfloat16, integers and bool are read)`);
  }
  const shape = t.dims.slice();
  let raw: Uint8Array | null = t.raw === null ? null : fileBytes.subarray(t.raw[0], t.raw[1]);
  if (t.dataLocation === 1 || t.external !== null) raw = externalBytes(t, what, options);
  if (raw !== null) {
    const expected = count * elemBytes(t.dataType);
    if (raw.length !== expected) {
      throw new RangeError(`onnx: ${what}: raw_data has ${raw.length} bytes, but dims ${JSON.stringify(t.dims)} of ${elemTypeName(t.dataType)} need ${expected}`);
    }
    return fromRaw(raw, t.dataType, count, shape, dtype);
  }
  const source = dataField(t);
  if (source.values.length !== count) {
    throw new RangeError(`onnx: ${what}: ${source.field} has ${source.values.length} values, but dims ${JSON.stringify(t.dims)} need ${count}`);
  }
  const v = source.values;
  if (dtype === 'float32') {
    const data = new Float32Array(count);
    if (t.dataType === ELEM.FLOAT16) for (let i = 0; i < count; i++) data[i] = float16ToFloat32(v[i]! & 0xffff);
    else if (t.dataType === ELEM.BFLOAT16) {
      const u = new Uint32Array(data.buffer);
      for (let i = 0; i < count; i++) u[i] = (v[i]! & 0xffff) << 16;
    } else for (let i = 0; i < count; i++) data[i] = v[i]!;
    return { dtype, shape, data };
  }
  if (dtype === 'bool') return { dtype, shape, data: Uint8Array.from(v, (x) => (x !== 0 ? 1 : 0)) };
  return { dtype, shape, data: Float64Array.from(v) };
}

function dataField(t: TensorFields): { field: string; values: number[] } {
  if (t.hasStrings) throw new TypeError(`onnx: tensor ${JSON.stringify(t.name)} holds strings, which sepconv does not read`);
  switch (t.dataType) {
    case ELEM.FLOAT: return { field: 'float_data', values: t.floats };
    case ELEM.DOUBLE: return { field: 'double_data', values: t.doubles };
    case ELEM.INT64: case ELEM.UINT32: case ELEM.UINT64: return { field: t.dataType === ELEM.INT64 ? 'int64_data' : 'uint64_data', values: t.int64s };
    default: return { field: 'int32_data', values: t.int32s };
  }
}

function externalBytes(t: TensorFields, what: string, options: DecodeOptions): Uint8Array {
  const location = t.external?.get('location');
  if (location === undefined) throw new TypeError(`onnx: ${what} is stored externally but names no location`);
  const store = options.externalData;
  const bytes = store === undefined ? undefined
    : store instanceof Map ? store.get(location)
      : Object.prototype.hasOwnProperty.call(store, location) ? (store as Record<string, Uint8Array>)[location] : undefined;
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `onnx: ${what} is stored in the external file ${JSON.stringify(location)}; pass its bytes as loadOnnx(bytes, { externalData: { ${JSON.stringify(location)}: bytes } })`,
    );
  }
  const offset = Number(t.external?.get('offset') ?? '0');
  const length = t.external?.has('length') ? Number(t.external.get('length')) : bytes.length - offset;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > bytes.length) {
    throw new RangeError(`onnx: ${what}: external data offset ${t.external?.get('offset')} / length ${t.external?.get('length')} lie outside ${JSON.stringify(location)} (${bytes.length} bytes)`);
  }
  return bytes.subarray(offset, offset + length);
}

function fromRaw(raw: Uint8Array, code: number, count: number, shape: number[], dtype: DType): OValue {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (dtype === 'float32') {
    const data = new Float32Array(count);
    switch (code) {
      case ELEM.FLOAT:
        // A copy (not a view): raw_data is usually not 4-byte aligned in the file.
        new Uint8Array(data.buffer).set(raw);
        if (!LITTLE_ENDIAN) for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
        break;
      case ELEM.FLOAT16: for (let i = 0; i < count; i++) data[i] = float16ToFloat32(view.getUint16(2 * i, true)); break;
      case ELEM.BFLOAT16: for (let i = 0; i < count; i++) data[i] = bf16(view.getUint16(2 * i, true)); break;
      default: for (let i = 0; i < count; i++) data[i] = view.getFloat64(8 * i, true);
    }
    return { dtype, shape, data };
  }
  if (dtype === 'bool') return { dtype, shape, data: Uint8Array.from(raw, (b) => (b !== 0 ? 1 : 0)) };
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    switch (code) {
      case ELEM.UINT8: data[i] = view.getUint8(i); break;
      case ELEM.INT8: data[i] = view.getInt8(i); break;
      case ELEM.UINT16: data[i] = view.getUint16(2 * i, true); break;
      case ELEM.INT16: data[i] = view.getInt16(2 * i, true); break;
      case ELEM.INT32: data[i] = view.getInt32(4 * i, true); break;
      case ELEM.UINT32: data[i] = view.getUint32(4 * i, true); break;
      case ELEM.UINT64: data[i] = view.getUint32(8 * i + 4, true) * 4294967296 + view.getUint32(8 * i, true); break;
      default: data[i] = view.getInt32(8 * i + 4, true) * 4294967296 + view.getUint32(8 * i, true);
    }
  }
  return { dtype, shape, data };
}

const bf16Scratch = new Float32Array(1);
const bf16Bits = new Uint32Array(bf16Scratch.buffer);
function bf16(bits: number): number {
  bf16Bits[0] = bits << 16;
  return bf16Scratch[0]!;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
