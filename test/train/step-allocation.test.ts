/**
 * The whole five-line training step — zeroGrad, forward, crossEntropy / mseLoss into a caller's
 * gradient buffer, backward, optimizer step — plus the LR schedule's step allocates no typed arrays
 * once the first steps have created the gradients, the train-mode buffers and the optimizer state.
 * (test/train/modules.test.ts covers forward/backward/zeroGrad over every module kind.)
 */
import { describe, expect, it } from 'vitest';
import {
  Adam,
  AdamW,
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  CosineAnnealingLR,
  crossEntropy,
  DepthwiseSeparableConv2d,
  Flatten,
  Linear,
  mseLoss,
  ReLU,
  SGD,
  Sequential,
  StepLR,
  type Optimizer,
  type Parameter,
} from '../../src/index.js';
import { countTypedArrays, randomTensor, rng } from '../helpers.js';

const TYPED = ['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array'] as const;

function smallNet(): Sequential {
  return new Sequential(
    new Conv2d({ inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1, seed: 1 }),
    new BatchNorm2d(4),
    new ReLU(),
    new DepthwiseSeparableConv2d({ inChannels: 4, outChannels: 6, seed: 2 }),
    new AdaptiveAvgPool2d(1),
    new Flatten(),
    new Linear(6, 3, { seed: 3 }),
  ).train();
}

const optimizers: [string, (params: Iterable<Parameter>) => Optimizer][] = [
  ['SGD (momentum, Nesterov, weight decay)', (p) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 })],
  ['Adam (AMSGrad)', (p) => new Adam(p, { lr: 1e-3, amsgrad: true, weightDecay: 1e-4 })],
  ['AdamW', (p) => new AdamW(p, { lr: 1e-3 })],
];

describe('a steady full training step allocates no typed arrays', () => {
  for (const [name, make] of optimizers) {
    it(`crossEntropy with label smoothing + ${name} + CosineAnnealingLR`, () => {
      const net = smallNet();
      const optimizer = make(net.parameters());
      const schedule = new CosineAnnealingLR(optimizer, { tMax: 10 });
      const x = randomTensor([4, 1, 6, 6], rng(1));
      const target = new Int32Array([0, 1, 2, 1]);
      const out = { shape: [4, 3], data: new Float32Array(12) };
      const losses: number[] = [];
      const step = (): void => {
        optimizer.zeroGrad();
        const { loss, gradient } = crossEntropy(net.forward(x), target, { out, labelSmoothing: 0.1 });
        net.backward(gradient);
        optimizer.step();
        schedule.step();
        losses.push(loss);
      };
      step();
      step();
      expect(countTypedArrays(step, TYPED)).toBe(0);
      // The counted step really trained: the loss is finite and has moved.
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[2]).not.toBe(losses[0]);
    });
  }

  it('mseLoss + SGD + StepLR', () => {
    const net = smallNet();
    const optimizer = new SGD(net.parameters(), { lr: 0.05, momentum: 0.5, dampening: 0.1 });
    const schedule = new StepLR(optimizer, { stepSize: 2, gamma: 0.5 });
    const x = randomTensor([2, 1, 5, 5], rng(3));
    const target = randomTensor([2, 3], rng(4));
    const out = { shape: [2, 3], data: new Float32Array(6) };
    const step = (): void => {
      optimizer.zeroGrad();
      net.backward(mseLoss(net.forward(x), target, { out }).gradient);
      optimizer.step();
      schedule.step();
    };
    step();
    step();
    expect(countTypedArrays(step, TYPED)).toBe(0);
  });
});
