import { describe, expect, it } from 'vitest';
import { Conv2d, DepthwiseSeparableConv2d, Generator, manualSeed, mobilenetV1 } from '../../src/index.js';
import { expectBitwiseEqual } from '../helpers.js';

describe('seeded initialisation', () => {
  it('a Generator is deterministic per seed and differs across seeds', () => {
    const a = new Generator(42);
    const b = new Generator(42);
    const c = new Generator(43);
    const seqA = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(seqA);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(seqA);
    expect(a.manualSeed(42).nextUint32()).toBe(seqA[0]);
    expect(() => new Generator(1.5)).toThrow(/seed must be an integer/);
  });

  it('uniform draws are in range and roughly uniform', () => {
    const out = new Generator(7).uniform(new Float32Array(100000), -0.5, 0.5);
    let mean = 0, sq = 0, outside = 0;
    for (const v of out) {
      if (!(v >= -0.5 && v < 0.5)) outside++;
      mean += v;
      sq += v * v;
    }
    expect(outside).toBe(0);
    expect(Math.abs(mean / out.length)).toBeLessThan(0.005);
    expect(Math.abs(sq / out.length - 1 / 12)).toBeLessThan(0.002);
  });

  it('conv init is U(±1/sqrt(fanIn)) for weight and bias, fanIn = (Cin/groups)·kH·kW', () => {
    const conv = new Conv2d({ inChannels: 8, outChannels: 64, kernelSize: 3, groups: 2, seed: 1 });
    const bound = 1 / Math.sqrt(4 * 9);
    const w = conv.weight.data;
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-bound);
    expect(Math.max(...w)).toBeGreaterThan(0.95 * bound);
    expect(conv.bias!.data.every((b) => Math.abs(b) <= bound)).toBe(true);
  });

  it('the same seed builds identical models; manualSeed makes default-initialised layers reproducible', () => {
    const a = mobilenetV1({ widthMultiplier: 0.25, seed: 9 });
    const b = mobilenetV1({ widthMultiplier: 0.25, seed: 9 });
    const c = mobilenetV1({ widthMultiplier: 0.25, seed: 10 });
    const da = a.stateDict(), db = b.stateDict(), dc = c.stateDict();
    for (const key of Object.keys(da)) expectBitwiseEqual(db[key]!.data, da[key]!.data, key);
    expect(dc['model.3.0.weight']!.data[0]).not.toBe(da['model.3.0.weight']!.data[0]);
    manualSeed(123);
    const s1 = new DepthwiseSeparableConv2d({ inChannels: 4, outChannels: 4 });
    manualSeed(123);
    const s2 = new DepthwiseSeparableConv2d({ inChannels: 4, outChannels: 4 });
    expect(s2.pointwise.weight.data).toEqual(s1.pointwise.weight.data);
    expect(s2.depthwise.weight.data).toEqual(s1.depthwise.weight.data);
  });
});
