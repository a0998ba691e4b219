/**
 * The backward dispatcher: every conv2dBackward call is validated, its padding mode resolved
 * (the kernels run on the mode-padded input with zero padding, and the gradient with respect to
 * that padded input is folded back onto the caller's input), and each gradient is routed by
 * `selectBackwardPath` to one kernel file.
 *
 *   gradInput  = the transposed convolution of gradOutput (∂L/∂x)
 *   gradWeight = the correlation of gradOutput with the input, summed over the batch (∂L/∂w)
 *   gradBias   = gradOutput summed over batch, rows and columns (∂L/∂b)
 */
import { wasmRuntimeFor } from '../backend.js';
import { shapeSize, type Tensor, type TensorLike } from '../tensor.js';
import { wasmDepthwiseGradInput, wasmDepthwiseGradInputApplies, wasmDepthwiseGradWeight } from '../wasm/depthwise-backward.js';
import { wasmGroupedGradInput, wasmGroupedGradInputApplies, wasmGroupedGradWeight, wasmGroupedGradWeightApplies } from '../wasm/grouped-backward.js';
import { wasmPointwiseBackwardApplies, wasmPointwiseGradInput, wasmPointwiseGradWeight } from '../wasm/pointwise-backward.js';
import type { WasmRuntime } from '../wasm/runtime.js';
import { selectKernelPath, withPaddingApplied, type KernelPath } from './conv2d.js';
import type { Conv2dGeometry } from './geometry.js';
import { depthwiseGradInput, depthwiseGradWeight } from './depthwise-backward.js';
import { groupedGradInput, groupedGradWeight } from './grouped-backward.js';
import { pointwiseGradInput, pointwiseGradWeight } from './pointwise-backward.js';
import { foldPaddedGradient, padInput } from './pad.js';
import { Scratch, SLOT_GRADIENT_STAGING, SLOT_PADDED, SLOT_PADDED_GRADIENT } from './scratch.js';
import { validateConv2dBackward, type Conv2dBackwardCall, type Conv2dBackwardOptions, type Conv2dGradients } from './validate-backward.js';

export type BackwardPath = KernelPath;

/**
 * The backward dispatch rule: the forward's (selectKernelPath in conv2d.ts), on the geometry
 * after padding-mode resolution, since every forward path has its backward twin:
 *   depthwise3x3s1 / depthwise3x3s2 → depthwise-3x3s1-backward.ts / depthwise-3x3s2-backward.ts
 *   depthwise (general)             → depthwise-general-backward.ts
 *   pointwise                       → pointwise-backward.ts (wasm: ../wasm/pointwise-backward.ts at stride 1)
 *   grouped                         → grouped-backward.ts (dual forward convolution or col2im; im2col GEMM;
 *                                     wasm: ../wasm/grouped-backward.ts for gradWeight and stride-1 gradInput)
 */
export function selectBackwardPath(g: Conv2dGeometry): BackwardPath {
  return selectKernelPath(g);
}

/** What the backward kernels see for a call of geometry `callGeometry` (see conv2d.ts's KernelSetup). */
export interface BackwardSetup {
  readonly callGeometry: Conv2dGeometry;
  /** The zero-padding geometry the kernels run on (the mode-padded input's). */
  readonly geometry: Conv2dGeometry;
  readonly path: BackwardPath;
  /** Floats of the mode-padded input (0 for zero padding). */
  readonly paddedSize: number;
}

export function backwardSetup(callGeometry: Conv2dGeometry): BackwardSetup {
  if (callGeometry.paddingMode === 'zeros') {
    return { callGeometry, geometry: callGeometry, path: selectBackwardPath(callGeometry), paddedSize: 0 };
  }
  const geometry = withPaddingApplied(callGeometry);
  const paddedSize = geometry.batch * geometry.inChannels * geometry.inHeight * geometry.inWidth;
  return { callGeometry, geometry, path: selectBackwardPath(geometry), paddedSize };
}

/** gradInput of the zero-padding geometry into `dx` (overwritten). */
export function runGradInput(setup: BackwardSetup, dy: Float32Array, w: Float32Array, dx: Float32Array, scratch: Scratch, rt: WasmRuntime | null): void {
  const path = setup.path;
  if (path === 'pointwise' && rt !== null && wasmPointwiseBackwardApplies(setup.geometry)) wasmPointwiseGradInput(rt, setup.geometry, dy, w, dx);
  else if (path === 'grouped' && rt !== null && wasmGroupedGradInputApplies(setup.geometry)) wasmGroupedGradInput(rt, setup.geometry, dy, w, dx);
  else if (path === 'grouped') groupedGradInput(setup.geometry, dy, w, dx, scratch);
  else if (path === 'pointwise') pointwiseGradInput(setup.geometry, dy, w, dx, scratch);
  else if (rt !== null && setup.geometry.batch > 0 && wasmDepthwiseGradInputApplies(setup.geometry)) wasmDepthwiseGradInput(rt, setup.geometry, dy, w, dx);
  else depthwiseGradInput(path, setup.geometry, dy, w, dx, scratch);
}

/** gradWeight of the zero-padding geometry into `dw` (overwritten). */
export function runGradWeight(setup: BackwardSetup, dy: Float32Array, x: Float32Array, dw: Float32Array, scratch: Scratch, rt: WasmRuntime | null): void {
  const path = setup.path;
  if (path === 'pointwise' && rt !== null && wasmPointwiseBackwardApplies(setup.geometry)) wasmPointwiseGradWeight(rt, setup.geometry, dy, x, dw);
  else if (path === 'grouped' && rt !== null && wasmGroupedGradWeightApplies(setup.geometry)) wasmGroupedGradWeight(rt, setup.geometry, dy, x, dw);
  else if (path === 'grouped') groupedGradWeight(setup.geometry, dy, x, dw, scratch);
  else if (path === 'pointwise') pointwiseGradWeight(setup.geometry, dy, x, dw, scratch);
  else if (rt !== null && setup.geometry.batch > 0) wasmDepthwiseGradWeight(rt, setup.geometry, dy, x, dw);
  else depthwiseGradWeight(path, setup.geometry, dy, x, dw, scratch);
}

/** sums[c] = sum over images and pixels of `data[n, c, ·]` (`[batch, channels, pixels]`), in float64, in memory order. */
export function channelSums(batch: number, channels: number, pixels: number, data: Float32Array, sums: Float32Array): void {
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let n = 0; n < batch; n++) {
      const base = (n * channels + c) * pixels;
      for (let k = 0; k < pixels; k++) sum += data[base + k]!;
    }
    sums[c] = sum;
  }
}

function addInto(dst: Float32Array, src: Float32Array, length: number): void {
  for (let i = 0; i < length; i++) dst[i] += src[i]!;
}

/**
 * Where a gradient of `size` floats is computed: the caller's out (overwriting), a staging buffer
 * to be added into it (`accumulate`), or a new array.
 */
export function gradientTarget(out: Tensor | null, accumulate: boolean, size: number, scratch: Scratch): Float32Array {
  if (out === null) return new Float32Array(size);
  return accumulate ? scratch.get(SLOT_GRADIENT_STAGING, size) : out.data;
}

export function finishGradient(out: Tensor | null, accumulate: boolean, computed: Float32Array, shape: readonly number[]): Tensor {
  if (out === null) return { shape: shape.slice(), data: computed };
  if (accumulate) addInto(out.data, computed, out.data.length);
  return out;
}

/** Runs a validated backward call with `scratch` for temporaries. */
export function executeConv2dBackward(call: Conv2dBackwardCall, scratch: Scratch): Conv2dGradients {
  const setup = backwardSetup(call.geometry);
  const rt = wasmRuntimeFor(call.backend, 'conv2dBackward');
  const cg = call.geometry;
  const dy = call.gradOutput.data;
  const w = call.weight.data;
  let gradInput: Tensor | null = null;
  let gradWeight: Tensor | null = null;
  let gradBias: Tensor | null = null;
  if (call.needsWeight) {
    let x = call.input.data;
    if (setup.paddedSize > 0) {
      const padded = scratch.get(SLOT_PADDED, setup.paddedSize);
      padInput(x, padded, cg);
      x = padded;
    }
    const size = w.length;
    const dw = gradientTarget(call.gradWeightOut, call.accumulate, size, scratch);
    runGradWeight(setup, dy, x, dw, scratch, rt);
    gradWeight = finishGradient(call.gradWeightOut, call.accumulate, dw, call.weight.shape);
  }
  if (call.needsBias) {
    const db = gradientTarget(call.gradBiasOut, call.accumulate, cg.outChannels, scratch);
    channelSums(cg.batch, cg.outChannels, cg.outHeight * cg.outWidth, dy, db);
    gradBias = finishGradient(call.gradBiasOut, call.accumulate, db, [cg.outChannels]);
  }
  if (call.needsInput) {
    const size = shapeSize(call.input.shape);
    const dx = gradientTarget(call.gradInputOut, call.accumulate, size, scratch);
    if (setup.paddedSize > 0) {
      const paddedGradient = scratch.get(SLOT_PADDED_GRADIENT, setup.paddedSize);
      runGradInput(setup, dy, w, paddedGradient, scratch, rt);
      foldPaddedGradient(paddedGradient, dx, cg);
    } else {
      runGradInput(setup, dy, w, dx, scratch, rt);
    }
    gradInput = finishGradient(call.gradInputOut, call.accumulate, dx, call.input.shape);
  }
  return { gradInput, gradWeight, gradBias };
}

/** Reused by every call: JavaScript runs one call at a time, and a steady state then allocates nothing. */
const sharedScratch = new Scratch();

/**
 * The gradients of `conv2d(input, weight, options)` for the upstream gradient `gradOutput` (the
 * forward output's shape), with PyTorch's semantics: gradInput with respect to the caller's
 * un-padded input for every padding mode, gradWeight and gradBias summed over the batch.
 * `options` are conv2d's (without `out`; `activation` only 'none') plus `needs` and the
 * preallocated `gradInputOut` / `gradWeightOut` / `gradBiasOut` with `accumulate`.
 */
export function conv2dBackward(
  gradOutput: TensorLike, input: TensorLike, weight: TensorLike, options?: Conv2dBackwardOptions,
): Conv2dGradients {
  const call = validateConv2dBackward(gradOutput, input, weight, options);
  return executeConv2dBackward(call, sharedScratch);
}
