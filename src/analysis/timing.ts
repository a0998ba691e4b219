/**
 * Wall-clock measurement for the analysis reports: warm-up runs first (so V8 has optimized the
 * kernels and every branch has been taken), then the median of the timed runs, which shrugs off
 * the occasional slow run caused by garbage collection or a busy machine.
 */
import { readOptions } from '../checks.js';
import { Generator } from '../layers/init.js';
import { describeValue } from '../tensor.js';

export interface TimingOptions {
  /** Timed runs (default 5). */
  repeats?: number;
  /** Untimed runs before them (default 1). */
  warmup?: number;
  /**
   * Keep adding timed runs until they add up to this many milliseconds (default 0; at most 1000
   * runs), so that fast operations get enough samples for a stable median at little cost.
   */
  minTimeMs?: number;
}

export interface Timing {
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly runs: number;
}

/** The most repeats (or warm-up runs) a timing may ask for: a hostile count must not hang a caller. */
export const MAX_REPEATS = 100_000;
/** The longest `minTimeMs` a timing may ask for (one minute). */
export const MAX_MIN_TIME_MS = 60_000;

export function checkRepeats(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_REPEATS) {
    throw new RangeError(`${name} must be an integer from ${min} to ${MAX_REPEATS}, got ${describeValue(value)}`);
  }
  return value;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const MAX_RUNS = 1000;

export function resolveTimingOptions(callerOptions: TimingOptions = {}): { repeats: number; warmup: number; minTimeMs: number } {
  const options = readOptions<TimingOptions>(callerOptions, ['repeats', 'warmup', 'minTimeMs'], 'timing');
  const minTimeMs = options.minTimeMs === undefined ? 0 : options.minTimeMs;
  if (typeof minTimeMs !== 'number' || !Number.isFinite(minTimeMs) || minTimeMs < 0 || minTimeMs > MAX_MIN_TIME_MS) {
    throw new RangeError(`minTimeMs must be a number from 0 to ${MAX_MIN_TIME_MS}, got ${describeValue(options.minTimeMs)}`);
  }
  return {
    repeats: options.repeats === undefined ? 5 : checkRepeats(options.repeats, 'repeats', 1),
    warmup: options.warmup === undefined ? 1 : checkRepeats(options.warmup, 'warmup', 0),
    minTimeMs,
  };
}

/** Times `run` and returns the median, min and max in milliseconds. */
export function measure(run: () => void, options: TimingOptions = {}): Timing {
  if (typeof run !== 'function') throw new TypeError(`measure: run must be a function, got ${describeValue(run)}`);
  const { repeats, warmup, minTimeMs } = resolveTimingOptions(options);
  for (let i = 0; i < warmup; i++) run();
  const times: number[] = [];
  let total = 0;
  while (times.length < repeats || (total < minTimeMs && times.length < MAX_RUNS)) {
    const start = performance.now();
    run();
    const elapsed = performance.now() - start;
    times.push(elapsed);
    total += elapsed;
  }
  return { medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), runs: times.length };
}

/** Achieved GFLOP/s (1e9 FLOPs per second) for `flops` done in `ms` milliseconds. */
export function gflops(flops: number, ms: number): number {
  return ms > 0 ? flops / (ms * 1e6) : 0;
}

/**
 * Floats in [0, 1) from the library's seeded generator (the one layers initialise from), so
 * measured inputs are the same on every run. Any number is accepted as a seed, as `seed >>> 0`.
 */
export function seededRandom(seed: number): () => number {
  const generator = new Generator(seed >>> 0);
  return () => generator.random();
}

/** A Float32Array of `size` values uniform in [-1, 1). */
export function randomData(size: number, random: () => number): Float32Array {
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = random() * 2 - 1;
  return data;
}
