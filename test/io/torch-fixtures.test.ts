/**
 * Small torch.save files written by PyTorch 1.13 (tools/pth-fixtures.py; committed under
 * test/fixtures/pth): every dtype, 0-d, empty, transposed, sliced and expanded views, pickle
 * protocol 4, the legacy format (pickle protocols 2 and 4), a training checkpoint with an optimizer and numpy scalars, a
 * DataParallel prefix, a deflated archive; and the same plain object pickled with protocols 0 to 5.
 * manifest.json holds what torch.load gives for each.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TorchTensor, loadTorchCheckpoint, readTorchCheckpoint, saveTorchCheckpoint, type TorchValue } from '../../src/index.js';
import { unpickle, type UnpickleHooks } from '../../src/io/pickle.js';
import { floatToBfloat16, floatToHalf } from '../../src/io/torch-checkpoint.js';
import { readZip } from '../../src/io/zip.js';

const FIXTURES = new URL('../fixtures/pth/', import.meta.url);
const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, FIXTURES)));

type Expected =
  | { tensor: string; shape: number[]; values: number[] }
  | { dict: Record<string, Expected> }
  | { list: Expected[] }
  | { float: number }
  | { int: number }
  | { bigint: string }
  | { value: string | boolean | null };

const manifest = JSON.parse(readFileSync(new URL('manifest.json', FIXTURES), 'utf8')) as { files: Record<string, Expected> };

/** Asserts that `actual` (what sepconv read) is what PyTorch read, naming the path of any difference. */
function expectMatches(actual: TorchValue, expected: Expected, path: string): void {
  if ('tensor' in expected) {
    expect(actual, path).toBeInstanceOf(TorchTensor);
    const t = actual as TorchTensor;
    expect(t.dtype, `${path} dtype`).toBe(expected.tensor);
    expect(t.shape, `${path} shape`).toEqual(expected.shape);
    const values = t.data instanceof BigInt64Array ? Array.from(t.data, Number) : Array.from(t.data as ArrayLike<number>);
    // float64 tensors load as float32: PyTorch's values rounded to float32.
    const want = expected.tensor === 'float64' ? expected.values.map(Math.fround) : expected.values;
    expect(values, `${path} values`).toEqual(want);
  } else if ('dict' in expected) {
    expect(Object.getPrototypeOf(actual), `${path} is a dict`).toBeNull();
    const dict = actual as Record<string, TorchValue>;
    expect(Object.keys(dict).sort(), `${path} keys`).toEqual(Object.keys(expected.dict).sort());
    for (const key of Object.keys(expected.dict)) expectMatches(dict[key]!, expected.dict[key]!, `${path}.${key}`);
  } else if ('list' in expected) {
    expect(Array.isArray(actual), `${path} is a list`).toBe(true);
    const list = actual as TorchValue[];
    expect(list.length, `${path} length`).toBe(expected.list.length);
    expected.list.forEach((e, i) => expectMatches(list[i]!, e, `${path}[${i}]`));
  } else if ('float' in expected) {
    expect(actual, path).toBe(expected.float);
  } else if ('int' in expected) {
    expect(actual, path).toBe(expected.int);
  } else if ('bigint' in expected) {
    expect(actual, path).toBe(BigInt(expected.bigint));
  } else {
    expect(actual, path).toBe(expected.value);
  }
}

describe('torch.save files written by PyTorch (test/fixtures/pth)', () => {
  for (const name of Object.keys(manifest.files)) {
    it(`${name} reads as torch.load reads it`, () => {
      expectMatches(readTorchCheckpoint(bytesOf(name)), manifest.files[name]!, name);
    });
  }

  it('the zip and legacy formats and pickle protocol 4 give the same tensors', () => {
    const zip = readTorchCheckpoint(bytesOf('dtypes.pt'));
    expect(readTorchCheckpoint(bytesOf('legacy-dtypes.pt'))).toEqual(zip);
    expect(readTorchCheckpoint(bytesOf('legacy-protocol4.pt'))).toEqual(zip);
    expect(readTorchCheckpoint(bytesOf('protocol4.pt'))).toEqual(zip);
  });

  it('a state dict with int32/uint8/bool tensors: loadTorchCheckpoint refuses them by name unless skipUnsupported', () => {
    expect(() => loadTorchCheckpoint(bytesOf('dtypes.pt'))).toThrow(/tensor "i32" has dtype int32.*skipUnsupported/);
    const state = loadTorchCheckpoint(bytesOf('dtypes.pt'), { skipUnsupported: true });
    expect(Object.keys(state)).toEqual(['f32', 'f64', 'f16', 'bf16', 'i64', 'scalar', 'empty', 'transposed', 'sliced', 'expanded', 'param']);
  });

  it('a training checkpoint: the state dict under "model", the optimizer state and metrics as data', () => {
    const bytes = bytesOf('training.pt');
    expect(() => loadTorchCheckpoint(bytes)).toThrow(/entry: "model"/);
    const state = loadTorchCheckpoint(bytes, { entry: 'model' });
    expect(Object.keys(state)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']);
    // biome-ignore lint/suspicious/noExplicitAny: an arbitrary unpickled training checkpoint, walked by key
    const all = readTorchCheckpoint(bytes) as Record<string, any>;
    expect(all.best_acc).toBe(0.875);
    expect(all.steps).toBe(1234);
    expect(all.optimizer.param_groups[0].lr).toBe(0.01);
    expect(all.optimizer.param_groups[0].betas).toEqual([0.9, 0.999]);
    expect(Object.keys(all.optimizer.state)).toEqual(['0', '1', '2', '3']);
    expect(() => loadTorchCheckpoint(bytes, { entry: ['optimizer', 'nope'] })).toThrow(/"optimizer" → "nope" is not in the checkpoint.*"state", "param_groups"/);
  });

  it('a DataParallel state dict: stripPrefix removes "module."', () => {
    const state = loadTorchCheckpoint(bytesOf('data-parallel.pt'), { stripPrefix: 'module.' });
    expect(Object.keys(state)[0]).toBe('0.weight');
    expect(Object.keys(loadTorchCheckpoint(bytesOf('data-parallel.pt')))[0]).toBe('module.0.weight');
  });

  it('round trip: what sepconv writes reads back the same, every dtype kept', () => {
    const original = readTorchCheckpoint(bytesOf('training.pt')) as Record<string, TorchValue>;
    const again = readTorchCheckpoint(saveTorchCheckpoint(original as never)) as Record<string, TorchValue>;
    expect(again).toEqual(original);
    const dtypes = readTorchCheckpoint(bytesOf('dtypes.pt')) as Record<string, TorchTensor>;
    const back = readTorchCheckpoint(saveTorchCheckpoint(dtypes)) as Record<string, TorchTensor>;
    expect(back).toEqual(dtypes);
  });
});

describe('the pickle reader on one object pickled with protocols 0 to 5 (Python\'s pickle module)', () => {
  const hooks: UnpickleHooks = {
    resolveGlobal: (module, name) => {
      throw new Error(`unexpected global ${module}.${name}`);
    },
  };
  const expected = {
    int: 1, neg: -70000, big: 2n ** 70n, float: 0.1, str: 'héllo', bytes: new Uint8Array([0, 255]),
    list: [1, [2, 3]], tuple: [true, false, null], nested: { a: { b: [] } },
  };
  for (let protocol = 0; protocol <= 5; protocol++) {
    it(`protocol ${protocol}`, () => {
      const bytes = bytesOf(`plain-protocol${protocol}.pkl`);
      if (protocol < 3) {
        // bytes before protocol 3 are _codecs.encode(...) or a list of ints: the torch allow-list reads them.
        const value = readPlain(bytes) as Record<string, unknown>;
        expect(value.bytes).toEqual(new Uint8Array([0, 255]));
        return checkPlain(value);
      }
      const { value, end } = unpickle(bytes, hooks);
      expect(end).toBe(bytes.length);
      checkPlain(value as Record<string, unknown>);
    });
  }

  function checkPlain(value: Record<string, unknown>): void {
    expect(Object.getPrototypeOf(value)).toBeNull();
    expect(Object.keys(value)).toEqual([...Object.keys(expected), '__proto__']);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')!.value).toBe('data');
    for (const [k, v] of Object.entries(expected)) {
      if (k === 'nested') expect(JSON.stringify(value[k])).toBe(JSON.stringify(v));
      else expect(value[k], k).toEqual(v);
    }
  }
});

/** Protocols 0-2 spell bytes with a global (_codecs.encode or builtins.bytes): read through the checkpoint allow-list. */
function readPlain(bytes: Uint8Array): unknown {
  return unpickle(bytes, {
    resolveGlobal: (module, name) => {
      if (`${module}.${name}` === '_codecs.encode') {
        return { qualifiedName: '_codecs.encode', call: ([text]: unknown[]) => Uint8Array.from(text as string, (c) => c.charCodeAt(0)) };
      }
      throw new Error(`unexpected global ${module}.${name}`);
    },
  }).value;
}

describe('float16 and bfloat16 written back', () => {
  const halfToFloat = (h: number): number => {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) return sign * m * 2 ** -24;
    if (e === 31) return m === 0 ? sign * Infinity : NaN;
    return sign * (1 + m / 1024) * 2 ** (e - 15);
  };

  it('floatToHalf: every half value maps to itself, midpoints round to even, overflow to infinity', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = halfToFloat(h);
      if (Number.isNaN(v)) {
        expect(Number.isNaN(halfToFloat(floatToHalf(v)))).toBe(true);
        continue;
      }
      expect(floatToHalf(v), `half 0x${h.toString(16)}`).toBe(h);
      const next = h + 1;
      if ((h & 0x7fff) < 0x7bff) {
        // The midpoint to the next half (exact in float32) goes to the even one of the two.
        const mid = (v + halfToFloat(next)) / 2;
        expect(floatToHalf(mid), `midpoint after 0x${h.toString(16)}`).toBe(h % 2 === 0 ? h : next);
      }
    }
    expect(floatToHalf(65520)).toBe(0x7c00); // past the largest half (65504) by half an ulp: infinity
    expect(floatToHalf(65519)).toBe(0x7bff);
    expect(floatToHalf(2 ** -26)).toBe(0); // below half the smallest subnormal
  });

  it('floatToBfloat16: the top 16 bits rounded to nearest even', () => {
    const bits = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0]!;
    const fromBits = (b: number) => new Float32Array(new Uint32Array([b]).buffer)[0]!;
    expect(floatToBfloat16(1)).toBe(0x3f80);
    expect(floatToBfloat16(fromBits(0x3f808000))).toBe(0x3f80); // tie, even stays
    expect(floatToBfloat16(fromBits(0x3f818000))).toBe(0x3f82); // tie, odd rounds up
    expect(floatToBfloat16(fromBits(0x3f808001))).toBe(0x3f81);
    expect(floatToBfloat16(NaN) & 0x7fc0).toBe(0x7fc0);
    expect(bits(-2) >>> 16).toBe(floatToBfloat16(-2));
  });

  it('a float16 checkpoint read and saved again has PyTorch\'s own bytes in every storage', () => {
    const state = readTorchCheckpoint(bytesOf('dtypes.pt')) as Record<string, TorchTensor>;
    const original = readZip(bytesOf('dtypes.pt'));
    const saved = readZip(saveTorchCheckpoint({ f16: state.f16!, bf16: state.bf16!, f64: state.f64! }));
    // dtypes.pt stores f32 in record 0, f64 in 1, f16 in 2, bf16 in 3 (first use order).
    expect(saved.read('archive/data/0')).toEqual(original.read('archive/data/2'));
    expect(saved.read('archive/data/1')).toEqual(original.read('archive/data/3'));
    expect(saved.read('archive/data/2')).toEqual(original.read('archive/data/1'));
  });
});
