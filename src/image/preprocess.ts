/**
 * `imageToTensor`: torchvision's standard ImageNet preprocessing of a PIL image, reproduced:
 *
 *     img = Image.open(f).convert('RGB')          # as torchvision's ImageFolder loader does
 *     Resize(256)                                 # shorter side to 256, PIL bilinear (antialiased, uint8)
 *     CenterCrop(224)                             # offsets int(round((h - 224) / 2.0)), zero padding if smaller
 *     ToTensor()                                  # uint8 / 255 → float32, CHW
 *     Normalize(mean, std)                        # (x - mean) / std in float32
 *
 * and returns a [1, 3, H, W] tensor (or [1, H, W, 3] with `layout: 'nhwc'`). `interpolation:
 * 'bicubic'` gives Pillow's bicubic instead, for weights evaluated with it; the options are the
 * fields of a pretrained weights entry's `preprocessing`, so it can be passed as it is.
 */
import {
  MAX_ELEMENTS, describeValue, optional, ownElement, readEnum, readInteger, readOptions,
} from '../checks.js';
import type { Tensor } from '../tensor.js';
import { type DecodedImage, type ImageSource, decodeImageAs } from './decode.js';
import { type ResizeFilter, resizePil } from './resize.js';

/** torchvision's ImageNet mean (per RGB channel, on 0..1 values). */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
/** torchvision's ImageNet standard deviation. */
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

export interface ImageToTensorOptions {
  /**
   * `Resize`: a number scales the shorter side to it (the longer to `int(n * long / short)`);
   * `[height, width]` resizes to exactly that; `null` skips resizing. Default 256.
   */
  resize?: number | readonly [number, number] | null;
  /** `CenterCrop`: a size or `[height, width]`; `null` skips it. Default 224. */
  centerCrop?: number | readonly [number, number] | null;
  /** `Normalize` mean per RGB channel; `null` for none (0). Default IMAGENET_MEAN. */
  mean?: readonly number[] | null;
  /** `Normalize` standard deviation per RGB channel; `null` for none (1). Default IMAGENET_STD. */
  std?: readonly number[] | null;
  /** 'nchw' (default): shape [1, 3, H, W], as PyTorch models take; 'nhwc': [1, H, W, 3]. */
  layout?: 'nchw' | 'nhwc';
  /**
   * The Resize filter: 'bilinear' (default, torchvision's) or 'bicubic' (what some weights, such as
   * EfficientNet's, were evaluated with), both as Pillow computes them.
   */
  interpolation?: ResizeFilter;
}

const FN = 'imageToTensor';

function readSize(value: unknown, name: string, fallback: number | null): number | [number, number] | null {
  if (value === undefined) return fallback;
  if (value === null) return null;
  if (typeof value === 'number') return readInteger(value, name, undefined, 1, 65535);
  if (Array.isArray(value) && value.length === 2) {
    return [readInteger(ownElement(value, 0), `${name}[0] (height)`, undefined, 1, 65535), readInteger(ownElement(value, 1), `${name}[1] (width)`, undefined, 1, 65535)];
  }
  throw new TypeError(`${name} must be a positive integer, [height, width] or null, got ${describeValue(value)}`);
}

function readTriple(value: unknown, name: string, fallback: readonly number[], none: number, positive: boolean): [number, number, number] {
  if (value === null) return [none, none, none];
  const v = optional(value, fallback);
  if (!Array.isArray(v) || v.length !== 3) throw new TypeError(`${name} must be an array of 3 numbers (R, G, B) or null, got ${describeValue(v)}`);
  const out: number[] = [];
  for (let i = 0; i < 3; i++) {
    const x = ownElement(v, i);
    if (typeof x !== 'number' || !Number.isFinite(x) || (positive && !(x > 0))) {
      throw new RangeError(`${name}[${i}] must be a ${positive ? 'positive' : 'finite'} number, got ${describeValue(x)}`);
    }
    out.push(x);
  }
  return out as [number, number, number];
}

/** Pillow's convert('RGB'): gray replicated, alpha dropped (not composited). */
export function toRgb(image: DecodedImage): Uint8Array {
  const { data, width, height, channels } = image;
  if (channels === 3) return data;
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let p = 0, s = 0, o = 0; p < n; p++, s += channels, o += 3) {
    if (channels <= 2) {
      const v = data[s]!;
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    } else {
      out[o] = data[s]!;
      out[o + 1] = data[s + 1]!;
      out[o + 2] = data[s + 2]!;
    }
  }
  return out;
}

/** torchvision's output size for Resize(size) on a width × height image. */
export function resizedSize(width: number, height: number, size: number | readonly [number, number]): [number, number] {
  if (typeof size !== 'number') return [size[1], size[0]];
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  // Python: int(size * long / short), float arithmetic then truncation.
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? [size, newLong] : [newLong, size];
}

/** Python's round() on a float: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Runs torchvision's Resize → CenterCrop → ToTensor → Normalize on an image (as `decodeImage`
 * returns it, ImageData-like pixels, or PNG/JPEG bytes) converted to RGB, and returns a float32
 * tensor [1, 3, H, W] (or [1, H, W, 3]). Defaults: resize 256, centerCrop 224, ImageNet mean/std.
 */
export function imageToTensor(image: DecodedImage | ImageSource, options?: ImageToTensorOptions): Tensor {
  const o = readOptions<ImageToTensorOptions>(options, ['resize', 'centerCrop', 'mean', 'std', 'layout', 'interpolation'], FN);
  const resize = readSize(o.resize, `${FN}: options.resize`, 256);
  const crop = readSize(o.centerCrop, `${FN}: options.centerCrop`, 224);
  const mean = readTriple(o.mean, `${FN}: options.mean`, IMAGENET_MEAN, 0, false);
  const std = readTriple(o.std, `${FN}: options.std`, IMAGENET_STD, 1, true);
  const layout = readEnum(o.layout, `${FN}: options.layout`, ['nchw', 'nhwc'] as const, 'nchw');
  const interpolation = readEnum(o.interpolation, `${FN}: options.interpolation`, ['bilinear', 'bicubic'] as const, 'bilinear');
  // Only read from here on: pixels passed in are not copied.
  const decoded = decodeImageAs(image, undefined, FN, true);

  let width = decoded.width;
  let height = decoded.height;
  let rgb = toRgb(decoded);
  if (resize !== null) {
    const [w, h] = resizedSize(width, height, resize);
    if (w < 1 || h < 1) throw new RangeError(`${FN}: resizing ${width}×${height} with resize ${describeValue(resize)} gives ${w}×${h}`);
    if (w * h * 3 > MAX_ELEMENTS) {
      throw new RangeError(`${FN}: resizing ${width}×${height} with resize ${describeValue(resize)} gives ${w}×${h}, over 2^28 samples`);
    }
    if (w !== width || h !== height) rgb = resizePil(rgb, width, height, 3, w, h, interpolation);
    width = w;
    height = h;
  }

  // CenterCrop: pad with zeros where the crop is larger than the image, then crop at the rounded centre.
  let outW = width;
  let outH = height;
  let left = 0;
  let top = 0;
  if (crop !== null) {
    [outH, outW] = typeof crop === 'number' ? [crop, crop] : crop;
    const padLeft = outW > width ? Math.floor((outW - width) / 2) : 0;
    const padTop = outH > height ? Math.floor((outH - height) / 2) : 0;
    const paddedW = outW > width ? outW : width;
    const paddedH = outH > height ? outH : height;
    // Offsets into the padded image, then back into the original (negative = inside the padding).
    left = roundHalfEven((paddedW - outW) / 2) - padLeft;
    top = roundHalfEven((paddedH - outH) / 2) - padTop;
  }

  const size = outW * outH;
  if (size * 3 > MAX_ELEMENTS) throw new RangeError(`${FN}: a ${outW}×${outH} crop would need ${size * 3} elements, over 2^28`);
  const data = new Float32Array(size * 3);
  const scale = [0, 1, 2].map((c) => Math.fround(std[c]!));
  const shift = [0, 1, 2].map((c) => Math.fround(mean[c]!));
  for (let y = 0; y < outH; y++) {
    const sy = y + top;
    for (let x = 0; x < outW; x++) {
      const sx = x + left;
      const inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
      for (let c = 0; c < 3; c++) {
        const v = inside ? rgb[(sy * width + sx) * 3 + c]! : 0;
        // ToTensor then Normalize, each rounded to float32 as torch computes them.
        const value = Math.fround(Math.fround(Math.fround(v / 255) - shift[c]!) / scale[c]!);
        data[layout === 'nchw' ? c * size + y * outW + x : (y * outW + x) * 3 + c] = value;
      }
    }
  }
  return { shape: layout === 'nchw' ? [1, 3, outH, outW] : [1, outH, outW, 3], data };
}
