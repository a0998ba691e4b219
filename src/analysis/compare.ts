/**
 * Standard convolution versus its depthwise-separable factorisation (MobileNet, arXiv:1704.04861):
 *
 *   standard:   Cin → Cout, kH×kW                    MACs = Hout·Wout · kH·kW · Cin · Cout
 *   depthwise:  Cin → Cin·K, kH×kW, groups = Cin     MACs = Hout·Wout · kH·kW · Cin · K
 *   pointwise:  Cin·K → Cout, 1×1                    MACs = Hout·Wout · Cin·K · Cout
 *
 * so separable / standard = K/Cout + K/(kH·kW), which is the closed form 1/N + 1/k² for K = 1.
 * Both paths see the same stride and padding, so the output sizes (the only spatial factor)
 * cancel and the ratio is exact, not an approximation.
 */
import { checkElements, checkResultObject, readOptions } from '../checks.js';
import { conv2d } from '../ops/conv2d.js';
import { shapeSize as sizeOf, type Tensor } from '../tensor.js';
import { positiveInteger, resolvePair, type IntPair } from '../geometry.js';
import { conv2dCost, type Conv2dCost } from './cost.js';
import { gflops, measure, randomData, seededRandom, type Timing, type TimingOptions } from './timing.js';

export interface SeparableSpec {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: IntPair;
  readonly height: number;
  readonly width: number;
  /** Depthwise channel multiplier K (default 1). */
  readonly kernelsPerLayer?: number;
  readonly stride?: IntPair;
  /** Defaults to floor((k − 1)/2) per axis: "same" size at stride 1 for odd kernels. */
  readonly padding?: IntPair;
  readonly batch?: number;
}

export type VariantName = 'standard' | 'depthwise' | 'pointwise' | 'separable';

export interface VariantCost {
  readonly name: VariantName;
  readonly description: string;
  readonly params: number;
  readonly macs: number;
  readonly flops: number;
  readonly outputShape: readonly number[];
}

/** The fields a SeparableComparison must have for the functions that read one. */
export const COMPARISON_FIELDS = ['spec', 'standard', 'depthwise', 'pointwise', 'separable'] as const;
/** The fields of SeparableTimings. */
export const TIMINGS_FIELDS = ['standard', 'depthwise', 'pointwise', 'separable'] as const;

export interface SeparableComparison {
  readonly spec: Required<Omit<SeparableSpec, 'kernelSize' | 'stride' | 'padding'>> & {
    readonly kernelSize: [number, number];
    readonly stride: [number, number];
    readonly padding: [number, number];
  };
  readonly standard: VariantCost;
  readonly depthwise: VariantCost;
  readonly pointwise: VariantCost;
  readonly separable: VariantCost;
  /** The three convolutions' full costs (no bias: a separable block is followed by BatchNorm). */
  readonly costs: { readonly standard: Conv2dCost; readonly depthwise: Conv2dCost; readonly pointwise: Conv2dCost };
  /** separable MACs / standard MACs. */
  readonly macRatio: number;
  /** separable params / standard params. */
  readonly paramRatio: number;
  /** K/Cout + K/(kH·kW). */
  readonly closedForm: number;
  /** The closed form with this comparison's numbers, e.g. "1/128 + 1/9". */
  readonly closedFormText: string;
}

const SPEC_KEYS = ['inChannels', 'outChannels', 'kernelSize', 'height', 'width', 'kernelsPerLayer', 'stride', 'padding', 'batch'];

function variant(name: VariantName, description: string, cost: { params: number; macs: number; outputShape: readonly number[] }): VariantCost {
  return { name, description, params: cost.params, macs: cost.macs, flops: 2 * cost.macs, outputShape: cost.outputShape.slice() };
}

/** Params and MACs of a standard conv, its depthwise and pointwise steps, and the separable pair. */
export function compareSeparable(callerSpec: SeparableSpec): SeparableComparison {
  if (callerSpec === undefined) throw new TypeError('compareSeparable: spec must be an object, got undefined');
  const spec = readOptions<SeparableSpec>(callerSpec, SPEC_KEYS, 'compareSeparable', 'field');
  const inChannels = positiveInteger(spec.inChannels, 'inChannels');
  const outChannels = positiveInteger(spec.outChannels, 'outChannels');
  const height = positiveInteger(spec.height, 'height');
  const width = positiveInteger(spec.width, 'width');
  const multiplier = spec.kernelsPerLayer === undefined ? 1 : positiveInteger(spec.kernelsPerLayer, 'kernelsPerLayer');
  const batch = spec.batch === undefined ? 1 : positiveInteger(spec.batch, 'batch');
  if (spec.kernelSize === undefined) throw new TypeError('kernelSize is required: an integer or a pair [h, w]');
  const kernel = resolvePair(spec.kernelSize, 'kernelSize', 1);
  const stride = resolvePair(spec.stride, 'stride', 1);
  const padding =
    spec.padding === undefined
      ? ([Math.floor((kernel[0] - 1) / 2), Math.floor((kernel[1] - 1) / 2)] as [number, number])
      : resolvePair(spec.padding, 'padding', 0, 0);
  const inputShape = [batch, inChannels, height, width];
  const standard = conv2dCost({ inputShape, outChannels, kernelSize: kernel, stride, padding, bias: false });
  const depthwise = conv2dCost({
    inputShape, outChannels: inChannels * multiplier, kernelSize: kernel, stride, padding, groups: inChannels, bias: false,
  });
  const pointwise = conv2dCost({ inputShape: depthwise.outputShape, outChannels, kernelSize: 1, bias: false });
  const kk = kernel[0] * kernel[1];
  const closedForm = multiplier / outChannels + multiplier / kk;
  const closedFormText = multiplier === 1 ? `1/${outChannels} + 1/${kk}` : `${multiplier}/${outChannels} + ${multiplier}/${kk}`;
  const k = `${kernel[0]}x${kernel[1]}`;
  const separable = {
    params: depthwise.params + pointwise.params,
    macs: depthwise.macs + pointwise.macs,
    outputShape: pointwise.outputShape,
  };
  return {
    spec: { inChannels, outChannels, kernelSize: kernel, height, width, kernelsPerLayer: multiplier, stride, padding, batch },
    standard: variant('standard', `standard ${k} conv ${inChannels}->${outChannels}`, standard),
    depthwise: variant('depthwise', `depthwise ${k} ${inChannels}->${inChannels * multiplier} (groups ${inChannels})`, depthwise),
    pointwise: variant('pointwise', `pointwise 1x1 ${inChannels * multiplier}->${outChannels}`, pointwise),
    separable: variant('separable', 'separable pair (depthwise + pointwise)', separable),
    costs: { standard, depthwise, pointwise },
    macRatio: separable.macs / standard.macs,
    paramRatio: separable.params / standard.params,
    closedForm,
    closedFormText,
  };
}

export interface VariantTiming extends Timing {
  readonly name: VariantName;
  readonly gflops: number;
}

export interface SeparableTimings {
  readonly standard: VariantTiming;
  readonly depthwise: VariantTiming;
  readonly pointwise: VariantTiming;
  readonly separable: VariantTiming;
  /** separable median time / standard median time. */
  readonly timeRatio: number;
}

/**
 * Runs the four variants of a comparison with sepconv's kernels on seeded random data and
 * returns the median wall time and achieved GFLOP/s (2·MACs per second) of each. The separable
 * pair is timed as it runs in a network: the depthwise step, then the pointwise step on its output.
 */
export function timeSeparable(comparison: SeparableComparison, callerOptions: TimingOptions & { seed?: number } = {}): SeparableTimings {
  checkResultObject(comparison, 'timeSeparable: comparison', 'a SeparableComparison (from compareSeparable)', COMPARISON_FIELDS);
  const options = readOptions<TimingOptions & { seed?: number }>(callerOptions, ['repeats', 'warmup', 'minTimeMs', 'seed'], 'timeSeparable');
  const { seed = 1, ...timing } = options;
  const { spec, costs } = comparison;
  // Every array this timing allocates, checked before the first one is.
  for (const [what, shape] of [
    ['the input', costs.standard.inputShape], ['the standard weight', costs.standard.weightShape], ['the standard output', costs.standard.outputShape],
    ['the depthwise weight', costs.depthwise.weightShape], ['the depthwise output', costs.depthwise.outputShape],
    ['the pointwise weight', costs.pointwise.weightShape], ['the pointwise output', costs.pointwise.outputShape],
  ] as const) {
    checkElements(sizeOf(shape), `timeSeparable: ${what}`);
  }
  const random = seededRandom(seed);
  const x: Tensor = { shape: costs.standard.inputShape, data: randomData(sizeOf(costs.standard.inputShape), random) };
  const wStandard: Tensor = { shape: costs.standard.weightShape, data: randomData(sizeOf(costs.standard.weightShape), random) };
  const wDepthwise: Tensor = { shape: costs.depthwise.weightShape, data: randomData(sizeOf(costs.depthwise.weightShape), random) };
  const wPointwise: Tensor = { shape: costs.pointwise.weightShape, data: randomData(sizeOf(costs.pointwise.weightShape), random) };
  const yStandard: Tensor = { shape: costs.standard.outputShape, data: new Float32Array(sizeOf(costs.standard.outputShape)) };
  const yDepthwise: Tensor = { shape: costs.depthwise.outputShape, data: new Float32Array(sizeOf(costs.depthwise.outputShape)) };
  const yPointwise: Tensor = { shape: costs.pointwise.outputShape, data: new Float32Array(sizeOf(costs.pointwise.outputShape)) };
  const convOptions = { stride: spec.stride, padding: spec.padding };
  const runStandard = (): void => void conv2d(x, wStandard, { ...convOptions, out: yStandard });
  const runDepthwise = (): void => void conv2d(x, wDepthwise, { ...convOptions, groups: spec.inChannels, out: yDepthwise });
  const runPointwise = (): void => void conv2d(yDepthwise, wPointwise, { out: yPointwise });
  const result = (name: VariantName, run: () => void): VariantTiming => {
    const t = measure(run, timing);
    return { name, ...t, gflops: gflops(comparison[name].flops, t.medianMs) };
  };
  const standard = result('standard', runStandard);
  const depthwise = result('depthwise', runDepthwise);
  const pointwise = result('pointwise', runPointwise);
  const separable = result('separable', () => {
    runDepthwise();
    runPointwise();
  });
  return { standard, depthwise, pointwise, separable, timeRatio: separable.medianMs / standard.medianMs };
}
