import { describe, expect, it } from 'vitest';
import { profile } from '../../src/analysis/profile.js';
import { summary } from '../../src/analysis/summary.js';
import { formatProfile } from '../../src/analysis/format.js';
import { Sequential } from '../../src/layers/sequential.js';
import { Conv2d, DepthwiseSeparableConv2d } from '../../src/layers/conv.js';
import { BatchNorm2d } from '../../src/layers/batchnorm.js';
import { ReLU6 } from '../../src/layers/activation.js';
import { AdaptiveAvgPool2d } from '../../src/layers/pooling.js';
import { Flatten, Linear } from '../../src/layers/linear.js';
import { randomTensor, rng } from '../helpers.js';

function smallModel(): Sequential {
  return new Sequential(
    new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, stride: 2, padding: 1, bias: false, seed: 1 }),
    new BatchNorm2d(8),
    new ReLU6(),
    new DepthwiseSeparableConv2d({ inChannels: 8, outChannels: 16, bias: false, seed: 2 }),
    new AdaptiveAvgPool2d(1),
    new Flatten(),
    new Linear(16, 4, { seed: 3 }),
  );
}

describe('profile', () => {
  it('one timed row per leaf, shares that sum to 1, GFLOP/s = 2·MACs / time', () => {
    const model = smallModel();
    const x = randomTensor([1, 3, 16, 16], rng(1));
    const before = Float32Array.from(x.data);
    const p = profile(model, x, { repeats: 2, warmup: 1 });
    const s = summary(model, [1, 3, 16, 16]);
    expect(p.rows.map((r) => r.name)).toEqual(s.rows.map((r) => r.name));
    expect(p.rows.map((r) => r.macs)).toEqual(s.rows.map((r) => r.macs));
    expect(p.macs).toBe(s.totals.macs);
    expect(p.rows.reduce((a, r) => a + r.timeShare, 0)).toBeCloseTo(1, 12);
    expect(p.rows.reduce((a, r) => a + r.macShare, 0)).toBeCloseTo(1, 12);
    expect(p.leafTotalMs).toBeCloseTo(p.rows.reduce((a, r) => a + r.medianMs, 0), 9);
    for (const r of p.rows) {
      expect(r.medianMs).toBeGreaterThanOrEqual(0);
      if (r.macs > 0 && r.medianMs > 0) expect(r.gflops).toBeCloseTo((2 * r.macs) / (r.medianMs * 1e6), 9);
      else expect(r.gflops).toBe(0);
    }
    expect(Number.isFinite(p.forwardMs)).toBe(true);
    expect(Number.isFinite(p.compiledMs)).toBe(true);
    expect(p.repeats).toBe(2);
    expect(x.data).toEqual(before);
    const text = formatProfile(p);
    for (const r of p.rows) expect(text).toContain(r.name);
    expect(text).toContain('Time %');
    expect(text).toContain('compiled plan');
  });

  it('skipForward leaves the whole-model times out; bad options are refused', () => {
    const model = smallModel();
    const x = randomTensor([1, 3, 8, 8], rng(2));
    const p = profile(model, x, { repeats: 1, warmup: 0, skipForward: true });
    expect(Number.isNaN(p.forwardMs)).toBe(true);
    expect(formatProfile(p)).not.toContain('compiled plan');
    expect(() => profile(model, x, { repeats: 0 })).toThrow(/repeats must be an integer from 1 to 100000, got 0/);
    expect(() => profile(model, x, { repeat: 3 } as never)).toThrow(/unknown option "repeat"/);
    expect(() => profile(model, randomTensor([1, 4, 8, 8], rng(3)))).toThrow(/expected input with 3 channels/);
  });
});
