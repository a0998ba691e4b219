/**
 * The one place a tier is chosen for a convolution: for each dispatcher path (kernels/dispatch.ts,
 * selectKernelPath), which wasm kernel serves it, forward and backward, and on which geometries.
 * Plans, layers, the pool and the public ops all ask here; a path or geometry with no entry runs
 * on the JS kernels even on the wasm tier, over the caller's arrays.
 *
 * To add a wasm kernel: write it in src/wasm/ (a WasmConvPath for the forward, see
 * wasm/conv-path.ts) and add it to the tables below.
 */
import type { Conv2dGeometry } from '../geometry.js';
import type { KernelPath, KernelSetup } from '../kernels/dispatch.js';
import type { WasmConvPath } from '../wasm/conv-path.js';
import { depthwise3x3s1Path, depthwise3x3s2Path } from '../wasm/depthwise-3x3-path.js';
import { wasmDepthwiseGradInput, wasmDepthwiseGradInputApplies, wasmDepthwiseGradWeight } from '../wasm/depthwise-backward.js';
import { depthwiseGeneralPath } from '../wasm/depthwise-general-path.js';
import { groupedPath } from '../wasm/grouped.js';
import { wasmGroupedGradInput, wasmGroupedGradInputApplies, wasmGroupedGradWeight, wasmGroupedGradWeightApplies } from '../wasm/grouped-backward.js';
import { wasmPointwiseBackwardApplies, wasmPointwiseGradInput, wasmPointwiseGradWeight } from '../wasm/pointwise-backward.js';
import { pointwisePath } from '../wasm/pointwise.js';
import type { WasmRuntime } from '../wasm/runtime.js';

/** Forward: the wasm implementation of each dispatcher path that has one. */
export const WASM_PATHS: Partial<Record<KernelPath, WasmConvPath>> = {
  pointwise: pointwisePath,
  grouped: groupedPath,
  depthwise3x3s1: depthwise3x3s1Path,
  depthwise3x3s2: depthwise3x3s2Path,
  depthwise: depthwiseGeneralPath,
};

/**
 * Per-thread scratch a wasm path may use beyond its padded input plane and output plane, as a
 * multiple of them. Scratch grows with the stride where a stride dwarfs the input (a 3-wide tile
 * read at stride 1e9); such a call computes next to nothing and the JS kernel does it exactly.
 */
const SCRATCH_ALLOWANCE = 8;
const SCRATCH_FLOOR_BYTES = 1 << 20;

/**
 * The wasm implementation that runs `setup`, or null (the JS kernel runs it): the path has none,
 * the input has no channels, or its scratch would exceed what its data justifies (see SCRATCH_ALLOWANCE).
 */
export function wasmPathFor(setup: KernelSetup): WasmConvPath | null {
  const impl = WASM_PATHS[setup.path];
  if (impl === undefined) return null;
  const g = setup.geometry;
  if (g.inChannels === 0) return null; // nothing to multiply: the output is the bias, which the JS kernel writes
  const planes = (g.inHeight + g.padTop + g.padBottom) * (g.inWidth + g.padLeft + g.padRight) + g.outHeight * g.outWidth;
  const channels = Math.max(g.inChannels / g.groups, 1);
  return impl.scratchBytes(g) <= SCRATCH_FLOOR_BYTES + 4 * SCRATCH_ALLOWANCE * channels * planes ? impl : null;
}

/** A wasm gradient kernel: `out` (overwritten) from the upstream gradient `dy` and the weight (gradInput) or input (gradWeight). */
export type WasmGradientKernel = (rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, operand: Float32Array, out: Float32Array) => void;

interface WasmGradient {
  /** The geometries (zero padding, after the padding mode is applied) this kernel serves. */
  readonly applies: (g: Conv2dGeometry) => boolean;
  readonly run: WasmGradientKernel;
}

const depthwiseBackward = {
  gradInput: { applies: (g: Conv2dGeometry) => g.batch > 0 && wasmDepthwiseGradInputApplies(g), run: wasmDepthwiseGradInput },
  gradWeight: { applies: (g: Conv2dGeometry) => g.batch > 0, run: wasmDepthwiseGradWeight },
};

/**
 * Backward: the wasm gradient kernels of each path that has them (the grouped path's gradInput
 * picks its method, columns or the dual convolution, in wasm/grouped-backward.ts gradInputMethod).
 */
export const WASM_BACKWARD: Partial<Record<KernelPath, { readonly gradInput?: WasmGradient; readonly gradWeight?: WasmGradient }>> = {
  pointwise: {
    gradInput: { applies: wasmPointwiseBackwardApplies, run: wasmPointwiseGradInput },
    gradWeight: { applies: wasmPointwiseBackwardApplies, run: wasmPointwiseGradWeight },
  },
  grouped: {
    gradInput: { applies: wasmGroupedGradInputApplies, run: wasmGroupedGradInput },
    gradWeight: { applies: wasmGroupedGradWeightApplies, run: wasmGroupedGradWeight },
  },
  depthwise3x3s1: depthwiseBackward,
  depthwise3x3s2: depthwiseBackward,
  depthwise: depthwiseBackward,
};

/** The wasm kernel computing gradInput for `path` on geometry `g`, or null (the JS kernel does). */
export function wasmGradInputFor(path: KernelPath, g: Conv2dGeometry): WasmGradientKernel | null {
  const entry = WASM_BACKWARD[path]?.gradInput;
  return entry !== undefined && entry.applies(g) ? entry.run : null;
}

/** The wasm kernel computing gradWeight for `path` on geometry `g`, or null (the JS kernel does). */
export function wasmGradWeightFor(path: KernelPath, g: Conv2dGeometry): WasmGradientKernel | null {
  const entry = WASM_BACKWARD[path]?.gradWeight;
  return entry !== undefined && entry.applies(g) ? entry.run : null;
}
