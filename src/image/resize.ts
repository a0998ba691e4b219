/**
 * Pillow's `Image.resize(size, Image.BILINEAR)` (and `BICUBIC`) on 8-bit images, reproduced step
 * for step (Pillow `libImaging/Resample.c`), because torchvision's `Resize` on a PIL image is
 * exactly this and a model's accuracy was measured on its output:
 *
 * - the filter is the triangle (support 1; bicubic: Keys' cubic with a = -0.5, support 2),
 *   widened by the scale when shrinking, so downscaling
 *   averages every source pixel under the output pixel (antialiasing), not just the nearest two;
 * - per output pixel the weights are computed in double, normalised to sum 1, then converted to
 *   fixed point with 22 fractional bits (rounded half away from zero);
 * - two passes, horizontal first then vertical, each rounding to uint8 (add half, shift, clamp);
 *   a pass whose size does not change is skipped.
 */

/** Pillow's PRECISION_BITS for 8-bit resampling: 32 − 8 − 2. */
const PRECISION_BITS = 22;

interface Coefficients {
  /** Per output pixel: first source index. */
  first: Int32Array;
  /** Per output pixel: how many source pixels. */
  count: Int32Array;
  /** outSize × taps fixed-point weights. */
  weights: Int32Array;
  taps: number;
}

/** The resampling filters torchvision's weights use (Pillow's bilinear_filter and bicubic_filter). */
export type ResizeFilter = 'bilinear' | 'bicubic';

function bilinear(x: number): number {
  const t = Math.abs(x);
  return t < 1 ? 1 - t : 0;
}

function bicubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

const FILTERS: Record<ResizeFilter, { fn: (x: number) => number; support: number }> = {
  bilinear: { fn: bilinear, support: 1 },
  bicubic: { fn: bicubic, support: 2 },
};

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for a filter over the box [0, inSize). */
function coefficients(inSize: number, outSize: number, filter: ResizeFilter): Coefficients {
  const { fn, support: filterSupport } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = scale < 1 ? 1 : scale;
  const support = filterSupport * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const k = new Float64Array(taps);
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // (int)(v + 0.5) in C truncates toward zero; v + 0.5 may be negative only for xmin, clamped to 0 anyway.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x]! / ww : k[x]!;
      const fixed = w * (1 << PRECISION_BITS);
      weights[xx * taps + x] = w < 0 ? Math.trunc(-0.5 + fixed) : Math.trunc(0.5 + fixed);
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { first, count, weights, taps };
}

/** Pillow's clip8: the sum (below 2^31 for 8-bit input and normalised weights) shifted and clamped. */
function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

const HALF = 1 << (PRECISION_BITS - 1);

function resizeHorizontal(src: Uint8Array, width: number, height: number, channels: number, outWidth: number, filter: ResizeFilter): Uint8Array {
  const { first, count, weights, taps } = coefficients(width, outWidth, filter);
  const out = new Uint8Array(outWidth * height * channels);
  for (let y = 0; y < height; y++) {
    const row = y * width * channels;
    const outRow = y * outWidth * channels;
    for (let xx = 0; xx < outWidth; xx++) {
      const x0 = first[xx]!;
      const n = count[xx]!;
      const kBase = xx * taps;
      if (channels === 3) {
        // The common case, three sums at once.
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let x = 0, s = row + x0 * 3; x < n; x++, s += 3) {
          const k = weights[kBase + x]!;
          s0 += src[s]! * k;
          s1 += src[s + 1]! * k;
          s2 += src[s + 2]! * k;
        }
        const o = outRow + xx * 3;
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
        continue;
      }
      for (let c = 0; c < channels; c++) {
        let sum = HALF;
        let s = row + x0 * channels + c;
        for (let x = 0; x < n; x++, s += channels) sum += src[s]! * weights[kBase + x]!;
        out[outRow + xx * channels + c] = clip8(sum);
      }
    }
  }
  return out;
}

function resizeVertical(src: Uint8Array, width: number, height: number, channels: number, outHeight: number, filter: ResizeFilter): Uint8Array {
  const { first, count, weights, taps } = coefficients(height, outHeight, filter);
  const rowLength = width * channels;
  const out = new Uint8Array(rowLength * outHeight);
  const sums = new Float64Array(rowLength);
  for (let yy = 0; yy < outHeight; yy++) {
    sums.fill(HALF);
    const y0 = first[yy]!;
    const n = count[yy]!;
    for (let y = 0; y < n; y++) {
      const w = weights[yy * taps + y]!;
      const row = (y0 + y) * rowLength;
      for (let i = 0; i < rowLength; i++) sums[i]! += src[row + i]! * w;
    }
    const outRow = yy * rowLength;
    for (let i = 0; i < rowLength; i++) out[outRow + i] = clip8(sums[i]!);
  }
  return out;
}

/**
 * Resizes 8-bit interleaved samples (`channels` per pixel) to `outWidth` × `outHeight` as Pillow's
 * `resize(..., BILINEAR)` (or `BICUBIC`) does. Returns a new array (a copy when the size is
 * unchanged). Sizes are the caller's to check (positive integers).
 */
export function resizePil(
  src: Uint8Array, width: number, height: number, channels: number, outWidth: number, outHeight: number,
  filter: ResizeFilter = 'bilinear',
): Uint8Array {
  let data = src;
  if (outWidth !== width) data = resizeHorizontal(data, width, height, channels, outWidth, filter);
  if (outHeight !== height) data = resizeVertical(data, outWidth, height, channels, outHeight, filter);
  return data === src ? src.slice() : data;
}
