/**
 * `profile(model, input)`: measured time per leaf module next to its share of the MACs.
 *
 * Each leaf is timed on its own, on the real activation it receives in the forward pass (the
 * leaves are run in the order `summary` finds, each output feeding the next), through its
 * `plan()` step so that its output buffer is allocated once and garbage collection of fresh
 * outputs does not pollute the times; warm-up runs first, then the median of `repeats` timed
 * runs. The whole model is timed too, both as a compiled plan and through `forward`: it can be
 * faster than the sum of its leaves because `Sequential` fuses a ReLU into the preceding
 * convolution's output write.
 */
import { readBoolean, readOptions } from '../checks.js';
import { asTensor, shapeSize, type Tensor, type TensorLike } from '../tensor.js';
import type { Module } from '../layers/module.js';
import { summary, traceLeaves, type LayerKind, type ModelSummary } from './summary.js';
import { gflops, measure, randomData, resolveTimingOptions, seededRandom, type TimingOptions } from './timing.js';
import { sameShape } from '../tensor.js';


export interface ProfileRow {
  readonly name: string;
  readonly type: string;
  readonly kind: LayerKind;
  readonly outputShape: readonly number[];
  readonly macs: number;
  readonly flops: number;
  /** Median wall time of this leaf's forward, in milliseconds. */
  readonly medianMs: number;
  /** Timed runs behind the median (`repeats`, or more with `minTimeMs`). */
  readonly runs: number;
  /** medianMs / the sum of every leaf's medianMs. */
  readonly timeShare: number;
  /** macs / total MACs. */
  readonly macShare: number;
  /** Achieved GFLOP/s (2·MACs per nanosecond); 0 for layers without MACs. */
  readonly gflops: number;
}

/** The fields a ModelProfile must have for the functions that read one. */
export const PROFILE_FIELDS = ['modelType', 'inputShape', 'rows'] as const;

export interface ModelProfile {
  readonly modelType: string;
  readonly inputShape: readonly number[];
  readonly repeats: number;
  readonly warmup: number;
  readonly minTimeMs: number;
  readonly rows: readonly ProfileRow[];
  /** Sum of the leaves' median times. */
  readonly leafTotalMs: number;
  /** Median time of the whole model's `forward` (allocating every output, with Sequential's fusions). */
  readonly forwardMs: number;
  /** Median time of the whole model compiled for this input shape (`compile(shape).run`). */
  readonly compiledMs: number;
  readonly macs: number;
  /** 2 · MACs / forwardMs. */
  readonly forwardGflops: number;
  /** 2 · MACs / compiledMs. */
  readonly compiledGflops: number;
  /** The summary the MAC counts come from. */
  readonly summary: ModelSummary;
}

export interface ProfileOptions extends TimingOptions {
  /** Skip timing the whole model (forwardMs and compiledMs are then NaN). */
  skipForward?: boolean;
}

/** Times every leaf of `model` on `input` (`[N, C, H, W]`) and the whole forward pass. */
export function profile(model: Module, input: TensorLike, callerOptions: ProfileOptions = {}): ModelProfile {
  const options = readOptions<ProfileOptions>(callerOptions, ['repeats', 'warmup', 'minTimeMs', 'skipForward'], 'profile');
  const { repeats, warmup, minTimeMs } = resolveTimingOptions({ repeats: options.repeats, warmup: options.warmup, minTimeMs: options.minTimeMs });
  const skipForward = readBoolean(options.skipForward, 'profile: skipForward', false);
  const x = asTensor(input, 'input');
  const info = summary(model, x.shape);
  const calls = traceLeaves(model, x.shape);
  const steps = calls.map((call) => call.module.plan(call.inputShape));
  // One untimed pass over every leaf first: leaves of one class share their code, so the first
  // ReLU6 would otherwise pay for compiling what the later ones reuse.
  // A leaf whose input is not the previous leaf's output (a branch of a residual, squeeze-excitation
  // or shuffle block) runs on seeded data of its input shape.
  const inputFor = (i: number, previous: Tensor): Tensor => {
    const wanted = calls[i]!.inputShape;
    return sameShape(previous.shape, wanted) ? previous : { shape: wanted.slice(), data: randomData(shapeSize(wanted), seededRandom(i + 1)) };
  };
  let activation: Tensor = x;
  for (let pass = 0; pass < Math.min(warmup, 1); pass++) {
    steps.forEach((step, i) => {
      activation = step.run(inputFor(i, activation));
    });
  }
  activation = x;
  const times: number[] = [];
  const runCounts: number[] = [];
  for (const [i, step] of steps.entries()) {
    const leafInput = inputFor(i, activation);
    let output: Tensor | null = null;
    // Every run computes the same values into the step's buffer, which then feeds the next leaf.
    const run = (): void => {
      output = step.run(leafInput);
    };
    const timing = measure(run, { repeats, warmup, minTimeMs });
    times.push(timing.medianMs);
    runCounts.push(timing.runs);
    activation = output!;
  }
  const leafTotalMs = times.reduce((a, b) => a + b, 0);
  let forwardMs = NaN;
  let compiledMs = NaN;
  if (!skipForward) {
    forwardMs = measure(() => void model.forward(x), { repeats, warmup, minTimeMs }).medianMs;
    const compiled = model.compile(x.shape);
    compiledMs = measure(() => void compiled.run(x), { repeats, warmup, minTimeMs }).medianMs;
  }
  const macs = info.totals.macs;
  const rows: ProfileRow[] = info.rows.map((row, i) => ({
    name: row.name,
    type: row.type,
    kind: row.kind,
    outputShape: row.outputShape,
    macs: row.macs,
    flops: row.flops,
    medianMs: times[i]!,
    runs: runCounts[i]!,
    timeShare: leafTotalMs > 0 ? times[i]! / leafTotalMs : 0,
    macShare: row.macShare,
    gflops: row.macs > 0 ? gflops(row.flops, times[i]!) : 0,
  }));
  return {
    modelType: info.modelType,
    inputShape: x.shape.slice(),
    repeats,
    warmup,
    minTimeMs,
    rows,
    leafTotalMs,
    forwardMs,
    macs,
    compiledMs,
    forwardGflops: gflops(2 * macs, forwardMs),
    compiledGflops: gflops(2 * macs, compiledMs),
    summary: info,
  };
}
