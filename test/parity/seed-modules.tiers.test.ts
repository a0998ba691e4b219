/**
 * The seed's PyTorch classes (depthwise_conv, pointwise_conv, depthwise_separable_conv) ported
 * line by line: the same structure, state-dict keys and repr as PyTorch 1.13 prints, and a
 * checkpoint PyTorch wrote (tools/parity-fixtures.py) loads unchanged and gives PyTorch's output.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BatchNorm2d, Conv2d, ReLU, ReLU6, Sequential, depthwise_conv, depthwise_separable_conv, foldBatchNorm, loadSafetensors, pointwise_conv,
  saveSafetensors, summary,
} from '../../src/index.js';
import { expectBitwiseEqual, randomTensor, rng } from '../helpers.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/seed-network.json', import.meta.url), 'utf8')) as {
  repr: string;
  keys: string[];
  input: { shape: number[]; data: number[] };
  output: { shape: number[]; data: number[] };
};
const checkpoint = readFileSync(new URL('./fixtures/seed-network.safetensors', import.meta.url));

/** The fixture's network, written as its PyTorch code is. */
const seedNetwork = (): Sequential =>
  new Sequential(
    new depthwise_conv(3, 2, { seed: 1 }),
    new ReLU(),
    new pointwise_conv(6, 4, { seed: 2 }),
    new BatchNorm2d(4),
    new ReLU6(),
    new depthwise_separable_conv(4, 2, 5, { seed: 3 }),
  );

describe('the seed classes, as in PyTorch', () => {
  it('have the seed\'s state-dict keys and PyTorch\'s repr', () => {
    const net = seedNetwork();
    expect(Object.keys(net.stateDict())).toEqual(fixture.keys);
    expect(String(net)).toBe(fixture.repr);
    expect(net.at<depthwise_conv>(0).depthwise).toBeInstanceOf(Conv2d);
    expect(Object.keys(new depthwise_conv(2, 3).stateDict())).toEqual(['depthwise.weight', 'depthwise.bias']);
    expect(Object.keys(new pointwise_conv(2, 3).stateDict())).toEqual(['pointwise.weight', 'pointwise.bias']);
  });

  it('load the checkpoint PyTorch saved (num_batches_tracked included) and give PyTorch\'s output', () => {
    const net = seedNetwork();
    net.loadStateDict(loadSafetensors(checkpoint));
    expect(net.at<BatchNorm2d>(3).numBatchesTracked.data[0]).toBe(7n);
    const x = { shape: fixture.input.shape, data: Float32Array.from(fixture.input.data) };
    const y = net.forward(x);
    expect(y.shape).toEqual(fixture.output.shape);
    let worst = 0;
    for (let i = 0; i < y.data.length; i++) worst = Math.max(worst, Math.abs(y.data[i]! - fixture.output.data[i]!) / (1 + Math.abs(fixture.output.data[i]!)));
    expect(worst).toBeLessThanOrEqual(1e-5);
    // Compiled, asynchronous and BatchNorm-folded runs agree; saving writes the same keys back.
    expectBitwiseEqual(net.compile(x.shape, { foldBatchNorm: false }).run(x).data, y.data, 'compiled');
    return net.forwardAsync(x).then((z) => {
      expectBitwiseEqual(z.data, y.data, 'forwardAsync');
      const folded = foldBatchNorm(net).forward(x);
      for (let i = 0; i < y.data.length; i++) expect(Math.abs(folded.data[i]! - y.data[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(y.data[i]!)));
      expect(Object.keys(loadSafetensors(saveSafetensors(net.stateDict()))).sort()).toEqual(fixture.keys.slice().sort());
    });
  });

  it('fuse a following ReLU into their last convolution, with the same result as unfused', () => {
    const block = new depthwise_separable_conv(3, 2, 4, { seed: 5 });
    const x = randomTensor([2, 3, 7, 6], rng(5));
    const unfused = new ReLU().forward(block.forward(x));
    const net = new Sequential(block, new ReLU());
    expectBitwiseEqual(net.forward(x).data, unfused.data, 'fused forward');
    expectBitwiseEqual(net.compile(x.shape, { foldBatchNorm: false }).run(x).data, unfused.data, 'fused plan');
  });

  it('are covered by summary() (leaves are their convolutions)', () => {
    const s = summary(seedNetwork(), [1, 3, 8, 8]);
    expect(s.rows.map((r) => r.name)).toEqual(['0.depthwise', '1', '2.pointwise', '3', '4', '5.depthwise', '5.pointwise']);
    expect(s.totals.params).toBe(seedNetwork().numParameters());
  });

  it('validate their arguments, naming the seed’s own parameters', () => {
    expect(() => new depthwise_conv(0, 2)).toThrow(RangeError);
    expect(() => new pointwise_conv(3, 2.5)).toThrow(/pointwise_conv: nout must be a positive integer/);
    expect(() => new depthwise_separable_conv(3, 1, 4, { sed: 1 } as never)).toThrow(/unknown option "sed"/);
  });
});
