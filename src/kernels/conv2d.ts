/**
 * The one dispatcher: every conv2d call is validated, its padding mode resolved, and then routed
 * by `selectKernelPath` to exactly one kernel file.
 */
import { wasmRuntimeFor } from '../ops/backend.js';
import { asTensor, describeValue, isNdArrayView, type Tensor, type TensorLike } from '../tensor.js';
import { WasmConvState } from '../wasm/conv2d.js';
import type { WasmRuntime } from '../wasm/runtime.js';
import { depthwiseConv } from './depthwise.js';
import type { Conv2dGeometry } from '../geometry.js';
import { groupedConv } from './grouped.js';
import { padInput, paddedInputSize } from './pad.js';
import { pointwiseConv } from './pointwise.js';
import { Scratch, SLOT_PADDED } from './scratch.js';
import { paddedExtent } from './depthwise-general.js';
import { CONV2D_OPTION_NAMES, checkElements, checkOptionNames, outputFor, ownProperty, validateConv2d, type Conv2dCall, type Conv2dOptions } from './validate.js';

export type KernelPath = 'depthwise3x3s1' | 'depthwise3x3s2' | 'depthwise' | 'pointwise' | 'grouped';

const atMostOne = (pad: number): boolean => pad === 0 || pad === 1;

/**
 * The dispatch rule, in order (on the geometry after padding-mode resolution, so only zero
 * padding remains):
 *   1. groups == Cin (depthwise, any channel multiplier K = Cout/Cin):
 *      a. 3×3, dilation 1, stride 1×1, every pad 0 or 1   → depthwise3x3s1
 *      b. 3×3, dilation 1, stride 2×2, every pad 0 or 1   → depthwise3x3s2
 *      c. otherwise                                        → depthwise (general)
 *   2. 1×1 kernel and no padding (any stride, any groups)  → pointwise (GEMM per image and group)
 *   3. everything else                                     → grouped (implicit-im2col GEMM per group)
 */
export function selectKernelPath(g: Conv2dGeometry): KernelPath {
  if (typeof g !== 'object' || g === null || Array.isArray(g)) {
    throw new TypeError(`geometry must be a Conv2dGeometry (from conv2dGeometry), got ${describeValue(g)}`);
  }
  if (g.groups === g.inChannels) {
    const is3x3 = g.kernelH === 3 && g.kernelW === 3 && g.dilationH === 1 && g.dilationW === 1;
    const smallPads = atMostOne(g.padTop) && atMostOne(g.padBottom) && atMostOne(g.padLeft) && atMostOne(g.padRight);
    if (is3x3 && smallPads && g.strideH === 1 && g.strideW === 1) return 'depthwise3x3s1';
    if (is3x3 && smallPads && g.strideH === 2 && g.strideW === 2) return 'depthwise3x3s2';
    return 'depthwise';
  }
  const noPadding = g.padTop === 0 && g.padBottom === 0 && g.padLeft === 0 && g.padRight === 0;
  if (g.kernelH === 1 && g.kernelW === 1 && noPadding) return 'pointwise';
  return 'grouped';
}

/** The geometry of the same convolution on an already mode-padded input, with zero padding. */
export function withPaddingApplied(g: Conv2dGeometry): Conv2dGeometry {
  const { height, width } = paddedInputSize(g);
  return { ...g, inHeight: height, inWidth: width, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, paddingMode: 'zeros' };
}

/**
 * What the kernels see for a call of geometry `callGeometry`: the zero-padding geometry they run
 * on (the mode-padded input's, when the padding mode is not zeros) and the path chosen for it.
 * Depends only on shapes and options, so a plan computes it once per input shape.
 */
export interface KernelSetup {
  readonly callGeometry: Conv2dGeometry;
  readonly geometry: Conv2dGeometry;
  readonly path: KernelPath;
  /** Floats of scratch needed for the mode-padded input copy (0 for zero padding). */
  readonly paddedSize: number;
}

export function kernelSetup(callGeometry: Conv2dGeometry): KernelSetup {
  if (callGeometry.paddingMode === 'zeros') {
    const path = selectKernelPath(callGeometry);
    checkDepthwisePlane(callGeometry, path);
    return { callGeometry, geometry: callGeometry, path, paddedSize: 0 };
  }
  const geometry = withPaddingApplied(callGeometry);
  const paddedSize = checkElements(
    geometry.batch * geometry.inChannels * geometry.inHeight * geometry.inWidth,
    `the ${callGeometry.paddingMode}-padded copy of the input`,
  );
  const path = selectKernelPath(geometry);
  checkDepthwisePlane(geometry, path);
  return { callGeometry, geometry, path, paddedSize };
}

/** The general depthwise kernel copies a padded plane (wide padding, large strides): checked before any call allocates it. */
function checkDepthwisePlane(g: Conv2dGeometry, path: KernelPath): void {
  if (path !== 'depthwise') return;
  const height = paddedExtent(g.inHeight, g.padTop, g.outHeight, g.strideH, g.kernelH, g.dilationH);
  const width = paddedExtent(g.inWidth, g.padLeft, g.outWidth, g.strideW, g.kernelW, g.dilationW);
  checkElements(height * width, 'the zero-padded input plane of the depthwise kernel');
}

/**
 * Runs output channels `[channelStart, channelEnd)` of one convolution: `x` is the caller's
 * input (un-padded), `w`/`bias` in PyTorch layout, `y` the whole output.
 */
export function runKernel(
  setup: KernelSetup, x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number,
  y: Float32Array, scratch: Scratch, channelStart: number, channelEnd: number,
): void {
  const g = setup.geometry;
  if (setup.paddedSize > 0) {
    const buffer = scratch.get(SLOT_PADDED, setup.paddedSize);
    padInput(x, buffer, setup.callGeometry);
    x = buffer;
  }
  const path = setup.path;
  if (path === 'pointwise') pointwiseConv(g, x, w, bias, act, y, scratch, channelStart, channelEnd);
  else if (path === 'grouped') groupedConv(g, x, w, bias, act, y, scratch, channelStart, channelEnd);
  else depthwiseConv(path, g, x, w, bias, act, y, channelStart, channelEnd);
}

/**
 * The tier decision, in one place: on the wasm tier (`wasm` is the plan's or call's state) a path
 * with a wasm implementation (wasm/conv2d.ts, WASM_PATHS) runs there; every other case runs the
 * JS kernel over the caller's arrays.
 */
export function runOnTier(
  wasm: WasmConvState | null, setup: KernelSetup, x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number,
  y: Float32Array, scratch: Scratch, channelStart: number, channelEnd: number,
): void {
  if (wasm !== null && wasm.run(setup, x, w, bias, act, y, channelStart, channelEnd)) return;
  runKernel(setup, x, w, bias, act, y, scratch, channelStart, channelEnd);
}

/**
 * Runs a validated call into `y` using `scratch` for temporaries. Only output channels
 * `[channelStart, channelEnd)` are computed (all by default), so a pool can split a call by
 * channel ranges; every output value is the same whichever range computes it.
 */
export function executeConv2d(
  call: Conv2dCall, y: Float32Array, scratch: Scratch,
  channelStart = 0, channelEnd = call.geometry.outChannels,
): void {
  runKernel(kernelSetup(call.geometry), call.input.data, call.weight.data, call.bias, call.act, y, scratch, channelStart, channelEnd);
}

/**
 * 2-D convolution with PyTorch `F.conv2d` semantics on NCHW float32 tensors, plus a fused bias
 * and activation. `input` is `[N, Cin, H, W]` or `[Cin, H, W]`; `weight` is `[Cout, Cin/groups, kH, kW]`.
 */
export function conv2d(input: TensorLike, weight: TensorLike, options?: Conv2dOptions): Tensor {
  const call = validateConv2d(input, weight, options);
  const runtime = wasmRuntimeFor(call.backend, 'conv2d');
  const y = outputFor(call);
  executeOnTier(runtime, call, y.data);
  return y;
}

/**
 * A validated call on `runtime`'s wasm tier (null: JS). A one-shot call copies the input and the
 * output through wasm memory (unless they already live there) and packs the weights each time;
 * plans (prepareConv2d) keep the packed weights.
 */
export function executeOnTier(runtime: WasmRuntime | null, call: Conv2dCall, y: Float32Array): void {
  if (runtime === null) {
    executeConv2d(call, y, new Scratch());
    return;
  }
  const state = new WasmConvState(runtime);
  try {
    runOnTier(state, kernelSetup(call.geometry), call.input.data, call.weight.data, call.bias, call.act, y, new Scratch(), 0, call.geometry.outChannels);
  } finally {
    state.dispose();
  }
}

export type DepthwiseConv2dOptions = Omit<Conv2dOptions, 'groups'>;

/**
 * Depthwise convolution: `weight` is `[Cin·K, 1, kH, kW]` (channel multiplier K) and groups = Cin.
 * Output channel `c·K + q` reads input channel `c`.
 */
export function depthwiseConv2d(input: TensorLike, weight: TensorLike, options: DepthwiseConv2dOptions = {}): Tensor {
  // The caller's objects, not gathered copies: `out` aliasing is judged on the caller's memory.
  return conv2d(input, weight, { ...options, groups: depthwiseGroups(input, weight, options) });
}

/**
 * The checks of a depthwise call that `conv2d` does not make (no `groups` option, a
 * `[Cin*K, 1, kH, kW]` weight), in the order the synchronous API and the pool both make them;
 * returns the implied groups (= input channels).
 */
export function depthwiseGroups(input: TensorLike, weight: TensorLike, options: DepthwiseConv2dOptions): number {
  checkOptionNames(options, CONV2D_OPTION_NAMES, 'depthwiseConv2d');
  if (ownProperty(options, 'groups') !== undefined) {
    throw new TypeError('depthwiseConv2d: unknown option "groups"; groups is implied (= input channels)');
  }
  const x = asTensor(input, 'input');
  const w = asTensor(weight, 'weight');
  if (w.shape.length !== 4 || w.shape[1] !== 1) {
    throw new RangeError(`weight must be [Cin*K, 1, kH, kW] for a depthwise convolution, got shape ${describeValue(w.shape)}`);
  }
  return (x.shape.length === 4 ? x.shape[1] : x.shape[0])!;
}

export type PointwiseConv2dOptions = Pick<Conv2dOptions, 'bias' | 'stride' | 'groups' | 'activation' | 'out' | 'backend'>;

/** 1×1 convolution: `weight` is `[Cout, Cin/groups, 1, 1]` or `[Cout, Cin/groups]`. */
export function pointwiseConv2d(input: TensorLike, weight: TensorLike, options: PointwiseConv2dOptions = {}): Tensor {
  checkOptionNames(options, ['bias', 'stride', 'groups', 'activation', 'out', 'backend'], 'pointwiseConv2d');
  const w = asTensor(weight, 'weight');
  if (w.shape.length === 2) {
    // Reshaped over the caller's own memory (a view stays a view), so `out` aliasing is still caught.
    const shape = [w.shape[0]!, w.shape[1]!, 1, 1];
    const w4 = isNdArrayView(weight)
      ? { data: weight.data, shape, stride: [...weight.stride, 1, 1], offset: weight.offset }
      : { shape, data: w.data };
    return conv2d(input, w4, options);
  }
  if (w.shape.length !== 4 || w.shape[2] !== 1 || w.shape[3] !== 1) {
    throw new RangeError(`weight must be [Cout, Cin/groups, 1, 1] or [Cout, Cin/groups] for a pointwise convolution, got shape ${describeValue(w.shape)}`);
  }
  return conv2d(input, weight, options);
}
