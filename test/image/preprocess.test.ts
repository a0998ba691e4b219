/**
 * imageToTensor against torchvision: the golden ImageNet-preprocessed tensors (bit for bit), and
 * Pillow/torchvision's Resize + CenterCrop on small images of every mode (committed fixtures from
 * tools/gen-image-fixtures.py); the resize against a slow floating-point reference of the same
 * filter; the options' checks.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeImageSync } from '../../src/image/decode.js';
import { inflateZlib } from '../../src/inflate.js';
import { IMAGENET_MEAN, IMAGENET_STD, imageToTensor, resizedSize } from '../../src/image/preprocess.js';
import { resizePil } from '../../src/image/resize.js';
import { rng } from '../helpers.js';

const GOLDEN = new URL('../fixtures/golden/image/', import.meta.url);
const FIXTURES = JSON.parse(readFileSync(new URL('../fixtures/image/pil-cases.json', import.meta.url), 'utf8')) as {
  images: { name: string; png: string; mode: string; size: [number, number]; pixelsZlib: string }[];
  transforms: { image: string; resize: number | [number, number]; centerCrop: number | [number, number]; interpolation: 'bilinear' | 'bicubic'; shape: [number, number, number]; hwcZlib: string }[];
};
const fromBase64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
/** Fixture pixels are stored zlib-compressed; the library's own inflate unpacks them. */
const unpack = (s: string): Uint8Array => inflateZlib(fromBase64(s), 1 << 20);

describe('golden: torchvision Resize(256), CenterCrop(224), ToTensor, Normalize', () => {
  const manifest = JSON.parse(readFileSync(new URL('manifest.json', GOLDEN), 'utf8'));
  for (const [name, c] of Object.entries(manifest.cases) as [string, { png: string; preprocessed?: { file: string; shape: number[] } }][]) {
    if (!c.preprocessed) continue;
    it(`${name}: identical to torchvision's tensor (worst error before Normalize: 0)`, () => {
      const png = new Uint8Array(readFileSync(new URL(c.png, GOLDEN)));
      const bytes = readFileSync(new URL(c.preprocessed!.file, GOLDEN));
      const want = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      const t = imageToTensor(png);
      expect(t.shape).toEqual(c.preprocessed!.shape);
      const plane = t.shape[2]! * t.shape[3]!;
      let worst = 0;
      for (let i = 0; i < want.length; i++) {
        const c = Math.floor(i / plane);
        worst = Math.max(worst, Math.abs(t.data[i]! - want[i]!) * IMAGENET_STD[c]! * 255);
      }
      // In units of 1/255 before Normalize; the brief allows ~1, PIL's fixed-point arithmetic reproduced gives 0.
      expect(worst).toBe(0);
    });
  }
});

describe("Pillow's decoding of the PNGs it writes", () => {
  const channelsOf: Record<string, number> = { RGB: 3, RGBA: 4, L: 1, LA: 2, '1': 1 };
  for (const c of FIXTURES.images) {
    it(`${c.name} (Pillow mode ${c.mode})`, () => {
      const image = decodeImageSync(fromBase64(c.png));
      const pixels = unpack(c.pixelsZlib);
      expect([image.width, image.height]).toEqual(c.size);
      const channels = c.mode === 'P' ? pixels.length / (c.size[0] * c.size[1]) : channelsOf[c.mode];
      expect(image.channels).toBe(channels);
      expect(Buffer.from(image.data).equals(Buffer.from(pixels))).toBe(true);
    });
  }
});

describe('torchvision Resize + CenterCrop on Pillow images of every mode (uint8, before ToTensor)', () => {
  for (const c of FIXTURES.transforms) {
    it(`${c.image}: Resize(${JSON.stringify(c.resize)}, ${c.interpolation}), CenterCrop(${JSON.stringify(c.centerCrop)})`, () => {
      const png = fromBase64(FIXTURES.images.find((i) => i.name === c.image)!.png);
      const t = imageToTensor(png, { resize: c.resize, centerCrop: c.centerCrop, interpolation: c.interpolation, mean: null, std: null, layout: 'nhwc' });
      const [h, w] = c.shape;
      expect(t.shape).toEqual([1, h, w, 3]);
      const want = unpack(c.hwcZlib);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(t.data[i]! * 255 - want[i]!));
      expect(worst).toBeLessThan(1e-3); // identical uint8 values (t = v / 255 in float32)
    });
  }
});

const KERNELS = {
  bilinear: { support: 1, f: (t: number): number => (t < 1 ? 1 - t : 0) },
  // Keys' cubic convolution, a = -0.5, written out from its definition.
  bicubic: { support: 2, f: (t: number): number => (t < 1 ? 1.5 * t ** 3 - 2.5 * t ** 2 + 1 : t < 2 ? -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2 : 0) },
};

/**
 * The filter in plain floating point, one output sample at a time, every source pixel considered
 * (clamped to 0..255 after each pass, as any 8-bit two-pass resize must, but not rounded).
 */
function referenceResize(src: Uint8Array, w: number, h: number, ch: number, ow: number, oh: number, filter: 'bilinear' | 'bicubic'): Float64Array {
  const kernel = KERNELS[filter];
  const clamp = (v: number): number => Math.min(255, Math.max(0, v));
  const weights = (inSize: number, outSize: number, o: number): [number, number][] => {
    const scale = inSize / outSize;
    const stretch = Math.max(scale, 1);
    const center = (o + 0.5) * scale;
    const list: [number, number][] = [];
    let total = 0;
    for (let i = 0; i < inSize; i++) {
      const t = Math.abs((i + 0.5 - center) / stretch);
      if (t < kernel.support) {
        list.push([i, kernel.f(t)]);
        total += kernel.f(t);
      }
    }
    return list.map(([i, v]) => [i, v / total]);
  };
  const tmp = new Float64Array(ow * h * ch);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      for (const [i, v] of ow === w ? [[x, 1] as [number, number]] : weights(w, ow, x)) {
        for (let c = 0; c < ch; c++) tmp[(y * ow + x) * ch + c]! += src[(y * w + i) * ch + c]! * v;
      }
    }
  }
  if (ow !== w) for (let i = 0; i < tmp.length; i++) tmp[i] = clamp(tmp[i]!);
  const out = new Float64Array(ow * oh * ch);
  for (let y = 0; y < oh; y++) {
    for (const [i, v] of oh === h ? [[y, 1] as [number, number]] : weights(h, oh, y)) {
      for (let k = 0; k < ow * ch; k++) out[y * ow * ch + k]! += tmp[i * ow * ch + k]! * v;
    }
  }
  if (oh !== h) for (let i = 0; i < out.length; i++) out[i] = clamp(out[i]!);
  return out;
}

describe('resizePil against a floating-point reference of the same filter', () => {
  it('bilinear, random images and sizes, up and down: within 1 (the two uint8 roundings)', () => {
    const random = rng(99);
    for (let trial = 0; trial < 40; trial++) {
      const w = 1 + Math.floor(random() * 40);
      const h = 1 + Math.floor(random() * 40);
      const ch = 1 + Math.floor(random() * 4);
      const ow = 1 + Math.floor(random() * 50);
      const oh = 1 + Math.floor(random() * 50);
      const src = Uint8Array.from({ length: w * h * ch }, () => Math.floor(random() * 256));
      const got = resizePil(src, w, h, ch, ow, oh);
      const want = referenceResize(src, w, h, ch, ow, oh, 'bilinear');
      expect(got.length).toBe(want.length);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      expect(worst, `${w}×${h}×${ch} → ${ow}×${oh}`).toBeLessThanOrEqual(1.001); // 0.5 per pass, plus the 2^-22 fixed-point weights
    }
  });

  it('bicubic, random images and sizes: within 1.5 (the first rounding is amplified by the negative lobes)', () => {
    const random = rng(100);
    for (let trial = 0; trial < 40; trial++) {
      const w = 1 + Math.floor(random() * 40);
      const h = 1 + Math.floor(random() * 40);
      const ch = 1 + Math.floor(random() * 4);
      const ow = 1 + Math.floor(random() * 50);
      const oh = 1 + Math.floor(random() * 50);
      const src = Uint8Array.from({ length: w * h * ch }, () => Math.floor(random() * 256));
      const got = resizePil(src, w, h, ch, ow, oh, 'bicubic');
      const want = referenceResize(src, w, h, ch, ow, oh, 'bicubic');
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      expect(worst, `${w}×${h}×${ch} → ${ow}×${oh}`).toBeLessThanOrEqual(1.5);
    }
  });

  it('the same size is a copy', () => {
    const src = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const out = resizePil(src, 2, 1, 3, 2, 1);
    expect(out).toEqual(src);
    expect(out).not.toBe(src);
  });
});

describe('imageToTensor', () => {
  const pixels = { data: Uint8Array.from({ length: 6 * 4 * 3 }, (_, i) => (i * 37) % 256), width: 6, height: 4, channels: 3 as const };

  it("torchvision's output sizes: int(size * long / short), the shorter side first", () => {
    expect(resizedSize(313, 200, 256)).toEqual([400, 256]);
    expect(resizedSize(260, 390, 256)).toEqual([256, 384]);
    expect(resizedSize(100, 100, 7)).toEqual([7, 7]);
    expect(resizedSize(3, 1000, 2)).toEqual([2, 666]);
    expect(resizedSize(50, 40, [10, 20])).toEqual([20, 10]);
  });

  it('layouts, no resize, no crop, no normalisation: exactly v / 255', () => {
    const nchw = imageToTensor(pixels, { resize: null, centerCrop: null, mean: null, std: null });
    expect(nchw.shape).toEqual([1, 3, 4, 6]);
    const nhwc = imageToTensor(pixels, { resize: null, centerCrop: null, mean: null, std: null, layout: 'nhwc' });
    expect(nhwc.shape).toEqual([1, 4, 6, 3]);
    for (let i = 0; i < 72; i++) {
      expect(nhwc.data[i]).toBe(Math.fround(pixels.data[i]! / 255));
      const p = Math.floor(i / 3);
      expect(nchw.data[(i % 3) * 24 + p]).toBe(nhwc.data[i]);
    }
  });

  it('Normalize in float32 as torch computes it', () => {
    const t = imageToTensor({ data: new Uint8Array([0, 128, 255]), width: 1, height: 1 }, { resize: null, centerCrop: null });
    const f = Math.fround;
    const want = [0, 128, 255].map((v, c) => f(f(f(v / 255) - f(IMAGENET_MEAN[c]!)) / f(IMAGENET_STD[c]!)));
    expect(Array.from(t.data)).toEqual(want);
  });

  it('gray and RGBA inputs become RGB (replicated; alpha dropped, not composited)', () => {
    const gray = imageToTensor({ data: new Uint8Array([10, 20]), width: 2, height: 1, channels: 1 }, { resize: null, centerCrop: null, mean: null, std: null, layout: 'nhwc' });
    expect(Array.from(gray.data, (v) => Math.round(v * 255))).toEqual([10, 10, 10, 20, 20, 20]);
    const rgba = imageToTensor({ data: new Uint8Array([1, 2, 3, 0]), width: 1, height: 1 }, { resize: null, centerCrop: null, mean: null, std: null, layout: 'nhwc' });
    expect(Array.from(rgba.data, (v) => Math.round(v * 255))).toEqual([1, 2, 3]);
  });

  it('does not modify its input', () => {
    const copy = pixels.data.slice();
    imageToTensor(pixels, { resize: 9, centerCrop: 5 });
    expect(pixels.data).toEqual(copy);
  });

  it('bad options name the option and the value', () => {
    expect(() => imageToTensor(pixels, { resize: 0 })).toThrow(/options.resize must be a positive integer/);
    expect(() => imageToTensor(pixels, { resize: [1, 2, 3] as never })).toThrow(/options.resize must be a positive integer, \[height, width\] or null/);
    expect(() => imageToTensor(pixels, { centerCrop: 2.5 })).toThrow(/options.centerCrop/);
    expect(() => imageToTensor(pixels, { mean: [0, 0] })).toThrow(/options.mean must be an array of 3 numbers/);
    expect(() => imageToTensor(pixels, { std: [1, 0, 1] })).toThrow(/options.std\[1\] must be a positive number/);
    expect(() => imageToTensor(pixels, { layout: 'chw' as 'nchw' })).toThrow(/options.layout must be one of 'nchw', 'nhwc'/);
    expect(() => imageToTensor(pixels, { size: 3 } as never)).toThrow(/unknown option "size"/);
    expect(() => imageToTensor(pixels, { interpolation: 'lanczos' as 'bicubic' })).toThrow(/options.interpolation must be one of 'bilinear', 'bicubic'/);
    expect(() => imageToTensor({ data: new Uint8Array(3), width: 1, height: 1 }, { resize: [60000, 60000] })).toThrow(/over 2\^28 samples/);
    expect(() => imageToTensor('cat.png' as never)).toThrow(/image must be file bytes/);
    expect(() => imageToTensor(pixels, { centerCrop: [60000, 60000] })).toThrow(/a 60000×60000 crop would need 10800000000 elements, over 2\^28/);
  });
});
