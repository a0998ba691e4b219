/**
 * `sepconv classify --arch mobilenet_v2 --weights IMAGENET1K_V2 photo.jpg [--top 5]`: an image file
 * in, the model's top classes out (index, ImageNet label, probability) and how long each step took.
 * `--weights` is one of torchvision's weight sets (downloaded, checked and cached, with a progress
 * line on stderr), an http(s) URL named by its hash prefix, or a local .pth / .safetensors file.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeImage } from '../image/decode.js';
import { imagenetClasses } from '../image/imagenet-classes.js';
import { softmax, topk } from '../image/classify.js';
import { imageToTensor } from '../image/preprocess.js';
import { loadSafetensors } from '../io/safetensors.js';
import { sniffFormat, wrongFormatHint } from '../sniff.js';
import { loadTorchCheckpoint } from '../io/torch-checkpoint.js';
import { buildArch, type PretrainedModel } from '../hub/architectures.js';
import type { DownloadProgress } from '../hub/download.js';
import { sha256Hex } from '../hub/host.js';
import { fetchPretrainedFile, parseWeightsFile, sourceOfUrl } from '../hub/pretrained.js';
import { findWeights, PRETRAINED_ARCHS, PRETRAINED_WEIGHTS, pretrainedWeights, sha256PrefixOfFileName, type PretrainedArch, type PretrainedWeights, type Preprocessing } from '../hub/weights.js';
import type { Module } from '../layers/module.js';
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

export const CLASSIFY_SUMMARY = 'classify image files (PNG, JPEG) with a zoo model and its weights: sepconv classify --arch mobilenet_v2 --weights IMAGENET1K_V2 photo.jpg';

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
  model: PretrainedModel;
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
    let fetched: Awaited<ReturnType<typeof fetchPretrainedFile>>;
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
  const { flags: flagArgs, images } = splitArguments(args);
  const flags = parseFlags(flagArgs, CLASSIFY_FLAGS);
  if (flags.arch === undefined) throw new UsageError(`--arch is required (${PRETRAINED_ARCHS.join(', ')})`);
  if (images.length === 0) throw new UsageError('give one or more image files (PNG or JPEG) after the flags');
  const arch = flags.arch as PretrainedArch;
  const spec = flags.weights as string;
  if (WEIGHT_SETS.includes(spec)) pretrainedWeightsOrUsage(arch, spec);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    try {
      sourceOfUrl(spec, '--weights');
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }

  const loaded = await loadWeights(arch, spec, 1000, flags, io);
  const base: Preprocessing = loaded.weights?.preprocessing ?? { resize: 256, centerCrop: 224, interpolation: 'bilinear', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
  const preprocessing = { ...base, resize: (flags.resize as number | undefined) ?? base.resize, centerCrop: (flags.crop as number | undefined) ?? base.centerCrop };
  if (preprocessing.centerCrop > preprocessing.resize) throw new UsageError(`--crop ${preprocessing.centerCrop} is larger than --resize ${preprocessing.resize}`);
  const k = Math.min(flags.top as number, 1000);

  const results = [];
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
    const logits = loaded.model.forward(input);
    const t3 = performance.now();
    const probabilities = softmax(logits, 1);
    const top: Prediction[] = topk(probabilities, k).map((p, i) => ({ rank: i + 1, index: p.index, label: imagenetClasses[p.index] ?? `class ${p.index}`, probability: p.value }));
    results.push({ image: path, width: image.width, height: image.height, top, ms: { decode: t1 - t0, preprocess: t2 - t1, inference: t3 - t2 } });
  }

  const w = loaded.weights;
  if (flags.json) {
    io.stdout(`${JSON.stringify({ arch, weights: w === null ? spec : `${w.arch}/${w.name}`, source: loaded.source, preprocessing, loadMs: loaded.ms, results }, null, 2)}\n`);
    return 0;
  }
  const lines: string[] = [];
  const about = w === null ? '' : ` = torchvision's ${w.arch} ${w.name} (${w.fileName}; ${w.accuracy.top1}% top-1 on ImageNet-1K as torchvision reports)`;
  lines.push(`model: ${arch}, weights ${spec}${about}`);
  lines.push(`weights: ${loaded.source === 'download' ? 'downloaded' : `from ${loaded.source}`}, loaded in ${loaded.ms.toFixed(0)} ms`);
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
