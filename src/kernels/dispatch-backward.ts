/**
 * The JS tier's backward dispatch: every validated conv2dBackward call has its padding mode resolved
 * (the kernels run on the mode-padded input with zero padding, and the gradient with respect to
 * that padded input is folded back onto the caller's input), and each gradient is routed by
 * `selectBackwardPath` to one kernel file.
 *
 *   gradInput  = the transposed convolution of gradOutput (∂L/∂x)
 *   gradWeight = the correlation of gradOutput with the input, summed over the batch (∂L/∂w)
 *   gradBias   = gradOutput summed over batch, rows and columns (∂L/∂b)
 */
import type { Tensor } from '../tensor.js';
import { selectKernelPath, withPaddingApplied, type KernelPath } from './dispatch.js';
import type { Conv2dGeometry } from '../geometry.js';
import { depthwiseGradInput, depthwiseGradWeight } from './depthwise-backward.js';
import { groupedGradInput, groupedGradWeight } from './grouped-backward.js';
import { pointwiseGradInput, pointwiseGradWeight } from './pointwise-backward.js';
import { type Scratch, SLOT_GRADIENT_STAGING } from './scratch.js';

export type BackwardPath = KernelPath;

/**
 * The backward dispatch rule: the forward's (selectKernelPath in dispatch.ts), on the geometry
 * after padding-mode resolution, since every forward path has its backward twin:
 *   depthwise3x3s1 / depthwise3x3s2 → depthwise-3x3s1-backward.ts / depthwise-3x3s2-backward.ts
 *   depthwise (general)             → depthwise-general-backward.ts
 *   pointwise                       → pointwise-backward.ts (wasm: ../wasm/pointwise-backward.ts at stride 1)
 *   grouped                         → grouped-backward.ts (dual forward convolution or col2im; im2col GEMM)
 */
export function selectBackwardPath(g: Conv2dGeometry): BackwardPath {
  return selectKernelPath(g);
}

/** What the backward kernels see for a call of geometry `callGeometry` (see dispatch.ts's KernelSetup). */
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

/** gradInput of the zero-padding geometry into `dx` (overwritten), on the JS kernels. */
export function jsGradInput(setup: BackwardSetup, dy: Float32Array, w: Float32Array, dx: Float32Array, scratch: Scratch): void {
  const path = setup.path;
  if (path === 'grouped') groupedGradInput(setup.geometry, dy, w, dx, scratch);
  else if (path === 'pointwise') pointwiseGradInput(setup.geometry, dy, w, dx, scratch);
  else depthwiseGradInput(path, setup.geometry, dy, w, dx, scratch);
}

/** gradWeight of the zero-padding geometry into `dw` (overwritten), on the JS kernels. */
export function jsGradWeight(setup: BackwardSetup, dy: Float32Array, x: Float32Array, dw: Float32Array, scratch: Scratch): void {
  const path = setup.path;
  if (path === 'grouped') groupedGradWeight(setup.geometry, dy, x, dw, scratch);
  else if (path === 'pointwise') pointwiseGradWeight(setup.geometry, dy, x, dw, scratch);
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
