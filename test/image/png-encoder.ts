/**
 * A PNG writer for tests, independent of the decoder: it packs samples at any bit depth and colour
 * type, interlaces with Adam7, applies the filter the test asks for (or a random one per line),
 * compresses with node:zlib and frames chunks with their CRCs.
 */
import zlib from 'node:zlib';

export interface PngSpec {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  interlace?: boolean;
  /** File samples per pixel, row-major: values in 0 .. 2^bitDepth - 1 (palette indices for type 3). */
  samples: number[];
  palette?: [number, number, number][];
  /** tRNS bytes as written (palette alphas, or the 2- or 6-byte colour key). */
  trns?: number[];
  /** A fixed filter type for every line, or a random choice from `random`. */
  filter?: 0 | 1 | 2 | 3 | 4;
  random?: () => number;
  /** Split the zlib stream over this many IDAT chunks. */
  idatChunks?: number;
  /** Extra chunks [type, data] inserted after IHDR. */
  extraChunks?: [string, Uint8Array][];
  level?: number;
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

let table: Uint32Array | null = null;
export function crc32(bytes: Uint8Array): number {
  if (table === null) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of bytes) crc = table[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const ADAM7 = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
] as const;

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** The filtered, uncompressed image data (what the zlib stream holds). */
export function filteredData(spec: PngSpec): Uint8Array {
  const ch = CHANNELS[spec.colorType];
  const passes = spec.interlace ? ADAM7 : ([[0, 0, 1, 1]] as const);
  const rows: number[] = [];
  const bpp = Math.max(1, (ch * spec.bitDepth) >> 3);
  for (const [x0, y0, dx, dy] of passes) {
    const pw = spec.width > x0 ? Math.ceil((spec.width - x0) / dx) : 0;
    const ph = spec.height > y0 ? Math.ceil((spec.height - y0) / dy) : 0;
    if (pw === 0 || ph === 0) continue;
    const stride = Math.ceil((pw * ch * spec.bitDepth) / 8);
    let prev = new Uint8Array(stride);
    for (let ry = 0; ry < ph; ry++) {
      const y = y0 + ry * dy;
      const line = new Uint8Array(stride);
      let bit = 0;
      for (let rx = 0; rx < pw; rx++) {
        const x = x0 + rx * dx;
        for (let c = 0; c < ch; c++) {
          const v = spec.samples[(y * spec.width + x) * ch + c]!;
          if (spec.bitDepth === 16) {
            line[bit >> 3] = v >> 8;
            line[(bit >> 3) + 1] = v & 255;
          } else {
            line[bit >> 3]! |= v << (8 - spec.bitDepth - (bit & 7));
          }
          bit += spec.bitDepth;
        }
      }
      const type = spec.filter ?? (spec.random ? Math.floor(spec.random() * 5) : 0);
      const filtered = new Uint8Array(stride);
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? line[i - bpp]! : 0;
        const b = ry > 0 ? prev[i]! : 0;
        const c = i >= bpp && ry > 0 ? prev[i - bpp]! : 0;
        const predictor = type === 0 ? 0 : type === 1 ? a : type === 2 ? b : type === 3 ? (a + b) >> 1 : paeth(a, b, c);
        filtered[i] = (line[i]! - predictor) & 255;
      }
      rows.push(type, ...filtered);
      prev = line;
    }
  }
  return Uint8Array.from(rows);
}

export function encodePng(spec: PngSpec): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, spec.width);
  view.setUint32(4, spec.height);
  ihdr[8] = spec.bitDepth;
  ihdr[9] = spec.colorType;
  ihdr[12] = spec.interlace ? 1 : 0;
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  for (const [type, data] of spec.extraChunks ?? []) parts.push(chunk(type, data));
  if (spec.palette) parts.push(chunk('PLTE', Uint8Array.from(spec.palette.flat())));
  if (spec.trns) parts.push(chunk('tRNS', Uint8Array.from(spec.trns)));
  const z = new Uint8Array(zlib.deflateSync(filteredData(spec), { level: spec.level ?? 6 }));
  const n = Math.max(1, Math.min(spec.idatChunks ?? 1, z.length));
  const size = Math.ceil(z.length / n);
  for (let i = 0; i < z.length; i += size) parts.push(chunk('IDAT', z.subarray(i, i + size)));
  parts.push(chunk('IEND', new Uint8Array(0)));
  return concat(parts);
}
