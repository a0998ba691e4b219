/**
 * The JS tier's dispatch rule: every validated conv2d call, its padding mode resolved, is routed by
 * `selectKernelPath` to exactly one kernel file. (Which tier runs a path is chosen above both tiers,
 * in ops/.)
 */
import { describeValue } from '../tensor.js';
import { depthwiseConv } from './depthwise.js';
import type { Conv2dGeometry } from '../geometry.js';
import { groupedConv } from './grouped.js';
import { padInput, paddedInputSize } from './pad.js';
import { pointwiseConv } from './pointwise.js';
import { type Scratch, SLOT_PADDED } from './scratch.js';
import { paddedExtent } from './depthwise-general.js';
import { checkElements, type Conv2dCall } from './validate.js';

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
