import { describe, expect, it } from 'vitest';
import { conv2d, prepareConv2d, referenceConv2d, type PrepareConv2dOptions, type Tensor } from '../../src/index.js';
import { countTypedArrays, expectBitwiseEqual, expectClose, randomTensor, rng } from '../helpers.js';

interface Case {
  x: number[];
  w: number[];
  options: PrepareConv2dOptions;
  path: string;
}

const cases: Case[] = [
  { x: [2, 8, 9, 7], w: [12, 8, 1, 1], options: {}, path: 'pointwise' },
  { x: [1, 8, 9, 7], w: [12, 4, 1, 1], options: { stride: 2, groups: 2, activation: 'relu' }, path: 'pointwise' },
  { x: [1, 6, 10, 11], w: [10, 6, 3, 3], options: { padding: 1, activation: 'relu6' }, path: 'grouped' },
  { x: [2, 8, 7, 9], w: [8, 2, 3, 2], options: { padding: [1, 0], stride: [2, 1], dilation: [1, 2], groups: 4 }, path: 'grouped' },
  { x: [1, 4, 9, 9], w: [4, 1, 3, 3], options: { padding: 1, groups: 4 }, path: 'depthwise3x3s1' },
  { x: [1, 4, 9, 9], w: [8, 1, 3, 3], options: { padding: 1, stride: 2, groups: 4 }, path: 'depthwise3x3s2' },
  { x: [1, 4, 8, 8], w: [6, 4, 3, 3], options: { padding: 2, paddingMode: 'reflect' }, path: 'grouped' },
  { x: [1, 4, 8, 8], w: [6, 4, 1, 1], options: { padding: 1, paddingMode: 'circular' }, path: 'pointwise' },
  { x: [5, 6, 6], w: [7, 5, 2, 2], options: { padding: 'same' }, path: 'grouped' },
];

function label(c: Case, bias: boolean): string {
  return `x=[${c.x}] w=[${c.w}] ${JSON.stringify(c.options)} bias=${bias}`;
}

describe('prepareConv2d', () => {
  for (const c of cases) {
    for (const withBias of [false, true]) {
      it(`matches conv2d and the reference: ${label(c, withBias)}`, () => {
        const random = rng(c.x.length * 1000 + c.w[0]! + (withBias ? 7 : 0));
        const x = randomTensor(c.x, random);
        const w = randomTensor(c.w, random);
        const bias = withBias ? randomTensor([c.w[0]!], random).data : null;
        const options = { ...c.options, bias };
        const plan = prepareConv2d(w, options);
        expect(plan.path(c.x)).toBe(c.path);
        const y = plan.run(x);
        expect(y.shape).toEqual(plan.outputShape(c.x));
        expectBitwiseEqual(y.data, conv2d(x, w, options).data, label(c, withBias));
        expectClose(y, referenceConv2d(x, w, options), 1e-4, label(c, withBias));
        // Repeated runs into a given out: bitwise the same, and `out` itself is returned.
        const out: Tensor = { shape: y.shape.slice(), data: new Float32Array(y.data.length).fill(Number.NaN) };
        expect(plan.run(x, out)).toBe(out);
        expectBitwiseEqual(out.data, y.data, `${label(c, withBias)} into out`);
        expectBitwiseEqual(plan.run(x, out).data, y.data, `${label(c, withBias)} repeated`);
      });
    }
  }

  it('copies the weights and bias: later mutation of the caller arrays does not change results until setWeights', () => {
    const random = rng(11);
    const x = randomTensor([1, 3, 6, 6], random);
    const w = randomTensor([4, 3, 3, 3], random);
    const bias = randomTensor([4], random).data;
    const wCopy = w.data.slice();
    const plan = prepareConv2d(w, { padding: 1, bias });
    const before = plan.run(x).data.slice();
    w.data.fill(0.5);
    bias.fill(2);
    expectBitwiseEqual(plan.run(x).data, before, 'after mutating the caller weights');
    plan.setWeights(w, bias);
    expectBitwiseEqual(plan.run(x).data, conv2d(x, w, { padding: 1, bias }).data, 'after setWeights');
    // setWeights without a bias keeps the plan's bias.
    plan.setWeights({ shape: w.shape, data: wCopy });
    expectBitwiseEqual(plan.run(x).data, conv2d(x, { shape: w.shape, data: wCopy }, { padding: 1, bias }).data, 'weights restored');
  });

  it('allocates no typed arrays per run in a steady state when out is given', () => {
    const random = rng(15);
    for (const c of cases) {
      const x = randomTensor(c.x, random);
      const plan = prepareConv2d(randomTensor(c.w, random), { ...c.options, bias: randomTensor([c.w[0]!], random).data });
      const out = plan.run(x);
      plan.run(x, out);
      expect(countTypedArrays(() => plan.run(x, out)), label(c, true)).toBe(0);
    }
    // The counter works: a run without out allocates the output.
    const plan = prepareConv2d(randomTensor([4, 3, 1, 1], random));
    expect(countTypedArrays(() => plan.run(randomTensor([1, 3, 4, 4], random)))).toBeGreaterThan(0);
  });

  it('does not modify its inputs', () => {
    const random = rng(12);
    const x = randomTensor([1, 4, 5, 5], random);
    const w = randomTensor([4, 4, 3, 3], random);
    const xs = x.data.slice();
    const ws = w.data.slice();
    prepareConv2d(w, { padding: 1 }).run(x);
    expectBitwiseEqual(x.data, xs, 'input');
    expectBitwiseEqual(w.data, ws, 'weight');
  });

  it('handles a change of input shape and back', () => {
    const random = rng(13);
    const w = randomTensor([6, 4, 3, 3], random);
    const plan = prepareConv2d(w, { padding: 1, stride: 2 });
    for (const shape of [[1, 4, 8, 8], [2, 4, 5, 9], [4, 7, 6], [1, 4, 8, 8]]) {
      const x = randomTensor(shape, random);
      expectBitwiseEqual(plan.run(x).data, conv2d(x, w, { padding: 1, stride: 2 }).data, `x=[${shape}]`);
    }
  });

  it('runChannels computes bitwise the same values as run for any channel split', () => {
    const random = rng(14);
    const x = randomTensor([2, 8, 9, 10], random);
    for (const [wShape, options] of [
      [[37, 8, 1, 1], {}],
      [[37, 8, 3, 3], { padding: 1 }],
      [[36, 2, 3, 3], { padding: 1, groups: 4 }],
    ] as const) {
      const w = randomTensor(wShape, random);
      const plan = prepareConv2d(w, options as PrepareConv2dOptions);
      const full = plan.run(x);
      for (const split of [1, 5, 16, 17, 20, 36]) {
        const y = new Float32Array(full.data.length).fill(Number.NaN);
        plan.runChannels(x, y, 0, split);
        plan.runChannels(x, y, split, wShape[0]);
        expectBitwiseEqual(y, full.data, `w=[${wShape}] split at ${split}`);
      }
    }
  });

  describe('validation', () => {
    const w = { shape: [4, 2, 3, 3], data: new Float32Array(72) };
    it('rejects unknown options', () => {
      expect(() => prepareConv2d(w, { out: undefined, foo: 1 } as never)).toThrow(/foo/);
    });
    it('rejects a bad stride at prepare time', () => {
      expect(() => prepareConv2d(w, { stride: 0 })).toThrow(RangeError);
      expect(() => prepareConv2d(w, { stride: 0 })).toThrow(/stride/);
    });
    it('rejects groups not dividing Cout', () => {
      expect(() => prepareConv2d(w, { groups: 3 })).toThrow(/groups/);
    });
    it('rejects a bias of the wrong length', () => {
      expect(() => prepareConv2d(w, { bias: new Float32Array(3) })).toThrow(/bias/);
    });
    it("rejects 'same' with stride 2", () => {
      expect(() => prepareConv2d(w, { padding: 'same', stride: 2 })).toThrow(/same/);
    });
    it('rejects a bad activation', () => {
      expect(() => prepareConv2d(w, { activation: 'gelu' as never })).toThrow(/activation/);
    });
    it('rejects a weight of the wrong rank', () => {
      expect(() => prepareConv2d({ shape: [4, 2, 3], data: new Float32Array(24) })).toThrow(/weight/);
    });
    it('rejects an input with the wrong channel count', () => {
      const plan = prepareConv2d(w);
      expect(() => plan.run({ shape: [1, 3, 5, 5], data: new Float32Array(75) })).toThrow(/in_channels|weight\.shape\[1\]/);
    });
    it('rejects an out of the wrong shape or aliasing the input', () => {
      const plan = prepareConv2d(w, { padding: 1 });
      const x = { shape: [1, 2, 4, 4], data: new Float32Array(32) };
      expect(() => plan.run(x, { shape: [1, 4, 4, 3], data: new Float32Array(48) })).toThrow(/out\.shape/);
      const shared = new Float32Array(64);
      const xs = { shape: [1, 2, 4, 4], data: shared.subarray(0, 32) };
      expect(() => plan.run(xs, { shape: [1, 4, 4, 4], data: shared })).toThrow(/share memory/);
    });
    it('rejects setWeights of a different shape', () => {
      const plan = prepareConv2d(w);
      expect(() => plan.setWeights({ shape: [4, 2, 1, 1], data: new Float32Array(8) })).toThrow(/weight\.shape/);
    });
  });
});
