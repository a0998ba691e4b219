import { describe, expect, it } from 'vitest';
import { Parameter } from '../../src/layers/parameter.js';
import { SGD } from '../../src/train/optim/sgd.js';
import { Adam } from '../../src/train/optim/adam.js';
import { CosineAnnealingLR, StepLR } from '../../src/train/schedule.js';
import { crossEntropy, mseLoss } from '../../src/train/loss.js';

const param = (): Parameter => new Parameter([2], new Float32Array([1, -1]));

describe('learning-rate schedules (PyTorch closed forms)', () => {
  it('StepLR multiplies by gamma every stepSize epochs', () => {
    const opt = new SGD([param()], { lr: 0.1 });
    const s = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
    const lrs = [opt.lr];
    for (let e = 0; e < 5; e++) {
      s.step();
      lrs.push(s.getLastLr());
    }
    expect(lrs).toEqual([0.1, 0.1, 0.05, 0.05, 0.025, 0.025]);
  });

  it('CosineAnnealingLR follows etaMin + (lr0 − etaMin)(1 + cos(π t/T))/2', () => {
    const opt = new Adam([param()], { lr: 0.01 });
    const s = new CosineAnnealingLR(opt, { tMax: 4, etaMin: 0.001 });
    const got: number[] = [];
    for (let e = 1; e <= 4; e++) {
      s.step();
      got.push(opt.lr);
    }
    const want = [1, 2, 3, 4].map((t) => 0.001 + (0.009 * (1 + Math.cos((Math.PI * t) / 4))) / 2);
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 15));
    expect(got[3]).toBeCloseTo(0.001, 15);
  });
});

describe('optimizer and loss validation', () => {
  it('rejects bad options and parameters with errors naming them', () => {
    expect(() => new SGD([param()], {} as never)).toThrow(/SGD: lr is required/);
    expect(() => new SGD([param()], { lr: -1 })).toThrow(/lr/);
    expect(() => new SGD([param()], { lr: 0.1, nesterov: true })).toThrow(/nesterov needs momentum > 0/);
    expect(() => new SGD([param()], { lr: 0.1, momentm: 0.9 } as never)).toThrow(/momentm/);
    expect(() => new SGD([{ shape: [1], data: new Float32Array(1) } as never], { lr: 0.1 })).toThrow(/params\[0\] must be a Parameter/);
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/empty/);
    expect(() => new Adam([param()], { betas: [0.9, 1] })).toThrow(/betas\[1\]/);
    expect(() => new Adam([param()], { amsgrad: 'yes' } as never)).toThrow(TypeError);
    expect(() => new StepLR(new SGD([param()], { lr: 0.1 }), { stepSize: 0 })).toThrow(/stepSize/);
    expect(() => crossEntropy({ shape: [2, 3], data: new Float32Array(6) }, [0, 3])).toThrow(/target\[1\] must be a class index in \[0, 3\)/);
    expect(() => crossEntropy({ shape: [2, 3], data: new Float32Array(6) }, [0])).toThrow(/target must hold 2 class indices/);
    expect(() => crossEntropy({ shape: [2, 3], data: new Float32Array(6) }, [0, 1], { labelSmoothing: 2 })).toThrow(/labelSmoothing/);
    expect(() => crossEntropy({ shape: [2, 3], data: new Float32Array(6) }, [0, 1], { reduction: 'avg' as never })).toThrow(/reduction/);
    expect(() => mseLoss({ shape: [2], data: new Float32Array(2) }, { shape: [3], data: new Float32Array(3) })).toThrow(/target must have the input's shape/);
  });

  it('frozen and gradient-less parameters are not updated; zeroGrad clears', () => {
    const a = param();
    const b = param();
    const c = param();
    b.requiresGrad = false;
    a.grad.set([1, 1]);
    b.grad.set([1, 1]);
    const opt = new SGD([a, b, c], { lr: 0.5 });
    opt.step();
    expect(Array.from(a.data)).toEqual([0.5, -1.5]);
    expect(Array.from(b.data)).toEqual([1, -1]);
    expect(Array.from(c.data)).toEqual([1, -1]);
    opt.zeroGrad();
    expect(Array.from(a.grad)).toEqual([0, 0]);
  });

  it('crossEntropy writes into out and leaves the logits unchanged', () => {
    const logits = { shape: [2, 3], data: new Float32Array([1, 2, 3, -1, 0, 1]) };
    const copy = logits.data.slice();
    const out = { shape: [2, 3], data: new Float32Array(6) };
    const r = crossEntropy(logits, [2, 0], { out });
    expect(r.gradient).toBe(out);
    expect(logits.data).toEqual(copy);
    expect(() => crossEntropy(logits, [2, 0], { out: logits })).toThrow(/out/);
  });
});
