/**
 * loadPretrained end to end without the internet: a local HTTP server (test/hub/server.ts) serves
 * checkpoint files named by their own SHA-256 prefixes, so fetch → stream → hash → cache → parse →
 * load runs for real; then every way it can fail (wrong hash, HTTP errors, a refused connection, a
 * truncated body, a cache file damaged on disk), each with the URL in the message and nothing
 * half-written in the cache.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BatchNorm2d, Conv2d, PretrainedError, Sequential, fetchPretrainedFile, loadPretrained, mobilenetV2, pretrainedModel, saveSafetensors,
  shufflenetV2, type DownloadProgress, type Module, type StateDict,
} from '../../src/index.js';
import { closedPort, startWeightsServer, type WeightsServer } from './server.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function smallModel(seed: number): Module {
  return new Sequential(new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, seed }), new BatchNorm2d(4));
}

/** A state dict of smallModel with running statistics that differ from a fresh model's. */
function trainedState(): StateDict {
  const dict = smallModel(1).stateDict();
  dict['1.running_mean'] = { shape: [4], data: Float32Array.from([0.5, -0.25, 1, 2]) };
  dict['1.running_var'] = { shape: [4], data: Float32Array.from([1.5, 0.75, 2, 3]) };
  return dict;
}

/** Serves `bytes` under `<stem>-<its own hash prefix>.<ext>` and returns that name. */
function publish(server: WeightsServer, stem: string, bytes: Uint8Array, ext = 'safetensors', digits = 8): string {
  const name = `${stem}-${sha256(bytes).slice(0, digits)}.${ext}`;
  server.files.set(name, bytes);
  return name;
}

function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

function expectSameState(model: Module, dict: StateDict): void {
  const got = model.stateDict();
  expect(Object.keys(got).sort()).toEqual(Object.keys(dict).sort());
  for (const key of Object.keys(dict)) {
    expect(got[key]!.shape, key).toEqual(dict[key]!.shape);
    expect(got[key]!.data.constructor, key).toBe(dict[key]!.data.constructor);
    // Bitwise equal (a byte comparison: fast for millions of values).
    const bytes = (t: StateDict[string]): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    expect(bytes(got[key]!).equals(bytes(dict[key]!)), key).toBe(true);
  }
}

let server: WeightsServer;
let scratch: string;
let cacheDir: string;
const savedEnv = { SEPCONV_CACHE: process.env.SEPCONV_CACHE, TORCH_HOME: process.env.TORCH_HOME };

beforeAll(async () => {
  server = await startWeightsServer();
  scratch = mkdtempSync(join(tmpdir(), 'sepconv-hub-'));
  // Keep the defaults away from the real home folder: an empty torch hub and a scratch cache.
  process.env.TORCH_HOME = join(scratch, 'torch');
  process.env.SEPCONV_CACHE = join(scratch, 'env-cache');
});

afterAll(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

let testNumber = 0;
beforeEach(() => {
  cacheDir = join(scratch, `cache-${++testNumber}`);
});
afterEach(() => {
  server.requests.clear();
});

describe('loadPretrained from a URL (local server)', () => {
  it('downloads, checks, caches and loads a safetensors file, and puts the model in eval mode', async () => {
    const dict = trainedState();
    const name = publish(server, 'small', saveSafetensors(dict));
    const model = smallModel(2).train();
    const progress: DownloadProgress[] = [];
    const returned = await loadPretrained(model, `${server.base}/ok/${name}`, { cacheDir, onProgress: (p) => progress.push(p) });
    expect(returned).toBe(model);
    expect(model.training).toBe(false);
    expectSameState(model, dict);
    // Cached under the file's own name, whole, and nothing else left in the folder.
    expect(listDir(cacheDir)).toEqual([name]);
    expect(sha256(readFileSync(join(cacheDir, name)))).toBe(sha256(server.files.get(name)!));
    // Progress from 0 to the whole file, never backwards, with the announced size.
    const size = server.files.get(name)!.length;
    expect(progress[0]).toEqual({ url: `${server.base}/ok/${name}`, receivedBytes: 0, totalBytes: size });
    expect(progress.at(-1)!.receivedBytes).toBe(size);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.receivedBytes).toBeGreaterThanOrEqual(progress[i - 1]!.receivedBytes);
  });

  it('takes the second load from the cache without a request, and reports no progress for it', async () => {
    const dict = trainedState();
    const name = publish(server, 'again', saveSafetensors(dict));
    const url = `${server.base}/ok/${name}`;
    await loadPretrained(smallModel(2), url, { cacheDir });
    expect(server.requests.get(`/ok/${name}`)).toBe(1);
    const progress: DownloadProgress[] = [];
    const model = await loadPretrained(smallModel(3), url, { cacheDir, onProgress: (p) => progress.push(p) });
    expect(server.requests.get(`/ok/${name}`)).toBe(1);
    expect(progress).toEqual([]);
    expectSameState(model, dict);
    const file = await fetchPretrainedFile(url, undefined, { cacheDir });
    expect(file.source).toBe(join(cacheDir, name));
    expect(file.sha256Prefix).toBe(sha256(file.bytes).slice(0, 8));
  });

  it('streams a body without Content-Length (progress with totalBytes null)', async () => {
    const bytes = saveSafetensors(trainedState());
    const name = publish(server, 'chunked', bytes, 'safetensors', 16);
    const progress: DownloadProgress[] = [];
    const model = await loadPretrained(smallModel(2), `${server.base}/chunked/${name}`, { cacheDir, onProgress: (p) => progress.push(p) });
    expectSameState(model, trainedState());
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.every((p) => p.totalBytes === null)).toBe(true);
    expect(progress.at(-1)!.receivedBytes).toBe(bytes.length);
  });

  it('a gzip-encoded response: fetch decodes it, and the compressed Content-Length is not taken as the size', async () => {
    const dict = trainedState();
    const name = publish(server, 'gzipped', saveSafetensors(dict));
    const progress: DownloadProgress[] = [];
    const model = await loadPretrained(smallModel(2), `${server.base}/gzip/${name}`, { cacheDir, onProgress: (p) => progress.push(p) });
    expectSameState(model, dict);
    expect(progress.every((p) => p.totalBytes === null)).toBe(true);
    expect(sha256(readFileSync(join(cacheDir, name)))).toBe(sha256(server.files.get(name)!));
  });

  it('with cache: false downloads every time and writes nothing', async () => {
    const name = publish(server, 'nocache', saveSafetensors(trainedState()));
    const url = `${server.base}/ok/${name}`;
    await loadPretrained(smallModel(2), url, { cacheDir, cache: false });
    await loadPretrained(smallModel(2), url, { cacheDir, cache: false });
    expect(server.requests.get(`/ok/${name}`)).toBe(2);
    expect(listDir(cacheDir)).toEqual([]);
  });

  it('uses $SEPCONV_CACHE without cacheDir, and reads (never writes) a copy torch hub already has', async () => {
    const bytes = saveSafetensors(trainedState());
    const name = publish(server, 'envcache', bytes);
    await loadPretrained(smallModel(2), `${server.base}/ok/${name}`);
    expect(listDir(process.env.SEPCONV_CACHE!)).toContain(name);

    const hubDir = join(process.env.TORCH_HOME!, 'hub', 'checkpoints');
    mkdirSync(hubDir, { recursive: true });
    const other = trainedState();
    other['0.bias'] = { shape: [4], data: Float32Array.from([9, 8, 7, 6]) };
    const otherBytes = saveSafetensors(other);
    const hubName = `fromtorch-${sha256(otherBytes).slice(0, 10)}.safetensors`;
    writeFileSync(join(hubDir, hubName), otherBytes);
    // Not on the server at all: only torch hub's copy can satisfy this.
    const model = await loadPretrained(smallModel(2), `${server.base}/ok/${hubName}`);
    expectSameState(model, other);
    expect(server.requests.get(`/ok/${hubName}`)).toBeUndefined();
    expect(listDir(process.env.SEPCONV_CACHE!)).not.toContain(hubName);
  });

  it('builds a zoo model and loads it in one call (pretrainedModel with a URL)', async () => {
    const source = shufflenetV2({ width: 0.5, seed: 5 });
    const dict = source.stateDict();
    const name = publish(server, 'shufflenetv2_x0.5', saveSafetensors(dict));
    const model = await pretrainedModel('shufflenet_v2_x0_5', `${server.base}/ok/${name}`, { cacheDir });
    expect(model.training).toBe(false);
    expectSameState(model, dict);
    const x = { shape: [1, 3, 32, 32], data: new Float32Array(3 * 32 * 32).map((_, i) => Math.sin(i)) };
    expect(Array.from(model.forward(x).data)).toEqual(Array.from(source.eval().forward(x).data));
  });
});

describe('loadPretrained failures', () => {
  it('hash mismatch: names the URL and both hashes, parses nothing, caches nothing', async () => {
    const bytes = saveSafetensors(trainedState());
    const wrong = `wrong-${'0123abcd'}.safetensors`;
    server.files.set(wrong, bytes);
    const model = smallModel(2);
    const before = model.stateDict();
    const url = `${server.base}/ok/${wrong}`;
    const error = await loadPretrained(model, url, { cacheDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PretrainedError);
    expect((error as PretrainedError).url).toBe(url);
    expect((error as Error).message).toContain(url);
    expect((error as Error).message).toContain(`hash mismatch: the file's SHA-256 is ${sha256(bytes)}, its name says it starts with 0123abcd`);
    expectSameState(model, before);
    expect(listDir(cacheDir)).toEqual([]);
  });

  it('HTTP 404 and 500: the status and the URL, nothing cached', async () => {
    const url = `${server.base}/ok/missing-0123abcd.pth`;
    await expect(loadPretrained(smallModel(2), url, { cacheDir })).rejects.toThrow(`${url}: download failed: HTTP 404 Not Found`);
    const name = publish(server, 'broken', saveSafetensors(trainedState()));
    const url500 = `${server.base}/status/500/${name}`;
    await expect(loadPretrained(smallModel(2), url500, { cacheDir })).rejects.toThrow(`${url500}: download failed: HTTP 500 Internal Server Error`);
    expect(listDir(cacheDir)).toEqual([]);
  });

  it('connection refused: says so and names the URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/w-0123abcd.pth`;
    const error = await loadPretrained(smallModel(2), url, { cacheDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PretrainedError);
    expect((error as Error).message).toBe(`${url}: could not download: connection refused (nothing is listening there), ECONNREFUSED`);
    expect(listDir(cacheDir)).toEqual([]);
  });

  it('truncated body: names the URL and how far it got, nothing cached', async () => {
    const bytes = saveSafetensors(trainedState());
    const name = publish(server, 'cut', bytes);
    const url = `${server.base}/truncated/${name}`;
    const error = await loadPretrained(smallModel(2), url, { cacheDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PretrainedError);
    expect((error as Error).message).toMatch(new RegExp(`^${url.replace(/[.?]/g, '\\$&')}: (the download broke off after \\d+ of ${bytes.length} bytes \\(truncated body\\)|truncated body: received \\d+ of the ${bytes.length} bytes announced)`));
    expect(listDir(cacheDir)).toEqual([]);
  });

  it('a cache file damaged on disk is not used: it is removed and the file downloaded again', async () => {
    const dict = trainedState();
    const bytes = saveSafetensors(dict);
    const name = publish(server, 'damaged', bytes);
    const url = `${server.base}/ok/${name}`;
    await loadPretrained(smallModel(2), url, { cacheDir });
    const path = join(cacheDir, name);
    const damaged = new Uint8Array(readFileSync(path));
    damaged[damaged.length - 3] ^= 0x40; // a flipped bit inside a tensor: still a well-formed file
    writeFileSync(path, damaged);
    const model = await loadPretrained(smallModel(2), url, { cacheDir });
    expectSameState(model, dict);
    expect(server.requests.get(`/ok/${name}`)).toBe(2);
    expect(sha256(readFileSync(path))).toBe(sha256(bytes));

    // Damaged again and the server gone: the error says the cached copy was bad and removed.
    writeFileSync(path, damaged);
    const offline = `http://127.0.0.1:${await closedPort()}/ok/${name}`;
    const error = await loadPretrained(smallModel(2), offline, { cacheDir }).catch((e: unknown) => e);
    expect((error as Error).message).toContain(`${offline}: could not download: connection refused`);
    expect((error as Error).message).toContain(`(the cached copy ${path} failed its SHA-256 check and was removed)`);
    expect(listDir(cacheDir)).toEqual([]);
  });

  it('a cache folder that cannot be written: the error says so and suggests another', async () => {
    const name = publish(server, 'unwritable', saveSafetensors(trainedState()));
    const blocker = join(scratch, `a-file-${testNumber}`);
    writeFileSync(blocker, 'not a folder');
    const url = `${server.base}/ok/${name}`;
    const error = await loadPretrained(smallModel(2), url, { cacheDir: join(blocker, 'weights') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PretrainedError);
    expect((error as Error).message).toContain(`${url}: downloaded and verified, but could not be cached as ${join(blocker, 'weights', name)}: `);
    expect((error as Error).message.endsWith('(pass cacheDir to choose another folder, or cache: false)')).toBe(true);
  });

  it('a body larger than maxBytes is refused before it is read', async () => {
    const name = publish(server, 'big', saveSafetensors(trainedState()));
    const url = `${server.base}/ok/${name}`;
    await expect(loadPretrained(smallModel(2), url, { cacheDir, maxBytes: 100 })).rejects.toThrow(`${url}: the server announces`);
    const chunked = `${server.base}/chunked/${name}`;
    await expect(loadPretrained(smallModel(2), chunked, { cacheDir, maxBytes: 100 })).rejects.toThrow(`${chunked}: the body is longer than maxBytes`);
    expect(listDir(cacheDir)).toEqual([]);
  });

  it('a verified file that is no checkpoint, or does not fit the model: the URL and why, model unchanged', async () => {
    const html = new TextEncoder().encode('<!DOCTYPE html><p>sign in to download</p>');
    const page = publish(server, 'page', html, 'pth');
    await expect(loadPretrained(smallModel(2), `${server.base}/ok/${page}`, { cacheDir })).rejects.toThrow(
      `${server.base}/ok/${page}: not a checkpoint sepconv can load: this looks like text starting with "<"`,
    );
    const other = publish(server, 'other', saveSafetensors(mobilenetV2({ widthMult: 0.25, numClasses: 3 }).stateDict()));
    const model = smallModel(2);
    const before = model.stateDict();
    await expect(loadPretrained(model, `${server.base}/ok/${other}`, { cacheDir })).rejects.toThrow(/the weights do not fit Sequential: .*Missing key/s);
    expectSameState(model, before);
  });

  it('a named weight set is fetched from torchvision\'s URL and checked like any other', async () => {
    // A fetch that answers for download.pytorch.org, offline, with bytes that cannot match.
    const requested: string[] = [];
    const fakeFetch = async (url: string): Promise<Response> => {
      requested.push(url);
      return new Response(new Uint8Array([1, 2, 3]), { status: 200 });
    };
    const error = await loadPretrained(mobilenetV2(), 'IMAGENET1K_V2', { cacheDir, fetch: fakeFetch }).catch((e: unknown) => e);
    expect(requested).toEqual(['https://download.pytorch.org/models/mobilenet_v2-7ebf99e0.pth']);
    expect((error as Error).message).toMatch(/^https:\/\/download\.pytorch\.org\/models\/mobilenet_v2-7ebf99e0\.pth: hash mismatch: the file's SHA-256 is 039058c6f2c0cb49/);
    expect(listDir(cacheDir)).toEqual([]);
  });
});

describe('loadPretrained argument checks (before any request)', () => {
  it('refuses URLs without a usable hash prefix, and other protocols', async () => {
    const model = smallModel(2);
    await expect(loadPretrained(model, `${server.base}/ok/plain.pth`, { cacheDir })).rejects.toThrow(/file name must end in -<first 8 or more hex digits of the file's SHA-256>\.pth.*got "plain\.pth"/);
    await expect(loadPretrained(model, `${server.base}/ok/short-0123abc.pth`, { cacheDir })).rejects.toThrow(RangeError);
    await expect(loadPretrained(model, 'ftp://example.com/w-0123abcd.pth', { cacheDir })).rejects.toThrow(/must be http: or https:/);
    await expect(loadPretrained(model, `${server.base}/ok/..%2F..%2Fescape-0123abcd.pth`, { cacheDir })).rejects.toThrow(/file name may only use letters, digits and \. _ \+ = ~ - \(it names the cached file\), got "\.\.\/\.\.\/escape-0123abcd\.pth"/);
    await expect(loadPretrained(model, `${server.base}/ok/.hidden-0123abcd.pth`, { cacheDir })).rejects.toThrow(/file name may only use/);
    await expect(loadPretrained(model, 'weights.pth', { cacheDir })).rejects.toThrow(/weights must be a weight-set name \(DEFAULT, IMAGENET1K_V1, IMAGENET1K_V2\), an entry of PRETRAINED_WEIGHTS or an http\(s\) URL, got "weights.pth"/);
    expect(server.total()).toBe(0);
  });

  it('refuses named sets for models without weights, with another class count, or of another model', async () => {
    await expect(loadPretrained(smallModel(2), 'IMAGENET1K_V1', { cacheDir })).rejects.toThrow(/torchvision publishes no weights for Sequential; named weight sets exist for mobilenet_v2/);
    await expect(loadPretrained(mobilenetV2({ widthMult: 0.5 }), 'DEFAULT', { cacheDir })).rejects.toThrow(/no weights for MobileNetV2 \(widthMult 0.5\)/);
    await expect(loadPretrained(mobilenetV2({ numClasses: 10 }), 'IMAGENET1K_V1', { cacheDir })).rejects.toThrow(/1000-class classifier, the model has numClasses 10/);
    const { pretrainedWeights } = await import('../../src/index.js');
    await expect(loadPretrained(mobilenetV2(), pretrainedWeights('mnasnet1_0'), { cacheDir })).rejects.toThrow(/the mnasnet1_0 weights \(mnasnet1\.0_top1_73\.512-f206786ef8\.pth\) do not fit MobileNetV2/);
    await expect(loadPretrained(shufflenetV2({ width: 0.5 }), 'IMAGENET1K_V2', { cacheDir })).rejects.toThrow(/shufflenet_v2_x0_5 has weight sets IMAGENET1K_V1, DEFAULT, got "IMAGENET1K_V2"/);
  });

  it('a mirror of one of torchvision\'s files (same name) is checked against the model like the original', async () => {
    const mirror = `${server.base}/ok/mobilenet_v2-7ebf99e0.pth`;
    await expect(loadPretrained(smallModel(2), mirror, { cacheDir })).rejects.toThrow(/the mobilenet_v2 weights \(mobilenet_v2-7ebf99e0\.pth\) do not fit Sequential/);
    await expect(loadPretrained(mobilenetV2({ numClasses: 10 }), mirror, { cacheDir })).rejects.toThrow(/1000-class classifier, the model has numClasses 10/);
    expect(server.total()).toBe(0);
    const file = await fetchPretrainedFile(mirror, undefined, { cacheDir }).catch((e: unknown) => e);
    expect((file as Error).message).toBe(`${mirror}: download failed: HTTP 404 Not Found`);
  });

  it('checks the model and every option', async () => {
    const url = `${server.base}/ok/x-0123abcd.pth`;
    await expect(loadPretrained({} as Module, url)).rejects.toThrow(/model must be a sepconv Module/);
    await expect(loadPretrained(smallModel(2), url, { cachedir: 'x' } as never)).rejects.toThrow(/unknown option "cachedir"/);
    await expect(loadPretrained(smallModel(2), url, { cacheDir: '' })).rejects.toThrow(/cacheDir must be a non-empty string/);
    await expect(loadPretrained(smallModel(2), url, { cache: 'yes' } as never)).rejects.toThrow(/cache must be a boolean/);
    await expect(loadPretrained(smallModel(2), url, { onProgress: 1 } as never)).rejects.toThrow(/onProgress must be a function/);
    await expect(loadPretrained(smallModel(2), url, { fetch: 'x' } as never)).rejects.toThrow(/fetch must be a function/);
    await expect(loadPretrained(smallModel(2), url, { maxBytes: 0 })).rejects.toThrow(/maxBytes must be a positive integer/);
    await expect(loadPretrained(smallModel(2), url, { signal: {} } as never)).rejects.toThrow(/signal must be an AbortSignal/);
    await expect(pretrainedModel('resnet50' as never)).rejects.toThrow(/arch must be one of mobilenet_v2/);
    await expect(pretrainedModel('mobilenet_v2', 'V2')).rejects.toThrow(/weights must be one of IMAGENET1K_V1, IMAGENET1K_V2, DEFAULT or an http\(s\) URL/);
    expect(server.total()).toBe(0);
  });

  it('a fetch option that returns something other than a Response', async () => {
    const url = 'https://weights.example/w-0123abcd.pth';
    await expect(loadPretrained(smallModel(2), url, { cacheDir, fetch: (async () => 42) as never })).rejects.toThrow(`${url}: fetch did not return a Response, got number`);
    await expect(loadPretrained(smallModel(2), url, { cacheDir, fetch: (async () => ({ ok: true })) as never })).rejects.toThrow(`${url}: fetch did not return a Response`);
  });

  it('an aborted signal stops the download with "aborted"', async () => {
    const name = publish(server, 'abort', saveSafetensors(trainedState()));
    const controller = new AbortController();
    controller.abort();
    await expect(loadPretrained(smallModel(2), `${server.base}/ok/${name}`, { cacheDir, signal: controller.signal })).rejects.toThrow(`${server.base}/ok/${name}: could not download: aborted`);
    expect(listDir(cacheDir)).toEqual([]);
  });

  it('an abort in the middle of the body says how far it got, nothing cached', async () => {
    const name = publish(server, 'abortlater', saveSafetensors(trainedState()));
    const controller = new AbortController();
    const url = `${server.base}/chunked/${name}`;
    const onProgress = (p: DownloadProgress): void => {
      if (p.receivedBytes > 0) controller.abort();
    };
    await expect(loadPretrained(smallModel(2), url, { cacheDir, signal: controller.signal, onProgress })).rejects.toThrow(/: the download was aborted after \d+ bytes$/);
    expect(listDir(cacheDir)).toEqual([]);
  });
});
