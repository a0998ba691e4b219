/**
 * Models side by side: parameters, MACs, the separable share of the MACs (depthwise convolutions,
 * groups = Cin > 1, plus pointwise ones, 1×1 with groups 1) and, when timed, the compiled forward
 * pass's median time and GFLOP/s (FLOPs = 2 · MACs).
 */
import { readOptions } from '../checks.js';
import { describeValue, shapeSize } from '../tensor.js';
import { Conv2d } from '../layers/conv.js';
import { Module } from '../layers/module.js';
import { summary, traceLeaves } from './summary.js';
import { gflops, measure, randomData, seededRandom, type TimingOptions } from './timing.js';

export interface ModelComparisonRow {
  readonly name: string;
  readonly modelType: string;
  readonly inputShape: readonly number[];
  readonly params: number;
  readonly macs: number;
  /** MACs of depthwise and pointwise convolutions. */
  readonly separableMacs: number;
  /** separableMacs / macs. */
  readonly separableShare: number;
  /** Median time of `model.compile(inputShape).run(x)`; NaN when not timed. */
  readonly compiledMs: number;
  readonly gflops: number;
}

export interface CompareModelsOptions {
  /** Time each compiled model (default true); false reports exact costs only. */
  timing?: boolean | TimingOptions;
}

/** Whether `conv` is a depthwise (groups = Cin > 1) or pointwise (1×1, groups 1) convolution. */
export function isSeparablePart(conv: Conv2d): boolean {
  const depthwise = conv.groups > 1 && conv.groups === conv.inChannels;
  const pointwise = conv.kernelSize[0] === 1 && conv.kernelSize[1] === 1 && conv.groups === 1;
  return depthwise || pointwise;
}

/** One row per `[name, model]`, all for input shape `inputShape` (batch included). */
export function compareModels(models: readonly (readonly [string, Module])[], inputShape: readonly number[], callerOptions: CompareModelsOptions = {}): ModelComparisonRow[] {
  if (!Array.isArray(models) || models.some((entry) => !Array.isArray(entry) || typeof entry[0] !== 'string' || !(entry[1] instanceof Module))) {
    throw new TypeError(`compareModels: models must be an array of [name, Module] pairs, got ${describeValue(models)}`);
  }
  const options = readOptions<CompareModelsOptions>(callerOptions, ['timing'], 'compareModels');
  const timing = options.timing ?? true;
  if (typeof timing !== 'boolean' && (typeof timing !== 'object' || timing === null)) {
    throw new TypeError(`compareModels: timing must be a boolean or timing options, got ${describeValue(timing)}`);
  }
  return models.map(([name, model]) => {
    const s = summary(model, inputShape);
    const calls = traceLeaves(model, inputShape);
    let separableMacs = 0;
    calls.forEach((call, i) => {
      if (call.module instanceof Conv2d && isSeparablePart(call.module)) separableMacs += s.rows[i]!.macs;
    });
    let compiledMs = NaN;
    if (timing !== false) {
      const compiled = model.compile(inputShape);
      const x = { shape: inputShape.slice(), data: randomData(shapeSize(inputShape), seededRandom(1)) };
      compiledMs = measure(() => void compiled.run(x), timing === true ? {} : timing).medianMs;
    }
    const macs = s.totals.macs;
    return {
      name,
      modelType: s.modelType,
      inputShape: inputShape.slice(),
      params: s.totals.params,
      macs,
      separableMacs,
      separableShare: macs > 0 ? separableMacs / macs : 0,
      compiledMs,
      gflops: gflops(2 * macs, compiledMs),
    };
  });
}
