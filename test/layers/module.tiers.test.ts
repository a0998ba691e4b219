import { describe, expect, it } from 'vitest';
import {
  BatchNorm2d, Conv2d, DepthwiseSeparableConv2d, Linear, ReLU, Sequential, StateDictError, MaxPool2d, Flatten, AdaptiveAvgPool2d,
  type StateTensorLike,
} from '../../src/index.js';
import { expectBitwiseEqual, randomTensor, rng } from '../helpers.js';

function smallNet(seed: number): Sequential {
  return new Sequential(
    new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, bias: false, seed }),
    new BatchNorm2d(4),
    new ReLU(),
    new DepthwiseSeparableConv2d({ inChannels: 4, outChannels: 6, seed: seed + 1 }),
  );
}

function snapshot(m: Sequential): Record<string, number[]> {
  return Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data, Number)]));
}

describe('Module: names, state dict, loading', () => {
  it('state-dict keys follow PyTorch (indices, child attributes, BatchNorm buffers)', () => {
    const net = smallNet(1);
    expect(Object.keys(net.stateDict())).toEqual([
      '0.weight',
      '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked',
      '3.depthwise.weight', '3.depthwise.bias', '3.pointwise.weight', '3.pointwise.bias',
    ]);
    expect(net.namedParameters().map(([k]) => k)).toEqual(['0.weight', '1.weight', '1.bias', '3.depthwise.weight', '3.depthwise.bias', '3.pointwise.weight', '3.pointwise.bias']);
    expect(net.namedBuffers().map(([k]) => k)).toEqual(['1.running_mean', '1.running_var', '1.num_batches_tracked']);
    expect(net.namedModules().map(([k, m]) => `${k}:${m.constructor.name}`)).toEqual([
      ':Sequential', '0:Conv2d', '1:BatchNorm2d', '2:ReLU', '3:DepthwiseSeparableConv2d', '3.depthwise:DepthwiseConv2d', '3.pointwise:PointwiseConv2d',
    ]);
    expect(net.namedChildren().map(([k]) => k)).toEqual(['0', '1', '2', '3']);
    expect(net.numParameters()).toBe(108 + 8 + 36 + 4 + 24 + 6);
  });

  it('state dict round trip: loading one model\'s state into another reproduces its outputs; stateDict returns copies', () => {
    const a = smallNet(1);
    const b = smallNet(100);
    const bn = a.at<BatchNorm2d>(1);
    bn.runningMean.data.set([0.1, -0.2, 0.3, 0]);
    bn.runningVar.data.set([0.5, 2, 1, 0.25]);
    const x = randomTensor([2, 3, 6, 6], rng(3));
    expect(Array.from(b.forward(x).data)).not.toEqual(Array.from(a.forward(x).data));
    const result = b.loadStateDict(a.stateDict());
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expectBitwiseEqual(b.forward(x).data, a.forward(x).data, 'round trip');
    const dict = a.stateDict();
    (dict['0.weight']!.data as Float32Array).fill(0);
    expect(a.at<Conv2d>(0).weight.data.some((v) => v !== 0)).toBe(true);
  });

  it('strict loading reports missing, unexpected and mismatched keys all at once and changes nothing', () => {
    const net = smallNet(1);
    const before = snapshot(net);
    const dict: Record<string, StateTensorLike> = net.stateDict();
    delete dict['3.pointwise.bias'];
    delete dict['1.running_var'];
    dict['extra.weight'] = { shape: [1], data: new Float32Array(1) };
    dict['0.weight'] = { shape: [4, 3, 3, 1], data: new Float32Array(36).fill(9) };
    dict['1.weight'] = { shape: [4], data: new Float32Array(4).fill(7) };
    let error: unknown;
    try {
      net.loadStateDict(dict);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StateDictError);
    const e = error as StateDictError;
    expect(e.missingKeys).toEqual(['1.running_var', '3.pointwise.bias']);
    expect(e.unexpectedKeys).toEqual(['extra.weight']);
    expect(e.mismatchedKeys).toEqual(["0.weight"]);
    expect(e.invalidKeys).toEqual([]);
    expect(e.message).toMatch(/Missing key\(s\): "1.running_var", "3.pointwise.bias"/);
    expect(e.message).toMatch(/Unexpected key\(s\): "extra.weight"/);
    expect(e.message).toMatch(/size mismatch for "0.weight": copying a tensor with shape \[4, 3, 3, 1\] from the dict, the shape in the current model is \[4, 3, 3, 3\]/);
    expect(snapshot(net)).toEqual(before);
  });

  it('non-strict loading returns missing and unexpected keys, but shape mismatches and invalid values still fail', () => {
    const net = smallNet(1);
    const result = net.loadStateDict({ '0.weight': { shape: [4, 3, 3, 3], data: new Float32Array(108).fill(0.5) }, 'nope': { shape: [1], data: new Float32Array(1) } }, { strict: false });
    expect(result.unexpectedKeys).toEqual(['nope']);
    expect(result.missingKeys).toContain('3.pointwise.bias');
    expect(result.missingKeys).not.toContain('1.num_batches_tracked');
    expect(net.at<Conv2d>(0).weight.data[5]).toBe(0.5);
    const before = snapshot(net);
    expect(() => net.loadStateDict({ '0.weight': { shape: [4, 3, 3, 3], data: new Float32Array(100) } }, { strict: false })).toThrow(/invalid value for "0.weight"/);
    expect(() => net.loadStateDict({ '1.weight': { shape: [5], data: new Float32Array(5) } }, { strict: false })).toThrow(/size mismatch for "1.weight"/);
    expect(snapshot(net)).toEqual(before);
  });

  it('loadStateDict validates its options like every other API', () => {
    const net = smallNet(1);
    const dict = net.stateDict();
    expect(() => net.loadStateDict(dict, null as never)).toThrow(/loadStateDict: options must be an object, got null/);
    expect(() => net.loadStateDict(dict, 0 as never)).toThrow(TypeError);
    expect(() => net.loadStateDict(dict, 'strict' as never)).toThrow(/options must be an object/);
    expect(() => net.loadStateDict(dict, { strict: 0 } as never)).toThrow(/strict must be a boolean, got 0/);
    expect(() => net.loadStateDict(dict, { strict: 'no' } as never)).toThrow(/strict must be a boolean, got "no"/);
    expect(() => net.loadStateDict(dict, { strikt: false } as never)).toThrow(/unknown option "strikt"; expected one of strict/);
    expect(net.loadStateDict(dict, { strict: false })).toEqual({ missingKeys: [], unexpectedKeys: [] });
    // Own properties only: an inherited strict is refused, a polluted prototype changes nothing.
    expect(() => net.loadStateDict(dict, Object.create({ strict: false }))).toThrow(/option "strict" is inherited/);
    const partial = { ...dict };
    delete partial['0.weight'];
    (Object.prototype as Record<string, unknown>).strict = false;
    try {
      expect(() => net.loadStateDict(partial)).toThrow(/Missing key\(s\): "0.weight"/);
    } finally {
      delete (Object.prototype as Record<string, unknown>).strict;
    }
  });

  it('a dictionary of the model\'s own live tensors, two layers swapped, loads as if copied first', () => {
    const net = new Sequential(
      new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 3, seed: 1 }),
      new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 3, seed: 2 }),
    );
    const a = net.at<Conv2d>(0);
    const b = net.at<Conv2d>(1);
    const wa = Float32Array.from(a.weight.data), wb = Float32Array.from(b.weight.data);
    const ba = Float32Array.from(a.bias!.data), bb = Float32Array.from(b.bias!.data);
    net.loadStateDict({ '0.weight': b.weight, '0.bias': b.bias!, '1.weight': a.weight, '1.bias': a.bias! });
    expectBitwiseEqual(a.weight.data, wb, '0.weight');
    expectBitwiseEqual(b.weight.data, wa, '1.weight');
    expectBitwiseEqual(a.bias!.data, bb, '0.bias');
    expectBitwiseEqual(b.bias!.data, ba, '1.bias');
    // A view of a live tensor (sharing its buffer) is staged too.
    const shifted = { shape: [2], data: a.bias!.data.subarray(0, 2) };
    net.loadStateDict({ '1.bias': shifted }, { strict: false });
    expectBitwiseEqual(b.bias!.data, bb, '1.bias from a view of 0.bias');
  });

  it('num_batches_tracked is an int64 count; float32 and int64 values convert as PyTorch copy_ does', () => {
    const net = smallNet(1);
    const bn = net.at<BatchNorm2d>(1);
    expect(bn.numBatchesTracked.data).toBeInstanceOf(BigInt64Array);
    const dict = net.stateDict();
    expect(dict['1.num_batches_tracked']!.data).toBeInstanceOf(BigInt64Array);
    net.loadStateDict({ ...dict, '1.num_batches_tracked': { shape: [], data: new BigInt64Array([2n ** 60n]) } });
    expect(bn.numBatchesTracked.data[0]).toBe(2n ** 60n);
    net.loadStateDict({ ...dict, '1.num_batches_tracked': { shape: [], data: new Float32Array([7.9]) } });
    expect(bn.numBatchesTracked.data[0]).toBe(7n);
    net.loadStateDict({ ...dict, '1.running_mean': { shape: [4], data: new BigInt64Array([1n, -2n, 3n, 4n]) } });
    expect(Array.from(bn.runningMean.data)).toEqual([1, -2, 3, 4]);
    expect(bn.numBatchesTracked.data[0]).toBe(0n); // dict's own count
    bn.numBatchesTracked.data[0] = 7n;
    expect(() => net.loadStateDict({ ...dict, '1.num_batches_tracked': { shape: [], data: new Float32Array([NaN]) } })).toThrow(
      /invalid value for "1.num_batches_tracked": .*element 0 is NaN, which has no int64 value/,
    );
    expect(() => net.loadStateDict({ ...dict, '1.num_batches_tracked': { shape: [1], data: new BigInt64Array(1) } })).toThrow(/size mismatch for "1.num_batches_tracked"/);
    expect(() => net.loadStateDict({ ...dict, '1.num_batches_tracked': { shape: [], data: new BigInt64Array(2) } })).toThrow(/invalid value for "1.num_batches_tracked"/);
    // stateDict and clone copy the count.
    (dict['1.num_batches_tracked']!.data as BigInt64Array)[0] = 99n;
    expect(bn.numBatchesTracked.data[0]).toBe(7n);
    const copy = bn.clone();
    copy.numBatchesTracked.data[0] = 5n;
    expect(bn.numBatchesTracked.data[0]).toBe(7n);
  });

  it('num_batches_tracked may be absent (PyTorch files saved as I64 can skip it)', () => {
    const net = smallNet(1);
    const dict = net.stateDict();
    delete dict['1.num_batches_tracked'];
    expect(net.loadStateDict(dict)).toEqual({ missingKeys: [], unexpectedKeys: [] });
  });

  it('loading copies the caller\'s data (later changes to it do not leak in)', () => {
    const net = smallNet(1);
    const dict = net.stateDict();
    const w = dict['3.pointwise.weight']!.data as Float32Array;
    w.fill(2);
    net.loadStateDict(dict);
    w.fill(3);
    expect(net.at<DepthwiseSeparableConv2d>(3).pointwise.weight.data[0]).toBe(2);
  });

  it('a compiled plan sees weights reloaded with loadStateDict', () => {
    const net = smallNet(1);
    const x = randomTensor([1, 3, 5, 5], rng(5));
    const compiled = net.compile([1, 3, 5, 5], { foldBatchNorm: false }) // exact forward bits: BatchNorm not folded;
    compiled.run(x);
    const other = smallNet(50);
    net.loadStateDict(other.stateDict());
    expectBitwiseEqual(compiled.run(x).data, other.forward(x).data, 'after reload');
    expect(() => compiled.run(randomTensor([1, 3, 6, 5], rng(1)))).toThrow(/compiled model expects input shape \[1, 3, 5, 5\], got \[1, 3, 6, 5\]/);
  });

  it('clone is deep: same outputs, independent tensors, children reachable by field and by name are one object', () => {
    const net = smallNet(1);
    const copy = net.clone();
    const x = randomTensor([1, 3, 5, 5], rng(6));
    expectBitwiseEqual(copy.forward(x).data, net.forward(x).data, 'clone');
    copy.at<Conv2d>(0).weight.data.fill(0);
    expect(net.at<Conv2d>(0).weight.data.some((v) => v !== 0)).toBe(true);
    const sep = copy.at<DepthwiseSeparableConv2d>(3);
    expect(sep.pointwise).toBe(sep.namedChildren()[1]![1]);
    expect(sep.pointwise).not.toBe(net.at<DepthwiseSeparableConv2d>(3).pointwise);
  });

  it('toString nests like PyTorch', () => {
    const net = new Sequential(
      new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3 }),
      new BatchNorm2d(8),
      new ReLU(),
      new MaxPool2d(2),
      new AdaptiveAvgPool2d(1),
      new Flatten(),
      new Linear(8, 2),
    );
    expect(net.toString()).toBe(
      [
        'Sequential(',
        '  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1))',
        '  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)',
        '  (2): ReLU()',
        '  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)',
        '  (4): AdaptiveAvgPool2d(output_size=1)',
        '  (5): Flatten(start_dim=1, end_dim=-1)',
        '  (6): Linear(in_features=8, out_features=2, bias=True)',
        ')',
      ].join('\n'),
    );
    expect(net.outputShape([2, 3, 10, 10])).toEqual([2, 2]);
    expect(net.forward(randomTensor([2, 3, 10, 10], rng(1))).shape).toEqual([2, 2]);
  });

  it('element-wise layers and BatchNorm run in place only on tensors the container made, never on the caller\'s input', () => {
    const bn = new BatchNorm2d(3);
    bn.runningMean.data.set([1, 2, 3]);
    const x = randomTensor([1, 3, 4, 4], rng(2));
    const copy = Float32Array.from(x.data);
    const first = new Sequential(new ReLU(), bn, new Flatten(), new ReLU());
    const y = first.forward(x);
    expectBitwiseEqual(x.data, copy, 'input untouched by forward');
    first.compile([1, 3, 4, 4], { foldBatchNorm: false }).run(x);
    expectBitwiseEqual(x.data, copy, 'input untouched by a compiled run');
    // The same values as running each layer on its own.
    const separate = new ReLU().forward(new Flatten().forward(bn.forward(new ReLU().forward(x))));
    expectBitwiseEqual(y.data, separate.data, 'in place = separate');
    // After a conv, BatchNorm and ReLU overwrite the conv's output: same values as separate layers.
    const net = new Sequential(new Conv2d({ inChannels: 3, outChannels: 2, kernelSize: 1, seed: 1 }), new BatchNorm2d(2), new ReLU());
    bn.runningMean.data.set([0.5, -0.5, 0]);
    net.at<BatchNorm2d>(1).loadStateDict({ running_mean: { shape: [2], data: new Float32Array([0.3, -0.2]) } }, { strict: false });
    const expected = new ReLU().forward(net.at(1).forward(net.at(0).forward(x)));
    expectBitwiseEqual(net.forward(x).data, expected.data, 'forward');
    expectBitwiseEqual(net.compile([1, 3, 4, 4], { foldBatchNorm: false }).run(x).data, expected.data, 'compiled');
  });

  it('named Sequential children keep their names in keys', () => {
    const net = new Sequential({ conv0: new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 1 }), act: new ReLU() });
    expect(Object.keys(net.stateDict())).toEqual(['conv0.weight', 'conv0.bias']);
    expect(() => new Sequential({ 'a.b': new ReLU() })).toThrow(/contain no "."/);
    expect(() => new Sequential(new ReLU(), 3 as never)).toThrow(/argument 1 must be a Module, got 3/);
  });
});
