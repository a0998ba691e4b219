import { describe, expect, it } from 'vitest';
import { compareSeparable, timeSeparable, type SeparableSpec } from '../../src/analysis/compare.js';
import { formatComparison } from '../../src/analysis/format.js';

describe('compareSeparable', () => {
  it('128->128, 3x3, 56x56: hand-computed params and MACs', () => {
    const c = compareSeparable({ inChannels: 128, outChannels: 128, kernelSize: 3, height: 56, width: 56 });
    const hw = 56 * 56;
    expect(c.standard).toMatchObject({ params: 128 * 128 * 9, macs: hw * 9 * 128 * 128, outputShape: [1, 128, 56, 56] });
    expect(c.depthwise).toMatchObject({ params: 128 * 9, macs: hw * 9 * 128 });
    expect(c.pointwise).toMatchObject({ params: 128 * 128, macs: hw * 128 * 128 });
    expect(c.separable.macs).toBe(c.depthwise.macs + c.pointwise.macs);
    expect(c.separable.params).toBe(128 * 9 + 128 * 128);
    expect(c.standard.macs).toBe(462_422_016);
    expect(c.separable.macs).toBe(54_992_896);
    expect(c.closedFormText).toBe('1/128 + 1/9');
    expect(c.closedForm).toBe(1 / 128 + 1 / 9);
  });

  const specs: SeparableSpec[] = [
    { inChannels: 128, outChannels: 128, kernelSize: 3, height: 56, width: 56 },
    { inChannels: 32, outChannels: 64, kernelSize: 3, height: 112, width: 112, stride: 2 },
    { inChannels: 16, outChannels: 48, kernelSize: 5, height: 20, width: 17, kernelsPerLayer: 2 },
    { inChannels: 8, outChannels: 24, kernelSize: [3, 5], height: 9, width: 11, kernelsPerLayer: 3, stride: [2, 1] },
    { inChannels: 3, outChannels: 7, kernelSize: 7, height: 7, width: 7, padding: 0, batch: 2 },
  ];
  for (const spec of specs) {
    it(`ratio equals the closed form K/N + K/(kH·kW): ${JSON.stringify(spec)}`, () => {
      const c = compareSeparable(spec);
      const [kh, kw] = Array.isArray(spec.kernelSize) ? spec.kernelSize : [spec.kernelSize, spec.kernelSize];
      const k = spec.kernelsPerLayer ?? 1;
      const expected = k / spec.outChannels + k / (kh! * kw!);
      expect(Math.abs(c.macRatio - expected)).toBeLessThanOrEqual(1e-15 * expected);
      // Without biases the parameter ratio obeys the same form.
      expect(Math.abs(c.paramRatio - expected)).toBeLessThanOrEqual(1e-15 * expected);
      expect(c.separable.outputShape).toEqual(c.standard.outputShape);
    });
  }

  it('rejects bad specs naming the field', () => {
    expect(() => compareSeparable({ inChannels: 0, outChannels: 8, kernelSize: 3, height: 8, width: 8 })).toThrow(/inChannels must be a positive integer, got 0/);
    expect(() => compareSeparable({ inChannels: 4, outChannels: 8, kernelSize: 3, height: 8, width: 8, kernelsPerLayer: 1.5 })).toThrow(/kernelsPerLayer/);
    expect(() => compareSeparable({ inChannels: 4, outChannels: 8, kernelSize: 3, height: 8, width: 8, multiplier: 2 } as unknown as SeparableSpec)).toThrow(
      /unknown field "multiplier"/,
    );
    expect(() => compareSeparable({ inChannels: 4, outChannels: 8, kernelSize: 9, height: 2, width: 2, padding: 0 })).toThrow(/output size/);
  });
});

describe('timeSeparable and formatComparison', () => {
  it('times every variant and reports GFLOP/s = 2·MACs / time', () => {
    const c = compareSeparable({ inChannels: 8, outChannels: 16, kernelSize: 3, height: 12, width: 12 });
    const t = timeSeparable(c, { repeats: 3, warmup: 1 });
    for (const name of ['standard', 'depthwise', 'pointwise', 'separable'] as const) {
      expect(t[name].runs).toBe(3);
      expect(t[name].medianMs).toBeGreaterThan(0);
      expect(t[name].gflops).toBeCloseTo(c[name].flops / (t[name].medianMs * 1e6), 9);
    }
    const text = formatComparison(c, t);
    expect(text).toContain('1/16 + 1/9');
    expect(text).toContain('(equal)');
    expect(text).toContain('Median time');
    expect(text).toContain(`${(c.standard.macs).toLocaleString('en-US')}`);
    expect(text).toContain('medians of the runs counted above');
    expect(text).toMatch(/Median time\s+Runs\s+GFLOP\/s/);
  });

  it('timeSeparable refuses unknown or invalid options', () => {
    const c = compareSeparable({ inChannels: 2, outChannels: 2, kernelSize: 3, height: 4, width: 4 });
    expect(() => timeSeparable(c, { repeat: 2 } as never)).toThrow(/unknown option "repeat"/);
    expect(() => timeSeparable(c, { repeats: 0 })).toThrow(/repeats must be an integer from 1 to 100000, got 0/);
    expect(() => timeSeparable(c, { warmup: -1 })).toThrow(/warmup must be an integer from 0 to 100000, got -1/);
  });
});
