/**
 * `sepconv classify --arch mobilenet_v2 --weights IMAGENET1K_V2 photo.jpg [--top 5]`: an image file
 * in, the model's top classes out (index, ImageNet label, probability) and how long each step took.
 * `--weights` is one of torchvision's weight sets (downloaded, checked and cached, with a progress
 * line on stderr), an http(s) URL named by its hash prefix, or a local .pth / .safetensors file.
 * `sepconv classify model.onnx photo.jpg` does the same with an ONNX classifier.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeImage } from '../image/decode.js';
import { imagenetClasses } from '../image/imagenet-classes.js';
import { softmax, topk } from '../image/classify.js';
import { IMAGENET_MEAN, IMAGENET_STD, imageToTensor } from '../image/preprocess.js';
import { loadSafetensors } from '../io/safetensors.js';
import { sniffFormat, wrongFormatHint } from '../sniff.js';
import { loadTorchCheckpoint } from '../io/torch-checkpoint.js';
import { buildArch, type PretrainedModel } from '../hub/architectures.js';
import { loadOnnx, type OnnxModel } from '../onnx/model.js';
import type { DownloadProgress } from '../hub/download.js';
import { sha256Hex } from '../hub/host.js';
import { fetchPretrainedFile, parseWeightsFile, sourceOfUrl } from '../hub/pretrained.js';
import { findWeights, PRETRAINED_ARCHS, PRETRAINED_WEIGHTS, pretrainedWeights, sha256PrefixOfFileName, type PretrainedArch, type PretrainedWeights, type Preprocessing } from '../hub/weights.js';
import type { Module } from '../layers/module.js';
import type { Tensor } from '../tensor.js';
import { parseFlags, UsageError, type FlagSpecs } from './args.js';
import type { CliIo } from './args.js';

export const CLASSIFY_FLAGS: FlagSpecs = {
  arch: { type: 'string', choices: PRETRAINED_ARCHS, valueName: 'name', help: `the model (${PRETRAINED_ARCHS.join(', ')})` },
  weights: {
    type: 'string', valueName: 'set|url|file', default: 'DEFAULT',
    help: 'IMAGENET1K_V1, IMAGENET1K_V2 or DEFAULT (torchvision\'s, downloaded and cached), an http(s) URL ending in -<sha256 prefix>.pth, or a .pth/.safetensors file',
  },
  top: { type: 'int', min: 1, max: 1000, default: 5, help: 'how many classes to print' },
  resize: { type: 'int', min: 1, max: 8192, help: 'resize the shorter side to this (default: the weight set\'s, else 256)' },
  crop: { type: 'int', min: 1, max: 8192, help: 'center crop size (default: the weight set\'s, else 224)' },
  'cache-dir': { type: 'string', valueName: 'dir', help: 'where downloads are kept (default $SEPCONV_CACHE, else the platform cache folder)' },
  'no-cache': { type: 'boolean', help: 'download again and keep nothing' },
  json: { type: 'boolean', help: 'print machine-readable JSON instead of text' },
};

export const CLASSIFY_SUMMARY = 'classify image files (PNG, JPEG) with a zoo model and its weights (sepconv classify --arch mobilenet_v2 --weights IMAGENET1K_V2 photo.jpg) or an ONNX model (sepconv classify model.onnx photo.jpg)';

const WEIGHT_SETS = ['DEFAULT', 'IMAGENET1K_V1', 'IMAGENET1K_V2'];

/** Splits argv into flags (with their values) and positional image paths. */
function splitArguments(args: readonly string[]): { flags: string[]; images: string[] } {
  const flags: string[] = [];
  const images: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      images.push(arg);
      continue;
    }
    flags.push(arg);
    const name = arg.slice(2).split('=')[0]!;
    const spec = Object.prototype.hasOwnProperty.call(CLASSIFY_FLAGS, name) ? CLASSIFY_FLAGS[name] : undefined;
    if (!arg.includes('=') && spec !== undefined && spec.type !== 'boolean' && i + 1 < args.length && !args[i + 1]!.startsWith('--')) flags.push(args[++i]!);
  }
  return { flags, images };
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** A progress line on stderr, rewritten in place (carriage return) at most every 5% or 2 MB. */
function progressLine(io: CliIo): { onProgress(p: DownloadProgress): void; end(): void } {
  let shown = -1;
  let started = false;
  return {
    onProgress(p) {
      const name = p.url.split('/').pop();
      const step = p.totalBytes === null ? Math.floor(p.receivedBytes / 2e6) : Math.floor((p.receivedBytes / Math.max(1, p.totalBytes)) * 20);
      const done = p.totalBytes !== null && p.receivedBytes === p.totalBytes;
      if (step === shown && !done) return;
      shown = step;
      started = true;
      const amount = p.totalBytes === null
        ? `${megabytes(p.receivedBytes)} MB`
        : `${Math.floor((100 * p.receivedBytes) / Math.max(1, p.totalBytes))}% of ${megabytes(p.totalBytes)} MB`;
      io.stderr(`\rdownloading ${name}: ${amount}`);
    },
    end() {
      if (started) io.stderr('\n');
      started = false;
    },
  };
}

interface LoadedWeights {
  model: PretrainedModel | OnnxModel;
  /** The table's entry when the weights are one of torchvision's sets (named, by URL, or a file of that name). */
  weights: PretrainedWeights | null;
  /** Where they came from: 'download', a cached file, or the file given. */
  source: string;
  ms: number;
}

async function loadWeights(arch: PretrainedArch, spec: string, numClasses: number, flags: Record<string, unknown>, io: CliIo): Promise<LoadedWeights> {
  const start = performance.now();
  const model = buildArch(arch, { numClasses, seed: 0 });
  const options = {
    ...(typeof flags['cache-dir'] === 'string' ? { cacheDir: flags['cache-dir'] } : {}),
    cache: !flags['no-cache'],
  };
  if (WEIGHT_SETS.includes(spec) || /^https?:\/\//i.test(spec)) {
    const progress = progressLine(io);
    let fetched;
    try {
      fetched = WEIGHT_SETS.includes(spec)
        ? await fetchPretrainedFile(pretrainedWeights(arch, spec), undefined, { ...options, onProgress: progress.onProgress })
        : await fetchPretrainedFile(spec, undefined, { ...options, onProgress: progress.onProgress });
    } finally {
      progress.end();
    }
    // Verified bytes, and where they came from (shown in the output).
    loadInto(model, parseWeightsFile(fetched.bytes, fetched.url), fetched.url);
    return { model, weights: fetched.weights, source: fetched.source, ms: performance.now() - start };
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(spec));
  } catch (error) {
    throw new UsageError(`--weights ${JSON.stringify(spec)} is not a weight set (${WEIGHT_SETS.join(', ')}), an http(s) URL or a readable file: ${(error as Error).message}`);
  }
  // A file named by torch hub's convention (as downloaded from torchvision) is checked as a download would be.
  const prefix = sha256PrefixOfFileName(basename(spec));
  if (prefix !== null) {
    const digest = await sha256Hex(bytes);
    if (!digest.startsWith(prefix)) throw new Error(`${spec}: its SHA-256 is ${digest}, its name says it starts with ${prefix} (a truncated or corrupted download?)`);
  }
  const format = sniffFormat(bytes);
  let dict: Parameters<Module['loadStateDict']>[0];
  try {
    if (format === 'torch-zip' || format === 'torch-legacy') dict = loadTorchCheckpoint(bytes);
    else if (format === 'safetensors') dict = loadSafetensors(bytes);
    else {
      const hint = wrongFormatHint(bytes, ['torch-zip', 'safetensors']);
      throw new Error(`not a .pth or .safetensors file${hint === null ? '' : `: ${hint}`}`);
    }
  } catch (error) {
    throw new Error(`${spec}: ${(error as Error).message}`, { cause: error });
  }
  loadInto(model, dict, spec);
  // A file with the name of one of torchvision's files is that file (for its preprocessing and description).
  const known = PRETRAINED_WEIGHTS.find((w) => w.arch === arch && w.fileName === basename(spec)) ?? null;
  return { model, weights: known, source: spec, ms: performance.now() - start };
}

/** An ONNX classifier from a file: one [N, 3, H, W] input; its fixed H = W (if any) sets the default crop. */
function loadOnnxClassifier(path: string): { loaded: LoadedWeights; crop: number | null; inputShape: readonly (number | string)[] } {
  const start = performance.now();
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (error) {
    throw new UsageError(`cannot read the ONNX model ${JSON.stringify(path)}: ${(error as Error).message}`);
  }
  let model: OnnxModel;
  try {
    model = loadOnnx(bytes);
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`, { cause: error });
  }
  const input = model.inputs[0];
  const shape = input?.shape ?? [];
  if (model.inputs.length !== 1 || shape.length !== 4 || (typeof shape[1] === 'number' && shape[1] !== 3)) {
    const found = model.inputs.map((i) => `${i.name} [${i.shape.join(', ')}]`).join(', ');
    throw new Error(`${path}: classify needs a model with one image input [N, 3, H, W]; this one has ${found || 'no inputs'}`);
  }
  const [, , h, w] = shape;
  const crop = typeof h === 'number' && h === w ? h : null;
  model.eval();
  return { loaded: { model, weights: null, source: path, ms: performance.now() - start }, crop, inputShape: shape };
}

function loadInto(model: Module, dict: Parameters<Module['loadStateDict']>[0], where: string): void {
  try {
    model.loadStateDict(dict);
  } catch (error) {
    throw new Error(`${where}: the weights do not fit ${model.constructor.name}: ${(error as Error).message}`);
  }
  model.eval();
}

interface Prediction {
  rank: number;
  index: number;
  label: string;
  probability: number;
}

/** Runs the command (argv after `classify`); returns the exit code. Usage errors are thrown as UsageError. */
export async function runClassify(args: readonly string[], io: CliIo): Promise<number> {
  const { flags: flagArgs, images: positional } = splitArguments(args);
  const flags = parseFlags(flagArgs, CLASSIFY_FLAGS);
  // `sepconv classify model.onnx image.png`: the ONNX file is the whole model.
  const onnxPath = positional[0]?.toLowerCase().endsWith('.onnx') ? positional[0] : undefined;
  const images = onnxPath === undefined ? positional : positional.slice(1);
  if (onnxPath !== undefined) {
    if (flags.arch !== undefined || flagArgs.some((a) => a === '--weights' || a.startsWith('--weights='))) {
      throw new UsageError('an ONNX file is the whole model: give it without --arch and --weights');
    }
  } else if (flags.arch === undefined) {
    throw new UsageError(`--arch is required (${PRETRAINED_ARCHS.join(', ')}), or an ONNX model first (sepconv classify model.onnx image.png)`);
  }
  if (images.length === 0) throw new UsageError('give one or more image files (PNG or JPEG) after the flags');
  const arch = (flags.arch as PretrainedArch | undefined) ?? null;
  const spec = onnxPath ?? (flags.weights as string);
  if (arch !== null && WEIGHT_SETS.includes(spec)) pretrainedWeightsOrUsage(arch, spec);
  else if (arch !== null && /^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    try {
      sourceOfUrl(spec, '--weights');
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }

  let loaded: LoadedWeights;
  let base: Preprocessing = { resize: 256, centerCrop: 224, interpolation: 'bilinear', mean: IMAGENET_MEAN, std: IMAGENET_STD };
  let description: string;
  if (arch === null) {
    const onnx = loadOnnxClassifier(spec);
    loaded = onnx.loaded;
    // torchvision's evaluation ratio (resize 256 for a 224 crop) at the model's own input size.
    if (onnx.crop !== null) base = { ...base, resize: Math.round((onnx.crop * 256) / 224), centerCrop: onnx.crop };
    description = `model: ${spec} (ONNX, input [${onnx.inputShape.join(', ')}])`;
  } else {
    loaded = await loadWeights(arch, spec, 1000, flags, io);
    base = loaded.weights?.preprocessing ?? base;
    const w = loaded.weights;
    const about = w === null ? '' : ` = torchvision's ${w.arch} ${w.name} (${w.fileName}; ${w.accuracy.top1}% top-1 on ImageNet-1K as torchvision reports)`;
    description = `model: ${arch}, weights ${spec}${about}`;
  }
  const preprocessing = { ...base, resize: (flags.resize as number | undefined) ?? base.resize, centerCrop: (flags.crop as number | undefined) ?? base.centerCrop };
  if (preprocessing.centerCrop > preprocessing.resize) throw new UsageError(`--crop ${preprocessing.centerCrop} is larger than --resize ${preprocessing.resize}`);
  const k = Math.min(flags.top as number, 1000);

  const results = [];
  // Compiled once for the input shape every image has after the crop (BatchNorm folded, buffers planned).
  let compiled: { run(x: Tensor): Tensor } | null = null;
  let compileMs = 0;
  for (const path of images) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch (error) {
      throw new Error(`cannot read the image ${JSON.stringify(path)}: ${(error as Error).message}`);
    }
    const t0 = performance.now();
    let image: Awaited<ReturnType<typeof decodeImage>>;
    try {
      image = await decodeImage(bytes);
    } catch (error) {
      throw new Error(`${path}: ${(error as Error).message}`, { cause: error });
    }
    const t1 = performance.now();
    const input = imageToTensor(image, preprocessing);
    const t2 = performance.now();
    if (compiled === null) {
      const c0 = performance.now();
      compiled = loaded.model.compile(input.shape);
      compileMs = performance.now() - c0;
    }
    const t2b = performance.now();
    const output = compiled.run(input);
    const t3 = performance.now();
    // One image's scores as [1, C] (an ONNX classifier may end in [1, C, 1, 1]); anything else is no classifier.
    if (output.shape.length < 2 || output.shape[0] !== 1 || output.shape.slice(2).some((d) => d !== 1)) {
      throw new Error(`${spec}: classify needs class scores [1, C] from the model, got an output of shape [${output.shape.join(', ')}] (a segmentation or detection model?)`);
    }
    const logits = { shape: [1, output.data.length], data: output.data };
    const classes = output.data.length;
    const probabilities = softmax(logits, 1);
    const label = (index: number): string => (classes === imagenetClasses.length ? imagenetClasses[index]! : `class ${index}`);
    const top: Prediction[] = topk(probabilities, Math.min(k, classes)).map((p, i) => ({ rank: i + 1, index: p.index, label: label(p.index), probability: p.value }));
    results.push({ image: path, width: image.width, height: image.height, top, ms: { decode: t1 - t0, preprocess: t2 - t1, inference: t3 - t2b } });
  }

  const w = loaded.weights;
  if (flags.json) {
    const weights = arch === null ? null : w === null ? spec : `${w.arch}/${w.name}`;
    io.stdout(`${JSON.stringify({ model: arch ?? spec, weights, source: loaded.source, preprocessing, loadMs: loaded.ms, compileMs, results }, null, 2)}\n`);
    return 0;
  }
  const lines: string[] = [description];
  const timing = `loaded in ${loaded.ms.toFixed(0)} ms, compiled in ${compileMs.toFixed(0)} ms`;
  if (arch === null) lines.push(timing);
  else lines.push(`weights: ${loaded.source === 'download' ? 'downloaded' : `from ${loaded.source}`}, ${timing}`);
  lines.push(`preprocessing: resize ${preprocessing.resize}, crop ${preprocessing.centerCrop}, ${preprocessing.interpolation}`);
  for (const r of results) {
    lines.push('', `${r.image} (${r.width}x${r.height}):`);
    const width = Math.max(...r.top.map((p) => p.label.length));
    for (const p of r.top) lines.push(`  ${String(p.rank).padStart(2)}. ${String(p.index).padStart(4)}  ${p.label.padEnd(width)}  ${(p.probability * 100).toFixed(2).padStart(6)}%`);
    lines.push(`  time: decode ${r.ms.decode.toFixed(1)} ms, preprocess ${r.ms.preprocess.toFixed(1)} ms, inference ${r.ms.inference.toFixed(1)} ms`);
  }
  io.stdout(`${lines.join('\n')}\n`);
  return 0;
}

function pretrainedWeightsOrUsage(arch: PretrainedArch, spec: string): void {
  try {
    findWeights(arch, spec, 'sepconv classify');
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^sepconv classify: /, '--weights: '));
  }
}
