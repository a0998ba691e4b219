/**
 * The imported model as a sepconv Module: summary and profile rows per node, parameters and the
 * state dict keyed by initializer names, loadStateDict seen by compiled plans, runAsync with a
 * worker pool, input checks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2d, loadOnnx, ready, profile, summary, type Conv2dOptions, type Tensor } from '../../src/index.js';
import { encodeModel, type EncodedModel } from '../../src/onnx/encode.js';
import { expectClose, randomTensor, seeded } from './build.js';

function net(): EncodedModel {
  const w = randomTensor([8, 3, 3, 3], 1);
  const dw = randomTensor([8, 1, 3, 3], 2);
  return {
    opset: 13,
    producerName: 'pytorch',
    producerVersion: '1.13.1',
    nodes: [
      { op: 'Conv', inputs: ['input', 'conv1.weight', 'conv1.bias'], outputs: ['a'], attributes: { pads: [1, 1, 1, 1], strides: [2, 2] }, name: 'conv1' },
      { op: 'Relu', inputs: ['a'], outputs: ['b'], name: 'relu1' },
      { op: 'Conv', inputs: ['b', 'dw.weight'], outputs: ['c'], attributes: { pads: [1, 1, 1, 1], group: 8 }, name: 'dw' },
      { op: 'HardSigmoid', inputs: ['c'], outputs: ['g'], attributes: { alpha: 1 / 6, beta: 0.5 }, name: 'gate' },
      { op: 'Mul', inputs: ['c', 'g'], outputs: ['d'], name: 'hswish' },
      { op: 'Add', inputs: ['d', 'b'], outputs: ['e'], name: 'residual' },
      { op: 'GlobalAveragePool', inputs: ['e'], outputs: ['p'], name: 'pool' },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'], name: 'flatten' },
      { op: 'Gemm', inputs: ['f', 'fc.weight', 'fc.bias'], outputs: ['output'], attributes: { transB: 1 }, name: 'fc' },
    ],
    initializers: [
      { name: 'conv1.weight', dims: w.shape, data: w.data },
      { name: 'conv1.bias', dims: [8], data: seeded(8, 3) },
      { name: 'dw.weight', dims: dw.shape, data: dw.data },
      { name: 'fc.weight', dims: [5, 8], data: seeded(40, 4) },
      { name: 'fc.bias', dims: [5], data: seeded(5, 5) },
    ],
    inputs: [{ name: 'input', shape: ['N', 3, 16, 16] }],
    outputs: [{ name: 'output', shape: ['N', 5] }],
  };
}

describe('an imported model is a Module', () => {
  const bytes = encodeModel(net());
  const x = randomTensor([2, 3, 16, 16], 9);

  it('has its inputs, outputs, opset and producer', () => {
    const model = loadOnnx(bytes);
    expect(model.inputs).toEqual([{ name: 'input', shape: ['N', 3, 16, 16], dtype: 'float32' }]);
    expect(model.outputs).toEqual([{ name: 'output', shape: ['N', 5], dtype: 'float32' }]);
    expect(model.opset).toBe(13);
    expect(model.producer).toBe('pytorch 1.13.1');
  });

  it('summary lists every node that runs, with the conv and linear MACs', () => {
    const model = loadOnnx(bytes);
    const s = summary(model, [1, 3, 16, 16]);
    expect(s.rows.map((r) => r.name)).toEqual(['conv1', 'dw', 'hswish', 'residual', 'pool', 'flatten', 'fc']);
    expect(s.rows.map((r) => r.type)).toEqual(['OnnxConv2d', 'OnnxConv2d', 'Hardswish', 'Add', 'AdaptiveAvgPool2d', 'Flatten', 'Linear']);
    expect(s.uncosted).toEqual(['Add', 'Flatten']);
    expect(s.rows[4]!.kind).toBe('pool');
    expect(s.rows[2]!.kind).toBe('activation');
    expect(s.rows[2]!.elementwiseOps).toBe(8 * 8 * 8);
    expect(s.rows[0]!.macs).toBe(8 * 8 * 8 * 27);
    expect(s.rows[1]!.macs).toBe(8 * 8 * 8 * 9);
    expect(s.rows[6]!.macs).toBe(40);
    expect(s.outputShape).toEqual([1, 5]);
    expect(s.totals.params).toBe(8 * 27 + 8 + 72 + 40 + 5);
  });

  it('profile times each node and the compiled whole', () => {
    const p = profile(loadOnnx(bytes), randomTensor([1, 3, 16, 16], 3), { repeats: 1, warmup: 0 });
    expect(p.rows.length).toBe(7);
    expect(p.compiledMs).toBeGreaterThanOrEqual(0);
  });

  it('stateDict and parameters are keyed by initializer names; loadStateDict reaches run and compiled plans', () => {
    const model = loadOnnx(bytes);
    const dict = model.stateDict();
    expect(Object.keys(dict).sort()).toEqual(['conv1.bias', 'conv1.weight', 'dw.weight', 'fc.bias', 'fc.weight']);
    expect(model.namedParameters().map(([k]) => model.initializerName(k)).sort()).toEqual(Object.keys(dict).sort());
    const compiled = model.compile({ input: x.shape });
    const before = compiled.run({ input: x }).output!.data.slice();
    const scaled = { shape: dict['fc.bias']!.shape, data: (dict['fc.bias']!.data as Float32Array).map((v) => v + 1) };
    model.loadStateDict({ ...dict, 'fc.bias': scaled });
    const after = compiled.run({ input: x }).output!;
    expectClose(after, before.map((v) => v + 1), 1e-5);
    expectClose(model.run({ input: x }).output!, after.data, 1e-5);
    expect(() => model.loadStateDict({ nope: scaled })).toThrow(/nope/);
  });

  it('forward, run with a bare tensor, outputShape and compile with one shape (single-input models)', () => {
    const model = loadOnnx(bytes);
    const y = model.forward(x);
    expect(y.shape).toEqual([2, 5]);
    expectClose(model.run(x).output!, y.data, 0);
    expect(model.outputShape([4, 3, 16, 16])).toEqual([4, 5]);
    const compiled = model.compile([2, 3, 16, 16]);
    expectClose(compiled.run(x), y.data, 1e-5);
    expect(compiled.memory().activationBytes).toBeGreaterThan(0);
  });

  it('checks inputs: names, ranks, fixed dimensions, compiled shapes, dispose', () => {
    const model = loadOnnx(bytes);
    expect(() => model.run({})).toThrow(/run: missing input "input"/);
    expect(() => model.run({ input: x, other: x } as never)).toThrow(/unknown field "other"/);
    expect(() => model.run({ input: randomTensor([2, 4, 16, 16], 1) })).toThrow(/dimension 1 is fixed at 3/);
    expect(() => model.run({ input: randomTensor([3, 16, 16], 1) })).toThrow(/rank 4/);
    const compiled = model.compile({ input: [2, 3, 16, 16] });
    expect(() => compiled.run({ input: randomTensor([1, 3, 16, 16], 1) })).toThrow(/compile again/);
    compiled.dispose();
    expect(() => compiled.run({ input: x })).toThrow(/dispose/);
  });

  beforeAll(async () => {
    await ready();
  });
  it('runAsync hands the convolutions to a worker pool with the same results', async () => {
    const model = loadOnnx(bytes);
    const ref = model.run({ input: x }).output!;
    // A ConvRunner that records what it is handed (the worker pool itself is tested in test/parallel).
    const calls: number[][] = [];
    const pool = { conv2d: async (input: Tensor, weight: Tensor, options: Conv2dOptions) => { calls.push(input.shape.slice()); return conv2d(input, weight, options); } };
    const viaPool = (await model.runAsync({ input: x }, { pool })).output!;
    expect(calls).toEqual([[2, 3, 16, 16], [2, 8, 8, 8]]);
    expectClose(viaPool, ref.data, 1e-6);
    const plain: Tensor = await model.forwardAsync(x);
    expectClose(plain, ref.data, 0);
  });
});

describe('clone and foldBatchNorm on an imported model', () => {
  it('clone copies the current weights and is independent; foldBatchNorm returns an equivalent model', async () => {
    const { foldBatchNorm } = await import('../../src/index.js');
    const bytes = encodeModel(net());
    const model = loadOnnx(bytes);
    const x = randomTensor([1, 3, 16, 16], 4);
    const dict = model.stateDict();
    model.loadStateDict({ ...dict, 'fc.bias': { shape: [5], data: new Float32Array(5).fill(2) } });
    const copy = model.clone();
    expectClose(copy.run({ input: x }).output!, model.run({ input: x }).output!.data, 0);
    copy.loadStateDict({ ...dict, 'fc.bias': { shape: [5], data: new Float32Array(5) } });
    expect(Array.from(model.stateDict()['fc.bias']!.data as Float32Array)).toEqual([2, 2, 2, 2, 2]);
    expectClose(foldBatchNorm(model).forward(x), model.forward(x).data, 0);
  });
});

describe('summary takes the record form of an ONNX model\'s input shapes', () => {
  it('summary(model, { input: shape }) equals summary(model, shape); several inputs are refused', async () => {
    const { exportOnnx, loadOnnx, mobilenetV2, summary } = await import('../../src/index.js');
    const model = loadOnnx(exportOnnx(mobilenetV2({ widthMult: 0.25, numClasses: 10, seed: 2 }).eval(), [1, 3, 32, 32]));
    const name = model.inputs[0]!.name;
    const byRecord = summary(model, { [name]: [1, 3, 32, 32] });
    expect(byRecord.totals).toEqual(summary(model, [1, 3, 32, 32]).totals);
    expect(byRecord.totals.macs).toBeGreaterThan(0);
    expect(() => summary(model, { a: [1, 3, 32, 32], b: [1, 3, 32, 32] })).toThrow(/exactly one input/);
  });
});
