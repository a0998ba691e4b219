/**
 * Shape and padding arithmetic of a 2-D convolution, in one pure module used by every kernel
 * path, the layers and the analysis code. Semantics are PyTorch's `nn.Conv2d` (NCHW).
 *
 *   Hout = floor((H + padTop + padBottom - dilationH*(kH-1) - 1) / strideH) + 1   (same for W)
 */
import { checkShape, describeValue } from './tensor.js';
import { describeKey, isOptionsObject, MAX_DIMENSION, optional, ownElement, ownProperty } from './checks.js';

export type IntPair = number | readonly [number, number];
export interface ExplicitPadding {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}
export type Padding = IntPair | 'same' | 'valid' | ExplicitPadding;
export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface GeometryOptions {
  stride?: IntPair;
  padding?: Padding;
  dilation?: IntPair;
  groups?: number;
  paddingMode?: PaddingMode;
}

/** Everything a kernel needs to know about a convolution's shapes, fully resolved. */
export interface Conv2dGeometry {
  /** False when the input was an unbatched `[Cin, H, W]`; the output is then `[Cout, Hout, Wout]`. */
  readonly batched: boolean;
  readonly batch: number;
  readonly inChannels: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly outChannels: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly padTop: number;
  readonly padBottom: number;
  readonly padLeft: number;
  readonly padRight: number;
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  readonly outHeight: number;
  readonly outWidth: number;
  /** The output shape, unbatched if the input was. */
  readonly outputShape: readonly number[];
}

const PADDING_MODES: readonly PaddingMode[] = ['zeros', 'reflect', 'replicate', 'circular'];

/**
 * Returns `value` if it is an integer from `min` (1 unless given; 0 for "non-negative") to
 * MAX_DIMENSION, else throws a RangeError naming it.
 */
export function positiveInteger(value: unknown, name: string, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    const what = min === 0 ? 'a non-negative integer' : 'a positive integer';
    throw new RangeError(`${name} must be ${what}, got ${describeValue(value)}`);
  }
  if (value > MAX_DIMENSION) {
    throw new RangeError(`${name} must be at most ${MAX_DIMENSION} (sepconv's dimension limit, 2^32 - 1), got ${describeValue(value)}`);
  }
  return value;
}

/** Returns `value` if it is one of the padding modes, else throws a RangeError naming them. */
export function checkPaddingMode(value: unknown): PaddingMode {
  if (!(PADDING_MODES as readonly unknown[]).includes(value)) {
    throw new RangeError(`paddingMode must be one of ${PADDING_MODES.map((m) => `'${m}'`).join(', ')}, got ${describeValue(value)}`);
  }
  return value as PaddingMode;
}

/** The arguments of the output-size formulas: sizes and paddings ≥ 0, kernel, stride, dilation ≥ 1. */
function checkSizeArguments(size: unknown, padBefore: unknown, padAfter: unknown, kernel: unknown, stride: unknown, dilation: unknown, names = ['padBefore', 'padAfter']): void {
  positiveInteger(size, 'size');
  positiveInteger(padBefore, names[0]!, 0);
  positiveInteger(padAfter, names[1]!, 0);
  positiveInteger(kernel, 'kernel');
  positiveInteger(stride, 'stride');
  positiveInteger(dilation, 'dilation');
}

/** A resolved `[h, w]` pair passed back in (`resolvePadding`'s kernel, stride, dilation). */
function checkResolvedPair(value: unknown, name: string): void {
  if (!Array.isArray(value) || value.length !== 2) throw new TypeError(`${name} must be a pair [h, w] of positive integers, got ${describeValue(value)}`);
  positiveInteger(ownElement(value, 0), `${name}[0]`);
  positiveInteger(ownElement(value, 1), `${name}[1]`);
}

/** Resolves an int-or-pair option (`stride`, `dilation`, `kernelSize`, ...) to `[h, w]`. */
export function resolvePair(value: unknown, name: string, fallback: number, min = Math.min(fallback, 1)): [number, number] {
  if (typeof name !== 'string') throw new TypeError(`resolvePair: name must be a string, got ${describeValue(name)}`);
  positiveInteger(min, 'resolvePair: min', 0);
  positiveInteger(fallback, 'resolvePair: fallback', 0);
  if (value === undefined) return [fallback, fallback];
  if (typeof value === 'number') {
    positiveInteger(value, name, min);
    return [value, value];
  }
  if (Array.isArray(value) && value.length === 2) {
    return [positiveInteger(ownElement(value, 0), `${name}[0]`, min), positiveInteger(ownElement(value, 1), `${name}[1]`, min)];
  }
  throw new TypeError(`${name} must be an integer or a pair [h, w], got ${describeValue(value)}`);
}

/**
 * Resolves `padding` to four explicit sides. `'same'` puts `floor(total/2)` before and the rest
 * after (PyTorch, TensorFlow `'SAME'` at stride 1) and is only valid at stride 1.
 */
export function resolvePadding(
  padding: unknown,
  kernel: readonly [number, number],
  stride: readonly [number, number],
  dilation: readonly [number, number],
): ExplicitPadding {
  checkResolvedPair(kernel, 'kernel');
  checkResolvedPair(stride, 'stride');
  checkResolvedPair(dilation, 'dilation');
  if (padding === undefined || padding === 'valid') return { top: 0, bottom: 0, left: 0, right: 0 };
  if (padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) {
      throw new RangeError(
        `padding='same' is not supported for strided convolutions (stride [${stride.join(', ')}]); use stride 1 or explicit padding`,
      );
    }
    const totalH = dilation[0] * (kernel[0] - 1);
    const totalW = dilation[1] * (kernel[1] - 1);
    const top = Math.floor(totalH / 2);
    const left = Math.floor(totalW / 2);
    return { top, bottom: totalH - top, left, right: totalW - left };
  }
  if (typeof padding === 'number' || Array.isArray(padding)) {
    const [h, w] = resolvePair(padding, 'padding', 0, 0);
    return { top: h, bottom: h, left: w, right: w };
  }
  if (typeof padding === 'object' && padding !== null) {
    return resolveExplicitPadding(padding);
  }
  throw new TypeError(
    `padding must be an integer, a pair [h, w], 'same', 'valid' or { top, bottom, left, right }, got ${describeValue(padding)}`,
  );
}

/**
 * Reads an explicit `{ top, bottom, left, right }` padding object through its own properties:
 * an unknown key (own or inherited from anything but Object.prototype) is a TypeError, and an
 * inherited side is not read.
 */
export function resolveExplicitPadding(padding: object): ExplicitPadding {
  // Own keys only: an inherited `top` is not padding, and an inherited unknown key is unknown.
  for (let o: object | null = padding; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const key of Object.keys(o)) {
      if (key !== 'top' && key !== 'bottom' && key !== 'left' && key !== 'right') {
        throw new TypeError(`padding has an unknown key ${describeKey(key)}; expected { top, bottom, left, right }`);
      }
      if (o !== padding && !Object.prototype.hasOwnProperty.call(padding, key)) {
        throw new TypeError(`padding.${key} is inherited, not an own property; expected { top, bottom, left, right }`);
      }
    }
  }
  return {
    top: positiveInteger(ownProperty(padding, 'top'), 'padding.top', 0),
    bottom: positiveInteger(ownProperty(padding, 'bottom'), 'padding.bottom', 0),
    left: positiveInteger(ownProperty(padding, 'left'), 'padding.left', 0),
    right: positiveInteger(ownProperty(padding, 'right'), 'padding.right', 0),
  };
}

/** Output length of one spatial axis, or a value < 1 when the kernel does not fit. */
export function convOutputSize(size: number, padBefore: number, padAfter: number, kernel: number, stride: number, dilation: number): number {
  checkSizeArguments(size, padBefore, padAfter, kernel, stride, dilation);
  return Math.floor((size + padBefore + padAfter - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** Throws unless the dimensions `axes` of `shape` are at least 1 (the others may be 0). */
function checkNonEmpty(shape: readonly number[], axes: readonly number[], name: string, what: string): void {
  for (const axis of axes) {
    if (shape[axis] === 0) {
      throw new RangeError(
        `${name}.shape[${axis}] must be at least 1 (${name} ${what} cannot be empty; only the batch and the input channels may be 0), got shape ${describeValue(shape)}`,
      );
    }
  }
}

/** The input of a 2-D convolution or transposed convolution: 4-D [N, C, H, W] or unbatched 3-D. */
function checkConvInputRank(inputShape: readonly number[]): void {
  if (inputShape.length !== 3 && inputShape.length !== 4) {
    throw new RangeError(
      `input must be 4-D [N, Cin, H, W] or unbatched 3-D [Cin, H, W], got shape ${describeValue(inputShape)} (rank ${inputShape.length})`,
    );
  }
}

/**
 * Resolves and checks the geometry of `conv2d(input, weight, options)` from the shapes alone.
 * `inputShape` is `[N, Cin, H, W]` or unbatched `[Cin, H, W]`; `weightShape` is
 * `[Cout, Cin/groups, kH, kW]`. Throws a RangeError/TypeError naming the offending parameter.
 */
export function conv2dGeometry(
  inputShape: readonly number[],
  weightShape: readonly number[],
  options: GeometryOptions = {},
): Conv2dGeometry {
  // Public entry point: the shapes may come straight from a user, not from a checked tensor. As in
  // PyTorch, the batch and the input channels may be 0 (an empty output, or the bias alone).
  checkShape(inputShape, 'input', 0);
  checkShape(weightShape, 'weight', 0);
  if (!isOptionsObject(options)) {
    throw new TypeError(`conv2dGeometry: options must be an object, got ${describeValue(options)}`);
  }
  // Own properties only, so a polluted Object.prototype cannot change the geometry.
  const option = (key: keyof GeometryOptions): unknown => ownProperty(options, key);
  checkConvInputRank(inputShape);
  if (weightShape.length !== 4) {
    throw new RangeError(`weight must be 4-D [Cout, Cin/groups, kH, kW], got shape ${describeValue(weightShape)} (rank ${weightShape.length})`);
  }
  const batched = inputShape.length === 4;
  checkNonEmpty(inputShape, batched ? [2, 3] : [1, 2], 'input', 'H and W');
  checkNonEmpty(weightShape, [0, 2, 3], 'weight', 'Cout, kH and kW');
  const [batch, inChannels, inHeight, inWidth] = batched ? inputShape : [1, ...inputShape];
  const [outChannels, channelsPerGroup, kernelH, kernelW] = weightShape as [number, number, number, number];
  const groupsOption = option('groups');
  const groups = groupsOption === undefined ? 1 : positiveInteger(groupsOption, 'groups');
  if (inChannels! % groups !== 0) {
    throw new RangeError(`in_channels must be divisible by groups: input has ${inChannels} channels, groups=${groups}`);
  }
  if (outChannels % groups !== 0) {
    throw new RangeError(`out_channels must be divisible by groups: weight.shape[0]=${outChannels}, groups=${groups}`);
  }
  if (channelsPerGroup * groups !== inChannels) {
    throw new RangeError(
      `weight.shape[1] must equal in_channels/groups = ${inChannels}/${groups} = ${inChannels! / groups}, got ${channelsPerGroup} (weight shape ${describeValue(weightShape)}, input shape ${describeValue(inputShape)})`,
    );
  }
  const stride = resolvePair(option('stride'), 'stride', 1);
  const dilation = resolvePair(option('dilation'), 'dilation', 1);
  const pad = resolvePadding(option('padding'), [kernelH, kernelW], stride, dilation);
  const paddingMode = checkPaddingMode(optional(option('paddingMode'), 'zeros'));
  if (paddingMode === 'reflect') {
    if (pad.top >= inHeight! || pad.bottom >= inHeight! || pad.left >= inWidth! || pad.right >= inWidth!) {
      throw new RangeError(
        `paddingMode 'reflect' needs every padding < the input size: padding {top: ${pad.top}, bottom: ${pad.bottom}, left: ${pad.left}, right: ${pad.right}} with input H=${inHeight}, W=${inWidth}`,
      );
    }
  } else if (paddingMode === 'circular') {
    if (pad.top > inHeight! || pad.bottom > inHeight! || pad.left > inWidth! || pad.right > inWidth!) {
      throw new RangeError(
        `paddingMode 'circular' needs every padding <= the input size: padding {top: ${pad.top}, bottom: ${pad.bottom}, left: ${pad.left}, right: ${pad.right}} with input H=${inHeight}, W=${inWidth}`,
      );
    }
  }
  const outHeight = convOutputSize(inHeight!, pad.top, pad.bottom, kernelH, stride[0], dilation[0]);
  const outWidth = convOutputSize(inWidth!, pad.left, pad.right, kernelW, stride[1], dilation[1]);
  if (outHeight < 1 || outWidth < 1) {
    throw new RangeError(
      `output size must be at least 1x1, got ${outHeight}x${outWidth}: input ${inHeight}x${inWidth}, padding {top: ${pad.top}, bottom: ${pad.bottom}, left: ${pad.left}, right: ${pad.right}}, kernel ${kernelH}x${kernelW}, dilation ${dilation[0]}x${dilation[1]}, stride ${stride[0]}x${stride[1]}`,
    );
  }
  return {
    batched,
    batch: batch!,
    inChannels: inChannels!,
    inHeight: inHeight!,
    inWidth: inWidth!,
    outChannels,
    kernelH,
    kernelW,
    strideH: stride[0],
    strideW: stride[1],
    dilationH: dilation[0],
    dilationW: dilation[1],
    padTop: pad.top,
    padBottom: pad.bottom,
    padLeft: pad.left,
    padRight: pad.right,
    groups,
    paddingMode,
    outHeight,
    outWidth,
    outputShape: batched ? [batch!, outChannels, outHeight, outWidth] : [outChannels, outHeight, outWidth],
  };
}

// ---------------------------------------------------------------------------------------------
// Transposed convolution (PyTorch nn.ConvTranspose2d)

export interface ConvTranspose2dGeometryOptions {
  stride?: IntPair;
  /** Symmetric zero padding removed from each side of the output: an int or a pair [h, w]. */
  padding?: IntPair;
  /** Extra rows/columns added at the bottom/right of the output; each < stride or < dilation. */
  outputPadding?: IntPair;
  dilation?: IntPair;
  groups?: number;
}

/** The shapes of a transposed convolution, and the convolution it is the gradInput of. */
export interface ConvTranspose2dGeometry {
  readonly batched: boolean;
  readonly batch: number;
  readonly inChannels: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly outChannels: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padH: number;
  readonly padW: number;
  readonly outputPaddingH: number;
  readonly outputPaddingW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly groups: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly outputShape: readonly number[];
  /**
   * The convolution whose gradient with respect to its input this transposed convolution is:
   * input `[N, Cout, Hout, Wout]`, weight `[Cin, Cout/groups, kH, kW]` (the transposed
   * convolution's own weight), same stride, padding, dilation and groups. Its output is
   * `[N, Cin, H + extraH, W + extraW]`: larger than the transposed convolution's input by
   * `floor(outputPadding / stride)` (non-zero only when outputPadding ≥ stride, allowed when it
   * is < dilation); those extra rows/columns carry no value.
   */
  readonly conv: Conv2dGeometry;
  readonly extraH: number;
  readonly extraW: number;
}

/** `(size − 1)·stride − 2·padding + dilation·(kernel − 1) + outputPadding + 1`, or a value < 1 when nothing fits. */
export function convTransposeOutputSize(size: number, stride: number, padding: number, dilation: number, kernel: number, outputPadding: number): number {
  checkSizeArguments(size, padding, outputPadding, kernel, stride, dilation, ['padding', 'outputPadding']);
  return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1;
}

/**
 * Resolves and checks the geometry of `convTranspose2d(input, weight, options)`: `inputShape` is
 * `[N, Cin, H, W]` or unbatched `[Cin, H, W]`, `weightShape` `[Cin, Cout/groups, kH, kW]`.
 * Throws a RangeError/TypeError naming the offending parameter.
 */
export function convTranspose2dGeometry(
  inputShape: readonly number[],
  weightShape: readonly number[],
  options: ConvTranspose2dGeometryOptions = {},
): ConvTranspose2dGeometry {
  checkShape(inputShape, 'input');
  checkShape(weightShape, 'weight');
  if (!isOptionsObject(options)) {
    throw new TypeError(`convTranspose2dGeometry: options must be an object, got ${describeValue(options)}`);
  }
  const option = (key: keyof ConvTranspose2dGeometryOptions): unknown => ownProperty(options, key);
  checkConvInputRank(inputShape);
  if (weightShape.length !== 4) {
    throw new RangeError(`weight must be 4-D [Cin, Cout/groups, kH, kW], got shape ${describeValue(weightShape)} (rank ${weightShape.length})`);
  }
  const batched = inputShape.length === 4;
  const [batch, inChannels, inHeight, inWidth] = (batched ? inputShape : [1, ...inputShape]) as [number, number, number, number];
  const [weightIn, outPerGroup, kernelH, kernelW] = weightShape as [number, number, number, number];
  const groupsOption = option('groups');
  const groups = groupsOption === undefined ? 1 : positiveInteger(groupsOption, 'groups');
  if (inChannels % groups !== 0) {
    throw new RangeError(`in_channels must be divisible by groups: input has ${inChannels} channels, groups=${groups}`);
  }
  if (weightIn !== inChannels) {
    throw new RangeError(
      `weight.shape[0] must equal in_channels = ${inChannels} (a transposed convolution's weight is [Cin, Cout/groups, kH, kW]), got ${weightIn} (weight shape ${describeValue(weightShape)})`,
    );
  }
  const stride = resolvePair(option('stride'), 'stride', 1);
  const dilation = resolvePair(option('dilation'), 'dilation', 1);
  const paddingOption = option('padding');
  if (typeof paddingOption === 'string' || isOptionsObject(paddingOption)) {
    throw new TypeError(`padding of a transposed convolution must be an integer or a pair [h, w], got ${describeValue(paddingOption)}`);
  }
  const padding = resolvePair(paddingOption, 'padding', 0, 0);
  const outputPadding = resolvePair(option('outputPadding'), 'outputPadding', 0, 0);
  for (const axis of [0, 1] as const) {
    const op = outputPadding[axis];
    if (op >= stride[axis] && op >= dilation[axis]) {
      throw new RangeError(
        `outputPadding must be smaller than either stride or dilation: outputPadding[${axis}]=${op}, stride[${axis}]=${stride[axis]}, dilation[${axis}]=${dilation[axis]}`,
      );
    }
  }
  const outHeight = convTransposeOutputSize(inHeight, stride[0], padding[0], dilation[0], kernelH, outputPadding[0]);
  const outWidth = convTransposeOutputSize(inWidth, stride[1], padding[1], dilation[1], kernelW, outputPadding[1]);
  if (outHeight < 1 || outWidth < 1) {
    throw new RangeError(
      `output size must be at least 1x1, got ${outHeight}x${outWidth}: input ${inHeight}x${inWidth}, stride ${stride[0]}x${stride[1]}, padding ${padding[0]}x${padding[1]}, dilation ${dilation[0]}x${dilation[1]}, kernel ${kernelH}x${kernelW}, outputPadding ${outputPadding[0]}x${outputPadding[1]}`,
    );
  }
  if (outHeight > MAX_DIMENSION || outWidth > MAX_DIMENSION) {
    throw new RangeError(`output size ${outHeight}x${outWidth} is too large (at most ${MAX_DIMENSION} per side)`);
  }
  const outChannels = outPerGroup * groups;
  const conv = conv2dGeometry([batch, outChannels, outHeight, outWidth], [inChannels, outPerGroup, kernelH, kernelW], {
    stride, dilation, groups, padding: [padding[0], padding[1]],
  });
  return {
    batched, batch, inChannels, inHeight, inWidth, outChannels, kernelH, kernelW,
    strideH: stride[0], strideW: stride[1], padH: padding[0], padW: padding[1],
    outputPaddingH: outputPadding[0], outputPaddingW: outputPadding[1],
    dilationH: dilation[0], dilationW: dilation[1], groups, outHeight, outWidth,
    outputShape: batched ? [batch, outChannels, outHeight, outWidth] : [outChannels, outHeight, outWidth],
    conv,
    extraH: conv.outHeight - inHeight,
    extraW: conv.outWidth - inWidth,
  };
}

/**
 * PyTorch's pooling output size along one axis (`pooling_output_shape_pad_lr`):
 * floor((size + padBefore + padAfter − dilation·(kernel − 1) − 1 [+ stride − 1 with ceilMode]) / stride) + 1,
 * and with ceilMode one less when the last window would start at or past size + padBefore (it
 * must start inside the input or the leading padding). The division rounds toward −∞, so a
 * kernel longer than the padded input gives 0 or less; callers reject sizes below 1.
 */
export function poolOutputSize(
  size: number, padBefore: number, padAfter: number, kernel: number, stride: number, dilation: number, ceilMode: boolean,
): number {
  checkSizeArguments(size, padBefore, padAfter, kernel, stride, dilation);
  if (typeof ceilMode !== 'boolean') throw new TypeError(`ceilMode must be a boolean, got ${describeValue(ceilMode)}`);
  const numerator = size + padBefore + padAfter - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
  let out = Math.floor(numerator / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + padBefore) out--;
  return out;
}
