/**
 * Backward of the zoo's blocks and models, checked by finite differences: for L = Σ y·r, the
 * directional derivative of L along a random direction v from central differences (float64 sums
 * of float32 outputs) against ⟨∂L/∂x, v⟩ from backward(r). Train mode (BatchNorm with batch
 * statistics), batch 2. Whole models are not checked this way: through 50 layers with batch
 * statistics the float32 central differences do not settle at any step size (they approach the
 * analytic value as the step shrinks, then drown in rounding), so the blocks are checked one by one.
 */
import { describe, expect, it } from 'vitest';
import {
  efficientnetB0, Hardsigmoid, Hardswish, InvertedResidual, InvertedResidualV3, MBConv, ReLU,
  ShuffleInvertedResidual, Sigmoid, SiLU, SqueezeExcitation, StochasticDepth, Generator, type Module, type Tensor,
} from '../../src/index.js';
import { rng } from '../helpers.js';

function randomize(model: Module, seed: number): void {
  const next = rng(seed);
  const dict = model.stateDict();
  for (const [key, t] of Object.entries(dict)) {
    if (t.data instanceof BigInt64Array) continue;
    const d = t.data;
    const name = key.slice(key.lastIndexOf('.') + 1);
    for (let i = 0; i < d.length; i++) d[i] = name === 'running_var' || (name === 'weight' && t.shape.length === 1) ? 0.5 + next() : (2 * next() - 1) * 0.5;
  }
  model.loadStateDict(dict);
}

function loss(y: Tensor, r: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < r.length; i++) sum += y.data[i]! * r[i]!;
  return sum;
}

function checkDirectional(model: Module, shape: number[], seed: number, eps = 1e-3): void {
  const next = rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: size }, () => 2 * next() - 1);
  const v = Float32Array.from({ length: size }, () => 2 * next() - 1);
  model.train();
  const y = model.forward({ shape, data: x });
  const r = Float32Array.from({ length: y.data.length }, () => 2 * next() - 1);
  const g = model.backward({ shape: y.shape.slice(), data: r });
  expect(g.shape).toEqual(shape);
  let analytic = 0;
  for (let i = 0; i < size; i++) analytic += g.data[i]! * v[i]!;
  const at = (t: number): number => loss(model.forward({ shape, data: Float32Array.from(x, (xi, i) => xi + t * v[i]!) }), r);
  const numeric = (at(eps) - at(-eps)) / (2 * eps);
  model.eval();
  expect(Math.abs(analytic - numeric) / Math.max(1, Math.abs(numeric)), `analytic ${analytic} vs numeric ${numeric}`).toBeLessThan(2e-2);
}

describe('zoo backward by finite differences (directional derivative)', () => {
  const generator = (): Generator => new Generator(5);
  it('Hardswish, Hardsigmoid, SiLU, Sigmoid', () => {
    for (const [i, m] of [new Hardswish(), new Hardsigmoid(), new SiLU(), new Sigmoid()].entries()) {
      checkDirectional(m, [2, 3, 4, 4], 10 + i, 1e-3);
    }
  });

  it('SqueezeExcitation (ReLU, hardsigmoid) and (SiLU, sigmoid)', () => {
    const a = new SqueezeExcitation(8, 4, { activation: new ReLU(), scaleActivation: new Hardsigmoid(), generator: generator() });
    randomize(a, 1);
    checkDirectional(a, [2, 8, 5, 5], 2);
    const b = new SqueezeExcitation(8, 2, { activation: new SiLU(), scaleActivation: new Sigmoid(), generator: generator() });
    randomize(b, 3);
    checkDirectional(b, [2, 8, 5, 5], 4);
  });

  it('InvertedResidual (residual and strided), InvertedResidualV3 with squeeze-excitation, MBConv', () => {
    const res = new InvertedResidual(8, 8, 1, 6, generator());
    randomize(res, 5);
    expect(res.useResConnect).toBe(true);
    checkDirectional(res, [2, 8, 6, 6], 6);
    const strided = new InvertedResidual(8, 16, 2, 6, generator());
    randomize(strided, 7);
    checkDirectional(strided, [2, 8, 7, 7], 8);
    const v3 = new InvertedResidualV3(
      { inputChannels: 16, kernel: 5, expandedChannels: 32, outChannels: 16, useSe: true, activation: 'HS', stride: 1, dilation: 1 }, { eps: 0.001 }, generator(),
    );
    randomize(v3, 9);
    checkDirectional(v3, [2, 16, 6, 6], 10);
    const mb = new MBConv({ expandRatio: 6, kernel: 3, stride: 1, inputChannels: 8, outChannels: 8 }, 0, {}, generator());
    randomize(mb, 11);
    checkDirectional(mb, [2, 8, 5, 5], 12);
  });

  it('ShuffleInvertedResidual, stride 1 (split) and stride 2 (both branches)', () => {
    const s1 = new ShuffleInvertedResidual(16, 16, 1, generator());
    randomize(s1, 13);
    checkDirectional(s1, [2, 16, 6, 6], 14, 1e-3);
    const s2 = new ShuffleInvertedResidual(8, 16, 2, generator());
    randomize(s2, 15);
    checkDirectional(s2, [2, 8, 7, 7], 16, 1e-3);
  });

  it('StochasticDepth in train mode drops whole samples (row) or the batch, scales survivors by 1/(1-p), and backward applies the same factors', () => {
    const x = { shape: [400, 2, 1, 1], data: new Float32Array(800).fill(1) };
    const sd = new StochasticDepth(0.25, 'row', { seed: 3 }).train();
    const y = sd.forward(x).data.slice();
    let kept = 0;
    for (let n = 0; n < 400; n++) {
      const a = y[2 * n]!;
      expect(y[2 * n + 1]).toBe(a); // one factor per sample
      expect(a === 0 || Math.abs(a - 1 / 0.75) < 1e-6).toBe(true);
      if (a !== 0) kept++;
    }
    expect(Math.abs(kept / 400 - 0.75)).toBeLessThan(0.07);
    const g = sd.backward({ shape: [400, 2, 1, 1], data: new Float32Array(800).fill(3) }).data;
    for (let i = 0; i < 800; i++) expect(g[i]).toBeCloseTo(3 * y[i]!, 5);
    expect(new StochasticDepth(0.25, 'row', { seed: 3 }).train().forward(x).data).toEqual(y);
    const batch = new StochasticDepth(0.5, 'batch', { seed: 1 }).train().forward(x).data;
    expect(new Set(batch).size).toBe(1);
    expect(new StochasticDepth(0.25).forward(x)).toBe(x); // eval mode: the identity
    expect(() => new StochasticDepth(0.1, 'row', { sed: 1 } as never)).toThrow(/sed/);
  });

  it('EfficientNet-B0 with stochastic depth trains: a train-mode forward and backward run and give finite gradients', () => {
    const model = efficientnetB0({ numClasses: 5, seed: 1 });
    model.train();
    const y = model.forward({ shape: [2, 3, 32, 32], data: Float32Array.from({ length: 6144 }, (_, i) => Math.sin(i)) });
    const dx = model.backward({ shape: y.shape, data: new Float32Array(y.data.length).fill(0.1) });
    expect(dx.shape).toEqual([2, 3, 32, 32]);
    expect(dx.data.every(Number.isFinite)).toBe(true);
  });
});
