/**
 * Losses and optimizers against PyTorch 1.13 (float64, stored as float32): test/fixtures/golden/loss
 * (cross-entropy with reductions and label smoothing, MSE) and test/fixtures/golden/optimizer (SGD,
 * Adam, AdamW, four steps each). The suites fail when a folder is missing.
 */
import { describe, expect, it } from 'vitest';
import { crossEntropy, mseLoss } from '../../src/train/loss.js';
import { SGD } from '../../src/train/optim/sgd.js';
import { Adam, AdamW } from '../../src/train/optim/adam.js';
import { Parameter } from '../../src/layers/parameter.js';
import { expectClose, loadGoldenEntry, loadGoldenSet, type GoldenEntry } from '../helpers.js';


interface LossCase {
  name: string;
  kind: 'crossEntropy' | 'mse';
  reduction: 'mean' | 'sum' | 'none';
  labelSmoothing?: number;
  logits?: GoldenEntry;
  target: number[] | GoldenEntry;
  input?: GoldenEntry;
  loss: GoldenEntry;
  gradLoss?: GoldenEntry;
  gradLogits?: GoldenEntry;
  gradInput?: GoldenEntry;
}

describe('losses against PyTorch (golden loss)', () => {
  const { dir, cases } = loadGoldenSet<LossCase>('loss');
  it('has the 18 cases', () => expect(cases.length).toBe(18));
  for (const c of cases) {
    it(c.name, () => {
      const gradLoss = c.gradLoss ? loadGoldenEntry(dir, c.gradLoss).data : undefined;
      const upstream = gradLoss === undefined ? undefined : c.reduction === 'none' ? gradLoss : gradLoss[0]!;
      const result = c.kind === 'crossEntropy'
        ? crossEntropy(loadGoldenEntry(dir, c.logits!), c.target as number[], { reduction: c.reduction, labelSmoothing: c.labelSmoothing!, gradLoss: upstream })
        : mseLoss(loadGoldenEntry(dir, c.input!), loadGoldenEntry(dir, c.target as GoldenEntry), { reduction: c.reduction, gradLoss: upstream });
      const loss = typeof result.loss === 'number' ? new Float32Array([result.loss]) : result.loss;
      expectClose({ shape: c.loss.shape, data: loss }, loadGoldenEntry(dir, c.loss), 1e-4, 'loss');
      expectClose(result.gradient, loadGoldenEntry(dir, (c.gradLogits ?? c.gradInput)!), 1e-4, 'gradient');
    });
  }
});

interface OptimizerCase {
  name: string;
  kind: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay: number;
  nesterov?: boolean;
  betas?: [number, number];
  eps?: number;
  amsgrad?: boolean;
  param0: GoldenEntry;
  steps: { grad: GoldenEntry; param: GoldenEntry }[];
}

describe('optimizers against PyTorch (golden optimizer)', () => {
  const { dir, cases } = loadGoldenSet<OptimizerCase>('optimizer');
  it('has the 15 cases', () => expect(cases.length).toBe(15));
  for (const c of cases) {
    it(c.name, () => {
      const p = new Parameter(c.param0.shape, loadGoldenEntry(dir, c.param0).data.slice());
      const opt = c.kind === 'sgd'
        ? new SGD([p], { lr: c.lr, momentum: c.momentum!, dampening: c.dampening!, weightDecay: c.weightDecay, nesterov: c.nesterov! })
        : new (c.kind === 'adam' ? Adam : AdamW)([p], { lr: c.lr, betas: c.betas!, eps: c.eps!, weightDecay: c.weightDecay, amsgrad: c.amsgrad! });
      c.steps.forEach((s, t) => {
        opt.zeroGrad();
        p.grad.set(loadGoldenEntry(dir, s.grad).data);
        opt.step();
        expectClose(p, loadGoldenEntry(dir, s.param), 1e-5, `param after step ${t + 1}`);
      });
    });
  }

  it('a saved state resumes the same trajectory (stateDict / loadStateDict)', () => {
    const c = cases.find((x) => x.kind === 'adamw' && x.amsgrad)!;
    const make = (): [Parameter, AdamW] => {
      const p = new Parameter(c.param0.shape, loadGoldenEntry(dir, c.param0).data.slice());
      return [p, new AdamW([p], { lr: c.lr, betas: c.betas!, eps: c.eps!, weightDecay: c.weightDecay, amsgrad: true })];
    };
    const [p, opt] = make();
    const grads = c.steps.map((s) => loadGoldenEntry(dir, s.grad).data);
    p.grad.set(grads[0]!);
    opt.step();
    p.grad.set(grads[1]!);
    opt.step();
    const saved = opt.stateDict();
    const savedParam = p.data.slice();
    p.grad.set(grads[2]!);
    opt.step();
    const [q, resumed] = make();
    q.data.set(savedParam);
    resumed.loadStateDict(saved);
    q.grad.set(grads[2]!);
    resumed.step();
    expect(q.data).toEqual(p.data);
    expect(() => new SGD([q], { lr: 0.1 }).loadStateDict(saved)).toThrow(/expected a state dict of a SGD/);
  });
});
