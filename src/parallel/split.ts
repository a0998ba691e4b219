/**
 * How one convolution is cut into slices for the pool. Every slice is a run of whole images and
 * a range of output channels (and, for the wasm 1×1 path in a compiled model's schedule, possibly
 * a range of output pixels), so each output value is computed by exactly one thread with the
 * same code as the single-threaded call (the kernels guarantee a value does not depend on which
 * channel or pixel range computes it).
 */
import type { KernelPath } from '../kernels/dispatch.js';
import type { Conv2dGeometry } from '../geometry.js';

export interface Slice {
  readonly imageStart: number;
  readonly imageEnd: number;
  readonly channelStart: number;
  readonly channelEnd: number;
  /** Output pixels [pixelStart, pixelEnd) of each plane; absent: all of them. Only from `planSlices(…, { pixels: true })`. */
  readonly pixelStart?: number;
  readonly pixelEnd?: number;
}

/** Pixel slices start on multiples of this many pixels (the GEMM's column tile). */
export const PIXEL_UNIT = 8;

/** GEMM paths split on multiples of this many output channels, so register tiles stay full. */
export const GEMM_CHANNEL_UNIT = 16;

/**
 * Below this many multiply-adds per slice, splitting costs more than it saves (a dispatch and
 * completion round trip is 10–40 µs here, about the time of 100–250K MACs). Measured with
 * `bench/threads.mjs`; see the README's worker pool section.
 */
export const DEFAULT_MIN_SLICE_MACS = 1 << 18;

export function convMacs(g: Conv2dGeometry): number {
  return g.batch * g.outChannels * g.outHeight * g.outWidth * (g.inChannels / g.groups) * g.kernelH * g.kernelW;
}

/**
 * Whether `g` on `path` can be split by output pixels (the wasm paths with runPixels): the 1×1
 * path without a stride (its B is the input as it lies), by ranges of pixels; the depthwise 3×3
 * paths with channel multiplier 1, by whole output rows.
 */
export function splitsByPixels(g: Conv2dGeometry, path: KernelPath): boolean {
  if (path === 'pointwise') return g.strideH === 1 && g.strideW === 1;
  return (path === 'depthwise3x3s1' || path === 'depthwise3x3s2') && g.outChannels === g.inChannels;
}

const splitsByRows = (path: KernelPath): boolean => path === 'depthwise3x3s1' || path === 'depthwise3x3s2';

export interface PlanSliceOptions {
  /**
   * Allow pixel slices (`splitsByPixels`), taken when the activations outweigh the weights
   * (more output pixels than output channels per group). Only the compiled model's schedule
   * (schedule.ts) runs them; the per-call pool does not.
   */
  readonly pixels?: boolean;
}

/** The slices for `threads` threads; a single slice means "run it on the calling thread". */
export function planSlices(g: Conv2dGeometry, path: KernelPath, threads: number, minSliceMacs = DEFAULT_MIN_SLICE_MACS, options: PlanSliceOptions = {}): Slice[] {
  const whole: Slice = { imageStart: 0, imageEnd: g.batch, channelStart: 0, channelEnd: g.outChannels };
  const byWork = Math.floor(convMacs(g) / Math.max(1, minSliceMacs));
  const parts = Math.min(threads, byWork);
  if (parts <= 1) return [whole];

  // Whole images are the cleanest split (nothing shared, no duplicated im2col or gathering) when
  // they divide evenly or are plentiful enough for the remainder not to matter.
  if (g.batch % parts === 0 || g.batch >= 4 * parts) {
    return balanced(g.batch, parts).map(([a, b]) => ({ ...whole, imageStart: a, imageEnd: b }));
  }

  // A 1×1 layer at high resolution with few output channels (MobileNetV2's 16- and 24-channel
  // projections at 112² and 56²) splits badly by channels (tiles of 16: 24 = 16 + 8, and 16 not
  // at all) and every thread would read all of the large input; by pixels each thread reads
  // its part of the input, with all the (small) weights, and the parts are even. The depthwise
  // layers between such 1×1 layers split by rows, so each thread mostly reads what it wrote
  // (the same part of the image) and the activations stay in its own core's cache.
  const pixels = g.outHeight * g.outWidth;
  if (options.pixels === true && splitsByPixels(g, path) && pixels > g.outChannels) {
    if (splitsByRows(path)) {
      if (g.outHeight >= 2 * parts) {
        return balanced(g.outHeight, parts).map(([a, b]) => ({ ...whole, pixelStart: a * g.outWidth, pixelEnd: b * g.outWidth }));
      }
    } else {
      const pixelUnits = Math.ceil(pixels / PIXEL_UNIT);
      const pixelParts = Math.min(parts, pixelUnits);
      if (pixelParts >= 2) {
        return balanced(pixelUnits, pixelParts).map(([a, b]) => ({ ...whole, pixelStart: Math.min(pixels, a * PIXEL_UNIT), pixelEnd: Math.min(pixels, b * PIXEL_UNIT) }));
      }
    }
  }

  const unit = channelUnit(g, path, parts);
  const units = Math.ceil(g.outChannels / unit);
  const count = Math.min(parts, units);
  if (count <= 1) return [whole];
  return balanced(units, count).map(([a, b]) => ({
    ...whole,
    channelStart: Math.min(g.outChannels, a * unit),
    channelEnd: Math.min(g.outChannels, b * unit),
  }));
}

function channelUnit(g: Conv2dGeometry, path: KernelPath, parts: number): number {
  const multiplier = g.outChannels / g.inChannels;
  if (path === 'depthwise' || path === 'depthwise3x3s1' || path === 'depthwise3x3s2') return multiplier;
  const perGroup = g.outChannels / g.groups;
  // With enough groups, whole groups per slice: each group's im2col is then built only once.
  if (g.groups >= parts) return perGroup;
  return GEMM_CHANNEL_UNIT;
}

/** `parts` contiguous ranges covering [0, n), sizes differing by at most one. */
function balanced(n: number, parts: number): [number, number][] {
  const ranges: [number, number][] = [];
  for (let i = 0; i < parts; i++) ranges.push([Math.floor((i * n) / parts), Math.floor(((i + 1) * n) / parts)]);
  return ranges;
}

/** A half-open range of element indices. */
export type Range = readonly [number, number];

/**
 * The elements of the input and weight that `slices` (contiguous and in order) read, so that only
 * those need to be in shared memory for the workers. Ranges are conservative: the whole array when
 * a slice's reads are not one contiguous run (several images with a channel split, or a padding
 * mode, whose padded copy reads every plane).
 */
export function sliceReads(g: Conv2dGeometry, slices: readonly Slice[]): { input: Range; weight: Range } {
  const inImage = g.inChannels * g.inHeight * g.inWidth;
  const perOutput = (g.inChannels / g.groups) * g.kernelH * g.kernelW;
  const allInput: Range = [0, g.batch * inImage];
  const allWeight: Range = [0, g.outChannels * perOutput];
  if (slices.length === 0) return { input: [0, 0], weight: [0, 0] };
  const first = slices[0]!;
  const last = slices[slices.length - 1]!;
  const imageSplit = first.channelStart === 0 && last.channelEnd === g.outChannels && slices.every((s) => s.channelStart === 0 && s.channelEnd === g.outChannels);
  if (imageSplit) {
    const input: Range = g.paddingMode === 'zeros' ? [first.imageStart * inImage, last.imageEnd * inImage] : allInput;
    return { input, weight: allWeight };
  }
  const weight: Range = [first.channelStart * perOutput, last.channelEnd * perOutput];
  if (g.batch > 1 || g.paddingMode !== 'zeros') return { input: allInput, weight };
  // Output channel o reads input channels of its group: [group·Cin/groups, (group+1)·Cin/groups).
  const coutPerGroup = g.outChannels / g.groups;
  const cinPerGroup = g.inChannels / g.groups;
  const plane = g.inHeight * g.inWidth;
  const firstGroup = Math.floor(first.channelStart / coutPerGroup);
  const endGroup = Math.ceil(last.channelEnd / coutPerGroup);
  return { input: [firstGroup * cinPerGroup * plane, endGroup * cinPerGroup * plane], weight };
}
