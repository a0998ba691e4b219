/**
 * What a wasm convolution path provides (one file per path: pointwise.ts, grouped.ts, ...), and
 * the per-call scratch layout they share. ops/tiers.ts maps dispatcher paths to these.
 *
 * Everything is byte addresses in the runtime's memory; the geometry is the zero-padding one the
 * dispatcher hands the kernels (a non-zero padding mode has been applied by then).
 */
import type { Conv2dGeometry } from '../geometry.js';
import type { WasmRuntime } from './runtime.js';

export interface WasmConvPath {
  /** Arena bytes of the prepared (packed) weights and bias; depends on the weight shape, groups and the runtime's kernels. */
  weightBytes(g: Conv2dGeometry, rt: WasmRuntime): number;
  /** Packs `w` (PyTorch layout) and `bias` into the arena at `address`. */
  packWeights(rt: WasmRuntime, g: Conv2dGeometry, w: Float32Array, bias: Float32Array | null, address: number): void;
  /** Scratch bytes one thread needs to run this geometry. */
  scratchBytes(g: Conv2dGeometry): number;
  /**
   * Output channels `[channelStart, channelEnd)` of images `[imageStart, imageEnd)`: input at `x`
   * (`[N, Cin, H, W]`), output at `y` (`[N, Cout, Ho, Wo]`), weights as packed, `scratch` this thread's.
   */
  run(
    rt: WasmRuntime, g: Conv2dGeometry, act: number, weights: number, x: number, y: number, scratch: number,
    channelStart: number, channelEnd: number, imageStart: number, imageEnd: number,
  ): void;
  /**
   * As `run`, for output pixels `[pixelStart, pixelEnd)` of each plane only: paths that can split
   * by pixels (parallel/split.ts, splitsByPixels) provide it, with the same bits as `run`.
   */
  runPixels?(
    rt: WasmRuntime, g: Conv2dGeometry, act: number, weights: number, x: number, y: number, scratch: number,
    channelStart: number, channelEnd: number, imageStart: number, imageEnd: number, pixelStart: number, pixelEnd: number,
  ): void;
}
