import { afterEach, describe, expect, it, vi } from 'vitest';
import { gflops, measure, median } from '../../src/analysis/timing.js';

/** A fake clock: each run of the measured function takes `stepMs`. */
function fakeClock(stepMs: number): () => void {
  let now = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => now);
  return () => {
    now += stepMs;
  };
}

describe('measure', () => {
  afterEach(() => vi.restoreAllMocks());

  it('runs warm-up then `repeats` timed runs and reports their median', () => {
    const durations = [50, 7, 3, 9, 1000, 5];
    let now = 0;
    let calls = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const t = measure(() => void (now += durations[calls++]!), { repeats: 5, warmup: 1 });
    expect(calls).toBe(6);
    // The warm-up's 50 is not timed; median of 7, 3, 9, 1000, 5 is 7.
    expect(t).toEqual({ medianMs: 7, minMs: 3, maxMs: 1000, runs: 5 });
  });

  it('minTimeMs adds runs until they add up to it', () => {
    const tick = fakeClock(3);
    expect(measure(tick, { repeats: 2, warmup: 0, minTimeMs: 10 }).runs).toBe(4);
    expect(measure(tick, { repeats: 6, warmup: 0, minTimeMs: 10 }).runs).toBe(6);
  });

  it('minTimeMs stops at 1000 runs', () => {
    const tick = fakeClock(0);
    expect(measure(tick, { repeats: 1, warmup: 0, minTimeMs: 5 }).runs).toBe(1000);
  });

  it('rejects invalid options', () => {
    expect(() => measure(() => undefined, { repeats: 1.5 })).toThrow(/repeats must be an integer from 1 to 100000, got 1.5/);
    expect(() => measure(() => undefined, { minTimeMs: -1 })).toThrow(/minTimeMs must be a number from 0 to 60000, got -1/);
  });

  it('median and GFLOP/s', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/empty/);
    expect(gflops(2e9, 1000)).toBe(2);
    expect(gflops(1, 0)).toBe(0);
  });
});
