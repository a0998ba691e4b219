/**
 * Writing ONNX: a ModelProto from plain descriptions, with the same field numbers decoding reads
 * (onnx.proto). Used by the exporter, and by tests to build small graphs.
 */
import { WireWriter, WIRE_VARINT } from './wire.js';
import { ELEM } from './proto.js';

export type EncodedAttribute = number | string | readonly number[] | { readonly floats: readonly number[] } | { readonly tensor: EncodedTensor } | { readonly float: number };

export interface EncodedTensor {
  readonly name?: string;
  readonly dims: readonly number[];
  /** float32 → FLOAT raw_data; number[] with `type: 'int64'` → INT64 raw_data. */
  readonly data: Float32Array | BigInt64Array | readonly number[];
  readonly type?: 'float32' | 'int64' | 'int32' | 'bool' | 'float16' | 'float64';
  /** Write the values in the typed repeated field instead of raw_data. */
  readonly typedField?: boolean;
}

export interface EncodedNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly domain?: string;
  /** Integers as INT, other numbers as FLOAT; arrays of integers as INTS; `{ floats }` FLOATS; `{ float }` forces FLOAT. */
  readonly attributes?: Readonly<Record<string, EncodedAttribute>>;
}

export interface EncodedValueInfo {
  readonly name: string;
  readonly shape: readonly (number | string)[];
  readonly elemType?: number;
}

export interface EncodedModel {
  readonly irVersion?: number;
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly opset: number;
  readonly nodes: readonly EncodedNode[];
  readonly initializers?: readonly EncodedTensor[];
  readonly inputs: readonly EncodedValueInfo[];
  readonly outputs: readonly EncodedValueInfo[];
  readonly graphName?: string;
}

const TYPE_CODES = { float32: ELEM.FLOAT, int64: ELEM.INT64, int32: ELEM.INT32, bool: ELEM.BOOL, float16: ELEM.FLOAT16, float64: ELEM.DOUBLE } as const;

function float16Bits(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp <= 0) return sign | (exp < -10 ? 0 : ((mant | 0x800000) >> (1 - exp + 13)));
  if (exp >= 31) return sign | 0x7c00 | (((x >>> 23) & 0xff) === 0xff && mant !== 0 ? 0x200 : 0);
  return sign | (exp << 10) | (mant >> 13);
}

export function encodeTensor(t: EncodedTensor): WireWriter {
  const w = new WireWriter();
  const type = t.type ?? (t.data instanceof BigInt64Array ? 'int64' : 'float32');
  for (const d of t.dims) w.varintField(1, d);
  w.varintField(2, TYPE_CODES[type]);
  if (t.name !== undefined) w.stringField(8, t.name);
  const values = Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
  if (t.typedField === true) {
    if (type === 'float32') {
      w.bytesField(4, new Uint8Array(Float32Array.from(values).buffer)); // packed float_data
    } else if (type === 'int64') w.packedVarints(7, values);
    else w.packedVarints(5, type === 'float16' ? values.map(float16Bits) : values);
    return w;
  }
  let bytes: Uint8Array;
  switch (type) {
    case 'float32': bytes = new Uint8Array(Float32Array.from(values).buffer); break;
    case 'float64': bytes = new Uint8Array(Float64Array.from(values).buffer); break;
    case 'int64': bytes = new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer); break;
    case 'int32': bytes = new Uint8Array(Int32Array.from(values).buffer); break;
    case 'float16': bytes = new Uint8Array(Uint16Array.from(values.map(float16Bits)).buffer); break;
    default: bytes = Uint8Array.from(values, (v) => (v ? 1 : 0));
  }
  w.bytesField(9, bytes);
  return w;
}

function encodeAttribute(name: string, value: EncodedAttribute): WireWriter {
  const w = new WireWriter();
  w.stringField(1, name);
  if (typeof value === 'number') {
    if (Number.isInteger(value)) {
      w.varintField(3, value);
      w.varintField(20, 2);
    } else {
      w.floatField(2, value);
      w.varintField(20, 1);
    }
  } else if (typeof value === 'string') {
    w.stringField(4, value);
    w.varintField(20, 3);
  } else if (Array.isArray(value)) {
    // torch writes ints unpacked: so does this (decoding reads both forms).
    for (const v of value as number[]) {
      w.tag(8, WIRE_VARINT);
      w.rawVarint(v);
    }
    w.varintField(20, 7);
  } else if ('floats' in (value as object)) {
    for (const v of (value as { floats: number[] }).floats) w.floatField(7, v);
    w.varintField(20, 6);
  } else if ('float' in (value as object)) {
    w.floatField(2, (value as { float: number }).float);
    w.varintField(20, 1);
  } else {
    w.messageField(5, encodeTensor((value as { tensor: EncodedTensor }).tensor));
    w.varintField(20, 4);
  }
  return w;
}

function encodeValueInfo(v: EncodedValueInfo): WireWriter {
  const shape = new WireWriter();
  for (const d of v.shape) {
    const dim = new WireWriter();
    if (typeof d === 'number') dim.varintField(1, d);
    else dim.stringField(2, d);
    shape.messageField(1, dim);
  }
  const tensorType = new WireWriter();
  tensorType.varintField(1, v.elemType ?? ELEM.FLOAT);
  tensorType.messageField(2, shape);
  const type = new WireWriter();
  type.messageField(1, tensorType);
  const w = new WireWriter();
  w.stringField(1, v.name);
  w.messageField(2, type);
  return w;
}

export function encodeModel(model: EncodedModel): Uint8Array {
  const graph = new WireWriter();
  model.nodes.forEach((n, i) => {
    const node = new WireWriter();
    for (const x of n.inputs) node.stringField(1, x);
    for (const x of n.outputs) node.stringField(2, x);
    node.stringField(3, n.name ?? `${n.op}_${i}`);
    node.stringField(4, n.op);
    for (const [k, v] of Object.entries(n.attributes ?? {})) node.messageField(5, encodeAttribute(k, v));
    if (n.domain !== undefined) node.stringField(7, n.domain);
    graph.messageField(1, node);
  });
  graph.stringField(2, model.graphName ?? 'graph');
  for (const t of model.initializers ?? []) graph.messageField(5, encodeTensor(t));
  for (const v of model.inputs) graph.messageField(11, encodeValueInfo(v));
  for (const v of model.outputs) graph.messageField(12, encodeValueInfo(v));
  const w = new WireWriter();
  w.varintField(1, model.irVersion ?? 8);
  w.stringField(2, model.producerName ?? 'sepconv');
  if (model.producerVersion !== undefined) w.stringField(3, model.producerVersion);
  w.messageField(7, graph);
  const opset = new WireWriter();
  opset.stringField(1, '');
  opset.varintField(2, model.opset);
  w.messageField(8, opset);
  return w.finish();
}
