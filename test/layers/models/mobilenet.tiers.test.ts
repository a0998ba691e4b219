import { afterEach, describe, expect, it } from 'vitest';
import {
  BatchNorm2d, Conv2d, DepthwiseSeparableConv2d, Identity, ReLU6, Sequential, conv2d, foldBatchNorm, mobilenetV1,
  type ConvRunner, type Module, type Tensor,
} from '../../../src/index.js';
import { countTypedArrays, expectBitwiseEqual, randomTensor, rng } from '../../helpers.js';

function relativeError(a: Tensor, b: Tensor): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < b.data.length; i++) {
    err = Math.max(err, Math.abs(a.data[i]! - b.data[i]!));
    ref = Math.max(ref, Math.abs(b.data[i]!));
  }
  return err / ref;
}

/** Gives every BatchNorm non-trivial statistics and affine parameters, so folding has work to do. */
function randomizeBatchNorms(model: Module, seed: number): void {
  const random = rng(seed);
  for (const m of model.modules()) {
    if (!(m instanceof BatchNorm2d)) continue;
    for (let c = 0; c < m.numFeatures; c++) {
      m.weight!.data[c] = 0.5 + random();
      m.bias!.data[c] = random() - 0.5;
      m.runningMean.data[c] = 0.2 * (random() - 0.5);
      m.runningVar.data[c] = 0.05 + random() * 0.3;
    }
  }
}

/** Counts Float32Array and Float64Array constructions while `fn` runs. */
const countAllocations = (fn: () => void): number => countTypedArrays(fn, ['Float32Array', 'Float64Array']);

describe('mobilenetV1', () => {
  afterEach(() => {
    expect(globalThis.Float32Array.name).toBe('Float32Array');
  });

  it('has 4,231,976 learnable parameters at width 1.0 / 1000 classes, 27 convolutions, PyTorch-port keys', () => {
    const model = mobilenetV1({ seed: 0 });
    expect(model.numParameters()).toBe(4231976);
    const convs = model.modules().filter((m) => m instanceof Conv2d) as Conv2d[];
    expect(convs.length).toBe(27);
    expect(convs.filter((c) => c.groups > 1 && c.groups === c.inChannels).length).toBe(13);
    expect(convs.every((c) => c.bias === null)).toBe(true);
    const keys = Object.keys(model.stateDict());
    expect(keys.slice(0, 7)).toEqual([
      'model.0.0.weight', 'model.0.1.weight', 'model.0.1.bias', 'model.0.1.running_mean', 'model.0.1.running_var',
      'model.0.1.num_batches_tracked', 'model.1.0.weight',
    ]);
    expect(keys.slice(-2)).toEqual(['fc.weight', 'fc.bias']);
    expect(model.stateDict()['model.13.3.weight']!.shape).toEqual([1024, 1024, 1, 1]);
    expect(model.outputShape([1, 3, 224, 224])).toEqual([1, 1000]);
    expect(model.model.outputShape([1, 3, 224, 224])).toEqual([1, 1024, 1, 1]);
  });

  it('width multipliers give the paper\'s parameter counts (0.75 → 2.6M, 0.5 → 1.3M) and numClasses sizes fc', () => {
    expect(Math.round(mobilenetV1({ widthMultiplier: 0.75, seed: 0 }).numParameters() / 1e5) / 10).toBe(2.6);
    expect(Math.round(mobilenetV1({ widthMultiplier: 0.5, seed: 0 }).numParameters() / 1e5) / 10).toBe(1.3);
    const small = mobilenetV1({ widthMultiplier: 0.25, numClasses: 10, seed: 0 });
    expect(small.fc.weight.shape).toEqual([10, 256]);
    expect(() => mobilenetV1({ widthMultiplier: 0 })).toThrow(/widthMultiplier must be a positive number, got 0/);
    expect(() => mobilenetV1({ numClasses: 2.5 })).toThrow(/numClasses must be a positive integer/);
  });

  it('forward, a compiled plan and forwardAsync on a pool give bitwise the same output; the plan reuses every buffer', async () => {
    const model = mobilenetV1({ widthMultiplier: 0.25, numClasses: 16, seed: 1 });
    randomizeBatchNorms(model, 2);
    const x = randomTensor([1, 3, 64, 64], rng(3));
    const y = model.forward(x);
    expect(y.shape).toEqual([1, 16]);
    const compiled = model.compile([1, 3, 64, 64], { foldBatchNorm: false });
    const first = compiled.run(x);
    expectBitwiseEqual(first.data, y.data, 'compiled');
    let second: Tensor | null = null;
    expect(countAllocations(() => (second = compiled.run(x)))).toBe(0);
    expect(second).toBe(first);
    expectBitwiseEqual(second!.data, y.data, 'compiled again');
    // The counter itself works: an ordinary forward allocates.
    expect(countAllocations(() => model.forward(x))).toBeGreaterThan(27);
    // Every step of the planned trunk returns the same buffer on every run.
    const steps = model.model.children().map((block, i, all) => {
      let shape = [1, 3, 64, 64];
      for (let j = 0; j < i; j++) shape = all[j]!.outputShape(shape);
      return { step: block.plan(shape), shape };
    });
    const outs = steps.map(({ step, shape }) => step.run(randomTensor(shape, rng(5))));
    steps.forEach(({ step, shape }, i) => expect(step.run(randomTensor(shape, rng(6)))).toBe(outs[i]));

    const seen: string[] = [];
    const pool: ConvRunner = {
      conv2d: async (input, weight, options) => {
        seen.push(`${weight.shape.join('x')}:${options.activation ?? 'none'}`);
        return conv2d(input, weight, options);
      },
    };
    const viaPool = await model.forwardAsync(x, { pool });
    expectBitwiseEqual(viaPool.data, y.data, 'pool');
    expect(seen.length).toBe(27);
    // BatchNorm sits between each conv and its ReLU6, so nothing is fused before folding.
    expect(seen.every((s) => s.endsWith(':none'))).toBe(true);
  });
});

describe('foldBatchNorm', () => {
  it('conv-BN-ReLU6: the folded conv carries a bias, BN becomes Identity, output within 1e-5 relative', () => {
    const net = new Sequential(
      new Conv2d({ inChannels: 4, outChannels: 6, kernelSize: 3, padding: 1, bias: true, seed: 1 }),
      new BatchNorm2d(6),
      new ReLU6(),
    );
    randomizeBatchNorms(net, 7);
    const folded = foldBatchNorm(net);
    expect(folded.at(1)).toBeInstanceOf(Identity);
    expect(net.at(1)).toBeInstanceOf(BatchNorm2d);
    expect(Object.keys(folded.stateDict())).toEqual(['0.weight', '0.bias']);
    const x = randomTensor([2, 4, 9, 9], rng(8));
    expect(relativeError(folded.forward(x), net.forward(x))).toBeLessThanOrEqual(1e-5);
    // The folded conv's weights are the original scaled per output channel.
    const bn = net.at<BatchNorm2d>(1);
    const scale = bn.weight!.data[2]! / Math.sqrt(bn.runningVar.data[2]! + bn.eps);
    expect(folded.at<Conv2d>(0).weight.data[2 * 36 + 5]).toBeCloseTo(net.at<Conv2d>(0).weight.data[2 * 36 + 5]! * scale, 6);
  });

  it('folds into a separable block\'s pointwise conv and handles affine=false; leaves unrelated layers alone', () => {
    const net = new Sequential(
      new DepthwiseSeparableConv2d({ inChannels: 3, outChannels: 5, seed: 3 }),
      new BatchNorm2d(5, { affine: false }),
      new ReLU6(),
      new BatchNorm2d(5),
    );
    for (const bn of [net.at<BatchNorm2d>(1), net.at<BatchNorm2d>(3)]) {
      bn.runningMean.data.set([0.1, -0.2, 0.3, 0, 0.05]);
      bn.runningVar.data.set([0.5, 2, 1, 0.25, 0.1]);
    }
    const folded = foldBatchNorm(net);
    expect(folded.at(1)).toBeInstanceOf(Identity);
    expect(folded.at(3)).toBeInstanceOf(BatchNorm2d); // after a ReLU6, nothing to fold into
    const x = randomTensor([1, 3, 7, 7], rng(9));
    expect(relativeError(folded.forward(x), net.forward(x))).toBeLessThanOrEqual(1e-5);
  });

  it('MobileNetV1 folded = unfolded within 1e-5 relative; convs then fuse ReLU6; the original is untouched', async () => {
    const model = mobilenetV1({ widthMultiplier: 0.25, numClasses: 32, seed: 4 });
    randomizeBatchNorms(model, 5);
    const before = model.stateDict();
    const folded = foldBatchNorm(model);
    const x = randomTensor([1, 3, 64, 64], rng(6));
    const y = model.forward(x);
    const error = relativeError(folded.forward(x), y);
    expect(error).toBeLessThanOrEqual(1e-5);
    expect(folded.modules().filter((m) => m instanceof BatchNorm2d).length).toBe(0);
    // Each BatchNorm's 2C parameters leave; its conv gains a C-value bias.
    const bnChannels = model.modules().reduce((n, m) => n + (m instanceof BatchNorm2d ? m.numFeatures : 0), 0);
    expect(folded.numParameters()).toBe(model.numParameters() - bnChannels);
    for (const [key, t] of Object.entries(model.stateDict())) expectBitwiseEqual(t.data, before[key]!.data, key);
    const seen: string[] = [];
    await folded.forwardAsync(x, { pool: { conv2d: async (i, w, o) => (seen.push(o.activation ?? 'none'), conv2d(i, w, o)) } });
    expect(seen).toEqual(new Array(27).fill('relu6'));
    expect(relativeError(folded.compile([1, 3, 64, 64]).run(x), y)).toBeLessThanOrEqual(1e-5);
  });
});
