/**
 * The public `conv2dBackward`: the call is validated, then each gradient runs on the wasm kernel
 * tiers.ts names for its path and geometry, or on the JS kernels (kernels/dispatch-backward.ts).
 *
 *   gradInput  = the transposed convolution of gradOutput (∂L/∂x)
 *   gradWeight = the correlation of gradOutput with the input, summed over the batch (∂L/∂w)
 *   gradBias   = gradOutput summed over batch, rows and columns (∂L/∂b)
 */
import { wasmRuntimeFor } from './backend.js';
import { wasmGradInputFor, wasmGradWeightFor } from './tiers.js';
import { shapeSize, type Tensor, type TensorLike } from '../tensor.js';
import type { WasmRuntime } from '../wasm/runtime.js';
import {
  backwardSetup, channelSums, finishGradient, gradientTarget, jsGradInput, jsGradWeight, type BackwardSetup,
} from '../kernels/dispatch-backward.js';
import { foldPaddedGradient, padInput } from '../kernels/pad.js';
import { Scratch, SLOT_PADDED, SLOT_PADDED_GRADIENT } from '../kernels/scratch.js';
import { validateConv2dBackward, type Conv2dBackwardCall, type Conv2dBackwardOptions, type Conv2dGradients } from '../kernels/validate-backward.js';

/** gradInput of the zero-padding geometry into `dx` (overwritten), on `rt`'s wasm tier where a kernel serves it. */
export function runGradInput(setup: BackwardSetup, dy: Float32Array, w: Float32Array, dx: Float32Array, scratch: Scratch, rt: WasmRuntime | null): void {
  const wasm = rt === null ? null : wasmGradInputFor(setup.path, setup.geometry);
  if (wasm !== null) wasm(rt!, setup.geometry, dy, w, dx);
  else jsGradInput(setup, dy, w, dx, scratch);
}

/** gradWeight of the zero-padding geometry into `dw` (overwritten), on `rt`'s wasm tier where a kernel serves it. */
export function runGradWeight(setup: BackwardSetup, dy: Float32Array, x: Float32Array, dw: Float32Array, scratch: Scratch, rt: WasmRuntime | null): void {
  const wasm = rt === null ? null : wasmGradWeightFor(setup.path, setup.geometry);
  if (wasm !== null) wasm(rt!, setup.geometry, dy, x, dw);
  else jsGradWeight(setup, dy, x, dw, scratch);
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
