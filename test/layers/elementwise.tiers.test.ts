import { describe, expect, it } from 'vitest';
import { BatchNorm2d, Flatten, Identity, LeakyReLU, Linear, ReLU, ReLU6, Sequential, type Tensor } from '../../src/index.js';
import { randomTensor, rng } from '../helpers.js';

describe('activations', () => {
  const x: Tensor = { shape: [1, 1, 2, 4], data: new Float32Array([-7, -0.5, 0, 0.25, 3, 6, 6.5, NaN]) };
  it('ReLU, ReLU6, LeakyReLU element-wise values (NaN passes through)', () => {
    expect(Array.from(new ReLU().forward(x).data)).toEqual([0, 0, 0, 0.25, 3, 6, 6.5, NaN]);
    expect(Array.from(new ReLU6().forward(x).data)).toEqual([0, 0, 0, 0.25, 3, 6, 6, NaN]);
    expect(Array.from(new LeakyReLU(0.1).forward(x).data)).toEqual([-0.7, -0.05, 0, 0.25, 3, 6, 6.5, NaN].map(Math.fround));
    expect(new LeakyReLU().negativeSlope).toBe(0.01);
    expect(new LeakyReLU({ negativeSlope: 0.2 }).toString()).toBe('LeakyReLU(negative_slope=0.2)');
    expect(() => new LeakyReLU('x' as never)).toThrow(/negativeSlope must be a finite number, got "x"/);
    expect(x.data[0]).toBe(-7);
    expect(new Identity().forward(x)).toBe(x);
  });
});

describe('BatchNorm2d', () => {
  it('inference uses running statistics: (x - mean)/sqrt(var + eps)*gamma + beta per channel', () => {
    const bn = new BatchNorm2d(3, { eps: 1e-3 });
    bn.loadStateDict({
      weight: { shape: [3], data: new Float32Array([1, 2, -1]) },
      bias: { shape: [3], data: new Float32Array([0, 0.5, 1]) },
      running_mean: { shape: [3], data: new Float32Array([0, 1, -2]) },
      running_var: { shape: [3], data: new Float32Array([1, 4, 0.25]) },
      num_batches_tracked: { shape: [], data: new Float32Array([10]) },
    });
    const x = randomTensor([2, 3, 2, 3], rng(1));
    const y = bn.forward(x);
    const gamma = [1, 2, -1], beta = [0, 0.5, 1], mean = [0, 1, -2], v = [1, 4, 0.25];
    for (let i = 0; i < x.data.length; i++) {
      const c = Math.floor(i / 6) % 3;
      expect(y.data[i]).toBeCloseTo(((x.data[i]! - mean[c]!) / Math.sqrt(v[c]! + 1e-3)) * gamma[c]! + beta[c]!, 6);
    }
    // PyTorch 1.13's BatchNorm2d rejects an unbatched [C, H, W] input ("expected 4D input").
    expect(() => bn.forward({ shape: [3, 2, 3], data: x.data.subarray(0, 18) })).toThrow(/BatchNorm2d: expected input \[N, 3, H, W\] \(4-D/);
    expect(() => bn.forward(randomTensor([1, 4, 2, 2], rng(1)))).toThrow(/BatchNorm2d: expected input \[N, 3, H, W\]/);
  });

  it('followed by ReLU/ReLU6 in a Sequential, runs as one fused pass with the same values', () => {
    const bn = new BatchNorm2d(2);
    bn.loadStateDict({ running_mean: { shape: [2], data: new Float32Array([0.2, -4]) }, weight: { shape: [2], data: new Float32Array([3, 2]) } }, { strict: false });
    const x = randomTensor([1, 2, 3, 3], rng(4));
    const copy = Float32Array.from(x.data);
    const separate = new ReLU6().forward(bn.forward(x));
    expect(Array.from(new Sequential(bn, new ReLU6()).forward(x).data)).toEqual(Array.from(separate.data));
    expect(Array.from(new Sequential(bn, new ReLU6()).compile([1, 2, 3, 3]).run(x).data)).toEqual(Array.from(separate.data));
    expect(separate.data.some((v) => v === 6) && separate.data.some((v) => v === 0)).toBe(true);
    expect(Array.from(x.data)).toEqual(Array.from(copy));
  });

  it('affine=false has no parameters, only buffers', () => {
    const bn = new BatchNorm2d(4, { affine: false });
    expect(bn.parameters()).toEqual([]);
    expect(Object.keys(bn.stateDict())).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
    expect(bn.numBatchesTracked.shape).toEqual([]);
  });
});

describe('Linear and Flatten', () => {
  it('Linear computes x·Wᵀ + b; PyTorch init bounds; batched and unbatched', () => {
    const fc = new Linear(5, 3, { seed: 3 });
    expect(fc.weight.shape).toEqual([3, 5]);
    const bound = 1 / Math.sqrt(5);
    expect(fc.weight.data.every((w) => Math.abs(w) <= bound)).toBe(true);
    expect(fc.bias!.data.every((b) => Math.abs(b) <= bound)).toBe(true);
    const x = randomTensor([2, 5], rng(2));
    const y = fc.forward(x);
    for (let r = 0; r < 2; r++) {
      for (let o = 0; o < 3; o++) {
        let s = fc.bias!.data[o]!;
        for (let k = 0; k < 5; k++) s += x.data[r * 5 + k]! * fc.weight.data[o * 5 + k]!;
        expect(y.data[r * 3 + o]).toBeCloseTo(s, 6);
      }
    }
    expect(fc.forward({ shape: [5], data: x.data.subarray(0, 5) }).data).toEqual(y.data.subarray(0, 3));
    expect(() => fc.forward(randomTensor([2, 4], rng(1)))).toThrow(/Linear: input must be \[..., 5\], got shape \[2, 4\]/);
    expect(new Linear(2, 2, { bias: false }).namedParameters().map(([k]) => k)).toEqual(['weight']);
  });

  it('Flatten merges dims like torch.flatten and shares the data', () => {
    const x = randomTensor([2, 3, 4, 5], rng(1));
    expect(new Flatten().forward(x).shape).toEqual([2, 60]);
    expect(new Flatten().forward(x).data).toBe(x.data);
    expect(new Flatten(0).outputShape([2, 3, 4])).toEqual([24]);
    expect(new Flatten(1, 2).outputShape([2, 3, 4, 5])).toEqual([2, 12, 5]);
    expect(() => new Flatten(3).outputShape([2, 3])).toThrow(/do not fit an input of rank 2/);
  });
});
