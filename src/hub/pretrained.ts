/**
 * Pretrained weights in one line: `await loadPretrained(mobilenetV2(), 'IMAGENET1K_V2')` fetches
 * the file torchvision publishes (or any URL named by torch hub's `check_hash` convention), checks
 * the whole file against the SHA-256 prefix in its name before anything parses it, keeps it in the
 * cache, loads it into the model and puts the model in eval mode.
 */
import { describeValue, readOptions } from '../checks.js';
import { loadSafetensors } from '../io/safetensors.js';
import { loadTorchCheckpoint } from '../io/torch-checkpoint.js';
import { sniffFormat, wrongFormatHint } from '../sniff.js';
import { Module, type StateDict } from '../layers/module.js';
import type { ZooOptions } from '../layers/models/options.js';
import { archOf, buildArch, describeModel, type PretrainedModel } from './architectures.js';
import { weightStores, type WeightStore } from './cache.js';
import { downloadBytes, PretrainedError, type DownloadProgress, type FetchFunction } from './download.js';
import { isNode, sha256Hex } from './host.js';
import {
  ARCH_LIST, isPretrainedArch, PRETRAINED_WEIGHTS, findWeights, sha256PrefixOfFileName, weightSetsOf,
  type PretrainedArch, type PretrainedWeights,
} from './weights.js';

export interface LoadPretrainedOptions {
  /** Node: the folder downloads are kept in (default `$SEPCONV_CACHE`, else the platform's cache folder). */
  cacheDir?: string;
  /** Keep and reuse downloads (default true); false always downloads and stores nothing. */
  cache?: boolean;
  /** Called as the download proceeds (not for a file found in the cache). */
  onProgress?: (progress: DownloadProgress) => void;
  /** The `fetch` to download with (default the global one). */
  fetch?: FetchFunction;
  /** Aborts the download. */
  signal?: AbortSignal;
  /** Refuse larger files (default 1 GB). */
  maxBytes?: number;
  /** For a training checkpoint (torch.save files): where its state dict is (`'model'`, `'state_dict'`), as `loadTorchCheckpoint` takes it. */
  entry?: string | readonly string[];
  /** Removed from the start of every key that has it (`'module.'` of `nn.DataParallel` checkpoints). */
  stripPrefix?: string;
}

const OPTION_NAMES = ['cacheDir', 'cache', 'onProgress', 'fetch', 'signal', 'maxBytes', 'entry', 'stripPrefix'] as const;
const DEFAULT_MAX_BYTES = 1_000_000_000;

/** A file to fetch: where, what to call it, and the hash prefix it must have. */
export interface WeightsSource {
  readonly url: string;
  readonly fileName: string;
  readonly sha256Prefix: string;
  /** The table's entry when the source is one of torchvision's weight sets. */
  readonly weights: PretrainedWeights | null;
}

export interface FetchedWeights extends WeightsSource {
  /** The whole file, its SHA-256 checked against `sha256Prefix`. */
  readonly bytes: Uint8Array;
  /** Where the bytes came from: 'download', or the cached file they were read from. */
  readonly source: string;
}

interface ResolvedOptions {
  checkpoint: { entry?: string | readonly string[]; stripPrefix?: string };
  cacheDir: string | undefined;
  cache: boolean;
  onProgress: ((progress: DownloadProgress) => void) | undefined;
  fetch: FetchFunction;
  signal: AbortSignal | undefined;
  maxBytes: number;
}

function readLoadOptions(options: unknown, fn: string): ResolvedOptions {
  const o = readOptions<LoadPretrainedOptions>(options, OPTION_NAMES, fn);
  if (o.cacheDir !== undefined && (typeof o.cacheDir !== 'string' || o.cacheDir === '')) {
    throw new TypeError(`${fn}: cacheDir must be a non-empty string (a folder), got ${describeValue(o.cacheDir)}`);
  }
  if (o.cacheDir !== undefined && !isNode()) {
    throw new TypeError(`${fn}: cacheDir is a Node option; browsers keep downloads in the Cache API (pass cache: false to turn caching off)`);
  }
  if (o.cache !== undefined && typeof o.cache !== 'boolean') throw new TypeError(`${fn}: cache must be a boolean, got ${describeValue(o.cache)}`);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw new TypeError(`${fn}: onProgress must be a function, got ${describeValue(o.onProgress)}`);
  }
  if (o.fetch !== undefined && typeof o.fetch !== 'function') throw new TypeError(`${fn}: fetch must be a function, got ${describeValue(o.fetch)}`);
  const signal = o.signal;
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof (signal as AbortSignal).aborted !== 'boolean')) {
    throw new TypeError(`${fn}: signal must be an AbortSignal, got ${describeValue(signal)}`);
  }
  const maxBytes = o.maxBytes === undefined ? DEFAULT_MAX_BYTES : o.maxBytes;
  if (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError(`${fn}: maxBytes must be a positive integer, got ${describeValue(o.maxBytes)}`);
  }
  const globalFetch = (globalThis as { fetch?: FetchFunction }).fetch;
  const fetchFunction = o.fetch ?? (globalFetch === undefined ? undefined : globalFetch.bind(globalThis));
  if (fetchFunction === undefined) throw new TypeError(`${fn}: this environment has no global fetch (Node ≥ 18 and browsers do); pass options.fetch`);
  if (o.entry !== undefined && typeof o.entry !== 'string' && !(Array.isArray(o.entry) && o.entry.every((k) => typeof k === 'string'))) {
    throw new TypeError(`${fn}: entry must be a key or an array of keys, got ${describeValue(o.entry)}`);
  }
  if (o.stripPrefix !== undefined && typeof o.stripPrefix !== 'string') throw new TypeError(`${fn}: stripPrefix must be a string, got ${describeValue(o.stripPrefix)}`);
  const checkpoint = { ...(o.entry === undefined ? {} : { entry: o.entry }), ...(o.stripPrefix === undefined ? {} : { stripPrefix: o.stripPrefix }) };
  return { checkpoint, cacheDir: o.cacheDir, cache: o.cache ?? true, onProgress: o.onProgress, fetch: fetchFunction, signal, maxBytes };
}

const WEIGHT_NAMES = ['DEFAULT', 'IMAGENET1K_V1', 'IMAGENET1K_V2'];

/** The source named by a URL whose file name carries its SHA-256 prefix. */
export function sourceOfUrl(url: string, fn = 'loadPretrained'): WeightsSource {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`${fn}: weights must be a weight-set name (${WEIGHT_NAMES.join(', ')}) or an http(s) URL, got ${describeValue(url)}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new RangeError(`${fn}: weights URL must be http: or https:, got ${describeValue(url)}`);
  }
  const segments = parsed.pathname.split('/');
  let fileName: string;
  try {
    fileName = decodeURIComponent(segments[segments.length - 1]!);
  } catch {
    fileName = segments[segments.length - 1]!;
  }
  const sha256Prefix = sha256PrefixOfFileName(fileName);
  // The name becomes a file in the cache folder: only characters that are safe in a file name everywhere.
  if (!/^[A-Za-z0-9_+=~-][A-Za-z0-9._+=~-]*$/.test(fileName) || fileName.length > 200) {
    throw new RangeError(`${fn}: a weights URL's file name may only use letters, digits and . _ + = ~ - (it names the cached file), got ${describeValue(fileName)} in ${describeValue(url)}`);
  }
  if (sha256Prefix === null) {
    throw new RangeError(
      `${fn}: a weights URL's file name must end in -<first 8 or more hex digits of the file's SHA-256>.pth (or .pt, .safetensors), ` +
        `as torch hub's check_hash expects (e.g. mobilenet_v2-7ebf99e0.pth), got ${describeValue(fileName)} in ${describeValue(url)}`,
    );
  }
  // A mirror of one of torchvision's files (same name, so the same hash prefix) is that file.
  const known = PRETRAINED_WEIGHTS.find((w) => w.url === parsed.href) ?? PRETRAINED_WEIGHTS.find((w) => w.fileName === fileName) ?? null;
  return { url: parsed.href, fileName, sha256Prefix, weights: known };
}

function isTableEntry(value: unknown): value is PretrainedWeights {
  return (PRETRAINED_WEIGHTS as readonly unknown[]).includes(value);
}

function sourceOfEntry(weights: PretrainedWeights): WeightsSource {
  return { url: weights.url, fileName: weights.fileName, sha256Prefix: weights.sha256Prefix, weights };
}

/** What `weights` means for `model`, checked before any download. */
export function resolveWeights(model: Module, weights: unknown, fn = 'loadPretrained'): WeightsSource {
  const arch = archOf(model);
  let source: WeightsSource;
  if (isTableEntry(weights)) source = sourceOfEntry(weights);
  else if (typeof weights === 'string' && WEIGHT_NAMES.includes(weights)) {
    if (arch === null) {
      throw new RangeError(
        `${fn}: torchvision publishes no weights for ${describeModel(model)}; named weight sets exist for ${ARCH_LIST} ` +
          '(for other weights pass a URL or load a file with loadStateDict)',
      );
    }
    source = sourceOfEntry(findWeights(arch, weights, fn));
  } else if (typeof weights === 'string' && /^[a-z][a-z0-9+.-]*:/i.test(weights)) source = sourceOfUrl(weights, fn);
  else {
    throw new RangeError(`${fn}: weights must be a weight-set name (${WEIGHT_NAMES.join(', ')}), an entry of PRETRAINED_WEIGHTS or an http(s) URL, got ${describeValue(weights)}`);
  }
  const entry = source.weights;
  if (entry !== null) {
    if (arch !== entry.arch) {
      throw new RangeError(`${fn}: the ${entry.arch} weights (${entry.fileName}) do not fit ${describeModel(model)}; build the model with the ${entry.arch} factory`);
    }
    const numClasses = (model as { numClasses?: unknown }).numClasses;
    if (typeof numClasses === 'number' && numClasses !== entry.numClasses) {
      throw new RangeError(`${fn}: ${entry.arch} ${entry.name} has a ${entry.numClasses}-class classifier, the model has numClasses ${numClasses}; build it with the default numClasses`);
    }
  }
  return source;
}

async function verified(bytes: Uint8Array, prefix: string): Promise<{ ok: boolean; digest: string }> {
  const digest = await sha256Hex(bytes);
  return { ok: digest.startsWith(prefix), digest };
}

async function fromStores(stores: WeightStore[], source: WeightsSource, discarded: string[]): Promise<FetchedWeights | null> {
  for (const store of stores) {
    let bytes: Uint8Array | null;
    try {
      bytes = await store.read(source.fileName, source.url);
    } catch (error) {
      throw new PretrainedError(source.url, `could not read the cached copy ${store.describe(source.fileName)}: ${(error as Error).message}`, { cause: error });
    }
    if (bytes === null) continue;
    if ((await verified(bytes, source.sha256Prefix)).ok) return { ...source, bytes, source: store.describe(source.fileName) };
    // A damaged copy (a disk error, an edit, another program's partial write) is never used.
    if (store.discard !== undefined) {
      await store.discard(source.fileName, source.url);
      discarded.push(store.describe(source.fileName));
    }
  }
  return null;
}

async function fetchSource(source: WeightsSource, options: ResolvedOptions): Promise<FetchedWeights> {
  const stores = await weightStores(options);
  const discarded: string[] = [];
  const cached = await fromStores(stores, source, discarded);
  if (cached !== null) return cached;
  const note = discarded.length > 0 ? ` (the cached copy ${discarded.join(', ')} failed its SHA-256 check and was removed)` : '';
  let bytes: Uint8Array;
  try {
    bytes = await downloadBytes(source.url, options);
  } catch (error) {
    if (error instanceof PretrainedError && note !== '') throw new PretrainedError(source.url, `${error.detail}${note}`, { cause: error });
    throw error;
  }
  const check = await verified(bytes, source.sha256Prefix);
  if (!check.ok) {
    throw new PretrainedError(
      source.url,
      `hash mismatch: the file's SHA-256 is ${check.digest}, its name says it starts with ${source.sha256Prefix} ` +
        `(a corrupted or replaced download); nothing was parsed or cached${note}`,
    );
  }
  const writable = stores.find((s) => s.write !== undefined);
  if (writable !== undefined) {
    try {
      await writable.write!(source.fileName, source.url, bytes);
    } catch (error) {
      throw new PretrainedError(
        source.url,
        `downloaded and verified, but could not be cached as ${writable.describe(source.fileName)}: ${(error as Error).message} ` +
          '(pass cacheDir to choose another folder, or cache: false)',
        { cause: error },
      );
    }
  }
  return { ...source, bytes, source: 'download' };
}

/**
 * The verified bytes of a weights file: torchvision's weight set for `arch`
 * (`fetchPretrainedFile('mobilenet_v2', 'IMAGENET1K_V2')`), an entry of PRETRAINED_WEIGHTS, or a
 * URL named by torch hub's convention (`fetchPretrainedFile(url)`). From the cache when a copy
 * there passes the hash check, else downloaded, checked and cached.
 */
export async function fetchPretrainedFile(
  what: PretrainedArch | PretrainedWeights | string, weightSet?: string, options: LoadPretrainedOptions = {},
): Promise<FetchedWeights> {
  const fn = 'fetchPretrainedFile';
  const resolved = readLoadOptions(options, fn);
  if (weightSet !== undefined && (typeof weightSet !== 'string' || !isPretrainedArch(what))) {
    throw new TypeError(`${fn}: weightSet is a string that goes with an arch name (fetchPretrainedFile('mobilenet_v2', 'IMAGENET1K_V1')), got ${describeValue(weightSet)}`);
  }
  let source: WeightsSource;
  if (isTableEntry(what)) source = sourceOfEntry(what);
  else if (isPretrainedArch(what)) source = sourceOfEntry(findWeights(what, weightSet ?? 'DEFAULT', fn));
  else if (typeof what === 'string' && /^[a-z][a-z0-9+.-]*:/i.test(what)) source = sourceOfUrl(what, fn);
  else throw new RangeError(`${fn}: expected an arch name (see PRETRAINED_ARCHS), an entry of PRETRAINED_WEIGHTS or an http(s) URL, got ${describeValue(what)}`);
  return fetchSource(source, resolved);
}

/**
 * A state dict from verified checkpoint bytes: a `torch.save` file (zip or legacy format, read by
 * `loadTorchCheckpoint`) or a safetensors file, told apart by their first bytes.
 */
export function parseWeightsFile(bytes: Uint8Array, url: string, checkpoint: { entry?: string | readonly string[]; stripPrefix?: string } = {}): StateDict {
  const format = sniffFormat(bytes);
  try {
    if (format === 'torch-zip' || format === 'torch-legacy') return loadTorchCheckpoint(bytes, checkpoint);
    if (format === 'safetensors') {
      if (checkpoint.entry !== undefined) throw new TypeError('entry applies to torch.save files; a safetensors file holds one flat dict of tensors');
      const tensors = loadSafetensors(bytes);
      const prefix = checkpoint.stripPrefix;
      if (prefix === undefined || prefix === '') return tensors;
      const out = Object.create(null) as StateDict;
      for (const key of Object.keys(tensors)) {
        const name = key.startsWith(prefix) ? key.slice(prefix.length) : key;
        if (Object.prototype.hasOwnProperty.call(out, name)) throw new RangeError(`stripping ${JSON.stringify(prefix)} makes two keys ${JSON.stringify(name)}`);
        out[name] = tensors[key]!;
      }
      return out;
    }
  } catch (error) {
    throw new PretrainedError(url, `the file passed its SHA-256 check but could not be read: ${(error as Error).message}`, { cause: error });
  }
  const hint = wrongFormatHint(bytes, ['safetensors', 'torch-zip', 'torch-legacy']);
  throw new PretrainedError(url, `not a checkpoint sepconv can load${hint === null ? '' : `: ${hint}`}`);
}

/**
 * Downloads (or takes from the cache) the weights named by `weights`, checks them, loads them into
 * `model` and puts it in eval mode. `weights` is a weight-set name (`'IMAGENET1K_V1'`,
 * `'IMAGENET1K_V2'`, `'DEFAULT'`) of the model's torchvision architecture, an entry of
 * PRETRAINED_WEIGHTS, or any http(s) URL whose file name ends in `-<hex prefix of its SHA-256>.pth`.
 * Resolves to `model`. Every failure is a PretrainedError (network, hash, file) naming the URL,
 * or a TypeError/RangeError for bad arguments, thrown before anything is fetched.
 */
export async function loadPretrained<M extends Module>(model: M, weights: string | PretrainedWeights = 'DEFAULT', options: LoadPretrainedOptions = {}): Promise<M> {
  const fn = 'loadPretrained';
  if (!(model instanceof Module)) throw new TypeError(`${fn}: model must be a sepconv Module (such as mobilenetV2()), got ${describeValue(model)}`);
  const resolved = readLoadOptions(options, fn);
  const source = resolveWeights(model, weights, fn);
  const file = await fetchSource(source, resolved);
  const dict = parseWeightsFile(file.bytes, file.url, resolved.checkpoint);
  try {
    model.loadStateDict(dict);
  } catch (error) {
    throw new PretrainedError(file.url, `the weights do not fit ${describeModel(model)}: ${(error as Error).message}`, { cause: error });
  }
  model.eval();
  return model;
}

/**
 * Builds torchvision's `arch` as a sepconv model and loads its published weights (`'DEFAULT'`:
 * torchvision's default set): `const model = await pretrainedModel('mobilenet_v2')`.
 */
export async function pretrainedModel(arch: PretrainedArch, weights: string = 'DEFAULT', options: LoadPretrainedOptions = {}): Promise<PretrainedModel> {
  if (!isPretrainedArch(arch)) throw new RangeError(`pretrainedModel: arch must be one of ${ARCH_LIST}, got ${describeValue(arch)}`);
  if (typeof weights !== 'string' || (!WEIGHT_NAMES.includes(weights) && !/^[a-z][a-z0-9+.-]*:/i.test(weights))) {
    const sets = [...weightSetsOf(arch).map((w) => w.name), 'DEFAULT'];
    throw new RangeError(`pretrainedModel: weights must be one of ${sets.join(', ')} or an http(s) URL, got ${describeValue(weights)}`);
  }
  readLoadOptions(options, 'pretrainedModel');
  // Built with fixed seeds: every parameter is overwritten by the weights.
  const model = buildArch(arch, { seed: 0 } satisfies ZooOptions);
  return loadPretrained(model, weights, options);
}
