/**
 * Files from outside are hostile: every malformed model must give a TypeError or RangeError whose
 * message starts with `onnx:` and names the field, tensor or node, before any large allocation,
 * in bounded time. Also the wire-format corners real exporters produce.
 */
import { describe, expect, it } from 'vitest';
import { loadOnnx, loadSafetensors, saveSafetensors } from '../../src/index.js';
import { encodeModel, type EncodedModel } from '../../src/onnx/encode.js';
import { WireWriter } from '../../src/onnx/wire.js';
import { expectClose, randomTensor, seeded } from './build.js';

/** A small network: Conv → Relu → GlobalAveragePool → Flatten → Gemm, a few KB. */
function smallNet(): EncodedModel {
  const w = randomTensor([4, 3, 3, 3], 1);
  return {
    opset: 13,
    producerName: 'test',
    nodes: [
      { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attributes: { pads: [1, 1, 1, 1], strides: [1, 1] } },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['p'] },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'], attributes: { axis: 1 } },
      { op: 'Gemm', inputs: ['f', 'fw', 'fb'], outputs: ['y'], attributes: { transB: 1 } },
    ],
    initializers: [
      { name: 'w', dims: w.shape, data: w.data },
      { name: 'b', dims: [4], data: seeded(4, 2) },
      { name: 'fw', dims: [2, 4], data: seeded(8, 3) },
      { name: 'fb', dims: [2], data: seeded(2, 4) },
    ],
    inputs: [{ name: 'x', shape: ['batch', 3, 8, 8] }],
    outputs: [{ name: 'y', shape: ['batch', 2] }],
  };
}

/** Loading (and, when it loads, running) must either work or throw an onnx: TypeError/RangeError. */
function expectCleanOutcome(bytes: Uint8Array): 'loaded' | 'refused' {
  let model;
  try {
    model = loadOnnx(bytes);
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError) || !error.message.startsWith('onnx:')) {
      throw new Error(`unclean error ${(error as Error).name}: ${(error as Error).message}`);
    }
    return 'refused';
  }
  try {
    model.run({ x: randomTensor([1, 3, 8, 8], 9) });
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError)) throw new Error(`unclean run error ${(error as Error).name}: ${(error as Error).message}`);
  }
  return 'loaded';
}

describe('ONNX loader on hostile input', () => {
  const good = encodeModel(smallNet());

  it('the small network itself loads and runs (dynamic batch)', () => {
    const model = loadOnnx(good);
    expect(model.inputs[0]!.shape).toEqual(['batch', 3, 8, 8]);
    expect(model.producer).toBe('test');
    expect(model.run({ x: randomTensor([2, 3, 8, 8], 5) }).y!.shape).toEqual([2, 2]);
    expect(model.compile({ x: [3, 3, 8, 8] }).run({ x: randomTensor([3, 3, 8, 8], 5) }).y!.shape).toEqual([3, 2]);
  });

  it('every truncation is refused or loads cleanly', () => {
    const counts = { loaded: 0, refused: 0 };
    for (let n = 0; n < good.length; n++) counts[expectCleanOutcome(good.subarray(0, n))]++;
    expect(counts.refused).toBeGreaterThan(good.length / 2);
  });

  it('byte flips are refused or load cleanly', () => {
    const counts = { loaded: 0, refused: 0 };
    const r = seeded(4000, 77);
    for (let k = 0; k < 2000; k++) {
      const bytes = good.slice();
      const at = Math.floor(Math.abs(r[2 * k]!) * bytes.length) % bytes.length;
      bytes[at] = Math.floor(Math.abs(r[2 * k + 1]!) * 256) & 0xff;
      counts[expectCleanOutcome(bytes)]++;
    }
    expect(counts.loaded + counts.refused).toBe(2000);
  });

  it('other formats are named, with the loader to use', () => {
    const safetensors = saveSafetensors({ w: { shape: [2], data: Float32Array.of(1, 2) } });
    expect(() => loadOnnx(safetensors)).toThrow(/onnx: not an ONNX model: .*safetensors.*loadSafetensors/);
    const zip = Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0, 0);
    expect(() => loadOnnx(zip)).toThrow(/onnx: not an ONNX model: .*loadTorchCheckpoint/);
    const html = new TextEncoder().encode('<!DOCTYPE html><html><body>Not found</body></html>');
    expect(() => loadOnnx(html)).toThrow(/onnx: not an ONNX model: .*HTML/);
    expect(() => loadOnnx(new Uint8Array(0))).toThrow(/onnx: not an ONNX model: the file is empty/);
    expect(() => loadOnnx('model.onnx' as never)).toThrow(TypeError);
    // The other direction: an ONNX file handed to loadSafetensors says to use loadOnnx.
    expect(() => loadSafetensors(good)).toThrow(/loadOnnx/);
  });

  it('huge, negative and overflowing dims are refused before allocation', () => {
    for (const dims of [[2 ** 31, 2 ** 31], [2 ** 40], [-1, 4]]) {
      const m = smallNet();
      const bytes = encodeModel({ ...m, initializers: [{ name: 'w', dims, data: Float32Array.of(1) }, ...m.initializers!.slice(1)] });
      expect(() => loadOnnx(bytes)).toThrow(/onnx: tensor "w"/);
    }
  });

  it('short raw_data names the tensor and the sizes', () => {
    const m = smallNet();
    const bytes = encodeModel({ ...m, initializers: [{ name: 'w', dims: [4, 3, 3, 3], data: seeded(100, 1) }, ...m.initializers!.slice(1)] });
    expect(() => loadOnnx(bytes)).toThrow(/onnx: tensor "w": raw_data has 400 bytes, but dims \[4,3,3,3\] of float32 need 432/);
  });

  it('attributes of the wrong type name node and attribute', () => {
    const m = smallNet();
    const nodes = m.nodes.slice();
    nodes[0] = { ...nodes[0]!, attributes: { pads: [1, 1, 1, 1], strides: { floats: [1, 1] } } };
    expect(() => loadOnnx(encodeModel({ ...m, nodes }))).toThrow(/onnx: Conv node "Conv_0": attribute "strides" must be INTS, got FLOATS/);
    nodes[0] = { ...nodes[0]!, attributes: { auto_pad: 'SAME_MIDDLE' } };
    expect(() => loadOnnx(encodeModel({ ...m, nodes }))).toThrow(/auto_pad/);
  });

  it('a Conv weight of the wrong rank, or not constant, is an error naming the node', () => {
    const m = smallNet();
    const bytes = encodeModel({ ...m, initializers: [{ name: 'w', dims: [4, 27], data: seeded(108, 1) }, ...m.initializers!.slice(1)] });
    expect(() => loadOnnx(bytes)).toThrow(/onnx: Conv node "Conv_0": weight must be 3-D or 4-D/);
    const inputs = [...m.inputs, { name: 'w', shape: [4, 3, 3, 3] }];
    expect(() => loadOnnx(encodeModel({ ...m, inputs, initializers: m.initializers!.slice(1) }))).toThrow(/onnx: Conv node "Conv_0": the weight must be an initializer/);
  });

  it('unsupported operators are listed in one error with domain, node name, opset and what is supported', () => {
    const m = smallNet();
    const nodes = [...m.nodes.slice(0, 1), { op: 'NonMaxSuppression', inputs: ['c'], outputs: ['r'], name: 'nms' }, ...m.nodes.slice(2), { op: 'MyOp', domain: 'com.example', inputs: ['y'], outputs: ['z'], name: 'custom' }];
    let message = '';
    try {
      loadOnnx(encodeModel({ ...m, nodes }));
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/^onnx: unsupported operators \(opset 13\): NonMaxSuppression at "nms", MyOp \(domain "com.example"\) at "custom"\. sepconv supports, in the default domain: .*Conv, ConvTranspose/);
  });

  it('a tensor nothing produces, a cycle, a duplicate output', () => {
    const m = smallNet();
    const missing = m.nodes.map((n, i) => (i === 1 ? { ...n, inputs: ['nowhere'] } : n));
    expect(() => loadOnnx(encodeModel({ ...m, nodes: missing }))).toThrow(/onnx: Relu node "Relu_1" reads tensor "nowhere", which no node, input or initializer produces/);
    const cycle = m.nodes.map((n, i) => (i === 1 ? { ...n, inputs: ['f'] } : n));
    expect(() => loadOnnx(encodeModel({ ...m, nodes: cycle }))).toThrow(/onnx: the graph has a cycle/);
    const dup = m.nodes.map((n, i) => (i === 2 ? { ...n, outputs: ['c'] } : n));
    expect(() => loadOnnx(encodeModel({ ...m, nodes: dup }))).toThrow(/onnx: tensor "c" is produced twice/);
  });

  it('opsets outside 7..21 and models without the default domain are refused', () => {
    expect(() => loadOnnx(encodeModel({ ...smallNet(), opset: 6 }))).toThrow(/onnx: the model uses opset 6 .* opsets 7 to 21/);
    expect(() => loadOnnx(encodeModel({ ...smallNet(), opset: 22 }))).toThrow(/opset 22/);
  });

  it('external data: a clear error, or read from options.externalData', () => {
    const m = smallNet();
    // Rewrite the weight as an external tensor by hand.
    const t = new WireWriter();
    for (const d of [4, 3, 3, 3]) t.varintField(1, d);
    t.varintField(2, 1);
    t.stringField(8, 'w');
    const entry = (k: string, v: string): WireWriter => {
      const e = new WireWriter();
      e.stringField(1, k);
      e.stringField(2, v);
      return e;
    };
    t.messageField(13, entry('location', 'weights.bin'));
    t.messageField(13, entry('offset', '4'));
    t.varintField(14, 1);
    const base = encodeModel({ ...m, initializers: m.initializers!.slice(1) });
    // Append the external initializer to the graph: re-encode the graph field by concatenation.
    const withExternal = appendInitializer(base, t.finish());
    expect(() => loadOnnx(withExternal)).toThrow(/onnx: tensor "w" is stored in the external file "weights.bin"; pass its bytes as loadOnnx\(bytes, \{ externalData/);
    const w = randomTensor([4, 3, 3, 3], 1).data;
    const file = new Uint8Array(4 + w.byteLength);
    file.set(new Uint8Array(w.buffer), 4);
    const model = loadOnnx(withExternal, { externalData: { 'weights.bin': file } });
    const reference = loadOnnx(good);
    const x = randomTensor([1, 3, 8, 8], 3);
    expectClose(model.run({ x }).y!, reference.run({ x }).y!.data, 0);
  });

  it('float16 and double initializers, typed data fields and Constant value forms are read', () => {
    const x = randomTensor([2, 3], 1);
    const bytes = encodeModel({
      opset: 13,
      nodes: [
        { op: 'Add', inputs: ['x', 'h'], outputs: ['a'] },
        { op: 'Add', inputs: ['a', 'd'], outputs: ['b'] },
        { op: 'Constant', inputs: [], outputs: ['c'], attributes: { value_floats: { floats: [0.25, 0.5, 1] } } },
        { op: 'Mul', inputs: ['b', 'c'], outputs: ['m'] },
        { op: 'Add', inputs: ['m', 't'], outputs: ['y'] },
        { op: 'Constant', inputs: [], outputs: ['shape'], attributes: { value_ints: [-1] } },
        { op: 'Reshape', inputs: ['y', 'shape'], outputs: ['z'] },
      ],
      initializers: [
        { name: 'h', dims: [3], data: [0.5, -2, 1024], type: 'float16' },
        { name: 'd', dims: [3], data: [0.1, 0.2, 0.3], type: 'float64' },
        { name: 't', dims: [3], data: [1, 2, 3], typedField: true },
      ],
      inputs: [{ name: 'x', shape: [2, 3] }],
      outputs: [{ name: 'z', shape: [6] }],
    });
    const z = loadOnnx(bytes).run({ x }).z!;
    expect(z.shape).toEqual([6]);
    const ref = Array.from(x.data, (v, i) => (v + [0.5, -2, 1024][i % 3]! + [0.1, 0.2, 0.3][i % 3]!) * [0.25, 0.5, 1][i % 3]! + [1, 2, 3][i % 3]!);
    expectClose(z, ref, 1e-6);
  });

  it('a 20,000-node chain loads and runs (the loader is linear in the graph)', () => {
    const nodes = Array.from({ length: 20000 }, (_, i) => ({ op: i === 0 ? 'Abs' : 'Neg', inputs: [i === 0 ? 'x' : `t${i - 1}`], outputs: [i === 19999 ? 'y' : `t${i}`] }));
    const bytes = encodeModel({ opset: 13, nodes, inputs: [{ name: 'x', shape: [4] }], outputs: [{ name: 'y', shape: [4] }] });
    const start = performance.now();
    const model = loadOnnx(bytes);
    const ms = performance.now() - start;
    console.log(`20,000-node chain: loaded and specialised in ${ms.toFixed(0)} ms`);
    const y = model.compile({ x: [4] }).run({ x: { shape: [4], data: Float32Array.of(-1, 2, -3, 4) } }).y!;
    // |x| negated 19,999 times.
    expect(Array.from(y.data)).toEqual([-1, -2, -3, -4]);
  });
});

/** Appends a raw TensorProto as an initializer to an encoded model (the graph is field 7). */
function appendInitializer(model: Uint8Array, tensor: Uint8Array): Uint8Array {
  // Decode the top level just enough to find the graph field and re-emit it longer.
  let pos = 0;
  const out = new WireWriter();
  const readVarint = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = model[pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return v;
    }
  };
  while (pos < model.length) {
    const tag = readVarint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      out.varintField(field, readVarint());
      continue;
    }
    const len = readVarint();
    const body = model.subarray(pos, pos + len);
    pos += len;
    if (field === 7) {
      const g = new WireWriter();
      g.bytesField(5, tensor);
      const extra = g.finish();
      const joined = new Uint8Array(body.length + extra.length);
      joined.set(body);
      joined.set(extra, body.length);
      out.bytesField(7, joined);
    } else out.bytesField(field, body);
  }
  return out.finish();
}
