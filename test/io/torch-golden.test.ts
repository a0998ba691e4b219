/**
 * The checkpoint files PyTorch 1.13 wrote (test/fixtures/golden/pth): every case of its manifest, and
 * the network they hold run on input.bin against PyTorch's eval outputs; the structure of what
 * saveTorchCheckpoint writes against PyTorch's own file; a torchvision MobileNetV2 state dict.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BatchNorm2d, Conv2d, ReLU, Sequential, TorchCheckpointError, TorchTensor, depthwise_separable_conv, isInt64Tensor,
  loadSafetensors, loadTorchCheckpoint, mobilenetV2, readTorchCheckpoint, saveTorchCheckpoint, type TorchStateTensor,
} from '../../src/index.js';
import { unpickle } from '../../src/io/pickle.js';
import { readZip } from '../../src/io/zip.js';
import { expectClose, readFloat32, sharedData } from '../helpers.js';

const GOLDEN = new URL('../fixtures/golden/pth/', import.meta.url);
const golden = (path: string): URL => new URL(path, GOLDEN);
const models = sharedData('golden/models');
const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(golden(name)));

interface Manifest {
  cases: Record<string, { kind: string; path?: string[]; dtype?: string; values?: Record<string, unknown> }>;
}

/** The manifest's network: nn.Sequential(Conv2d(3,8,3,p1), BatchNorm2d(8), ReLU(), depthwise_separable_conv(8,2,16), ReLU()). */
function network(): Sequential {
  return new Sequential(
    new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1 }),
    new BatchNorm2d(8),
    new ReLU(),
    new depthwise_separable_conv(8, 2, 16),
    new ReLU(),
  );
}

const KEYS = [
  '0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked',
  '3.depthwise.weight', '3.depthwise.bias', '3.pointwise.weight', '3.pointwise.bias',
];

function runNetwork(state: Record<string, TorchStateTensor>, tol: number, label: string): void {
  const model = network();
  model.loadStateDict(state);
  model.eval();
  const input = { shape: [2, 3, 12, 12], data: readFloat32(fileURLToPath(golden('input.bin'))) };
  const expected = { shape: [2, 16, 12, 12], data: readFloat32(fileURLToPath(golden('output.bin'))) };
  expectClose(model.forward(input), expected, tol, label);
}

describe('golden torch.save files (golden pth)', () => {
  const manifest = JSON.parse(readFileSync(golden('manifest.json'), 'utf8')) as Manifest;

  it('the manifest lists the seven cases this test knows', () => {
    expect(Object.keys(manifest.cases).sort()).toEqual(['checkpoint', 'half', 'hostile_pickle', 'legacy', 'state_dict', 'views', 'whole_module']);
  });

  it('state_dict.pt: a zip-format state dict loads into the network and gives PyTorch\'s outputs', () => {
    const state = loadTorchCheckpoint(bytesOf('state_dict.pt'));
    expect(Object.keys(state)).toEqual(KEYS);
    expect(state['0.weight']!.shape).toEqual([8, 3, 3, 3]);
    expect(state['0.weight']!.dtype).toBe('float32');
    expect(state['3.depthwise.weight']!.shape).toEqual([16, 1, 3, 3]);
    const count = state['1.num_batches_tracked']!;
    expect(isInt64Tensor(count)).toBe(true);
    expect(count.shape).toEqual([]);
    expect(count.dtype).toBe('int64');
    expect(Object.getPrototypeOf(state)).toBeNull();
    runNetwork(state, 1e-4, 'state_dict');
  });

  it('checkpoint.pt: a nested training checkpoint; the state dict is picked with { entry }', () => {
    const c = manifest.cases.checkpoint!;
    const bytes = bytesOf('checkpoint.pt');
    expect(() => loadTorchCheckpoint(bytes)).toThrow(/not a state dict.*entry: "model"/);
    runNetwork(loadTorchCheckpoint(bytes, { entry: c.path! }), 1e-4, 'checkpoint');
    const everything = readTorchCheckpoint(bytes) as Record<string, unknown>;
    expect(Object.keys(everything)).toContain('model');
    expect(everything.epoch).toBe(3);
    expect(everything.model).toBeTypeOf('object');
    expect((everything.model as Record<string, unknown>)['0.weight']).toBeInstanceOf(TorchTensor);
  });

  it('half.pt: float16 tensors load as float32 with their dtype kept, and run within float16 rounding', () => {
    const state = loadTorchCheckpoint(bytesOf('half.pt'));
    expect(state['0.weight']!.dtype).toBe('float16');
    expect(state['0.weight']!.data).toBeInstanceOf(Float32Array);
    expect(state['1.num_batches_tracked']!.dtype).toBe('int64');
    // The file's weights are the float32 ones rounded to float16: each within 2^-11 relative.
    const full = loadTorchCheckpoint(bytesOf('state_dict.pt'));
    const a = state['0.weight']!.data as Float32Array;
    const b = full['0.weight']!.data as Float32Array;
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(Math.abs(b[i]!) * 2 ** -11 + 2 ** -24);
    runNetwork(state, 2e-2, 'half');
  });

  it('views.pt: offset, transposed and int64 views of shared storages give the manifest\'s values', () => {
    const values = manifest.cases.views!.values!;
    const state = readTorchCheckpoint(bytesOf('views.pt')) as Record<string, TorchTensor>;
    for (const [name, expected] of Object.entries(values)) {
      const t = state[name]!;
      const rows = expected as number[] | number[][];
      const shape = Array.isArray(rows[0]) ? [rows.length, (rows[0] as number[]).length] : [rows.length];
      expect(t.shape, name).toEqual(shape);
      const flat = (rows as unknown[]).flat() as number[];
      if (t.dtype === 'int64') expect(Array.from(t.data as BigInt64Array, Number), name).toEqual(flat);
      else expect(Array.from(t.data as Float32Array), name).toEqual(flat);
    }
    expect(state.i64!.dtype).toBe('int64');
  });

  it('legacy.pt: the pre-1.6 format loads and gives PyTorch\'s outputs', () => {
    const state = loadTorchCheckpoint(bytesOf('legacy.pt'));
    expect(Object.keys(state)).toEqual(KEYS);
    runNetwork(state, 1e-4, 'legacy');
    // Same tensors as the zip-format file.
    const zip = loadTorchCheckpoint(bytesOf('state_dict.pt'));
    for (const key of KEYS) expect(state[key]!.data, key).toEqual(zip[key]!.data);
  });

  it('whole_module.pt: a pickled nn.Module is refused with the advice to save model.state_dict()', () => {
    expect(() => loadTorchCheckpoint(bytesOf('whole_module.pt'))).toThrow(TorchCheckpointError);
    expect(() => readTorchCheckpoint(bytesOf('whole_module.pt'))).toThrow(/torch\.nn\.modules\.container\.Sequential.*model\.state_dict\(\)/);
  });

  it('hostile_pickle.pt: a pickle calling posix.system is refused by name, nothing runs', () => {
    expect(() => readTorchCheckpoint(bytesOf('hostile_pickle.pt'))).toThrow(/refused global posix\.system/);
  });

  it('what sepconv saves loads back bit for bit and runs the same', () => {
    const state = loadTorchCheckpoint(bytesOf('state_dict.pt'));
    const model = network();
    model.loadStateDict(state);
    const again = loadTorchCheckpoint(saveTorchCheckpoint(model.stateDict()));
    expect(Object.keys(again)).toEqual(KEYS);
    for (const key of KEYS) expect(again[key]!.data, key).toEqual(state[key]!.data);
    runNetwork(again, 1e-4, 'saved');
  });

  it('what sepconv writes has torch.save\'s structure: the same records, storages and globals as PyTorch\'s file', () => {
    const theirs = readZip(bytesOf('state_dict.pt'));
    const ours = readZip(saveTorchCheckpoint(loadTorchCheckpoint(bytesOf('state_dict.pt'))));
    const records = (zip: ReturnType<typeof readZip>) => [...zip.entries.keys()].map((name) => name.slice(name.indexOf('/') + 1)).sort();
    // PyTorch 1.13 writes no byteorder record (newer versions do; 1.13 ignores it).
    expect(records(ours).filter((r) => r !== 'byteorder')).toEqual(records(theirs));
    expect(new TextDecoder().decode(ours.read('archive/byteorder'))).toBe('little');
    expect(ours.read('archive/version')).toEqual(theirs.read('state_dict/version'));
    for (const record of records(theirs).filter((r) => r.startsWith('data/'))) {
      expect(ours.read(`archive/${record}`), record).toEqual(theirs.read(`state_dict/${record}`));
    }
    const globalsOf = (pickle: Uint8Array): string[] => {
      const names = new Set<string>();
      unpickle(pickle, {
        resolveGlobal: (module, name) => {
          names.add(`${module}.${name}`);
          return { qualifiedName: name, call: () => Object.create(null) };
        },
        persistentLoad: (pid) => pid,
        build: (object) => object,
      });
      return [...names].sort();
    };
    expect(globalsOf(ours.read('archive/data.pkl'))).toEqual(globalsOf(theirs.read('state_dict/data.pkl')));
  });

  it.skipIf(!models.present)(`a torchvision MobileNetV2 state dict through saveTorchCheckpoint and loadTorchCheckpoint runs bit for bit the same ${models.needs}`, () => {
    const direct = loadSafetensors(new Uint8Array(readFileSync(resolve(models.path, 'mobilenet_v2_w0.5_160', 'weights.safetensors'))));
    const state = loadTorchCheckpoint(saveTorchCheckpoint(direct));
    expect(Object.keys(state)).toEqual(Object.keys(direct));
    const a = mobilenetV2({ widthMult: 0.5 });
    a.loadStateDict(direct);
    const b = mobilenetV2({ widthMult: 0.5 });
    b.loadStateDict(state);
    a.eval();
    b.eval();
    const input = { shape: [1, 3, 64, 64], data: Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.sin(i)) };
    expect(b.forward(input).data).toEqual(a.forward(input).data);
  });
});
