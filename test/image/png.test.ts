/**
 * The PNG decoder on every colour type, bit depth, filter and interlacing (files written by the
 * test encoder from known pixels), on torchvision's golden PNGs (written by Pillow), and on
 * malformed files: clear ImageDecodeErrors, nothing allocated from a declared size alone.
 */
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ImageDecodeError, decodeImage, decodeImageSync } from '../../src/image/decode.js';
import { decodePng } from '../../src/image/png.js';
import { rng } from '../helpers.js';
import { type PngSpec, chunk, concat, crc32, encodePng } from './png-encoder.js';

const SEED = 20261206;
const GOLDEN = new URL('../fixtures/golden/image/', import.meta.url);

const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** What the decoder must output for a spec, computed pixel by pixel from the file samples. */
function expected(spec: PngSpec): { data: number[]; channels: number } {
  const ch = CHANNELS[spec.colorType]!;
  const hasKey = spec.trns !== undefined;
  const outCh = spec.colorType === 0 ? (hasKey ? 2 : 1) : spec.colorType === 2 || spec.colorType === 3 ? (hasKey ? 4 : 3) : ch;
  const to8 = (v: number): number => (spec.bitDepth === 16 ? v >> 8 : spec.bitDepth < 8 ? Math.round((v * 255) / ((1 << spec.bitDepth) - 1)) : v);
  const data: number[] = [];
  for (let p = 0; p < spec.width * spec.height; p++) {
    const s = spec.samples.slice(p * ch, p * ch + ch);
    if (spec.colorType === 3) {
      const [r, g, b] = spec.palette![s[0]!] ?? [0, 0, 0];
      data.push(r, g, b);
      if (hasKey) data.push(spec.trns![s[0]!] ?? 255);
    } else {
      data.push(...s.map(to8));
      if (hasKey) {
        const key = spec.colorType === 0 ? [(spec.trns![0]! << 8) | spec.trns![1]!] : [0, 1, 2].map((c) => (spec.trns![c * 2]! << 8) | spec.trns![c * 2 + 1]!);
        data.push(key.every((k, c) => k === s[c]) ? 0 : 255);
      }
    }
  }
  return { data, channels: outCh };
}

function randomSpec(random: () => number, colorType: 0 | 2 | 3 | 4 | 6, bitDepth: number, width: number, height: number, interlace: boolean): PngSpec {
  const ch = CHANNELS[colorType]!;
  const max = (1 << bitDepth) - 1;
  const spec: PngSpec = {
    width, height, colorType, bitDepth: bitDepth as PngSpec['bitDepth'], interlace, random,
    samples: Array.from({ length: width * height * ch }, () => Math.floor(random() * (max + 1))),
  };
  if (colorType === 3) {
    const entries = 1 << bitDepth;
    spec.palette = Array.from({ length: entries }, () => [0, 0, 0].map(() => Math.floor(random() * 256)) as [number, number, number]);
  }
  return spec;
}

function checkDecodes(spec: PngSpec): void {
  const image = decodePng(encodePng(spec));
  const want = expected(spec);
  expect([image.width, image.height, image.channels]).toEqual([spec.width, spec.height, want.channels]);
  expect(image.data).toBeInstanceOf(Uint8Array);
  expect(Array.from(image.data)).toEqual(want.data);
}

describe('decodePng: every colour type, depth, filter, interlacing', () => {
  const random = rng(SEED);
  for (const colorType of [0, 2, 3, 4, 6] as const) {
    for (const depth of DEPTHS[colorType]!) {
      it(`colour type ${colorType}, ${depth}-bit, plain and Adam7, sizes 1×1 to 33×20, random filters`, () => {
        for (const [w, h] of [[1, 1], [3, 5], [8, 8], [9, 2], [17, 9], [33, 20], [2, 11]] as const) {
          for (const interlace of [false, true]) checkDecodes(randomSpec(random, colorType, depth, w, h, interlace));
        }
      });
    }
  }

  it('each filter type alone, on 8- and 16-bit RGBA and 2-bit gray', () => {
    for (const filter of [0, 1, 2, 3, 4] as const) {
      for (const [colorType, depth] of [[6, 8], [6, 16], [0, 2], [2, 8]] as const) {
        const spec = randomSpec(random, colorType, depth, 13, 7, false);
        spec.filter = filter;
        checkDecodes(spec);
        spec.interlace = true;
        checkDecodes(spec);
      }
    }
  });

  it('tRNS: palette alphas (fewer than the entries), gray and RGB colour keys at 8 and 16 bits', () => {
    const pal = randomSpec(random, 3, 4, 10, 6, false);
    pal.trns = [0, 128, 255, 7];
    checkDecodes(pal);
    for (const depth of [1, 2, 4, 8, 16]) {
      const gray = randomSpec(random, 0, depth, 9, 9, depth === 4);
      const key = gray.samples[3]!;
      gray.trns = [key >> 8, key & 255];
      checkDecodes(gray);
    }
    for (const depth of [8, 16]) {
      const rgb = randomSpec(random, 2, depth, 7, 5, false);
      rgb.samples.splice(9, 3, ...rgb.samples.slice(0, 3)); // pixel 3 = pixel 0: two pixels match the key
      rgb.trns = rgb.samples.slice(0, 3).flatMap((v) => [v >> 8, v & 255]);
      checkDecodes(rgb);
    }
  });

  it('a palette smaller than the bit depth allows; IDAT split into many chunks; ancillary chunks ignored', () => {
    const spec = randomSpec(random, 3, 8, 20, 20, true);
    spec.palette = spec.palette!.slice(0, 40);
    spec.samples = spec.samples.map((v) => v % 40);
    spec.idatChunks = 9;
    spec.extraChunks = [['tEXt', new TextEncoder().encode('Comment\0hi')], ['gAMA', new Uint8Array([0, 0, 177, 143])], ['zzZz', new Uint8Array(3)]];
    checkDecodes(spec);
  });

  it('a file without IEND that ends cleanly after its image data decodes (as in Pillow and browsers)', () => {
    const spec = randomSpec(random, 2, 8, 5, 4, false);
    const png = encodePng(spec);
    expect(decodePng(png.subarray(0, png.length - 12))).toEqual(decodePng(png));
  });

  it('palette indices past the end of PLTE read as black (as libpng and Pillow do)', () => {
    const spec = randomSpec(random, 3, 2, 4, 1, false);
    spec.palette = [[10, 20, 30]];
    spec.samples = [0, 1, 2, 3];
    expect(Array.from(decodePng(encodePng(spec)).data)).toEqual([10, 20, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('golden PNGs (written by Pillow)', () => {
  const manifest = JSON.parse(readFileSync(new URL('manifest.json', GOLDEN), 'utf8'));
  const channelsOf: Record<string, number> = { RGB: 3, RGBA: 4, L: 1 };
  for (const [name, c] of Object.entries(manifest.cases) as [string, { png: string; mode: string; size: [number, number]; pixels_first_row?: number[] }][]) {
    it(`${name}: ${c.mode} ${c.size.join('×')}`, async () => {
      const bytes = new Uint8Array(readFileSync(new URL(c.png, GOLDEN)));
      const image = await decodeImage(bytes);
      expect([image.width, image.height, image.channels]).toEqual([c.size[0], c.size[1], channelsOf[c.mode]]);
      if (c.pixels_first_row) expect(Array.from(image.data.subarray(0, c.pixels_first_row.length))).toEqual(c.pixels_first_row);
    });
  }
});

describe('decodeImage inputs', () => {
  const spec = randomSpec(rng(1), 2, 8, 4, 3, false);
  const png = encodePng(spec);

  it('Uint8Array, ArrayBuffer, Blob, and the sync form agree', async () => {
    const a = decodeImageSync(png);
    const b = await decodeImage(png.slice().buffer);
    const c = await decodeImage(new Blob([png as Uint8Array<ArrayBuffer>]));
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  it('ImageData-like pixels are copied, channels inferred or given', async () => {
    const rgba = new Uint8ClampedArray([1, 2, 3, 4, 5, 6, 7, 8]);
    const image = await decodeImage({ data: rgba, width: 2, height: 1 });
    expect(image).toEqual({ data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), width: 2, height: 1, channels: 4 });
    image.data[0] = 99;
    expect(rgba[0]).toBe(1);
    expect(decodeImageSync({ data: [9, 8, 7, 6], width: 2, height: 1, channels: 2 }).channels).toBe(2);
    expect(decodeImageSync({ data: new Uint8Array(6), width: 2, height: 1 }).channels).toBe(3);
  });

  it('bad inputs name what was expected', () => {
    expect(() => decodeImageSync('x.png' as unknown as Uint8Array)).toThrow(/image must be file bytes/);
    expect(() => decodeImageSync(new Float32Array(4) as unknown as Uint8Array)).toThrow(/Uint8Array or ArrayBuffer/);
    expect(() => decodeImageSync({ data: new Uint8Array(5), width: 2, height: 1 })).toThrow(/5 values, not 1 to 4 per pixel/);
    expect(() => decodeImageSync({ data: new Uint8Array(6), width: 2, height: 1, channels: 2 })).toThrow(/needs 4/);
    expect(() => decodeImageSync({ data: [300, 0], width: 1, height: 1 })).toThrow(/image.data\[0\] must be an integer from 0 to 255/);
    expect(() => decodeImageSync({ data: new Uint8Array(4), width: 0, height: 1 })).toThrow(/image.width/);
    expect(() => decodeImageSync(png, { maxPixels: 11 })).toThrow(/over the limit of 11/);
    expect(() => decodeImageSync(png, { maxPixel: 11 } as never)).toThrow(/unknown option "maxPixel"/);
    expect(() => decodeImageSync(new Uint8Array(0))).toThrow(/not a PNG or JPEG image: the input is empty/);
    expect(() => decodeImageSync(new TextEncoder().encode('GIF89a....'))).toThrow(/first bytes are 47 49 46 38/);
    expect(() => decodeImageSync(new TextEncoder().encode('<!DOCTYPE html>'))).toThrow(/HTML page/);
    expect(() => decodeImageSync(new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]))).toThrow(/this looks like a safetensors file: load it with loadSafetensors/);
  });
});

/** Rewrites chunk `index`'s data (recomputing its CRC) in a PNG. */
function patchChunk(png: Uint8Array, type: string, patch: (data: Uint8Array) => Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [png.subarray(0, 8)];
  let at = 8;
  while (at < png.length) {
    const length = new DataView(png.buffer, png.byteOffset).getUint32(at);
    const name = String.fromCharCode(...png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + length);
    parts.push(name === type ? chunk(name, patch(data.slice())) : png.subarray(at, at + 12 + length));
    at += 12 + length;
  }
  return concat(parts);
}

describe('malformed PNGs: clear ImageDecodeErrors', () => {
  const spec = randomSpec(rng(2), 6, 8, 16, 16, false);
  const png = encodePng(spec);
  const ihdr = (f: (d: DataView) => void): Uint8Array =>
    patchChunk(png, 'IHDR', (d) => {
      f(new DataView(d.buffer));
      return d;
    });
  const cases: [string, Uint8Array, RegExp][] = [
    ['a safetensors file', concat([new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0]), new TextEncoder().encode('{}')]), /not a PNG file: this looks like a safetensors file/],
    ['truncated after the signature', png.subarray(0, 10), /truncated file/],
    ['truncated in IDAT', png.subarray(0, png.length - 30), /truncated file: chunk IDAT/],
    ['cut inside IEND', png.subarray(0, png.length - 5), /truncated file: .* the chunk at byte/],
    ['no IEND, and the zlib stream cut at a chunk boundary', splitIdatAndDropLast(png), /corrupt image data \(inflate: truncated stream/],
    ['CRC flipped', (() => { const p = png.slice(); p[29]! ^= 1; return p; })(), /chunk IHDR at byte 8: CRC-32 mismatch/],
    ['zero width', ihdr((d) => d.setUint32(0, 0)), /width and height must be 1 to 2\^31 - 1, got 0×16/],
    ['2^31 height', ihdr((d) => d.setUint32(4, 2 ** 31)), /width and height must be/],
    ['huge declared size', ihdr((d) => { d.setUint32(0, 100000); d.setUint32(4, 100000); }), /over the limit of 67108864/],
    ['declared size larger than the data can hold', ihdr((d) => { d.setUint32(0, 4000); d.setUint32(4, 4000); }), /more than \d+ bytes of compressed IDAT data can hold/],
    ['declared size larger than the data', ihdr((d) => d.setUint32(4, 17)), /truncated image data|corrupt image data/],
    ['declared size smaller than the data', ihdr((d) => d.setUint32(4, 15)), /longer than maxLength/],
    ['bit depth 3', ihdr((d) => d.setUint8(8, 3)), /bit depth 3 is not allowed for colour type 6/],
    ['colour type 5', ihdr((d) => d.setUint8(9, 5)), /colour type 5 does not exist/],
    ['interlace 2', ihdr((d) => d.setUint8(12, 2)), /interlace method 2/],
    ['IHDR of 12 bytes', patchChunk(png, 'IHDR', (d) => d.subarray(0, 12)), /IHDR must have 13 bytes/],
    ['a critical unknown chunk', insertAfterIhdr(png, chunk('ABCD', new Uint8Array(1))), /unknown critical chunk ABCD/],
    ['palette without PLTE', encodeWithout(randomSpec(rng(3), 3, 8, 4, 4, false), 'PLTE'), /palette image without a PLTE chunk/],
    ['PLTE in a gray image', insertAfterIhdr(encodePng(randomSpec(rng(3), 0, 8, 4, 4, false)), chunk('PLTE', new Uint8Array(3))), /PLTE chunk in a gray image/],
    ['tRNS in an RGBA image', insertAfterIhdr(png, chunk('tRNS', new Uint8Array(6))), /tRNS chunk in a RGBA image/],
    ['no IDAT', concat([png.subarray(0, 33), chunk('IEND', new Uint8Array(0))]), /no IDAT chunk/],
    ['filter type 5', encodeRaw(spec, (raw) => { raw[0] = 5; }), /scanline 0 has filter type 5/],
    ['first chunk not IHDR', concat([png.subarray(0, 8), chunk('IEND', new Uint8Array(0))]), /first chunk must be IHDR, found IEND/],
  ];
  for (const [name, bytes, message] of cases) {
    it(name, () => {
      expect(() => decodePng(bytes)).toThrow(ImageDecodeError);
      expect(() => decodePng(bytes)).toThrow(message);
    });
  }
});

/** The PNG with its zlib stream split over two IDAT chunks, the second one and IEND dropped. */
function splitIdatAndDropLast(png: Uint8Array): Uint8Array {
  const split = patchChunk(png, 'IDAT', (d) => d.subarray(0, d.length >> 1));
  // The file now ends after the first half of the stream, at a chunk boundary, without IEND.
  return split.subarray(0, split.length - 12);
}

function insertAfterIhdr(png: Uint8Array, extra: Uint8Array): Uint8Array {
  return concat([png.subarray(0, 33), extra, png.subarray(33)]);
}

function encodeWithout(spec: PngSpec, type: string): Uint8Array {
  const png = encodePng(spec);
  const parts: Uint8Array[] = [png.subarray(0, 8)];
  let at = 8;
  while (at < png.length) {
    const length = new DataView(png.buffer, png.byteOffset).getUint32(at);
    if (String.fromCharCode(...png.subarray(at + 4, at + 8)) !== type) parts.push(png.subarray(at, at + 12 + length));
    at += 12 + length;
  }
  return concat(parts);
}

/** A PNG whose filtered data was altered by `edit` before compression. */
function encodeRaw(spec: PngSpec, edit: (raw: Uint8Array) => void): Uint8Array {
  const png = encodePng({ ...spec, filter: 0 });
  return patchChunk(png, 'IDAT', (d) => {
    const raw = new Uint8Array(zlib.inflateSync(d));
    edit(raw);
    return new Uint8Array(zlib.deflateSync(raw));
  });
}

describe('fuzzing the PNG decoder (fixed seed)', () => {
  it('truncations, byte flips (raw and with fixed CRCs), huge declared sizes: an image or an ImageDecodeError', () => {
    const random = rng(SEED + 7);
    const seeds = [
      encodePng(randomSpec(random, 6, 8, 24, 17, false)),
      encodePng(randomSpec(random, 3, 4, 19, 23, true)),
      encodePng({ ...randomSpec(random, 0, 16, 12, 12, true), idatChunks: 3 }),
      encodePng(randomSpec(random, 2, 8, 40, 9, false)),
    ];
    const counts = { cases: 0, decoded: 0, errors: 0 };
    const run = (bytes: Uint8Array): void => {
      counts.cases++;
      try {
        const image = decodePng(bytes);
        expect(image.data.length).toBe(image.width * image.height * image.channels);
        counts.decoded++;
      } catch (error) {
        if (!(error instanceof ImageDecodeError)) throw error;
        expect(error.message.length).toBeLessThan(300);
        counts.errors++;
      }
    };
    for (const png of seeds) for (let n = 0; n < png.length; n++) run(png.subarray(0, n));
    for (let i = 0; i < 3000; i++) {
      const png = seeds[i % seeds.length]!.slice();
      const at = 8 + Math.floor(random() * (png.length - 8));
      png[at]! ^= 1 << Math.floor(random() * 8);
      run(png);
      // The same flip with every CRC made right again, so it reaches the chunk parser and the decoder.
      run(fixCrcs(png));
    }
    for (let i = 0; i < 500; i++) {
      const png = seeds[i % seeds.length]!;
      const big = patchChunk(png, 'IHDR', (d) => {
        const view = new DataView(d.buffer);
        view.setUint32(0, Math.floor(random() * 2 ** 32));
        view.setUint32(4, Math.floor(random() * (random() < 0.5 ? 2 ** 32 : 64)));
        return d;
      });
      run(big);
    }
    console.log(`png fuzz: ${counts.cases} cases, ${counts.decoded} decoded, ${counts.errors} clean ImageDecodeErrors, 0 other outcomes`);
    const truncations = seeds.reduce((n, p) => n + p.length, 0);
    expect(counts.cases).toBe(truncations + 6500);
    expect(counts.decoded).toBeGreaterThan(100);
    expect(counts.errors).toBeGreaterThan(truncations);
  });
});

function fixCrcs(png: Uint8Array): Uint8Array {
  const out = png.slice();
  const view = new DataView(out.buffer);
  let at = 8;
  while (at + 12 <= out.length) {
    const length = view.getUint32(at);
    if (at + 12 + length > out.length) break;
    view.setUint32(at + 8 + length, crc32(out.subarray(at + 4, at + 8 + length)));
    at += 12 + length;
  }
  return out;
}
