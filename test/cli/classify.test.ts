/**
 * `sepconv classify` end to end without the internet: weights from a local .pth / .safetensors
 * file and from a URL on a local server (progress line, then the cache), a generated PNG, and the
 * printed classes checked against the library's own pipeline; then the usage and runtime errors.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../../src/cli/cli.js';
import {
  BatchNorm2d, Conv2d, Linear, decodeImage, exportOnnx, imageToTensor, imagenetClasses, saveSafetensors, saveTorchCheckpoint, shufflenetV2, softmax, topk,
} from '../../src/index.js';
import { startWeightsServer, type WeightsServer } from '../hub/server.js';

function capture(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
    writeFile: () => undefined,
  };
  return io;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A minimal RGB PNG (filter 0 rows, zlib via node:zlib): enough for a test image. */
function encodePng(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Uint8Array {
  const raw = new Uint8Array(height * (1 + 3 * width));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), y * (1 + 3 * width) + 1 + 3 * x);
  }
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return new Uint8Array(Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)),
  ]));
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

let dir: string;
let server: WeightsServer;
let image: string;
let imageBytes: Uint8Array;
let pth: string;
let safetensors: string;
let weightsUrl: string;
const model = shufflenetV2({ width: 0.5, seed: 11 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sepconv-classify-'));
  server = await startWeightsServer();
  imageBytes = encodePng(300, 240, (x, y) => [(x * 7) & 255, (y * 5) & 255, ((x + y) * 3) & 255]);
  image = join(dir, 'stripes.png');
  writeFileSync(image, imageBytes);
  // Fresh weights make the activations vanish layer after layer (equal logits for every image): one
  // train-mode pass with cumulative BatchNorm statistics sets each layer's running mean and variance
  // to those of a calibration image, so the answer depends on the image, as with trained weights.
  for (const m of model.modules()) if (m instanceof BatchNorm2d) (m as { momentum: number | null }).momentum = null;
  model.train().forward(imageToTensor(await decodeImage(encodePng(256, 256, (x, y) => [x & 255, (x ^ y) & 255, (y * 3) & 255]))));
  model.eval();
  const state = model.stateDict();
  const pthBytes = saveTorchCheckpoint(state);
  pth = join(dir, 'shufflenet.pth');
  writeFileSync(pth, pthBytes);
  safetensors = join(dir, 'shufflenet.safetensors');
  writeFileSync(safetensors, saveSafetensors(state));
  const name = `shufflenet-${sha256(pthBytes).slice(0, 8)}.pth`;
  server.files.set(name, pthBytes);
  weightsUrl = `${server.base}/ok/${name}`;
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The top classes the library gives for the test image with resize 256, crop 224. */
async function expectedTop(k: number): Promise<{ index: number; value: number }[]> {
  const x = imageToTensor(await decodeImage(imageBytes), { resize: 256, centerCrop: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  return topk(softmax(model.eval().forward(x)), k);
}

/** The ranked lines of the text output: [rank, index, label, percent]. */
function rankedLines(out: string): [number, number, string, number][] {
  return [...out.matchAll(/^ +(\d+)\. +(\d+) {2}(.+?) +([\d.]+)%$/gm)].map((m) => [Number(m[1]), Number(m[2]), m[3]!.trim(), Number(m[4])]);
}

describe('sepconv classify', () => {
  it('classifies with a local .pth file: index, label, probability and the time per step', async () => {
    const io = capture();
    expect(await main(['classify', '--arch', 'shufflenet_v2_x0_5', '--weights', pth, image, '--top', '3'], io)).toBe(0);
    const expected = await expectedTop(3);
    const lines = rankedLines(io.out);
    expect(lines.map((l) => l[0])).toEqual([1, 2, 3]);
    expect(lines.map((l) => l[1])).toEqual(expected.map((e) => e.index));
    expect(lines.map((l) => l[2])).toEqual(expected.map((e) => imagenetClasses[e.index]));
    lines.forEach((l, i) => expect(l[3]).toBeCloseTo(100 * expected[i]!.value, 2));
    expect(io.out).toContain(`${image} (300x240):`);
    expect(io.out).toMatch(/time: decode [\d.]+ ms, preprocess [\d.]+ ms, inference [\d.]+ ms/);
    expect(io.out).toContain('preprocessing: resize 256, crop 224, bilinear');
    expect(io.err).toBe('');
    expect(lines[0]![3]).toBeGreaterThan(1); // a peaked answer, not a near-uniform one
  });

  it('answers differently for a different image (the image is really read)', async () => {
    const other = join(dir, 'other.png');
    writeFileSync(other, encodePng(200, 260, (x, y) => [255 - ((x * 3) & 255), (x * y) & 255, (y * 11) & 255]));
    const a = capture();
    const b = capture();
    await main(['classify', '--arch', 'shufflenet_v2_x0_5', '--weights', pth, image], a);
    await main(['classify', '--arch', 'shufflenet_v2_x0_5', '--weights', pth, other], b);
    expect(rankedLines(a.out).map((l) => [l[1], l[3]])).not.toEqual(rankedLines(b.out).map((l) => [l[1], l[3]]));
  });

  it('gives the same answer from a .safetensors file, for several images, and as JSON', async () => {
    const io = capture();
    expect(await main(['classify', '--arch=shufflenet_v2_x0_5', `--weights=${safetensors}`, image, image, '--json'], io)).toBe(0);
    const report = JSON.parse(io.out) as { results: { image: string; top: { index: number; label: string; probability: number }[] }[] };
    expect(report.results).toHaveLength(2);
    const expected = await expectedTop(5);
    for (const r of report.results) {
      expect(r.top.map((p) => p.index)).toEqual(expected.map((e) => e.index));
      r.top.forEach((p, i) => expect(p.probability).toBeCloseTo(expected[i]!.value, 6));
    }
  });

  it('downloads from a URL with a progress line, then takes the file from the cache', async () => {
    const cacheDir = join(dir, 'cache');
    const first = capture();
    expect(await main(['classify', '--arch', 'shufflenet_v2_x0_5', '--weights', weightsUrl, '--cache-dir', cacheDir, image], first)).toBe(0);
    const name = weightsUrl.split('/').pop()!;
    expect(first.err).toMatch(new RegExp(`^\\rdownloading ${name.replace(/\./g, '\\.')}: 0% of [\\d.]+ MB.*\\rdownloading ${name.replace(/\./g, '\\.')}: 100% of [\\d.]+ MB\\n$`, 's'));
    expect(first.out).toContain('weights: downloaded');
    expect(readdirSync(cacheDir)).toEqual([name]);
    const second = capture();
    expect(await main(['classify', '--arch', 'shufflenet_v2_x0_5', '--weights', weightsUrl, '--cache-dir', cacheDir, image], second)).toBe(0);
    expect(second.err).toBe('');
    expect(second.out).toContain(`weights: from ${join(cacheDir, name)}`);
    expect(rankedLines(second.out)).toEqual(rankedLines(first.out));
    expect(server.requests.get(`/ok/${name}`)).toBe(1);
  });

  it('classifies with an ONNX file exported from the same model: the same answer', async () => {
    const onnx = join(dir, 'shufflenet.onnx');
    writeFileSync(onnx, exportOnnx(model.eval(), [1, 3, 224, 224]));
    const io = capture();
    expect(await main(['classify', onnx, image, '--top', '3'], io)).toBe(0);
    expect(io.out).toContain(`model: ${onnx} (ONNX, input [1, 3, 224, 224])`);
    expect(io.out).toContain('preprocessing: resize 256, crop 224, bilinear');
    const expected = await expectedTop(3);
    const lines = rankedLines(io.out);
    expect(lines.map((l) => l[1])).toEqual(expected.map((e) => e.index));
    expect(lines.map((l) => l[2])).toEqual(expected.map((e) => imagenetClasses[e.index]));
    lines.forEach((l, i) => expect(l[3]).toBeCloseTo(100 * expected[i]!.value, 2));
  });

  it('takes an ONNX model\'s own input size as the crop (resize at torchvision\'s 256/224), with any batch dimension', async () => {
    const onnx = join(dir, 'shufflenet-160.onnx');
    writeFileSync(onnx, exportOnnx(model.eval(), [1, 3, 160, 160], { dynamicBatch: true }));
    const io = capture();
    expect(await main(['classify', onnx, image, '--json'], io)).toBe(0);
    const report = JSON.parse(io.out) as { model: string; weights: null; preprocessing: { resize: number; centerCrop: number }; results: { top: unknown[] }[] };
    expect(report.model).toBe(onnx);
    expect(report.weights).toBeNull();
    expect(report.preprocessing).toMatchObject({ resize: 183, centerCrop: 160 });
    expect(report.results[0]!.top).toHaveLength(5);
  });

  it('ONNX errors: with --arch (usage), a model that is no image classifier, a file that is no ONNX model', async () => {
    const onnx = join(dir, 'shufflenet.onnx');
    const withArch = capture();
    expect(await main(['classify', onnx, '--arch', 'mobilenet_v2', image], withArch)).toBe(2);
    expect(withArch.err).toContain('an ONNX file is the whole model: give it without --arch and --weights');
    const missing = capture();
    expect(await main(['classify', join(dir, 'missing.onnx'), image], missing)).toBe(2);
    expect(missing.err).toMatch(/cannot read the ONNX model ".*missing\.onnx"/);

    const linear = join(dir, 'linear.onnx');
    writeFileSync(linear, exportOnnx(new Linear(4, 2, { seed: 0 }), [1, 4]));
    const notImage = capture();
    expect(await main(['classify', linear, image], notImage)).toBe(1);
    expect(notImage.err).toMatch(/linear\.onnx: classify needs a model with one image input \[N, 3, H, W\]; this one has input \[1, 4\]/);

    // Per-pixel scores (a fully convolutional model) are no classification.
    const conv = join(dir, 'conv.onnx');
    writeFileSync(conv, exportOnnx(new Conv2d({ inChannels: 3, outChannels: 5, kernelSize: 3, seed: 0 }), [1, 3, 16, 16]));
    const perPixel = capture();
    expect(await main(['classify', conv, image], perPixel)).toBe(1);
    expect(perPixel.err).toMatch(/conv\.onnx: classify needs class scores \[1, C\] from the model, got an output of shape \[1, 5, 14, 14\]/);

    const fake = join(dir, 'fake.onnx');
    writeFileSync(fake, 'not protobuf at all');
    const junk = capture();
    expect(await main(['classify', fake, image], junk)).toBe(1);
    expect(junk.err).toMatch(/sepconv classify: error: .*fake\.onnx: /);
  });

  it('lists its flags in help', async () => {
    const io = capture();
    expect(await main(['help', 'classify'], io)).toBe(0);
    expect(io.out).toContain('--arch');
    expect(io.out).toContain('--weights');
    expect(io.out).toContain('--top');
    const all = capture();
    await main(['help'], all);
    expect(all.out).toContain('sepconv classify');
  });

  it('usage errors exit 2 and name the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['classify', image], /--arch is required/],
      [['classify', '--arch', 'shufflenet_v2_x0_5', '--weights', pth], /give one or more image files/],
      [['classify', '--arch', 'resnet50', image], /--arch must be one of mobilenet_v2/],
      [['classify', '--arch', 'mobilenet_v3_small', '--weights', 'IMAGENET1K_V2', image], /mobilenet_v3_small has weight sets IMAGENET1K_V1, DEFAULT, got "IMAGENET1K_V2"/],
      [['classify', '--arch', 'mobilenet_v2', '--weights', 'https://example.com/weights.pth', image], /file name must end in -<first 8 or more hex digits/],
      [['classify', '--arch', 'mobilenet_v2', '--weights', join(dir, 'missing.pth'), image], /--weights ".*missing\.pth" is not a weight set .*, an http\(s\) URL or a readable file/],
      [['classify', '--arch', 'shufflenet_v2_x0_5', '--weights', pth, '--resize', '200', image], /--crop 224 is larger than --resize 200/],
      [['classify', '--arch', 'shufflenet_v2_x0_5', '--top', '0', image], /--top must be an integer from 1 to 1000/],
    ];
    for (const [argv, message] of cases) {
      const io = capture();
      expect(await main(argv, io), argv.join(' ')).toBe(2);
      expect(io.err, argv.join(' ')).toMatch(message);
      expect(io.err).toContain("Run 'sepconv help classify' for usage.");
      expect(io.out).toBe('');
    }
  });

  it('runtime errors exit 1: an HTTP error names the URL, weights of another model, an unreadable image', async () => {
    const missing = `${server.base}/ok/gone-0123abcd.pth`;
    const io404 = capture();
    expect(await main(['classify', '--arch', 'shufflenet_v2_x0_5', '--weights', missing, '--no-cache', image], io404)).toBe(1);
    expect(io404.err).toContain(`sepconv classify: error: ${missing}: download failed: HTTP 404 Not Found`);

    const wrong = capture();
    expect(await main(['classify', '--arch', 'mnasnet0_5', '--weights', pth, image], wrong)).toBe(1);
    expect(wrong.err).toMatch(/the weights do not fit MNASNet/);

    // A file named by its hash prefix (as torchvision's downloads are) whose bytes do not match it.
    const misnamed = join(dir, 'shufflenetv2-0123abcd.pth');
    writeFileSync(misnamed, readFileSync(pth));
    const hashed = capture();
    expect(await main(['classify', '--arch', 'shufflenet_v2_x0_5', '--weights', misnamed, image], hashed)).toBe(1);
    expect(hashed.err).toMatch(/shufflenetv2-0123abcd\.pth: its SHA-256 is [0-9a-f]{64}, its name says it starts with 0123abcd/);

    const garbage = join(dir, 'garbage.pth');
    writeFileSync(garbage, new Uint8Array(100));
    const junk = capture();
    expect(await main(['classify', '--arch', 'shufflenet_v2_x0_5', '--weights', garbage, image], junk)).toBe(1);
    expect(junk.err).toMatch(/garbage\.pth: not a \.pth or \.safetensors file/);

    const notImage = join(dir, 'not-an-image.png');
    writeFileSync(notImage, 'hello');
    const bad = capture();
    expect(await main(['classify', '--arch', 'shufflenet_v2_x0_5', '--weights', pth, notImage], bad)).toBe(1);
    expect(bad.err).toMatch(/sepconv classify: error: .*not-an-image\.png/);
  });
});
