/**
 * A small TFLite flatbuffer writer (schema v3, float32, NHWC) for the LiteRT.js peer
 * (bench/peers/litert.mjs): just the operators the benchmarks need — CONV_2D, DEPTHWISE_CONV_2D,
 * PAD, ADD, MEAN, FULLY_CONNECTED — written from sepconv's PyTorch-layout weights.
 *
 * Flatbuffers in brief (flatbuffers.dev, "internals"): a buffer starts with a uoffset (u32) to the
 * root table, then the 4-byte file identifier ("TFL3"). A table starts with an soffset (i32) to
 * its vtable (vtable = table − soffset); the vtable holds u16 sizes (vtable bytes, table bytes) and
 * one u16 per field: the field's byte offset inside the table, 0 = absent (the default applies).
 * References (tables, vectors, strings) are uoffsets relative to where they are stored and must
 * point forward. Vectors are a u32 length then the elements; strings add a NUL.
 *
 * This writer lays a table out front to back: vtable, table, then its children (depth first), so
 * every reference points forward. Everything is aligned to its natural size; buffer data to 16
 * bytes (the schema's force_align).
 *
 * Padding: TFLite's SAME pads (total) = max((out − 1)·stride + k − in, 0) with the smaller half
 * before; PyTorch pads `pad` on both sides. Where SAME gives PyTorch's output (same size, same
 * leading pad) the convolution says SAME, else an explicit PAD op precedes a VALID convolution.
 */

// TFLite enums (schema.fbs)
const TensorType = { FLOAT32: 0, INT32: 2 };
const Op = { ADD: 0, CONV_2D: 3, DEPTHWISE_CONV_2D: 4, FULLY_CONNECTED: 9, PAD: 34, MEAN: 40 };
const Options = { Conv2D: 1, DepthwiseConv2D: 2, FullyConnected: 8, Add: 11, Pad: 22, Reducer: 27 };
const Padding = { SAME: 0, VALID: 1 };
const Activation = { NONE: 0, RELU: 1, RELU6: 3 };

// ---------------------------------------------------------------------------------------------
// Flatbuffer values: describe the tree, then `serialize` lays it out.

const table = (fields) => ({ kind: 'table', fields });
const vectorOfTables = (items) => ({ kind: 'tables', items });
const i32Vector = (values) => ({ kind: 'bytes', bytes: new Uint8Array(Int32Array.from(values).buffer), align: 4, elementSize: 4 });
const byteVector = (bytes, align = 16) => ({ kind: 'bytes', bytes, align, elementSize: 1 });
const string = (text) => ({ kind: 'string', bytes: new TextEncoder().encode(text) });
// scalar fields
const u8 = (value) => ({ kind: 'scalar', size: 1, write: (v, at) => v.setUint8(at, value) });
const i32 = (value) => ({ kind: 'scalar', size: 4, write: (v, at) => v.setInt32(at, value, true) });
const u32 = (value) => ({ kind: 'scalar', size: 4, write: (v, at) => v.setUint32(at, value >>> 0, true) });

class Writer {
  constructor() {
    this.bytes = new Uint8Array(1 << 16);
    this.view = new DataView(this.bytes.buffer);
    this.length = 0;
  }

  reserve(n) {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length;
    while (size < this.length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  /** Pads with zeros until (length + ahead) is a multiple of `alignment`. */
  align(alignment, ahead = 0) {
    const pad = (alignment - ((this.length + ahead) % alignment)) % alignment;
    this.reserve(pad);
    this.length += pad;
  }

  take(n) {
    this.reserve(n);
    const at = this.length;
    this.length += n;
    return at;
  }
}

/** Writes `value` at the writer's end and returns its position. */
function place(w, value) {
  if (value.kind === 'bytes') {
    // u32 length, then the elements aligned to `align`
    w.align(Math.max(4, value.align), 4);
    const at = w.take(4);
    w.view.setUint32(at, value.bytes.length / value.elementSize, true);
    const data = w.take(value.bytes.length); // take() may replace w.bytes: call it first
    w.bytes.set(value.bytes, data);
    return at;
  }
  if (value.kind === 'string') {
    w.align(4);
    const at = w.take(4);
    w.view.setUint32(at, value.bytes.length, true);
    const data = w.take(value.bytes.length + 1);
    w.bytes.set(value.bytes, data);
    return at;
  }
  if (value.kind === 'tables') {
    w.align(4);
    const at = w.take(4 + 4 * value.items.length);
    w.view.setUint32(at, value.items.length, true);
    value.items.forEach((item, i) => {
      const slot = at + 4 + 4 * i;
      const target = place(w, item);
      w.view.setUint32(slot, target - slot, true);
    });
    return at;
  }
  if (value.kind === 'table') {
    const fields = value.fields;
    // table layout: soffset, then the fields largest first (keeps each aligned)
    const present = fields.map((f, id) => ({ f, id })).filter(({ f }) => f !== undefined && f !== null);
    const sizeOf = ({ f }) => (f.kind === 'scalar' ? f.size : 4);
    const ordered = [...present].sort((a, b) => sizeOf(b) - sizeOf(a));
    let tableBytes = 4;
    const offsets = new Map();
    for (const entry of ordered) {
      const size = sizeOf(entry);
      tableBytes = Math.ceil(tableBytes / size) * size;
      offsets.set(entry.id, tableBytes);
      tableBytes += size;
    }
    tableBytes = Math.ceil(tableBytes / 4) * 4;
    const vtableBytes = 4 + 2 * fields.length;
    // vtable, then the table on a 4-byte boundary
    w.align(4, vtableBytes);
    const vt = w.take(vtableBytes);
    const at = w.take(tableBytes);
    w.bytes.fill(0, vt, at + tableBytes);
    w.view.setUint16(vt, vtableBytes, true);
    w.view.setUint16(vt + 2, tableBytes, true);
    for (let id = 0; id < fields.length; id++) w.view.setUint16(vt + 4 + 2 * id, offsets.get(id) ?? 0, true);
    w.view.setInt32(at, at - vt, true);
    const references = [];
    for (const { f, id } of present) {
      const fieldAt = at + offsets.get(id);
      if (f.kind === 'scalar') f.write(w.view, fieldAt);
      else references.push([fieldAt, f]);
    }
    for (const [fieldAt, f] of references) {
      const target = place(w, f);
      w.view.setUint32(fieldAt, target - fieldAt, true);
    }
    return at;
  }
  throw new Error(`tflite writer: unknown value kind ${value.kind}`);
}

function serialize(root, identifier) {
  const w = new Writer();
  w.take(8);
  for (let i = 0; i < 4; i++) w.bytes[4 + i] = identifier.charCodeAt(i);
  const at = place(w, root);
  w.view.setUint32(0, at, true);
  return w.bytes.slice(0, w.length);
}

// ---------------------------------------------------------------------------------------------
// Graph building

/** Collects tensors, buffers and operators of one subgraph. */
export class TfliteGraph {
  constructor() {
    this.tensors = [];
    this.buffers = [new Uint8Array(0)]; // buffer 0: the empty buffer (schema convention)
    this.operators = [];
    this.opcodes = [];
    this.inputs = [];
    this.outputs = [];
  }

  /** A tensor; `data` (a typed array) makes it a constant. Returns its index. */
  tensor(name, shape, data = null, type = TensorType.FLOAT32) {
    let buffer = 0;
    if (data !== null) {
      if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`tflite: ${name} has ${data.length} values for shape [${shape}]`);
      buffer = this.buffers.length;
      this.buffers.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
    }
    this.tensors.push({ name, shape: shape.slice(), type, buffer });
    return this.tensors.length - 1;
  }

  input(shape) {
    const t = this.tensor(`input${this.inputs.length}`, shape);
    this.inputs.push(t);
    return t;
  }

  shapeOf(t) {
    return this.tensors[t].shape;
  }

  op(code, inputs, outputs, optionsType, options) {
    let index = this.opcodes.indexOf(code);
    if (index < 0) {
      index = this.opcodes.length;
      this.opcodes.push(code);
    }
    this.operators.push({ opcode: index, inputs, outputs, optionsType, options });
  }

  /** Explicit zero padding of an NHWC tensor. */
  pad(x, top, bottom, left, right) {
    const [n, h, w, c] = this.shapeOf(x);
    const paddings = this.tensor(`pad${this.operators.length}.paddings`, [4, 2], Int32Array.from([0, 0, top, bottom, left, right, 0, 0]), TensorType.INT32);
    const y = this.tensor(`pad${this.operators.length}`, [n, h + top + bottom, w + left + right, c]);
    this.op(Op.PAD, [x, paddings], [y], Options.Pad, table([]));
    return y;
  }

  /**
   * A PyTorch Conv2d (weight `[Cout, Cin/groups, k, k]`, symmetric `pad`, groups 1 or depthwise
   * groups = Cin) on NHWC `x`, with an optional bias and fused 'relu' / 'relu6'.
   */
  conv(x, { weight, shape, bias = null, stride = 1, pad = 0, groups = 1, activation = 'none', name = `conv${this.operators.length}` }) {
    const [cout, cinG, kh, kw] = shape;
    const [n, h, w, cin] = this.shapeOf(x);
    const depthwise = groups === cin && groups > 1;
    if (groups !== 1 && !depthwise) throw new Error(`tflite writer: ${name}: grouped convolutions (groups ${groups}) are not written`);
    if (cinG * groups !== cin) throw new Error(`tflite writer: ${name}: weight [${shape}] does not fit ${cin} input channels`);
    const outH = Math.floor((h + 2 * pad - kh) / stride) + 1;
    const outW = Math.floor((w + 2 * pad - kw) / stride) + 1;
    let padding = Padding.VALID;
    let input = x;
    if (pad > 0) {
      if (sameMatches(h, kh, stride, pad, outH) && sameMatches(w, kw, stride, pad, outW)) padding = Padding.SAME;
      else input = this.pad(x, pad, pad, pad, pad);
    }
    const filter = depthwise ? toDepthwiseFilter(weight, shape) : toOhwi(weight, shape);
    const filterShape = depthwise ? [1, kh, kw, cout] : [cout, kh, kw, cinG];
    const f = this.tensor(`${name}.weight`, filterShape, filter);
    const b = this.tensor(`${name}.bias`, [cout], bias === null ? new Float32Array(cout) : Float32Array.from(bias));
    const y = this.tensor(name, [n, outH, outW, cout]);
    const act = u8(Activation[activation.toUpperCase()]);
    if (depthwise) {
      // DepthwiseConv2DOptions: padding, stride_w, stride_h, depth_multiplier, fused_activation_function
      this.op(Op.DEPTHWISE_CONV_2D, [input, f, b], [y], Options.DepthwiseConv2D,
        table([u8(padding), i32(stride), i32(stride), i32(cout / cin), act]));
    } else {
      // Conv2DOptions: padding, stride_w, stride_h, fused_activation_function
      this.op(Op.CONV_2D, [input, f, b], [y], Options.Conv2D, table([u8(padding), i32(stride), i32(stride), act]));
    }
    return y;
  }

  add(a, b, activation = 'none') {
    const y = this.tensor(`add${this.operators.length}`, this.shapeOf(a));
    this.op(Op.ADD, [a, b], [y], Options.Add, table([u8(Activation[activation.toUpperCase()])]));
    return y;
  }

  /** Mean over H and W of NHWC `x` → [N, C]. */
  spatialMean(x) {
    const [n, , , c] = this.shapeOf(x);
    const axes = this.tensor(`mean${this.operators.length}.axes`, [2], Int32Array.from([1, 2]), TensorType.INT32);
    const y = this.tensor(`mean${this.operators.length}`, [n, c]);
    this.op(Op.MEAN, [x, axes], [y], Options.Reducer, table([u8(0)])); // keep_dims false
    return y;
  }

  /** y = x·Wᵀ + b with PyTorch's Linear weight `[out, in]` (TFLite's FULLY_CONNECTED layout too). */
  fullyConnected(x, weight, outFeatures, bias) {
    const [n, inFeatures] = this.shapeOf(x);
    const f = this.tensor(`fc${this.operators.length}.weight`, [outFeatures, inFeatures], Float32Array.from(weight));
    const b = this.tensor(`fc${this.operators.length}.bias`, [outFeatures], Float32Array.from(bias));
    const y = this.tensor(`fc${this.operators.length}`, [n, outFeatures]);
    this.op(Op.FULLY_CONNECTED, [x, f, b], [y], Options.FullyConnected, table([u8(Activation.NONE)]));
    return y;
  }

  output(t) {
    this.outputs.push(t);
  }

  /** The .tflite bytes. */
  encode(description = 'sepconv bench') {
    const tensors = this.tensors.map((t) => table([i32Vector(t.shape), u8(t.type), u32(t.buffer), string(t.name)]));
    const operators = this.operators.map((o) => table([u32(o.opcode), i32Vector(o.inputs), i32Vector(o.outputs), u8(o.optionsType), o.options]));
    // OperatorCode: deprecated_builtin_code (byte, codes < 127), custom_code, version, builtin_code
    const opcodes = this.opcodes.map((code) => table([u8(Math.min(code, 127)), null, i32(1), i32(code)]));
    const subgraph = table([vectorOfTables(tensors), i32Vector(this.inputs), i32Vector(this.outputs), vectorOfTables(operators), string('main')]);
    const buffers = this.buffers.map((data) => table(data.length > 0 ? [byteVector(data)] : []));
    // Model: version, operator_codes, subgraphs, description, buffers
    const model = table([u32(3), vectorOfTables(opcodes), vectorOfTables([subgraph]), string(description), vectorOfTables(buffers)]);
    return serialize(model, 'TFL3');
  }
}

/** Whether TFLite's SAME padding gives PyTorch's output for symmetric padding `pad`. */
function sameMatches(size, k, stride, pad, out) {
  const sameOut = Math.ceil(size / stride);
  if (sameOut !== out) return false;
  const total = Math.max((out - 1) * stride + k - size, 0);
  return Math.floor(total / 2) === pad;
}

/** PyTorch `[O, I, kh, kw]` → TFLite CONV_2D's `[O, kh, kw, I]`. */
function toOhwi(weight, [o, i, kh, kw]) {
  const out = new Float32Array(weight.length);
  for (let a = 0; a < o; a++) for (let c = 0; c < i; c++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    out[((a * kh + y) * kw + x) * i + c] = weight[((a * i + c) * kh + y) * kw + x];
  }
  return out;
}

/** PyTorch depthwise `[C·M, 1, kh, kw]` → TFLite DEPTHWISE_CONV_2D's `[1, kh, kw, C·M]` (channel c·M + m in both). */
function toDepthwiseFilter(weight, [o, , kh, kw]) {
  const out = new Float32Array(weight.length);
  for (let a = 0; a < o; a++) for (let t = 0; t < kh * kw; t++) out[t * o + a] = weight[a * kh * kw + t];
  return out;
}

/** NCHW (batch 1) → NHWC. */
export function nchwToNhwc(data, channels, height, width) {
  const out = new Float32Array(data.length);
  const plane = height * width;
  for (let c = 0; c < channels; c++) for (let p = 0; p < plane; p++) out[p * channels + c] = data[c * plane + p];
  return out;
}

/** NHWC (batch 1) → NCHW. */
export function nhwcToNchw(data, channels, height, width) {
  const out = new Float32Array(data.length);
  const plane = height * width;
  for (let c = 0; c < channels; c++) for (let p = 0; p < plane; p++) out[c * plane + p] = data[p * channels + c];
  return out;
}
