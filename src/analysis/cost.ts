/**
 * Exact cost rules, one function per operation, with one explicit convention for every number:
 *
 *   - MACs (multiply-accumulates) are counted for convolutions and fully connected layers only:
 *       conv:   N · Cout · Hout · Wout · (Cin/groups) · kH · kW
 *       linear: N · in · out
 *     Every kernel tap counts, including taps that land on padding (the dense-tensor convention
 *     of the MobileNet paper, fvcore, ptflops and torchinfo); the spatial factor is the OUTPUT
 *     size only.
 *   - FLOPs = 2 · MACs. Bias adds are never folded into MACs or FLOPs: they are `biasAdds`.
 *   - BatchNorm (inference: one scale and one shift per element = 2 ops), activations (1 op per
 *     element) and pooling (one op per window element per output) are `elementwiseOps`, separate
 *     from MACs.
 *   - Params are trainable parameters as PyTorch's `parameters()` counts them: BatchNorm's
 *     `running_mean`/`running_var`/`num_batches_tracked` are buffers, reported as `bufferCount`.
 *   - Bytes assume float32 (4 bytes) unless `bytesPerElement` says otherwise; arithmetic intensity
 *     is FLOPs per byte of minimum traffic (input, weights and bias read once, output written once).
 */
import { checkElements, optional, ownElement, readBoolean, readOptions } from '../checks.js';
import { checkShape, describeValue, shapeSize } from '../tensor.js';
import {
  conv2dGeometry,
  positiveInteger,
  resolvePadding,
  poolOutputSize,
  resolvePair,
  type Conv2dGeometry,
  type IntPair,
  type Padding,
  type PaddingMode,
} from '../geometry.js';

/** The counts every cost rule reports; they add up over layers (see `sumCounts`). */
export interface CostCounts {
  /** Trainable parameters. */
  readonly params: number;
  /** Non-trainable state (BatchNorm running statistics), counted apart from params. */
  readonly bufferCount: number;
  readonly macs: number;
  /** 2 · macs. */
  readonly flops: number;
  /** One add per output element of a layer with a bias; not part of macs or flops. */
  readonly biasAdds: number;
  /** BatchNorm, activation and pooling operations; not part of macs or flops. */
  readonly elementwiseOps: number;
}

/** What every cost rule reports for one operation. */
export interface LayerCost extends CostCounts {
  readonly outputShape: readonly number[];
}

export interface Conv2dSpec {
  /** `[N, Cin, H, W]` or unbatched `[Cin, H, W]`. */
  readonly inputShape: readonly number[];
  readonly outChannels: number;
  readonly kernelSize: IntPair;
  readonly stride?: IntPair;
  readonly padding?: Padding;
  readonly dilation?: IntPair;
  readonly groups?: number;
  readonly paddingMode?: PaddingMode;
  /** Whether the layer has a bias; `true` by default, as in `nn.Conv2d`. */
  readonly bias?: boolean;
  /** Bytes per tensor element, 4 (float32) by default. */
  readonly bytesPerElement?: number;
}

export interface Conv2dCost extends LayerCost {
  readonly geometry: Conv2dGeometry;
  readonly inputShape: readonly number[];
  readonly weightShape: readonly [number, number, number, number];
  readonly weightParams: number;
  readonly biasParams: number;
  readonly inputBytes: number;
  /** Weight and bias bytes. */
  readonly weightBytes: number;
  readonly outputBytes: number;
  /** FLOPs per byte of minimum traffic: flops / (inputBytes + weightBytes + outputBytes). */
  readonly arithmeticIntensity: number;
}

const ZERO_COST = { bufferCount: 0, macs: 0, flops: 0, biasAdds: 0, elementwiseOps: 0 } as const;

/** The spec's own fields (a null-prototype snapshot); unknown or inherited fields are a TypeError. */
function checkSpecKeys<T extends object>(spec: T, allowed: readonly string[], fn: string): Partial<T> {
  if (spec === undefined) throw new TypeError(`${fn}: spec must be an object, got undefined`);
  return readOptions<T>(spec, allowed, fn, 'field');
}

function checkInputShape(shape: unknown, name: string, ranks: readonly number[], expected: string): readonly number[] {
  if (!Array.isArray(shape) || !ranks.includes(shape.length)) {
    throw new RangeError(`${name} must be ${expected}, got ${describeValue(shape)}`);
  }
  // The leading (batch) dimension may be 0: an empty batch costs nothing, as it runs. Own
  // elements only: a hole is not a dimension.
  for (let i = 0; i < shape.length; i++) {
    const d = ownElement(shape, i);
    if (!(i === 0 && d === 0)) positiveInteger(d, `${name}[${i}]`);
  }
  return shape;
}

function bytesPerElementOf(value: unknown): number {
  if (value === undefined) return 4;
  return positiveInteger(value, 'bytesPerElement');
}

function checkBias(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw new TypeError(`bias must be a boolean, got ${describeValue(value)}`);
  return value;
}

const CONV_SPEC_KEYS = [
  'inputShape', 'outChannels', 'kernelSize', 'stride', 'padding', 'dilation', 'groups', 'paddingMode', 'bias', 'bytesPerElement',
];

/** The exact cost of one `nn.Conv2d` call. Shapes come from the kernels' own geometry module. */
export function conv2dCost(callerSpec: Conv2dSpec): Conv2dCost {
  const spec = checkSpecKeys(callerSpec, CONV_SPEC_KEYS, 'conv2dCost');
  const inputShape = checkInputShape(spec.inputShape, 'inputShape', [3, 4], '[N, Cin, H, W] or [Cin, H, W]');
  const outChannels = positiveInteger(spec.outChannels, 'outChannels');
  if (spec.kernelSize === undefined) throw new TypeError('kernelSize is required: an integer or a pair [h, w]');
  const [kernelH, kernelW] = resolvePair(spec.kernelSize, 'kernelSize', 1);
  const groups = spec.groups === undefined ? 1 : positiveInteger(spec.groups, 'groups');
  const inChannels = inputShape[inputShape.length - 3]!;
  if (inChannels % groups !== 0) {
    throw new RangeError(`in_channels must be divisible by groups: inputShape has ${inChannels} channels, groups=${groups}`);
  }
  const hasBias = checkBias(spec.bias);
  const bytes = bytesPerElementOf(spec.bytesPerElement);
  const weightShape = [outChannels, inChannels / groups, kernelH, kernelW] as const;
  const geometry = conv2dGeometry(inputShape, weightShape, {
    stride: spec.stride,
    padding: spec.padding,
    dilation: spec.dilation,
    groups,
    paddingMode: spec.paddingMode,
  });
  const outputElements = geometry.batch * geometry.outChannels * geometry.outHeight * geometry.outWidth;
  const macs = outputElements * (geometry.inChannels / geometry.groups) * geometry.kernelH * geometry.kernelW;
  const weightParams = shapeSize(weightShape);
  const biasParams = hasBias ? outChannels : 0;
  const inputBytes = shapeSize(inputShape) * bytes;
  const weightBytes = (weightParams + biasParams) * bytes;
  const outputBytes = outputElements * bytes;
  return {
    geometry,
    inputShape: inputShape.slice(),
    outputShape: geometry.outputShape.slice(),
    weightShape: [...weightShape],
    params: weightParams + biasParams,
    weightParams,
    biasParams,
    bufferCount: 0,
    macs,
    flops: 2 * macs,
    biasAdds: hasBias ? outputElements : 0,
    elementwiseOps: 0,
    inputBytes,
    weightBytes,
    outputBytes,
    arithmeticIntensity: (2 * macs) / (inputBytes + weightBytes + outputBytes),
  };
}

export interface LinearSpec {
  /** `[..., inFeatures]`: every leading dimension is a batch dimension. */
  readonly inputShape: readonly number[];
  readonly outFeatures: number;
  readonly bias?: boolean;
}

/** `nn.Linear`: `in · out` MACs per row, `out` bias adds per row. */
export function linearCost(callerSpec: LinearSpec): LayerCost {
  const spec = checkSpecKeys(callerSpec, ['inputShape', 'outFeatures', 'bias'], 'linearCost');
  const inputShape = checkInputShape(spec.inputShape, 'inputShape', [1, 2, 3, 4, 5, 6], '[..., inFeatures]');
  const outFeatures = positiveInteger(spec.outFeatures, 'outFeatures');
  const hasBias = checkBias(spec.bias);
  const inFeatures = inputShape[inputShape.length - 1]!;
  const rows = shapeSize(inputShape) / inFeatures;
  const macs = rows * inFeatures * outFeatures;
  return {
    ...ZERO_COST,
    outputShape: [...inputShape.slice(0, -1), outFeatures],
    params: inFeatures * outFeatures + (hasBias ? outFeatures : 0),
    macs,
    flops: 2 * macs,
    biasAdds: hasBias ? rows * outFeatures : 0,
  };
}

export interface BatchNorm2dSpec {
  /** `[N, C, H, W]` or `[C, H, W]`. */
  readonly inputShape: readonly number[];
  /** Whether the layer has learnable `weight` and `bias` (`true` by default). */
  readonly affine?: boolean;
  /** Whether it keeps running statistics (`true` by default). */
  readonly trackRunningStats?: boolean;
}

/**
 * `nn.BatchNorm2d` at inference: a per-channel scale and shift, 2 ops per element, no MACs
 * (folding it into the preceding convolution removes it entirely). Params are `weight` and
 * `bias` (2·C); `running_mean`, `running_var` and `num_batches_tracked` are buffers (2·C + 1).
 */
export function batchNorm2dCost(callerSpec: BatchNorm2dSpec): LayerCost {
  const spec = checkSpecKeys(callerSpec, ['inputShape', 'affine', 'trackRunningStats'], 'batchNorm2dCost');
  const inputShape = checkInputShape(spec.inputShape, 'inputShape', [3, 4], '[N, C, H, W] or [C, H, W]');
  const channels = inputShape[inputShape.length - 3]!;
  const affine = readBoolean(spec.affine, 'batchNorm2dCost: affine', true);
  const track = spec.trackRunningStats === undefined ? true : spec.trackRunningStats;
  return {
    ...ZERO_COST,
    outputShape: inputShape.slice(),
    params: affine ? 2 * channels : 0,
    bufferCount: track ? 2 * channels + 1 : 0,
    elementwiseOps: 2 * shapeSize(inputShape),
  };
}

/** ReLU, ReLU6 and other element-wise activations: one op per element. */
export function activationCost(inputShape: readonly number[]): LayerCost {
  const shape = checkInputShape(inputShape, 'inputShape', [1, 2, 3, 4, 5, 6], 'a shape of positive integers');
  return { ...ZERO_COST, outputShape: shape.slice(), params: 0, elementwiseOps: shapeSize(shape) };
}

/** Shape-only operations (Flatten, Identity, Dropout at inference): free. */
export function reshapeCost(outputShape: readonly number[]): LayerCost {
  checkShape(outputShape, 'reshapeCost', 0, 'reshapeCost: outputShape');
  return { ...ZERO_COST, outputShape: outputShape.slice(), params: 0 };
}

export interface Pool2dSpec {
  /** `[N, C, H, W]` or `[C, H, W]`. */
  readonly inputShape: readonly number[];
  readonly kernelSize: IntPair;
  /** Defaults to `kernelSize`, as in PyTorch. */
  readonly stride?: IntPair;
  readonly padding?: IntPair | { top: number; bottom: number; left: number; right: number };
  readonly dilation?: IntPair;
  /** PyTorch's `ceil_mode` (default false): a partial last window counts if it starts inside the input or the leading padding. */
  readonly ceilMode?: boolean;
}


/**
 * Max or average pooling: one op per window element per output element (the comparisons or
 * adds, plus the average's divide), no MACs.
 */
export function pool2dCost(callerSpec: Pool2dSpec): LayerCost {
  const spec = checkSpecKeys(callerSpec, ['inputShape', 'kernelSize', 'stride', 'padding', 'dilation', 'ceilMode'], 'pool2dCost');
  const inputShape = checkInputShape(spec.inputShape, 'inputShape', [3, 4], '[N, C, H, W] or [C, H, W]');
  if (spec.kernelSize === undefined) throw new TypeError('kernelSize is required: an integer or a pair [h, w]');
  const kernel = resolvePair(spec.kernelSize, 'kernelSize', 1);
  const stride = spec.stride === undefined ? kernel : resolvePair(spec.stride, 'stride', 1);
  const dilation = resolvePair(spec.dilation, 'dilation', 1);
  const pad = resolvePadding(optional(spec.padding, 0), kernel, stride, dilation);
  const rank = inputShape.length;
  const height = inputShape[rank - 2]!;
  const width = inputShape[rank - 1]!;
  const ceilMode = optional(spec.ceilMode, false);
  if (typeof ceilMode !== 'boolean') throw new TypeError(`ceilMode must be a boolean, got ${describeValue(spec.ceilMode)}`);
  const outHeight = poolOutputSize(height, pad.top, pad.bottom, kernel[0], stride[0], dilation[0], ceilMode);
  const outWidth = poolOutputSize(width, pad.left, pad.right, kernel[1], stride[1], dilation[1], ceilMode);
  if (outHeight < 1 || outWidth < 1) {
    throw new RangeError(
      `pooling output size must be at least 1x1, got ${outHeight}x${outWidth}: input ${height}x${width}, kernel ${kernel[0]}x${kernel[1]}, stride ${stride[0]}x${stride[1]}`,
    );
  }
  const outputShape = [...inputShape.slice(0, rank - 2), outHeight, outWidth];
  return { ...ZERO_COST, outputShape, params: 0, elementwiseOps: shapeSize(outputShape) * kernel[0] * kernel[1] };
}

/**
 * Adaptive average pooling to `outputSize` (`1` = global average pooling): each output reads a
 * window of about H/outH × W/outW inputs; the op count is the exact sum of PyTorch's windows.
 */
export function adaptiveAvgPool2dCost(inputShape: readonly number[], outputSize: IntPair = 1): LayerCost {
  const shape = checkInputShape(inputShape, 'inputShape', [3, 4], '[N, C, H, W] or [C, H, W]');
  const [outHeight, outWidth] = resolvePair(outputSize, 'outputSize', 1);
  // The windows are summed per output row and column: bounded by the output the layer would allocate.
  checkElements(outHeight * outWidth, 'adaptiveAvgPool2dCost: the output plane');
  const rank = shape.length;
  const height = shape[rank - 2]!;
  const width = shape[rank - 1]!;
  const windowSum = (inSize: number, outSize: number): number => {
    let total = 0;
    for (let i = 0; i < outSize; i++) {
      total += Math.ceil(((i + 1) * inSize) / outSize) - Math.floor((i * inSize) / outSize);
    }
    return total;
  };
  const planes = shapeSize(shape.slice(0, rank - 2));
  return {
    ...ZERO_COST,
    outputShape: [...shape.slice(0, rank - 2), outHeight, outWidth],
    params: 0,
    elementwiseOps: planes * windowSum(height, outHeight) * windowSum(width, outWidth),
  };
}

/** The counts of several layers added up (flops stays 2 · macs); all zero for none. */
export function sumCounts(items: readonly CostCounts[]): CostCounts {
  let params = 0;
  let bufferCount = 0;
  let macs = 0;
  let biasAdds = 0;
  let elementwiseOps = 0;
  for (const c of items) {
    params += c.params;
    bufferCount += c.bufferCount;
    macs += c.macs;
    biasAdds += c.biasAdds;
    elementwiseOps += c.elementwiseOps;
  }
  return { params, bufferCount, macs, flops: 2 * macs, biasAdds, elementwiseOps };
}

/** Adds the counts of several costs (the output shape is the last one's). */
export function addCosts(costs: readonly LayerCost[]): LayerCost {
  if (!Array.isArray(costs)) throw new TypeError(`addCosts: costs must be an array of layer costs, got ${describeValue(costs)}`);
  if (costs.length === 0) throw new RangeError('addCosts: costs must hold at least one cost, got []');
  for (let i = 0; i < costs.length; i++) {
    const cost = ownElement(costs, i) as LayerCost | undefined;
    if (typeof cost !== 'object' || cost === null || !Array.isArray(cost.outputShape)) {
      throw new TypeError(`addCosts: costs[${i}] must be a layer cost (from conv2dCost, linearCost, …), got ${describeValue(cost)}`);
    }
  }
  return { outputShape: costs[costs.length - 1]!.outputShape.slice(), ...sumCounts(costs) };
}
