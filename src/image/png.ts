/**
 * A PNG decoder in plain TypeScript (no runtime dependencies; the image data is inflated by
 * `io/inflate.ts`): every colour type (gray, gray+alpha, RGB, RGBA, palette), every bit depth
 * (1, 2, 4, 8, 16), tRNS transparency, Adam7 interlacing, the five scanline filters, and every
 * chunk's CRC-32.
 *
 * What comes out is 8 bits per sample, as Pillow gives it (and so as torchvision sees it):
 * - 16-bit samples keep their high byte (Pillow's "RGB;16B"/"RGBA;16B" unpackers do the same);
 * - 1/2/4-bit gray is scaled to 0..255 (×255, ×85, ×17, as Pillow's "L;1"/"L;2"/"L;4");
 * - palette images become RGB, or RGBA when a tRNS chunk gives some entries an alpha;
 * - gray or RGB with a tRNS colour key gain an alpha channel (0 where the key matches, else 255).
 *
 * The file is hostile until proven otherwise: the dimensions are checked against a pixel limit and
 * against what the compressed data could possibly expand to before anything image-sized is
 * allocated, and the inflater is bounded by the exact size the image needs.
 */
import { crc32 } from '../bits.js';
import { MAX_ELEMENTS } from '../checks.js';
import { InflateError, inflateZlib } from '../inflate.js';
import { wrongFormatHint } from '../sniff.js';

/** A decoded image: 8-bit samples, row-major, channels interleaved (HWC). */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
}

/** A malformed, truncated or unsupported image file. */
export class ImageDecodeError extends Error {
  constructor(format: string, message: string) {
    super(`${format}: ${message}`);
    this.name = 'ImageDecodeError';
  }
}

/** Limits checked before any image-sized allocation. */
export interface ImageLimits {
  /** The most pixels (width × height) accepted; default 2^26 (e.g. 8192 × 8192). */
  maxPixels?: number;
}

export const DEFAULT_MAX_PIXELS = 2 ** 26;

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when `bytes` starts with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  for (let i = 0; i < 8; i++) if (bytes[i] !== SIGNATURE[i]) return false;
  return true;
}

function fail(message: string): never {
  throw new ImageDecodeError('png', message);
}

// ---------------------------------------------------------------------------------------------
// Chunks

interface Header {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
}

/** Samples per pixel in the file for each colour type. */
const FILE_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ALLOWED_DEPTHS: Record<number, readonly number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const COLOR_NAMES: Record<number, string> = { 0: 'gray', 2: 'RGB', 3: 'palette', 4: 'gray+alpha', 6: 'RGBA' };

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function chunkName(bytes: Uint8Array, at: number): string {
  let name = '';
  for (let i = 0; i < 4; i++) {
    const c = bytes[at + i]!;
    name += (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return name;
}

/** The seven Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** The (width, height) of each reduced image: one pass for a non-interlaced image, seven for Adam7. */
function passes(h: Header): { x0: number; y0: number; dx: number; dy: number; w: number; h: number }[] {
  if (h.interlace === 0) return [{ x0: 0, y0: 0, dx: 1, dy: 1, w: h.width, h: h.height }];
  return ADAM7.map(([x0, y0, dx, dy]) => ({
    x0, y0, dx, dy,
    w: h.width > x0 ? Math.ceil((h.width - x0) / dx) : 0,
    h: h.height > y0 ? Math.ceil((h.height - y0) / dy) : 0,
  }));
}

/** Bytes of one filtered scanline of `w` pixels, without its filter-type byte. */
function rowBytes(w: number, h: Header): number {
  return Math.ceil((w * FILE_CHANNELS[h.colorType]! * h.bitDepth) / 8);
}

/**
 * Decodes a PNG file. Throws ImageDecodeError (the message says what is wrong and where) for a
 * file that is not a PNG, is truncated or corrupt (CRC, zlib data, sizes), or is larger than
 * `limits.maxPixels`.
 */
export function decodePng(bytes: Uint8Array, limits: ImageLimits = {}): DecodedImage {
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!isPng(bytes)) {
    const hint = wrongFormatHint(bytes, 'png');
    fail(hint !== null ? `not a PNG file: ${hint}` : `not a PNG file (the 8-byte PNG signature is missing; ${bytes.length} bytes)`);
  }
  let at = 8;
  let header: Header | null = null;
  let palette: Uint8Array | null = null;
  let transparency: Uint8Array | null = null;
  const idat: [number, number][] = [];
  let idatBytes = 0;
  let idatDone = false;
  let sawEnd = false;
  while (!sawEnd) {
    // A file that ends cleanly after its image data without IEND is accepted, as Pillow and browsers
    // do (the zlib stream's own end and Adler-32 still have to be there).
    if (at === bytes.length && idat.length > 0) break;
    if (at + 8 > bytes.length) fail(`truncated file: ${bytes.length} bytes, the chunk at byte ${at} has no complete header`);
    const length = readU32(bytes, at);
    const name = chunkName(bytes, at + 4);
    if (length > 0x7fffffff) fail(`chunk ${name} at byte ${at} declares ${length} bytes (the PNG limit is 2^31 - 1)`);
    const dataAt = at + 8;
    if (dataAt + length + 4 > bytes.length) {
      fail(`truncated file: chunk ${name} at byte ${at} declares ${length} bytes of data and a CRC, but only ${bytes.length - dataAt} bytes follow`);
    }
    const stored = readU32(bytes, dataAt + length);
    const actual = crc32(bytes, at + 4, dataAt + length);
    if (stored !== actual) fail(`chunk ${name} at byte ${at}: CRC-32 mismatch (stored 0x${hex8(stored)}, computed 0x${hex8(actual)}); the file is corrupt`);
    if (header === null && name !== 'IHDR') fail(`the first chunk must be IHDR, found ${name}`);
    if (idat.length > 0 && name !== 'IDAT') idatDone = true;
    switch (name) {
      case 'IHDR': {
        if (header !== null) fail('a second IHDR chunk');
        if (length !== 13) fail(`IHDR must have 13 bytes, has ${length}`);
        header = readHeader(bytes, dataAt, maxPixels);
        break;
      }
      case 'PLTE': {
        if (palette !== null) fail('a second PLTE chunk');
        if (idat.length > 0) fail('PLTE after IDAT');
        if (length % 3 !== 0 || length === 0 || length > 768) fail(`PLTE must hold 1 to 256 RGB entries (a multiple of 3 bytes up to 768), has ${length} bytes`);
        if (header!.colorType === 3 && length / 3 > 1 << header!.bitDepth) {
          fail(`PLTE has ${length / 3} entries, more than a ${header!.bitDepth}-bit palette index can address`);
        }
        if (header!.colorType === 0 || header!.colorType === 4) fail(`a PLTE chunk in a ${COLOR_NAMES[header!.colorType]} image`);
        palette = bytes.subarray(dataAt, dataAt + length);
        break;
      }
      case 'tRNS': {
        if (transparency !== null) fail('a second tRNS chunk');
        if (idat.length > 0) fail('tRNS after IDAT');
        const h = header!;
        if (h.colorType === 3) {
          if (palette === null) fail('tRNS before PLTE in a palette image');
          if (length > palette.length / 3) fail(`tRNS has ${length} alpha values for a ${palette.length / 3}-entry palette`);
        } else if (h.colorType === 0) {
          if (length !== 2) fail(`tRNS of a gray image must have 2 bytes, has ${length}`);
        } else if (h.colorType === 2) {
          if (length !== 6) fail(`tRNS of an RGB image must have 6 bytes, has ${length}`);
        } else {
          fail(`a tRNS chunk in a ${COLOR_NAMES[h.colorType]} image (it already has alpha)`);
        }
        transparency = bytes.subarray(dataAt, dataAt + length);
        break;
      }
      case 'IDAT': {
        if (idatDone) fail('IDAT chunks must be consecutive (another chunk came between them)');
        idat.push([dataAt, length]);
        idatBytes += length;
        break;
      }
      case 'IEND':
        sawEnd = true;
        break;
      default: {
        // Critical chunks (first letter upper case) this decoder does not know change how the image reads: refuse them.
        if ((bytes[at + 4]! & 0x20) === 0) fail(`unknown critical chunk ${name}`);
      }
    }
    at = dataAt + length + 4;
  }
  const h = header!;
  if (h.colorType === 3 && palette === null) fail('a palette image without a PLTE chunk');
  if (idat.length === 0) fail('no IDAT chunk (no image data)');

  // The filtered image size, checked against what the compressed data could expand to (deflate's
  // best ratio is 1032:1) before it is allocated.
  let expected = 0;
  for (const p of passes(h)) if (p.w > 0 && p.h > 0) expected += (rowBytes(p.w, h) + 1) * p.h;
  if (expected > (idatBytes - 6) * 1032 + 1032) {
    fail(`truncated image data: ${h.width}×${h.height} needs ${expected} bytes, more than ${idatBytes} bytes of compressed IDAT data can hold`);
  }
  let compressed: Uint8Array;
  if (idat.length === 1) {
    compressed = bytes.subarray(idat[0]![0], idat[0]![0] + idat[0]![1]);
  } else {
    compressed = new Uint8Array(idatBytes);
    let o = 0;
    for (const [begin, length] of idat) {
      compressed.set(bytes.subarray(begin, begin + length), o);
      o += length;
    }
  }
  let raw: Uint8Array;
  try {
    raw = inflateZlib(compressed, expected);
  } catch (error) {
    if (error instanceof InflateError) fail(`corrupt image data (${error.message}), ${h.width}×${h.height} ${COLOR_NAMES[h.colorType]} ${h.bitDepth}-bit`);
    throw error;
  }
  if (raw.length !== expected) fail(`truncated image data: the IDAT stream holds ${raw.length} bytes, the ${h.width}×${h.height} image needs ${expected}`);
  return toImage(raw, h, palette, transparency);
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function readHeader(bytes: Uint8Array, at: number, maxPixels: number): Header {
  const width = readU32(bytes, at);
  const height = readU32(bytes, at + 4);
  const bitDepth = bytes[at + 8]!;
  const colorType = bytes[at + 9]!;
  const compression = bytes[at + 10]!;
  const filter = bytes[at + 11]!;
  const interlace = bytes[at + 12]!;
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    fail(`IHDR: width and height must be 1 to 2^31 - 1, got ${width}×${height}`);
  }
  if (width * height > maxPixels) fail(`the image is ${width}×${height} = ${width * height} pixels, over the limit of ${maxPixels} (option maxPixels)`);
  const depths = ALLOWED_DEPTHS[colorType];
  if (depths === undefined) fail(`IHDR: colour type ${colorType} does not exist (0, 2, 3, 4 or 6)`);
  if (!depths.includes(bitDepth)) fail(`IHDR: bit depth ${bitDepth} is not allowed for colour type ${colorType} (${COLOR_NAMES[colorType]}: ${depths.join(', ')})`);
  if (compression !== 0) fail(`IHDR: compression method ${compression} (only 0 exists)`);
  if (filter !== 0) fail(`IHDR: filter method ${filter} (only 0 exists)`);
  if (interlace > 1) fail(`IHDR: interlace method ${interlace} (0 or 1)`);
  const channels = outputChannels(colorType, false);
  if (width * height * (channels + 1) > MAX_ELEMENTS) fail(`the image is ${width}×${height}, too large to decode (over 2^28 samples)`);
  return { width, height, bitDepth, colorType, interlace };
}

function outputChannels(colorType: number, hasTransparency: boolean): 1 | 2 | 3 | 4 {
  switch (colorType) {
    case 0:
      return hasTransparency ? 2 : 1;
    case 4:
      return 2;
    case 6:
      return 4;
    default:
      return hasTransparency ? 4 : 3;
  }
}

// ---------------------------------------------------------------------------------------------
// Unfiltering and sample conversion

/** Reverses the scanline filters of one reduced image in place; `at` is its first filter byte. */
function unfilter(raw: Uint8Array, at: number, rows: number, stride: number, bpp: number, pass: number): void {
  let prev = -1;
  for (let y = 0; y < rows; y++) {
    const type = raw[at]!;
    const line = at + 1;
    switch (type) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < stride; i++) raw[line + i] = (raw[line + i]! + raw[line + i - bpp]!) & 255;
        break;
      case 2:
        if (prev >= 0) for (let i = 0; i < stride; i++) raw[line + i] = (raw[line + i]! + raw[prev + i]!) & 255;
        break;
      case 3:
        if (prev >= 0) {
          for (let i = 0; i < bpp; i++) raw[line + i] = (raw[line + i]! + (raw[prev + i]! >> 1)) & 255;
          for (let i = bpp; i < stride; i++) raw[line + i] = (raw[line + i]! + ((raw[line + i - bpp]! + raw[prev + i]!) >> 1)) & 255;
        } else {
          for (let i = bpp; i < stride; i++) raw[line + i] = (raw[line + i]! + (raw[line + i - bpp]! >> 1)) & 255;
        }
        break;
      case 4:
        if (prev >= 0) {
          for (let i = 0; i < bpp; i++) raw[line + i] = (raw[line + i]! + raw[prev + i]!) & 255;
          for (let i = bpp; i < stride; i++) {
            const a = raw[line + i - bpp]!;
            const b = raw[prev + i]!;
            const c = raw[prev + i - bpp]!;
            const p = a + b - c;
            const pa = Math.abs(p - a);
            const pb = Math.abs(p - b);
            const pc = Math.abs(p - c);
            const predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            raw[line + i] = (raw[line + i]! + predictor) & 255;
          }
        } else {
          // With no previous line Paeth reduces to Sub.
          for (let i = bpp; i < stride; i++) raw[line + i] = (raw[line + i]! + raw[line + i - bpp]!) & 255;
        }
        break;
      default:
        fail(`scanline ${y}${pass >= 0 ? ` of Adam7 pass ${pass + 1}` : ''} has filter type ${type} (0 to 4 exist)`);
    }
    prev = line;
    at = line + stride;
  }
}

/** Unfilters `raw` and converts every pixel to 8-bit output samples. */
function toImage(raw: Uint8Array, h: Header, palette: Uint8Array | null, transparency: Uint8Array | null): DecodedImage {
  const channels = outputChannels(h.colorType, transparency !== null);
  const { width, bitDepth, colorType } = h;
  const fileChannels = FILE_CHANNELS[colorType]!;
  const bpp = Math.max(1, (fileChannels * bitDepth) >> 3);
  const out = new Uint8Array(width * h.height * channels);

  // Palette (with alpha from tRNS) as a flat RGBA or RGB table of 256 entries: indices past the
  // palette's end are an error in the spec; libpng and Pillow read them as black, and so do we.
  let table: Uint8Array | null = null;
  if (colorType === 3) {
    table = new Uint8Array(256 * channels);
    const entries = palette!.length / 3;
    for (let i = 0; i < 256; i++) {
      if (i < entries) {
        table[i * channels] = palette![i * 3]!;
        table[i * channels + 1] = palette![i * 3 + 1]!;
        table[i * channels + 2] = palette![i * 3 + 2]!;
      }
      if (channels === 4) table[i * 4 + 3] = transparency !== null && i < transparency.length ? transparency[i]! : 255;
    }
  }
  // The colour key, in file sample units.
  const key = transparency !== null && colorType !== 3 ? readKey(transparency, colorType) : null;
  const lowScale = bitDepth === 1 ? 255 : bitDepth === 2 ? 85 : bitDepth === 4 ? 17 : 1;

  let at = 0;
  const ps = passes(h);
  for (let pi = 0; pi < ps.length; pi++) {
    const p = ps[pi]!;
    if (p.w === 0 || p.h === 0) continue;
    const stride = rowBytes(p.w, h);
    unfilter(raw, at, p.h, stride, bpp, h.interlace === 1 ? pi : -1);
    for (let ry = 0; ry < p.h; ry++) {
      const line = at + 1 + ry * (stride + 1);
      const y = p.y0 + ry * p.dy;
      let o = (y * width + p.x0) * channels;
      const step = p.dx * channels;
      if (bitDepth === 8) {
        if (colorType === 3) {
          for (let x = 0; x < p.w; x++, o += step) {
            const e = raw[line + x]! * channels;
            for (let c = 0; c < channels; c++) out[o + c] = table![e + c]!;
          }
        } else if (key === null) {
          for (let x = 0, s = line; x < p.w; x++, o += step) for (let c = 0; c < fileChannels; c++) out[o + c] = raw[s++]!;
        } else {
          for (let x = 0, s = line; x < p.w; x++, o += step) {
            let match = true;
            for (let c = 0; c < fileChannels; c++, s++) {
              out[o + c] = raw[s]!;
              if (raw[s] !== key[c]) match = false;
            }
            out[o + fileChannels] = match ? 0 : 255;
          }
        }
      } else if (bitDepth === 16) {
        for (let x = 0, s = line; x < p.w; x++, o += step) {
          let match = key !== null;
          for (let c = 0; c < fileChannels; c++, s += 2) {
            out[o + c] = raw[s]!;
            if (key !== null && ((raw[s]! << 8) | raw[s + 1]!) !== key[c]) match = false;
          }
          if (key !== null) out[o + fileChannels] = match ? 0 : 255;
        }
      } else {
        // 1, 2 or 4 bits: gray or palette index, packed most-significant first.
        const mask = (1 << bitDepth) - 1;
        for (let x = 0; x < p.w; x++, o += step) {
          const bit = x * bitDepth;
          const v = (raw[line + (bit >> 3)]! >> (8 - bitDepth - (bit & 7))) & mask;
          if (colorType === 3) {
            const e = v * channels;
            for (let c = 0; c < channels; c++) out[o + c] = table![e + c]!;
          } else {
            out[o] = v * lowScale;
            if (key !== null) out[o + 1] = v === key[0] ? 0 : 255;
          }
        }
      }
    }
    at += (stride + 1) * p.h;
  }
  return { data: out, width, height: h.height, channels };
}

function readKey(transparency: Uint8Array, colorType: number): number[] {
  const n = colorType === 0 ? 1 : 3;
  const key: number[] = [];
  for (let c = 0; c < n; c++) key.push((transparency[c * 2]! << 8) | transparency[c * 2 + 1]!);
  return key;
}
