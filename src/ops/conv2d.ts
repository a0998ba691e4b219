/**
 * The public 2-D convolutions (`conv2d`, `depthwiseConv2d`, `pointwiseConv2d`): each call is
 * validated, then run on the tier its `backend` option (or the global choice) names; the wasm
 * kernel for a path, if any, is chosen in tiers.ts.
 */
import { wasmRuntimeFor } from './backend.js';
import { asTensor, describeValue, isNdArrayView, type Tensor, type TensorLike } from '../tensor.js';
import { WasmConvState } from './wasm-conv.js';
import type { WasmRuntime } from '../wasm/runtime.js';
import { executeConv2d, kernelSetup, runKernel, type KernelSetup } from '../kernels/dispatch.js';
import { Scratch } from '../kernels/scratch.js';
import { CONV2D_OPTION_NAMES, checkOptionNames, outputFor, ownProperty, validateConv2d, type Conv2dOptions, type Conv2dCall } from '../kernels/validate.js';

/**
 * The tier decision, in one place: on the wasm tier (`wasm` is the plan's or call's state) a path
 * with a wasm implementation (tiers.ts, wasmPathFor) runs there; every other case runs the
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
  // Checked before the spread: spreading a hostile options value (a huge array) would be the slow part.
  const groups = depthwiseGroups(input, weight, options);
  return conv2d(input, weight, { ...options, groups });
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
