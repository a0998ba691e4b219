/** model.compile's defaults (issue 21): BatchNorm folded into the preceding convolution unless foldBatchNorm: false. */
import { describe, expect, it } from 'vitest';
import { BatchNorm2d, Conv2d, foldBatchNorm, Identity, mobilenetV2, ReLU6, Sequential } from '../../src/index.js';
import { expectBitwiseEqual, randomTensor, rng } from '../helpers.js';

function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return worst;
}

describe('compile folds BatchNorm by default', () => {
  it('a conv + BatchNorm + ReLU6 chain: folded copy compiled, the model left as it is, within float32 rounding of forward', () => {
    const net = new Sequential(new Conv2d(3, 8, 3, { padding: 1, seed: 1 }), new BatchNorm2d(8), new ReLU6()).eval();
    const bn = net.children()[1] as BatchNorm2d;
    bn.runningMean.data.set(Float32Array.from({ length: 8 }, (_, i) => 0.1 * i - 0.3));
    bn.runningVar.data.set(Float32Array.from({ length: 8 }, (_, i) => 0.5 + 0.2 * i));
    const x = randomTensor([2, 3, 9, 7], rng(5));
    const expected = net.forward(x);
    const compiled = net.compile([2, 3, 9, 7]);
    expect(compiled.module).not.toBe(net);
    expect(compiled.module.children()[1]).toBeInstanceOf(Identity);
    expect(net.children()[1]).toBe(bn); // the caller's model is not folded
    expect(maxRelativeError(compiled.run(x).data, expected.data)).toBeLessThan(1e-5);
    expectBitwiseEqual(compiled.run(x).data, foldBatchNorm(net).forward(x).data, 'the folded model\'s forward');
  });

  it('foldBatchNorm: false compiles the model itself, bitwise its forward; a model with nothing to fold is not copied', () => {
    const net = new Sequential(new Conv2d(3, 4, 3, { seed: 2 }), new BatchNorm2d(4)).eval();
    const x = randomTensor([1, 3, 6, 6], rng(6));
    const exact = net.compile([1, 3, 6, 6], { foldBatchNorm: false });
    expect(exact.module).toBe(net);
    expectBitwiseEqual(exact.run(x).data, net.forward(x).data, 'unfolded');
    const plain = new Sequential(new Conv2d(3, 4, 3, { seed: 3 }), new ReLU6()).eval();
    expect(plain.compile([1, 3, 6, 6]).module).toBe(plain);
    expect(() => net.compile([1, 3, 6, 6], { foldBatchNorm: 'yes' as never })).toThrow(/foldBatchNorm must be a boolean/);
  });

  it('a zoo model compiled with its defaults agrees with forward within float32 rounding', () => {
    const model = mobilenetV2({ widthMult: 0.5, numClasses: 10, seed: 4 }).eval();
    const x = randomTensor([1, 3, 64, 64], rng(7));
    expect(maxRelativeError(model.compile([1, 3, 64, 64]).run(x).data, model.forward(x).data)).toBeLessThan(1e-4);
  });
});

describe('compile runs Linear on the wasm GEMV unless exact bits are asked for', () => {
  it('within float32 rounding of forward by default, bitwise with foldBatchNorm: false, weight reloads seen', async () => {
    const { Linear, getBackend } = await import('../../src/index.js');
    const layer = new Linear(1280, 1000, { seed: 8 }).eval();
    const x = randomTensor([2, 1280], rng(9));
    const fast = layer.compile([2, 1280]);
    expect(maxRelativeError(fast.run(x).data, layer.forward(x).data)).toBeLessThan(1e-5);
    if (getBackend() === 'wasm') expect(fast.memory().planBytes).toBeGreaterThanOrEqual(4 * 1280 * 1000); // the weights in wasm memory
    expectBitwiseEqual(layer.compile([2, 1280], { foldBatchNorm: false }).run(x).data, layer.forward(x).data, 'exact');
    const reloaded = layer.stateDict();
    reloaded.bias = { shape: [1000], data: new Float32Array(1000).fill(0.5) };
    layer.loadStateDict(reloaded);
    expect(maxRelativeError(fast.run(x).data, layer.forward(x).data)).toBeLessThan(1e-5);
    fast.dispose();
  });
});
