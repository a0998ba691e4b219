/**
 * loadPretrained with torch.save files, as torchvision publishes them, served by the local server:
 * files sepconv writes (saveTorchCheckpoint), the files PyTorch 1.13 wrote in test/fixtures/golden/pth
 * (run against PyTorch's outputs), training checkpoints (entry, stripPrefix), and a hostile pickle
 * whose hash is right: it passes the download checks and is still refused by the reader.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchNorm2d, Conv2d, PretrainedError, ReLU, Sequential, depthwise_separable_conv, isInt64Tensor, loadPretrained, mnasnet, pretrainedModel,
  saveTorchCheckpoint, type Module, type StateDict,
} from '../../src/index.js';
import { expectClose, readFloat32 } from '../helpers.js';
import { startWeightsServer, type WeightsServer } from './server.js';

const GOLDEN = new URL('../fixtures/golden/pth/', import.meta.url);
const goldenBytes = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, GOLDEN)));

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

let server: WeightsServer;
let cacheDir: string;

beforeAll(async () => {
  server = await startWeightsServer();
  cacheDir = mkdtempSync(join(tmpdir(), 'sepconv-hub-pth-'));
});
afterAll(async () => {
  await server.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

function publish(stem: string, bytes: Uint8Array): string {
  const name = `${stem}-${sha256(bytes).slice(0, 10)}.pth`;
  server.files.set(name, bytes);
  return `${server.base}/ok/${name}`;
}

/** The golden set's network: nn.Sequential(Conv2d(3,8,3,p1), BatchNorm2d(8), ReLU(), depthwise_separable_conv(8,2,16), ReLU()). */
function network(): Sequential {
  return new Sequential(
    new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1, seed: 3 }),
    new BatchNorm2d(8),
    new ReLU(),
    new depthwise_separable_conv(8, 2, 16),
    new ReLU(),
  );
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

describe('torch.save files written by sepconv', () => {
  it('a zoo model\'s state dict round-trips through a .pth URL (int64 num_batches_tracked kept)', async () => {
    const source = mnasnet({ alpha: 0.5, seed: 7 });
    const dict = source.stateDict();
    for (const [key, t] of Object.entries(dict)) if (isInt64Tensor(t)) t.data.fill(123n, 0, 1), void key;
    const url = publish('mnasnet0.5', saveTorchCheckpoint(dict));
    const model = await pretrainedModel('mnasnet0_5', url, { cacheDir });
    expect(model.training).toBe(false);
    expectSameState(model, dict);
  });

  it('a training checkpoint loads with entry and stripPrefix, and without them says where to look', async () => {
    const model = network();
    const state = network().stateDict();
    const wrapped: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(state)) wrapped[`module.${k}`] = v;
    const url = publish('train', saveTorchCheckpoint({ model: wrapped, epoch: 12, best_acc1: 0.5 } as never));
    await expect(loadPretrained(model, url, { cacheDir })).rejects.toThrow(
      new RegExp(`^${url.replace(/[.?]/g, '\\$&')}: the file passed its SHA-256 check but could not be read: torch checkpoint: .*pass \\{ entry: "model" \\}`),
    );
    await loadPretrained(model, url, { cacheDir, entry: 'model', stripPrefix: 'module.' });
    expectSameState(model, state);
  });
});

describe('torch.save files written by PyTorch 1.13 (golden pth)', () => {
  const input = (): { shape: number[]; data: Float32Array } => ({ shape: [2, 3, 12, 12], data: readFloat32(fileURLToPath(new URL('input.bin', GOLDEN))) });
  const expected = (): { shape: number[]; data: Float32Array } => ({ shape: [2, 16, 12, 12], data: readFloat32(fileURLToPath(new URL('output.bin', GOLDEN))) });

  it('state_dict.pt by URL gives PyTorch\'s outputs', async () => {
    const model = await loadPretrained(network().train(), publish('golden_state', goldenBytes('state_dict.pt')), { cacheDir });
    expect(model.training).toBe(false);
    expectClose(model.forward(input()), expected(), 1e-4, 'state_dict.pt');
  });

  it('checkpoint.pt (nested under "model") by URL with entry', async () => {
    const model = await loadPretrained(network(), publish('golden_ckpt', goldenBytes('checkpoint.pt')), { cacheDir, entry: 'model' });
    expectClose(model.forward(input()), expected(), 1e-4, 'checkpoint.pt');
  });

  it('a pickle that calls os.system, with a correct hash: downloaded, verified, cached, and refused by the reader', async () => {
    const model = network();
    const before = model.stateDict();
    const url = publish('hostile', goldenBytes('hostile_pickle.pt'));
    const error = await loadPretrained(model, url, { cacheDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PretrainedError);
    expect((error as Error).message).toMatch(/the file passed its SHA-256 check but could not be read: torch checkpoint: .*(posix|os)\.system/);
    expectSameState(model, before);
    // The file itself is what its name says: caching it is right, and it is refused again from the cache.
    expect(readdirSync(cacheDir)).toContain(url.split('/').pop());
    await expect(loadPretrained(model, url, { cacheDir })).rejects.toThrow(/could not be read/);
    expect(server.requests.get(`/ok/${url.split('/').pop()}`)).toBe(1);
  });
});
