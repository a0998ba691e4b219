/**
 * The training module API: every module's backward against central finite differences of its own
 * forward (loss = Σ r·y for a fixed random r, in float64), frozen parameters, accumulation,
 * train/eval, clear errors, and an allocation-free steady training step.
 */
import { describe, expect, it } from 'vitest';
import { Conv2d, DepthwiseSeparableConv2d, type Conv2dLayerOptions } from '../../src/layers/conv.js';
import { ConvTranspose2d } from '../../src/layers/conv-transpose.js';
import { BatchNorm2d } from '../../src/layers/batchnorm.js';
import { Identity, LeakyReLU, ReLU, ReLU6 } from '../../src/layers/activation.js';
import { AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, LPPool2d, MaxPool2d } from '../../src/layers/pooling.js';
import { Flatten, Linear } from '../../src/layers/linear.js';
import { Sequential } from '../../src/layers/sequential.js';
import { Dropout } from '../../src/layers/dropout.js';
import { depthwise_separable_conv } from '../../src/layers/models/seed.js';
import { mobilenetV1 } from '../../src/layers/models/mobilenet.js';
import { Module } from '../../src/layers/module.js';
import type { Tensor, TensorLike } from '../../src/tensor.js';
import { countTypedArrays, randomTensor, rng } from '../helpers.js';

/** Σ r·y in float64. */
function weightedSum(y: Tensor, r: Float32Array): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) s += y.data[i]! * r[i]!;
  return s;
}

interface GradientCheckOptions {
  eps?: number;
  tol?: number;
  samples?: number;
  margin?: number;
  /** Which parameters to check (default all). */
  keys?: (key: string) => boolean;
}

/**
 * Checks module.backward against central differences for `samples` coordinates of the input and
 * of every trainable parameter. The module must be deterministic in train mode.
 */
function checkGradients(name: string, module: Module, inputShape: number[], seed: number, options: GradientCheckOptions = {}): void {
  const { eps = 1e-2, tol = 2e-2, samples = 12, margin = 0, keys = () => true } = options;
  const random = rng(seed);
  module.train();
  const x = randomTensor(inputShape, random);
  // Moves inputs `margin` away from zero, where the piecewise-linear activations have their kink.
  for (let i = 0; i < x.data.length; i++) x.data[i] += x.data[i]! < 0 ? -margin : margin;
  const y0 = module.forward(x);
  const r = randomTensor(y0.shape, random).data;
  module.zeroGrad();
  const dx = module.backward({ shape: y0.shape.slice(), data: r }).data.slice();
  const loss = (): number => weightedSum(module.forward(x), r);
  const check = (label: string, data: Float32Array, analytic: Float32Array): void => {
    for (let s = 0; s < Math.min(samples, data.length); s++) {
      const i = Math.floor(random() * data.length);
      const saved = data[i]!;
      data[i] = saved + eps;
      const up = loss();
      data[i] = saved - eps;
      const down = loss();
      data[i] = saved;
      const numeric = (up - down) / (2 * eps);
      const a = analytic[i]!;
      if (!(Math.abs(a - numeric) <= tol * (1 + Math.abs(numeric)))) {
        throw new Error(`${name}: ${label}[${i}]: backward ${a}, finite difference ${numeric}`);
      }
    }
  };
  // A second step on the same input reuses every buffer and must give the same gradients.
  const grads = new Map(module.namedParameters().map(([key, p]) => [key, p.grad.slice()]));
  module.zeroGrad();
  module.forward(x);
  expect(Array.from(module.backward({ shape: y0.shape.slice(), data: r }).data), `${name}: second backward`).toEqual(Array.from(dx));
  for (const [key, p] of module.namedParameters()) expect(Array.from(p.grad), `${name}: ${key} second backward`).toEqual(Array.from(grads.get(key)!));
  check('input', x.data, dx);
  for (const [key, p] of module.namedParameters()) if (keys(key)) check(key, p.data, grads.get(key)!);
}

describe('module backward matches finite differences of its forward', () => {
  const conv = (o: Conv2dLayerOptions): Conv2d => new Conv2d({ ...o, seed: 3 });
  // Piecewise-linear modules use a small step, so a sampled input rarely straddles a kink.
  const fine = { eps: 1e-3, margin: 0.05 };
  const cases: [string, () => Module, number[], GradientCheckOptions?][] = [
    ['Conv2d 3x3 p1 (grouped path)', () => conv({ inChannels: 3, outChannels: 5, kernelSize: 3, padding: 1 }), [2, 3, 6, 7]],
    ['Conv2d 3x3 stride 2 p1 (grouped path)', () => conv({ inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, padding: 1, bias: false }), [2, 3, 9, 8]],
    ['Conv2d depthwise 3x3 s1 K=2', () => conv({ inChannels: 4, outChannels: 8, kernelSize: 3, padding: 1, groups: 4 }), [2, 4, 7, 9]],
    ['Conv2d depthwise 3x3 s2', () => conv({ inChannels: 4, outChannels: 4, kernelSize: 3, stride: 2, padding: 1, groups: 4 }), [1, 4, 9, 8]],
    ['Conv2d depthwise 5x5 dilation 2', () => conv({ inChannels: 3, outChannels: 3, kernelSize: 5, padding: 2, dilation: 2, groups: 3 }), [1, 3, 9, 9]],
    ['Conv2d 1x1 stride 2 groups 2', () => conv({ inChannels: 4, outChannels: 6, kernelSize: 1, stride: 2, groups: 2 }), [2, 4, 5, 5]],
    ['Conv2d reflect padding', () => conv({ inChannels: 2, outChannels: 3, kernelSize: 3, padding: 2, paddingMode: 'reflect' }), [1, 2, 5, 6]],
    ['Conv2d circular padding', () => conv({ inChannels: 2, outChannels: 2, kernelSize: 3, padding: 1, paddingMode: 'circular' }), [1, 2, 4, 5]],
    ['Conv2d replicate padding, no bias', () => conv({ inChannels: 2, outChannels: 2, kernelSize: 3, padding: 1, paddingMode: 'replicate', bias: false }), [1, 2, 4, 5]],
    ['ConvTranspose2d stride 2 outputPadding 1', () => new ConvTranspose2d({ inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, seed: 4 }), [2, 3, 4, 5]],
    ['ConvTranspose2d groups 2', () => new ConvTranspose2d({ inChannels: 4, outChannels: 2, kernelSize: 2, groups: 2, seed: 5 }), [1, 4, 3, 3]],
    ['BatchNorm2d train mode', () => new BatchNorm2d(3), [2, 3, 4, 5]],
    ['BatchNorm2d no affine, momentum null', () => new BatchNorm2d(2, { affine: false, momentum: null }), [3, 2, 2, 3]],
    ['ReLU', () => new ReLU(), [2, 3, 4], fine],
    ['ReLU6', () => new ReLU6(), [2, 3, 4], fine],
    ['LeakyReLU(0.2)', () => new LeakyReLU(0.2), [2, 3, 4], fine],
    ['Identity', () => new Identity(), [2, 3]],
    ['MaxPool2d 3 s2 p1', () => new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 }), [2, 2, 7, 6]],
    ['MaxPool2d dilation 2 ceil', () => new MaxPool2d({ kernelSize: 2, stride: 2, dilation: 2, ceilMode: true }), [1, 2, 7, 7]],
    ['AvgPool2d 3 s2 p1', () => new AvgPool2d({ kernelSize: 3, stride: 2, padding: 1 }), [2, 2, 7, 6]],
    ['AvgPool2d countIncludePad false ceil', () => new AvgPool2d({ kernelSize: 2, ceilMode: true, countIncludePad: false }), [1, 2, 5, 5]],
    ['AdaptiveAvgPool2d [3, 2]', () => new AdaptiveAvgPool2d([3, 2]), [2, 2, 7, 5]],
    ['AdaptiveMaxPool2d 2', () => new AdaptiveMaxPool2d(2), [1, 3, 5, 5]],
    ['Linear', () => new Linear(7, 4, { seed: 2 }), [3, 7]],
    ['Flatten then Linear', () => new Sequential(new Flatten(), new Linear(12, 3, { seed: 1 })), [2, 3, 2, 2]],
    ['DepthwiseSeparableConv2d', () => new DepthwiseSeparableConv2d({ inChannels: 3, kernelsPerLayer: 2, outChannels: 4, seed: 6 }), [2, 3, 5, 5]],
    ['seed depthwise_separable_conv', () => new depthwise_separable_conv(2, 2, 3, { seed: 7 }), [1, 2, 4, 4]],
    [
      'Sequential conv, BN, ReLU6, separable, BN, ReLU, pool, flatten, linear',
      () => new Sequential(
        new Conv2d({ inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1, seed: 8 }),
        new BatchNorm2d(4),
        new ReLU6(),
        new DepthwiseSeparableConv2d({ inChannels: 4, outChannels: 6, seed: 9 }),
        new BatchNorm2d(6),
        new ReLU(),
        new AdaptiveAvgPool2d(1),
        new Flatten(),
        new Linear(6, 3, { seed: 10 }),
      ),
      [3, 1, 6, 6],
    ],
    // At 96×96 the last BatchNorms still see 2·3·3 values per channel (fewer make the loss too
    // curved for a finite step). Weights that feed a BatchNorm get gradients that are small next to
    // the finite step's second-order error through 27 normalised layers, so the deep check covers
    // the input and the layers after the last BatchNorm; train-digits checks a whole network's
    // gradients against PyTorch.
    ['mobilenetV1 width 0.25 at 96x96', () => mobilenetV1({ widthMultiplier: 0.25, numClasses: 5, seed: 11 }), [2, 3, 96, 96], { eps: 3e-3, tol: 5e-2, keys: (k) => k.startsWith('fc.') || k.startsWith('model.13.4.') }],
  ];
  cases.forEach(([name, make, shape, options], i) => {
    it(`${name}, input ${JSON.stringify(shape)}`, () => checkGradients(name, make(), shape, 100 + i, options));
  });
});

describe('training API', () => {
  it('train() and eval() set the flag on the whole tree and return the module', () => {
    const net = new Sequential(new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }), new BatchNorm2d(2));
    expect(net.train()).toBe(net);
    expect(net.modules().every((m) => m.training)).toBe(true);
    expect(net.eval()).toBe(net);
    expect(net.modules().some((m) => m.training)).toBe(false);
    expect(() => net.train('yes' as unknown as boolean)).toThrow(/mode must be a boolean/);
  });

  it('eval-mode forward is unchanged by training support (bitwise equal to a fresh model)', () => {
    const make = (): Module => mobilenetV1({ widthMultiplier: 0.25, numClasses: 4, seed: 3 });
    const x = randomTensor([2, 3, 64, 64], rng(5));
    const a = make();
    a.train();
    a.forward(x);
    a.eval();
    // Training forward changed only the BatchNorm running statistics: reload them from a fresh model.
    a.loadStateDict(make().stateDict());
    expect(a.forward(x).data).toEqual(make().forward(x).data);
  });

  it('parameters carry grad of their own shape; requiresGrad false freezes one; backward accumulates; zeroGrad clears', () => {
    const net = new Sequential(new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, seed: 1 }), new Flatten(), new Linear(3 * 4 * 4, 2, { seed: 2 }));
    const [[, w0], , [, w2]] = net.namedParameters();
    w0!.requiresGrad = false;
    net.train();
    const x = randomTensor([2, 2, 6, 6], rng(9));
    const g = randomTensor([2, 2], rng(10));
    net.forward(x);
    const dx1 = net.backward(g).data.slice();
    const once = w2!.grad.slice();
    net.forward(x);
    net.backward(g);
    expect(w2!.grad.length).toBe(w2!.data.length);
    for (let i = 0; i < once.length; i++) expect(w2!.grad[i]).toBeCloseTo(2 * once[i]!, 5);
    expect(w0!.hasGrad).toBe(false);
    expect(net.backward.length).toBe(1);
    net.zeroGrad();
    expect(w2!.grad.every((v) => v === 0)).toBe(true);
    expect(dx1.length).toBe(2 * 2 * 6 * 6);
  });

  it('backward without a train-mode forward, and modules without a gradient, throw TypeErrors naming the module', () => {
    const conv = new Conv2d({ inChannels: 1, outChannels: 1, kernelSize: 1 });
    expect(() => conv.backward({ shape: [1, 1, 2, 2], data: new Float32Array(4) })).toThrow(/Conv2d\.backward: no train-mode forward/);
    conv.eval().forward({ shape: [1, 1, 2, 2], data: new Float32Array(4) });
    expect(() => conv.backward({ shape: [1, 1, 2, 2], data: new Float32Array(4) })).toThrow(TypeError);
    const lp = new LPPool2d(2, 2).train();
    lp.forward({ shape: [1, 1, 2, 2], data: new Float32Array(4).fill(1) });
    expect(() => lp.backward({ shape: [1, 1, 1, 1], data: new Float32Array(1) })).toThrow(/LPPool2d cannot be trained/);
    class Custom extends Module {
      forward(x: TensorLike): Tensor { return x as Tensor; }
      outputShape(s: readonly number[]): number[] { return s.slice(); }
    }
    expect(() => new Custom().backward({ shape: [1], data: new Float32Array(1) })).toThrow(/Custom cannot be trained/);
    const linear = new Linear(2, 2).train();
    linear.forward({ shape: [1, 2], data: new Float32Array(2) });
    expect(() => linear.backward({ shape: [1, 3], data: new Float32Array(3) })).toThrow(/gradOutput must have the forward output's shape \[1, 2\]/);
  });

  it('Dropout: identity in eval mode; in train mode zeroes about p and scales the rest by 1/(1-p); backward applies the same mask; seeded', () => {
    const x = { shape: [4000], data: new Float32Array(4000).fill(1) };
    const d = new Dropout({ p: 0.25, seed: 1 });
    expect(d.forward(x)).toBe(x);
    d.train();
    const y = d.forward(x).data.slice();
    const kept = y.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(Math.abs(kept.length / 4000 - 0.75)).toBeLessThan(0.03);
    const g = d.backward({ shape: [4000], data: new Float32Array(4000).fill(2) }).data;
    for (let i = 0; i < 4000; i++) expect(g[i]).toBe(y[i]! * 2);
    const again = new Dropout({ p: 0.25, seed: 1 }).train().forward(x).data;
    expect(again).toEqual(y);
    expect(new Dropout(1).train().forward(x).data.every((v) => v === 0)).toBe(true);
    expect(() => new Dropout(1.5)).toThrow(RangeError);
    expect(() => new Dropout({ rate: 0.1 } as never)).toThrow(/rate/);
  });

  it('a steady training step (forward, backward, zeroGrad) allocates no typed arrays', () => {
    const net = new Sequential(
      new Conv2d({ inChannels: 1, outChannels: 8, kernelSize: 3, padding: 1, seed: 1 }),
      new BatchNorm2d(8),
      new ReLU(),
      new depthwise_separable_conv(8, 2, 16, { seed: 2 }),
      new BatchNorm2d(16),
      new ReLU6(),
      new MaxPool2d(2),
      new DepthwiseSeparableConv2d({ inChannels: 16, outChannels: 16, seed: 3 }),
      new AvgPool2d(2),
      new AdaptiveAvgPool2d(1),
      new Dropout({ p: 0.1, seed: 4 }),
      new Flatten(),
      new Linear(16, 10, { seed: 5 }),
    ).train();
    const x = randomTensor([8, 1, 8, 8], rng(1));
    const g = randomTensor([8, 10], rng(2));
    const step = (): void => {
      net.zeroGrad();
      net.forward(x);
      net.backward(g);
    };
    step();
    step();
    expect(countTypedArrays(step, ['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array'])).toBe(0);
  });
});
