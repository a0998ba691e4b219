/**
 * `decodeImage` / `decodeImageSync`: an image file's bytes (PNG or JPEG) or a browser image
 * (`ImageData`, anything shaped `{ data, width, height }`, an `ImageBitmap`, `<img>`, canvas or
 * video frame) to 8-bit interleaved samples. The decoders are plain TypeScript, so this works the
 * same in Node and in browsers.
 */
import { describeValue, isOptionsObject, dataField, readOptions, readInteger, MAX_ELEMENTS } from '../checks.js';
import { sniffFormat, wrongFormatHint } from '../sniff.js';
import { type DecodedImage, DEFAULT_MAX_PIXELS, ImageDecodeError, decodePng } from './png.js';
import { decodeJpeg } from './jpeg.js';

export type { DecodedImage };
export { ImageDecodeError };

/** A `Blob`, `File` or fetch `Response`, structurally (no DOM types needed to compile against sepconv). */
export interface BlobLike {
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface DecodeImageOptions {
  /** The most pixels (width × height) accepted, checked before decoding allocates; default 2^26. */
  maxPixels?: number;
}

/**
 * What `decodeImage` takes: file bytes, or pixels already decoded. `{ data, width, height }` is
 * an `ImageData` (RGBA) or any object shaped like one; `channels` may say 1 to 4 (else it is
 * `data.length / (width × height)`).
 */
export type ImageSource =
  | Uint8Array
  | ArrayBuffer
  | { data: ArrayLike<number>; width: number; height: number; channels?: number };

function readLimits(options: unknown, fn: string): { maxPixels: number } {
  const o = readOptions<DecodeImageOptions>(options, ['maxPixels'], fn);
  return { maxPixels: readInteger(o.maxPixels, `${fn}: options.maxPixels`, DEFAULT_MAX_PIXELS, 1, MAX_ELEMENTS) };
}

/** Decodes file bytes: PNG or JPEG, told apart by their first bytes. */
function decodeBytes(bytes: Uint8Array, maxPixels: number, fn: string): DecodedImage {
  const format = sniffFormat(bytes);
  if (format === 'png') return decodePng(bytes, { maxPixels });
  if (format === 'jpeg') return decodeJpeg(bytes, { maxPixels });
  const what =
    wrongFormatHint(bytes, ['png', 'jpeg']) ??
    (bytes.length === 0 ? 'the input is empty' : `the first bytes are ${Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ')}`);
  throw new ImageDecodeError(fn, `not a PNG or JPEG image: ${what} (GIF, WebP, BMP and others are not decoded; in a browser, pass an ImageBitmap or ImageData instead)`);
}

/**
 * Already-decoded pixels: `ImageData` and its look-alikes. The data is copied, never aliased,
 * unless `readOnly` (a caller that only reads the samples, such as imageToTensor, skips the copy).
 */
function fromPixels(source: object, fn: string, maxPixels: number, readOnly: boolean): DecodedImage {
  const data = dataField(source, 'data');
  const width = dataField(source, 'width');
  const height = dataField(source, 'height');
  const channelsField = dataField(source, 'channels');
  const isTyped = data instanceof Uint8Array || data instanceof Uint8ClampedArray;
  if (!isTyped && !Array.isArray(data)) {
    throw new TypeError(`${fn}: image.data must be a Uint8Array, Uint8ClampedArray or array of 0..255 values, got ${describeValue(data)}`);
  }
  const w = readInteger(width, `${fn}: image.width`, undefined, 1);
  const h = readInteger(height, `${fn}: image.height`, undefined, 1);
  if (w * h > maxPixels) throw new RangeError(`${fn}: the image is ${w}×${h} = ${w * h} pixels, over the limit of ${maxPixels} (options.maxPixels)`);
  const length = (data as ArrayLike<number>).length;
  let channels: number;
  if (channelsField !== undefined) {
    channels = readInteger(channelsField, `${fn}: image.channels`, undefined, 1, 4);
  } else {
    channels = length / (w * h);
    if (!Number.isInteger(channels) || channels < 1 || channels > 4) {
      throw new RangeError(`${fn}: image.data has ${length} values, not 1 to 4 per pixel of a ${w}×${h} image`);
    }
  }
  if (length !== w * h * channels) {
    throw new RangeError(`${fn}: image.data has ${length} values, a ${w}×${h} image with ${channels} channel(s) needs ${w * h * channels}`);
  }
  if (isTyped && readOnly) {
    const typed = data as Uint8Array | Uint8ClampedArray;
    return { data: new Uint8Array(typed.buffer, typed.byteOffset, typed.length), width: w, height: h, channels: channels as 1 | 2 | 3 | 4 };
  }
  const out = new Uint8Array(length);
  if (isTyped) {
    out.set(data as Uint8Array);
  } else {
    const array = data as unknown[];
    for (let i = 0; i < length; i++) {
      const v = array[i];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) {
        throw new RangeError(`${fn}: image.data[${i}] must be an integer from 0 to 255, got ${describeValue(v)}`);
      }
      out[i] = v;
    }
  }
  return { data: out, width: w, height: h, channels: channels as 1 | 2 | 3 | 4 };
}

interface CanvasLike {
  getContext(kind: '2d'): { drawImage(image: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

/**
 * The browser's drawable images, with how to read their size: each is drawn on an OffscreenCanvas
 * and read back as RGBA (so the browser decodes whatever format it supports).
 */
const DRAWABLES: readonly [string, (x: Record<string, number>) => [number, number]][] = [
  ['ImageBitmap', (x) => [x.width!, x.height!]],
  ['HTMLImageElement', (x) => [x.naturalWidth!, x.naturalHeight!]],
  ['HTMLCanvasElement', (x) => [x.width!, x.height!]],
  ['OffscreenCanvas', (x) => [x.width!, x.height!]],
  ['HTMLVideoElement', (x) => [x.videoWidth!, x.videoHeight!]],
  ['VideoFrame', (x) => [x.displayWidth!, x.displayHeight!]],
];

function fromDrawable(source: object, fn: string, maxPixels: number): DecodedImage | null {
  const globals = globalThis as unknown as Record<string, unknown>;
  const match = DRAWABLES.find(([name]) => typeof globals[name] === 'function' && source instanceof (globals[name] as new () => object));
  if (match === undefined) return null;
  const [kind, size] = match;
  const [width, height] = size(source as Record<string, number>);
  if (!(width > 0 && height > 0)) throw new RangeError(`${fn}: the ${kind} is ${width}×${height} (not loaded, closed or empty)`);
  if (width * height > maxPixels) throw new RangeError(`${fn}: the ${kind} is ${width}×${height}, over the limit of ${maxPixels} pixels (options.maxPixels)`);
  const Offscreen = globals.OffscreenCanvas as (new (w: number, h: number) => CanvasLike) | undefined;
  if (Offscreen === undefined) throw new TypeError(`${fn}: reading an ${kind} needs OffscreenCanvas, which this environment lacks; pass ImageData instead`);
  const context = new Offscreen(width, height).getContext('2d');
  if (context === null) throw new TypeError(`${fn}: OffscreenCanvas gave no 2d context to read the ${kind}`);
  context.drawImage(source, 0, 0);
  const pixels = context.getImageData(0, 0, width, height).data;
  return { data: new Uint8Array(pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.byteLength)), width, height, channels: 4 };
}

/**
 * decodeImageSync under another function's name (for its messages): `imageToTensor` takes the same
 * inputs. With `readOnly`, pixels passed in are viewed rather than copied (the caller must not write).
 */
export function decodeImageAs(source: unknown, options: unknown, fn: string, readOnly = false): DecodedImage {
  const { maxPixels } = readLimits(options, fn);
  if (source instanceof Uint8Array) return decodeBytes(source, maxPixels, fn);
  if (source instanceof ArrayBuffer) return decodeBytes(new Uint8Array(source), maxPixels, fn);
  if (ArrayBuffer.isView(source) && !(source instanceof Uint8ClampedArray)) {
    throw new TypeError(`${fn}: image file bytes must be a Uint8Array or ArrayBuffer, got ${describeValue(source)}`);
  }
  if (isOptionsObject(source)) {
    const bitmap = fromDrawable(source, fn, maxPixels);
    if (bitmap !== null) return bitmap;
    if (dataField(source, 'data') !== undefined) return fromPixels(source, fn, maxPixels, readOnly);
  }
  throw new TypeError(
    `${fn}: image must be file bytes (Uint8Array, ArrayBuffer), ImageData-like pixels { data, width, height, channels? }, an ImageBitmap, image, canvas or video frame${fn === 'decodeImage' ? ', or a Blob' : ''}, got ${describeValue(source)}`,
  );
}

/**
 * Decodes an image synchronously: PNG or JPEG bytes, or `{ data, width, height, channels? }`
 * pixels (ImageData), or a browser image (ImageBitmap, loaded `<img>`, canvas, video frame). Returns 8-bit interleaved samples (1 gray, 2 gray+alpha,
 * 3 RGB, 4 RGBA), always in a new array.
 */
export function decodeImageSync(source: ImageSource, options?: DecodeImageOptions): DecodedImage {
  return decodeImageAs(source, options, 'decodeImageSync');
}

/**
 * `decodeImageSync`, and also a `Blob`/`File` (or anything with `arrayBuffer()`, such as a fetch
 * `Response`), read first.
 */
export async function decodeImage(source: ImageSource | BlobLike, options?: DecodeImageOptions): Promise<DecodedImage> {
  if (isOptionsObject(source) && !(source instanceof ArrayBuffer) && typeof (source as { arrayBuffer?: unknown }).arrayBuffer === 'function' && dataField(source, 'data') === undefined) {
    readLimits(options, 'decodeImage');
    const buffer = await (source as { arrayBuffer(): Promise<ArrayBuffer> }).arrayBuffer();
    if (!(buffer instanceof ArrayBuffer)) throw new TypeError(`decodeImage: source.arrayBuffer() must give an ArrayBuffer, got ${describeValue(buffer)}`);
    return decodeImageAs(new Uint8Array(buffer), options, 'decodeImage');
  }
  return decodeImageAs(source, options, 'decodeImage');
}
