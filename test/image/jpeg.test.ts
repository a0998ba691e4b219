/**
 * The JPEG decoder against Pillow (libjpeg-turbo) on files Pillow wrote: every subsampling, gray,
 * baseline, optimised and progressive, 16-bit tables, odd sizes (committed fixtures from
 * tools/gen-jpeg-fixtures.py) — pixel for pixel. Restart intervals with the test encoder (Pillow
 * cannot write them): the same pixels with and without. Malformed and unsupported files: clear
 * ImageDecodeErrors. A fixed-seed fuzzer.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ImageDecodeError, decodeImageSync } from '../../src/image/decode.js';
import { decodeJpeg } from '../../src/image/jpeg.js';
import { imageToTensor } from '../../src/image/preprocess.js';
import { inflateZlib } from '../../src/inflate.js';
import { rng } from '../helpers.js';
import { encodeJpeg } from './jpeg-encoder.js';

const FIXTURES = JSON.parse(readFileSync(new URL('../fixtures/image/jpeg-cases.json', import.meta.url), 'utf8')) as {
  cases: { name: string; jpeg: string; mode: string; size: [number, number]; pixelsZlib: string }[];
  transform: { image: string; resize: number; centerCrop: number; shape: [number, number, number]; hwcZlib: string };
};
const fromBase64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
/** Fixture pixels are stored zlib-compressed; the library's own inflate unpacks them. */
const unpack = (s: string): Uint8Array => inflateZlib(fromBase64(s), 1 << 20);
const jpegOf = (name: string): Uint8Array => fromBase64(FIXTURES.cases.find((c) => c.name === name)!.jpeg);

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe('JPEGs written by Pillow decode to the pixels Pillow (libjpeg-turbo) gives', () => {
  for (const c of FIXTURES.cases) {
    it(`${c.name} (${c.size.join('×')}, ${c.mode})`, () => {
      const image = decodeImageSync(fromBase64(c.jpeg));
      // Gray stays gray; colour and CMYK (compared with Pillow's convert('RGB')) are RGB.
      expect([image.width, image.height, image.channels]).toEqual([...c.size, c.mode === 'L' ? 1 : 3]);
      expect(firstDifference(image.data, unpack(c.pixelsZlib))).toBe(-1);
    });
  }

  it("torchvision's Resize + CenterCrop on a progressive 4:2:0 JPEG: identical uint8 values", () => {
    const t = FIXTURES.transform;
    const out = imageToTensor(jpegOf(t.image), { resize: t.resize, centerCrop: t.centerCrop, mean: null, std: null, layout: 'nhwc' });
    expect(out.shape).toEqual([1, ...t.shape]);
    const want = unpack(t.hwcZlib);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(out.data[i]! * 255 - want[i]!));
    expect(worst).toBeLessThan(1e-3);
  });

  it('a sequential file without EOI after its scan decodes (as in Pillow); a progressive one is truncated', () => {
    const bytes = jpegOf('420 q75');
    expect(decodeJpeg(bytes.subarray(0, bytes.length - 2))).toEqual(decodeJpeg(bytes));
    const progressive = jpegOf('422 progressive q30');
    expect(() => decodeJpeg(progressive.subarray(0, progressive.length - 2))).toThrow(/truncated file: no EOI marker/);
  });

  it('quantisation tables are latched at a component\'s first scan (a later DQT changes nothing), as in libjpeg', () => {
    const bytes = jpegOf('420 q75');
    const dqt = Uint8Array.from([0xff, 0xdb, 0, 67, 0, ...new Array<number>(64).fill(1)]);
    const redefined = new Uint8Array(bytes.length + dqt.length);
    redefined.set(bytes.subarray(0, bytes.length - 2));
    redefined.set(dqt, bytes.length - 2);
    redefined.set([0xff, 0xd9], bytes.length - 2 + dqt.length);
    expect(decodeJpeg(redefined)).toEqual(decodeJpeg(bytes));
  });

  it('SOF1 (extended sequential, 8-bit Huffman) decodes as SOF0', () => {
    const bytes = jpegOf('420 q75').slice();
    const at = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xc0);
    const baseline = decodeJpeg(bytes);
    bytes[at + 1] = 0xc1;
    expect(decodeJpeg(bytes)).toEqual(baseline);
  });
});

function picture(width: number, height: number, channels: 1 | 3 | 4, seed: number): Uint8Array {
  const random = rng(seed);
  return Uint8Array.from({ length: width * height * channels }, (_, i) => {
    const p = Math.floor(i / channels);
    const x = p % width;
    const y = Math.floor(p / width);
    return Math.max(0, Math.min(255, Math.round(128 + 80 * Math.sin(x / 4 + (i % channels)) * Math.cos(y / 5) + (random() - 0.5) * 30)));
  });
}

describe('restart intervals and progressive scans (written by the test encoder)', () => {
  const layouts: [string, 1 | 3, [number, number][] | undefined][] = [
    ['gray', 1, undefined],
    ['colour 4:4:4', 3, undefined],
    ['colour 4:2:0', 3, [[2, 2], [1, 1], [1, 1]]],
    ['colour 4:2:2', 3, [[2, 1], [1, 1], [1, 1]]],
    ['colour 1×2 chroma', 3, [[1, 2], [1, 1], [1, 1]]],
    ['colour 4:1:1 (4×1, replicated)', 3, [[4, 1], [1, 1], [1, 1]]],
  ];
  for (const [name, channels, sampling] of layouts) {
    it(`${name}: the same pixels with restart intervals as without, progressive as sequential; close to the source`, () => {
      const [w, h] = [35, 27];
      const pixels = picture(w, h, channels, 3);
      const plain = decodeJpeg(encodeJpeg({ width: w, height: h, channels, pixels, sampling }));
      expect([plain.width, plain.height, plain.channels]).toEqual([w, h, channels]);
      for (const restartInterval of [1, 2, 5, 7]) {
        const withRst = decodeJpeg(encodeJpeg({ width: w, height: h, channels, pixels, sampling, restartInterval }));
        expect(firstDifference(withRst.data, plain.data)).toBe(-1);
      }
      // The same coefficients sent progressively (DC in two passes, AC in two bands with
      // end-of-band runs), with and without restart intervals, give the same pixels.
      for (const restartInterval of [undefined, 1, 3, 4]) {
        const progressive = decodeJpeg(encodeJpeg({ width: w, height: h, channels, pixels, sampling, restartInterval, progressive: true }));
        expect(firstDifference(progressive.data, plain.data), `progressive, restart interval ${restartInterval}`).toBe(-1);
      }
      // Lossy, but close: the mean error of a fine quantiser (chroma subsampling adds some).
      let sum = 0;
      for (let i = 0; i < pixels.length; i++) sum += Math.abs(plain.data[i]! - pixels[i]!);
      expect(sum / pixels.length).toBeLessThan(sampling ? 12 : 3);
    });
  }
});

describe('colour spaces', () => {
  it("CMYK and YCCK JPEGs (Adobe transform 0 and 2) become the RGB of Pillow's convert('RGB')", () => {
    const [w, h] = [17, 9];
    const raw = picture(w, h, 4, 5);
    // Pillow reads libjpeg's CMYK as inverted (Adobe) samples, then R = nk − nk·C/255 with nk = 255 − K.
    const expected = new Float64Array(w * h * 3);
    for (let p = 0; p < w * h; p++) {
      const nk = raw[p * 4 + 3]!;
      for (let c = 0; c < 3; c++) expected[p * 3 + c] = nk - ((255 - raw[p * 4 + c]!) * nk) / 255;
    }
    for (const ycck of [false, true]) {
      const image = decodeJpeg(encodeJpeg({ width: w, height: h, channels: 4, pixels: raw, ycck, quant: 1 }));
      expect([image.width, image.height, image.channels]).toEqual([w, h, 3]);
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(image.data[i]! - expected[i]!));
      // quant 1: DCT and colour-conversion roundings only (the Pillow-written CMYK fixture above is exact).
      expect(worst, ycck ? 'YCCK' : 'CMYK').toBeLessThanOrEqual(ycck ? 4 : 2);
    }
  });

  it("RGB JPEGs (component ids 'R','G','B', or an Adobe marker with transform 0) are not YCbCr-converted", () => {
    const [w, h] = [19, 11];
    const pixels = picture(w, h, 3, 4);
    for (const rgb of ['ids', 'adobe'] as const) {
      const image = decodeJpeg(encodeJpeg({ width: w, height: h, channels: 3, pixels, rgb, quant: 1 }));
      let worst = 0;
      for (let i = 0; i < pixels.length; i++) worst = Math.max(worst, Math.abs(image.data[i]! - pixels[i]!));
      // quant 1: only the DCT roundings remain; a YCbCr conversion of RGB data would be far off.
      expect(worst, rgb).toBeLessThanOrEqual(2);
    }
  });
});

/** The byte offset of the first marker `code`. */
function markerAt(bytes: Uint8Array, code: number): number {
  for (let i = 0; i < bytes.length - 1; i++) if (bytes[i] === 0xff && bytes[i + 1] === code) return i;
  throw new Error(`no marker ${code.toString(16)}`);
}

function edited(bytes: Uint8Array, edit: (b: Uint8Array) => void): Uint8Array {
  const copy = bytes.slice();
  edit(copy);
  return copy;
}

describe('malformed and unsupported JPEGs: clear ImageDecodeErrors', () => {
  const base = jpegOf('420 q75');
  const sof = markerAt(base, 0xc0);
  const withRst = encodeJpeg({ width: 16, height: 16, channels: 3, pixels: picture(16, 16, 3, 1), restartInterval: 1 });
  const cases: [string, Uint8Array, RegExp][] = [
    ['a PNG', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]), /not a JPEG file: this looks like a PNG image/],
    ['truncated in the scan', base.subarray(0, base.length - 40), /truncated scan data|no EOI/],
    ['cut inside the last scan', base.subarray(0, base.length - 3), /truncated scan data/],
    ['truncated in a header', base.subarray(0, sof + 6), /truncated file: marker 0xc0/],
    ['lossless (SOF3)', edited(base, (b) => { b[sof + 1] = 0xc3; }), /lossless \(SOF3\) JPEG is not supported/],
    ['arithmetic (SOF9)', edited(base, (b) => { b[sof + 1] = 0xc9; }), /arithmetic-coded sequential \(SOF9\) JPEG is not supported/],
    ['12-bit', edited(base, (b) => { b[sof + 4] = 12; }), /12-bit samples are not supported/],
    ['height 0 (DNL)', edited(base, (b) => { b[sof + 5] = 0; b[sof + 6] = 0; }), /height is 0/],
    ['huge declared size', edited(base, (b) => { b.set([0xff, 0xff, 0xff, 0xff], sof + 5); }), /over the limit of 67108864/],
    ['declared size larger than the data can hold', edited(base, (b) => { b.set([0x10, 0x00, 0x10, 0x00], sof + 5); }), /more than \d+ bytes of data can encode/],
    ['sampling factor 5', edited(base, (b) => { b[sof + 11] = 0x51; }), /sampling factors 5×1 \(1 to 4 each\)/],
    ['fractional sampling (3×1 luma, 2×1 chroma)', edited(base, (b) => { b[sof + 11] = 0x31; b[sof + 14] = 0x21; b[sof + 17] = 0x21; }), /component 2 has sampling factors 2×1 against 3×1: fractional sampling/],
    ['an undefined quantisation table', edited(base, (b) => { b[sof + 12] = 3; }), /quantisation table 3, which was never defined/],
    ['an undefined Huffman table', edited(base, (b) => { const sos = markerAt(b, 0xda); b[sos + 6] = 0x33; }), /Huffman table 3, which was never defined/],
    ['a wrong restart marker', edited(withRst, (b) => { b[markerAt(b, 0xd0) + 1] = 0xd3; }), /expected restart marker RST0 after MCU 1, found marker 0xd3/],
    ['a missing restart marker', edited(withRst, (b) => { b[markerAt(b, 0xd0) + 1] = 0xd9; }), /expected restart marker RST0/],
    ['an empty file after SOI', new Uint8Array([0xff, 0xd8, 0xff]), /truncated file|no EOI/],
    ['EOI before any frame', new Uint8Array([0xff, 0xd8, 0xff, 0xd9]), /no frame header/],
  ];
  for (const [name, bytes, message] of cases) {
    it(name, () => {
      expect(() => decodeJpeg(bytes)).toThrow(ImageDecodeError);
      expect(() => decodeJpeg(bytes)).toThrow(message);
    });
  }

  it('more than 150 scans are refused (bounded time)', () => {
    // A progressive file whose AC scan of component 1 is repeated 200 times.
    const bytes = encodeJpeg({ width: 8, height: 8, channels: 1, pixels: picture(8, 8, 1, 2), progressive: true });
    const sos = [];
    for (let i = 0; i < bytes.length - 1; i++) if (bytes[i] === 0xff && bytes[i + 1] === 0xda) sos.push(i);
    const acScan = bytes.subarray(sos[1]!, sos[2]!);
    const parts = [bytes.subarray(0, sos[2]!), ...Array.from({ length: 200 }, () => acScan), bytes.subarray(sos[2]!)];
    const many = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      many.set(p, at);
      at += p.length;
    }
    expect(() => decodeJpeg(many)).toThrow(/more than 150 scans/);
    expect(decodeJpeg(bytes).width).toBe(8);
  });

  it('two components are refused by name', () => {
    // A 2-component SOF built by hand: the decoder refuses it before looking for scans.
    const bytes = Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0, 14, 8, 0, 8, 0, 8, 2, 1, 0x11, 0, 2, 0x11, 0, 0xff, 0xd9]);
    expect(() => decodeJpeg(bytes)).toThrow(/2 components \(1 gray, 3 colour or 4 CMYK\/YCCK are supported\)/);
  });
});

describe('fuzzing the JPEG decoder (fixed seed)', () => {
  it('truncations and byte flips: an image of the declared size or an ImageDecodeError', () => {
    const random = rng(20261207);
    const seeds = [
      jpegOf('420 q75'), jpegOf('422 progressive q30'), jpegOf('gray progressive'), jpegOf('444 q90'),
      encodeJpeg({ width: 20, height: 13, channels: 3, pixels: picture(20, 13, 3, 9), sampling: [[2, 2], [1, 1], [1, 1]], restartInterval: 2 }),
      encodeJpeg({ width: 21, height: 11, channels: 3, pixels: picture(21, 11, 3, 10), sampling: [[2, 1], [1, 1], [1, 1]], restartInterval: 3, progressive: true }),
    ];
    const counts = { cases: 0, decoded: 0, errors: 0 };
    const run = (bytes: Uint8Array): void => {
      counts.cases++;
      try {
        const image = decodeJpeg(bytes);
        expect(image.data.length).toBe(image.width * image.height * image.channels);
        counts.decoded++;
      } catch (error) {
        if (!(error instanceof ImageDecodeError)) throw error;
        expect(error.message.length).toBeLessThan(300);
        counts.errors++;
      }
    };
    for (const jpeg of seeds) for (let n = 0; n < jpeg.length; n += 3) run(jpeg.subarray(0, n));
    for (let i = 0; i < 3000; i++) {
      const jpeg = seeds[i % seeds.length]!.slice();
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) {
        const at = 2 + Math.floor(random() * (jpeg.length - 2));
        if (random() < 0.5) jpeg[at]! ^= 1 << Math.floor(random() * 8);
        else jpeg[at] = Math.floor(random() * 256);
      }
      run(jpeg);
    }
    console.log(`jpeg fuzz: ${counts.cases} cases, ${counts.decoded} decoded, ${counts.errors} clean ImageDecodeErrors, 0 other outcomes`);
    expect(counts.cases).toBe(seeds.reduce((n, s) => n + Math.ceil(s.length / 3), 0) + 3000);
    expect(counts.decoded).toBeGreaterThan(100);
    expect(counts.errors).toBeGreaterThan(1000);
  });
});
