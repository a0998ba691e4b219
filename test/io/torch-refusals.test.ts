/**
 * Hostile and broken checkpoints: pickles built opcode by opcode, archives built byte by byte.
 * Every one gets a TorchCheckpointError that names the problem; nothing is executed and nothing
 * large is allocated.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TorchCheckpointError, TorchTensor, loadTorchCheckpoint, readTorchCheckpoint, saveTorchCheckpoint, saveSafetensors, torchStateDict } from '../../src/index.js';
import { unpickle } from '../../src/io/pickle.js';
import { readZip, writeZip } from '../../src/io/zip.js';
import { crc32 } from '../../src/bits.js';

const FIXTURES = new URL('../fixtures/pth/', import.meta.url);
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, FIXTURES)));

/** Bytes from numbers and latin-1 strings. */
function bytes(...parts: (number | string | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else for (const b of p) out.push(b);
  }
  return Uint8Array.from(out);
}

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const str = (s: string): Uint8Array => {
  const utf8 = new TextEncoder().encode(s);
  return bytes('X', u32(utf8.length), utf8); // BINUNICODE
};
const PROTO2 = bytes(0x80, 2);
const STOP = '.';

/** A torch.save zip archive around `pickle` with the given storage records. */
function archive(pickle: Uint8Array, storages: Record<string, Uint8Array> = {}): Uint8Array {
  return writeZip([
    { name: 'archive/data.pkl', data: pickle },
    ...Object.entries(storages).map(([key, data]) => ({ name: `archive/data/${key}`, data })),
    { name: 'archive/version', data: bytes('3\n') },
  ]);
}

/** `_rebuild_tensor_v2(('storage', FloatStorage, key, 'cpu', numel), offset, size, stride, False, OrderedDict())` */
function tensorOps(key: string, numel: number, offset: number, size: number[], stride: number[], location = 'cpu'): Uint8Array {
  const tuple = (xs: number[]) => bytes('(', ...xs.map((x) => bytes('J', u32(x))), 't');
  return bytes(
    'ctorch._utils\n_rebuild_tensor_v2\n(',
    '(', str('storage'), 'ctorch\nFloatStorage\n', str(key), str(location), 'J', u32(numel), 't', 'Q',
    'J', u32(offset), tuple(size), tuple(stride), 0x89, 'ccollections\nOrderedDict\n)R', 't', 'R',
  );
}

const f32 = (...xs: number[]): Uint8Array => new Uint8Array(new Float32Array(xs).buffer);

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TorchCheckpointError);
    return (error as Error).message;
  }
  throw new Error('expected a TorchCheckpointError, but the call succeeded');
}

describe('refused globals: named, before anything else happens', () => {
  it('builtins.eval, os.system by STACK_GLOBAL, a class of the user\'s', () => {
    expect(refusal(() => readTorchCheckpoint(archive(bytes(PROTO2, 'cbuiltins\neval\n', str('1'), 0x85, 'R', STOP))))).toMatch(/refused global builtins\.eval/);
    const stackGlobal = bytes(0x80, 4, 0x8c, 2, 'os', 0x8c, 6, 'system', 0x93, 0x8c, 2, 'ls', 0x85, 'R', STOP);
    expect(refusal(() => readTorchCheckpoint(archive(stackGlobal)))).toMatch(/refused global os\.system/);
    expect(refusal(() => readTorchCheckpoint(archive(bytes(PROTO2, 'c__main__\nNet\n)', 0x81, STOP))))).toMatch(/pickled model.*__main__\.Net.*model\.state_dict\(\)/);
    // Python 2 module names are mapped as pickle does: __builtin__ → builtins.
    expect(refusal(() => readTorchCheckpoint(archive(bytes(PROTO2, 'c__builtin__\nexec\n', STOP))))).toMatch(/refused global builtins\.exec/);
  });

  it('a refused global after a tensor: refused before the (missing) storage is looked for', () => {
    const pickle = bytes(PROTO2, '(', tensorOps('0', 4, 0, [4], [1]), 'cposix\nsystem\n', 'l', STOP);
    expect(refusal(() => readTorchCheckpoint(archive(pickle)))).toMatch(/refused global posix\.system/);
  });

  it('a TorchScript archive (torch.jit.save) is refused as such', () => {
    expect(refusal(() => readTorchCheckpoint(fixture('torchscript.pt')))).toMatch(/TorchScript archive \(torch\.jit\.save.*model\.state_dict\(\)/);
  });

  it('the legacy format refuses globals in every one of its pickles', () => {
    const magic = bytes(PROTO2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, STOP);
    const file = bytes(magic, PROTO2, 'cposix\nsystem\n', STOP);
    expect(refusal(() => readTorchCheckpoint(file))).toMatch(/protocol version.*refused global posix\.system/);
  });

  it('extension codes, out-of-band buffers, BUILD on a non-dict, unknown opcodes', () => {
    expect(refusal(() => readTorchCheckpoint(archive(bytes(PROTO2, 0x82, 1, STOP))))).toMatch(/EXT.*extension registry/);
    expect(refusal(() => readTorchCheckpoint(archive(bytes(0x80, 5, 0x97, STOP))))).toMatch(/out-of-band buffers/);
    expect(refusal(() => readTorchCheckpoint(archive(bytes(PROTO2, ']', '}', 'b', STOP))))).toMatch(/cannot set the state/);
    expect(refusal(() => readTorchCheckpoint(archive(bytes(PROTO2, 0xff, STOP))))).toMatch(/opcode 0xff at offset 2: not a pickle opcode/);
  });
});

describe('broken pickles', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated', bytes(PROTO2, 'X', u32(100), 'abc'), /BINUNICODE at offset 2: the string needs 100 bytes, but only 3 remain/],
    ['no STOP', bytes(PROTO2, 'N'), /ends without a STOP/],
    ['empty stack', bytes(PROTO2, 'R', STOP), /REDUCE at offset 2: the stack is empty/],
    ['missing memo entry', bytes(PROTO2, 'h', 7, STOP), /memo entry 7 was never stored/],
    ['no MARK', bytes(PROTO2, 't', STOP), /no MARK/],
    ['two values left', bytes(PROTO2, 'NN', STOP), /stack holds 2 values/],
    ['a tuple as a dict key', bytes(PROTO2, '}', ')', 'N', 's', STOP), /dict key must be/],
    ['a persistent id that is no storage', bytes(PROTO2, str('x'), 'Q', STOP), /persistent id "x" is not a storage/],
    ['a huge LONG4', bytes(PROTO2, 0x8b, u32(1e9), STOP), /integer is longer than/],
    ['invalid UTF-8', bytes(PROTO2, 'X', u32(1), 0xff, STOP), /not valid UTF-8/],
    ['too many call arguments', bytes(PROTO2, 'ccollections\nOrderedDict\n(', ...Array(20).fill('N'), 'tR', STOP), /20 arguments for collections\.OrderedDict/],
  ];
  for (const [name, pickle, message] of cases) {
    it(name, () => {
      expect(refusal(() => readTorchCheckpoint(archive(pickle)))).toMatch(message);
    });
  }

  it('deep nesting and cycles: no recursion, no stack overflow', () => {
    const depth = 200_000;
    const deep = new Uint8Array(2 + 2 * depth);
    deep.set(PROTO2);
    deep.fill(0x5d, 2, 2 + depth); // EMPTY_LIST
    deep.fill(0x61, 2 + depth); // APPEND
    deep[deep.length - 1] = 0x2e; // STOP
    let value = readTorchCheckpoint(archive(deep)) as unknown[];
    for (let i = 1; i < depth; i++) value = value[0] as unknown[];
    expect(value).toEqual([]);
    // l = []; l.append(l)
    const cyclic = readTorchCheckpoint(archive(bytes(PROTO2, ']', 'q', 0, 'h', 0, 'a', STOP))) as unknown[];
    expect(cyclic[0]).toBe(cyclic);
  });
});

describe('tensors checked against their storage before allocation', () => {
  it('a view reaching past its storage, by offset or by stride', () => {
    const past = bytes(PROTO2, tensorOps('0', 4, 2, [3], [1]), STOP);
    expect(refusal(() => readTorchCheckpoint(archive(past, { 0: f32(1, 2, 3, 4) })))).toMatch(/reach element 4 of storage "0", which has 4/);
    const strided = bytes(PROTO2, tensorOps('0', 4, 0, [2, 2], [3, 1]), STOP);
    expect(refusal(() => readTorchCheckpoint(archive(strided, { 0: f32(1, 2, 3, 4) })))).toMatch(/reach element 4/);
  });

  it('a declared size larger than the record, and a missing record', () => {
    const t = bytes(PROTO2, tensorOps('0', 1000, 0, [1000], [1]), STOP);
    expect(refusal(() => readTorchCheckpoint(archive(t, { 0: f32(1, 2) })))).toMatch(/record "archive\/data\/0" has 8 bytes, but its 1000-element float32 storage needs 4000/);
    expect(refusal(() => readTorchCheckpoint(archive(t)))).toMatch(/storage "0", but the archive has no record "archive\/data\/0"/);
  });

  it('a huge shape over a small storage, and many views of one storage past the output limit', () => {
    const huge = bytes(PROTO2, tensorOps('0', 1, 0, [2 ** 30, 2 ** 30], [0, 0]), STOP);
    expect(refusal(() => readTorchCheckpoint(archive(huge, { 0: f32(1) })))).toMatch(/more than the limit/);
    // 64 distinct 1024-element views of one 1024-element storage: 256 KiB of output from a ~10 KiB file.
    const views = bytes(PROTO2, '(', ...Array.from({ length: 64 }, () => tensorOps('0', 1024, 0, [1024], [1])), 'l', STOP);
    const file = archive(views, { 0: new Uint8Array(4096) });
    expect(readTorchCheckpoint(file)).toHaveLength(64);
    expect(refusal(() => readTorchCheckpoint(file, { maxTensorBytes: 100_000 }))).toMatch(/brings the tensor data to 102400 bytes, more than the limit of 100000/);
  });
});

describe('archives', () => {
  it('writeZip → readZip: names, data, CRCs, 64-byte alignment', () => {
    const files = [{ name: 'a/data.pkl', data: bytes('hello') }, { name: 'a/data/0', data: new Uint8Array(300).fill(7) }, { name: 'é', data: new Uint8Array(0) }];
    const zip = writeZip(files);
    const read = readZip(zip);
    expect([...read.entries.keys()]).toEqual(['a/data.pkl', 'a/data/0', 'é']);
    for (const f of files) {
      expect(read.read(f.name)).toEqual(f.data);
      expect(read.entries.get(f.name)!.crc32).toBe(crc32(f.data));
      expect((read.read(f.name).byteOffset - zip.byteOffset) % 64).toBe(0);
    }
  });

  it('zip64: sizes and offsets in the zip64 extra field, the directory found through the zip64 locator', () => {
    const state = fixture('dtypes.pt');
    const zip = readZip(state);
    const rebuilt = zip64([...zip.entries.keys()].map((name) => ({ name, data: zip.read(name) })));
    expect(readTorchCheckpoint(rebuilt)).toEqual(readTorchCheckpoint(state));
  });

  it('a corrupted byte in a record fails its CRC, naming the record', () => {
    const file = saveTorchCheckpoint({ w: { shape: [4], data: new Float32Array([1, 2, 3, 4]) } });
    const at = readZip(file).read('archive/data/0').byteOffset - file.byteOffset;
    file[at + 1] ^= 0x40;
    expect(refusal(() => readTorchCheckpoint(file))).toMatch(/entry "archive\/data\/0": CRC-32 mismatch/);
  });

  it('truncated: the end record is gone, or the directory points past the end', () => {
    const file = fixture('dtypes.pt');
    expect(refusal(() => readTorchCheckpoint(file.subarray(0, file.length - 30)))).toMatch(/end-of-central-directory|truncated/);
    expect(refusal(() => readTorchCheckpoint(file.subarray(0, 2000)))).toMatch(/truncated|no end-of-central-directory/);
  });

  it('an unsupported method, encryption, a duplicate name, an inflated entry count', () => {
    const base = writeZip([{ name: 'archive/data.pkl', data: bytes(PROTO2, 'N', STOP) }]);
    const central = base.length - 22 - 46 - 'archive/data.pkl'.length;
    const patched = (at: number, value: number[]) => {
      const copy = base.slice();
      copy.set(value, at);
      return copy;
    };
    expect(refusal(() => readTorchCheckpoint(patched(central + 10, [12, 0])))).toMatch(/compression method 12/);
    expect(refusal(() => readTorchCheckpoint(patched(central + 8, [1, 0])))).toMatch(/encrypted/);
    expect(refusal(() => readTorchCheckpoint(patched(base.length - 12, [0xff, 0x00])))).toMatch(/declares 255 entries, but a central directory of \d+ bytes holds at most 1/);
    const twice = writeZip([{ name: 'x/data.pkl', data: bytes(PROTO2, 'N', STOP) }, { name: 'x/data.pkl', data: bytes(PROTO2, 'N', STOP) }]);
    expect(refusal(() => readTorchCheckpoint(twice))).toMatch(/"x\/data\.pkl" appears twice/);
  });

  it('a deflated entry declaring more than deflate can produce is refused before inflating', () => {
    const base = writeZip([{ name: 'archive/data.pkl', data: bytes(PROTO2, 'N', STOP) }]);
    const central = base.length - 22 - 46 - 'archive/data.pkl'.length;
    const copy = base.slice();
    copy.set([8, 0], central + 10); // deflated
    copy.set([0, 0, 0, 0x40], central + 24); // size 1 GiB
    expect(refusal(() => readTorchCheckpoint(copy))).toMatch(/declares 1073741824 bytes from 4 deflated bytes/);
  });

  it('a deflated entry whose stream is corrupt is refused, naming the entry', () => {
    const file = fixture('deflated.pt');
    const entry = readZip(file).entries.get('archive/data.pkl')!;
    const view = new DataView(file.buffer, file.byteOffset);
    const start = entry.headerOffset + 30 + view.getUint16(entry.headerOffset + 26, true) + view.getUint16(entry.headerOffset + 28, true);
    const copy = file.slice();
    copy[start] = 0xff; // block type 3, which DEFLATE reserves
    expect(refusal(() => readTorchCheckpoint(copy))).toMatch(/entry "archive\/data\.pkl": corrupt deflate data/);
    copy.set(file.subarray(start, start + 1), start);
    expect(readTorchCheckpoint(copy)).toEqual(readTorchCheckpoint(file));
  });

  it('a zip that is no torch.save file, and files of other formats', () => {
    expect(refusal(() => readTorchCheckpoint(writeZip([{ name: 'readme.txt', data: bytes('hi') }])))).toMatch(/no <name>\/data\.pkl record.*"readme\.txt"/);
    const safetensors = saveSafetensors({ w: { shape: [1], data: new Float32Array([1]) } });
    expect(refusal(() => loadTorchCheckpoint(safetensors))).toMatch(/not a torch\.save file: this looks like a safetensors file: load it with loadSafetensors/);
    const png = bytes(0x89, 'PNG', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0);
    expect(refusal(() => loadTorchCheckpoint(png))).toMatch(/this looks like a PNG image/);
    expect(refusal(() => loadTorchCheckpoint(bytes('garbage')))).toMatch(/not a torch\.save file \(it starts neither/);
    expect(refusal(() => loadTorchCheckpoint(bytes(PROTO2, '}', STOP)))).toMatch(/a Python pickle, but not a torch\.save file/);
    const tar = new Uint8Array(1024);
    tar.set(bytes('ustar'), 257);
    expect(refusal(() => loadTorchCheckpoint(tar))).toMatch(/tar archive, the format of the first torch\.save.*save it again/);
  });
});

describe('options and arguments', () => {
  it('are checked by name', () => {
    const file = saveTorchCheckpoint({ w: { shape: [1], data: new Float32Array([1]) } });
    expect(() => loadTorchCheckpoint(file, { strip: 'module.' } as never)).toThrow(/unknown option "strip"/);
    expect(() => loadTorchCheckpoint(file, { entry: 3 } as never)).toThrow(/entry must be a key or an array of at most 64 keys, got 3/);
    expect(() => loadTorchCheckpoint(file, { skipUnsupported: 'yes' } as never)).toThrow(/skipUnsupported must be a boolean/);
    expect(() => loadTorchCheckpoint('file.pth' as never)).toThrow(/bytes must be a Uint8Array/);
    expect(() => readTorchCheckpoint(file, { entry: 'model' } as never)).toThrow(/readTorchCheckpoint: unknown option "entry"; expected one of maxTensorBytes/);
    expect(() => loadTorchCheckpoint(file, { maxTensorBytes: -1 })).toThrow(/maxTensorBytes must be a finite non-negative number of bytes, got -1/);
    expect(() => torchStateDict(readTorchCheckpoint(file), { maxTensorBytes: 1 } as never)).toThrow(/torchStateDict: unknown option "maxTensorBytes"/);
    expect(() => saveTorchCheckpoint({ w: new Map() } as never)).toThrow(/"w" is Map/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => saveTorchCheckpoint(cyclic as never)).toThrow(/contains itself/);
  });

  it('saving: one array written with two dtypes gets two storages; shapes are checked', () => {
    const u8 = new Uint8Array([1, 0, 2]);
    const back = readTorchCheckpoint(saveTorchCheckpoint({ a: new TorchTensor([3], u8, 'bool'), b: new TorchTensor([3], u8, 'uint8') })) as Record<string, TorchTensor>;
    expect(back.a!.dtype).toBe('bool');
    expect(back.b!.dtype).toBe('uint8');
    expect(Array.from(back.a!.data as Uint8Array)).toEqual([1, 0, 1]);
    expect(Array.from(back.b!.data as Uint8Array)).toEqual([1, 0, 2]);
    expect(() => new TorchTensor([2], new Int32Array(3), 'int32')).toThrow(/TorchTensor: data\.length must equal the product of shape \[2\] = 2, got 3/);
    expect(() => new TorchTensor([2], new Int32Array(2), 'int64')).toThrow(/the data of int64 tensors must be a BigInt64Array/);
    expect(() => new TorchTensor([2], new Float32Array(2), 'float8' as never)).toThrow(/dtype must be one of float32/);
    expect(() => new TorchTensor([1.5], new Float32Array(2), 'float32')).toThrow(/TorchTensor: shape\[0\] must be an integer/);
    expect(() => saveTorchCheckpoint({ c: { shape: [-1], data: new BigInt64Array(1) } })).toThrow(/shape\[0\] must be an integer from 0/);
  });

  it('stripPrefix that makes two keys equal is an error', () => {
    const t = { shape: [1], data: new Float32Array([1]) };
    expect(refusal(() => loadTorchCheckpoint(saveTorchCheckpoint({ 'module.a': t, a: t }), { stripPrefix: 'module.' }))).toMatch(/makes two keys "a"/);
  });

  it('"__proto__" is a key like any other, in what is read and what is written', () => {
    const dict = Object.create(null) as Record<string, unknown>;
    Object.defineProperty(dict, '__proto__', { value: { shape: [1], data: new Float32Array([5]) }, enumerable: true });
    const state = loadTorchCheckpoint(saveTorchCheckpoint(dict as never));
    expect(Object.keys(state)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(state, '__proto__')!.value.data).toEqual(new Float32Array([5]));
    expect(({} as Record<string, unknown>).data).toBeUndefined();
  });
});

describe('the pickle machine alone', () => {
  it('reads several pickles in a row and says where each ended', () => {
    const two = bytes(PROTO2, 'K', 5, STOP, PROTO2, 'N', STOP);
    const first = unpickle(two, { resolveGlobal: () => null });
    expect(first).toEqual({ value: 5, end: 5 });
    expect(unpickle(two, { resolveGlobal: () => null }, first.end)).toEqual({ value: null, end: 9 });
  });
});

/** An archive in zip64 form written independently of writeZip: every size and offset saturated and given in zip64 fields. */
function zip64(files: { name: string; data: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const push = (b: Uint8Array) => {
    parts.push(b);
    offset += b.length;
  };
  const u16 = (n: number) => new Uint8Array(new Uint16Array([n]).buffer);
  const u64 = (n: number) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);
  const enc = new TextEncoder();
  const offsets: number[] = [];
  for (const f of files) {
    offsets.push(offset);
    const name = enc.encode(f.name);
    push(bytes(u32(0x04034b50), u16(45), u16(0), u16(0), u32(0), u32(crc32(f.data)), u32(0xffffffff), u32(0xffffffff), u16(name.length), u16(20), name, u16(1), u16(16), u64(f.data.length), u64(f.data.length), f.data));
  }
  const cdStart = offset;
  files.forEach((f, i) => {
    const name = enc.encode(f.name);
    push(bytes(
      u32(0x02014b50), u16(45), u16(45), u16(0), u16(0), u32(0), u32(crc32(f.data)), u32(0xffffffff), u32(0xffffffff),
      u16(name.length), u16(28), u16(0), u16(0), u16(0), u32(0), u32(0xffffffff), name,
      u16(1), u16(24), u64(f.data.length), u64(f.data.length), u64(offsets[i]!),
    ));
  });
  const cdSize = offset - cdStart;
  const eocd64 = offset;
  push(bytes(u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(files.length), u64(files.length), u64(cdSize), u64(cdStart)));
  push(bytes(u32(0x07064b50), u32(0), u64(eocd64), u32(1)));
  push(bytes(u32(0x06054b50), u16(0), u16(0), u16(0xffff), u16(0xffff), u32(0xffffffff), u32(0xffffffff), u16(0)));
  return bytes(...parts);
}

describe('spellings of other PyTorch versions, built by hand', () => {
  const storage = (type: string, key: string, numel: number) =>
    bytes('(', str('storage'), `ctorch\n${type}\n`, str(key), str('cpu'), 'J', u32(numel), 't', 'Q');

  it('a tensor saved from a GPU (location "cuda:0") loads like any other', () => {
    const pickle = bytes(PROTO2, tensorOps('0', 2, 0, [2], [1], 'cuda:0'), STOP);
    expect((readTorchCheckpoint(archive(pickle, { 0: f32(3, 4) })) as { data: Float32Array }).data).toEqual(new Float32Array([3, 4]));
  });

  it('a big-endian archive (byteorder "big"): storages are read in that order', () => {
    const pickle = bytes(PROTO2, tensorOps('0', 2, 0, [2], [1]), STOP);
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 1.5, false);
    new DataView(be.buffer).setFloat32(4, -2, false);
    const file = writeZip([{ name: 'a/data.pkl', data: pickle }, { name: 'a/byteorder', data: bytes('big') }, { name: 'a/data/0', data: be }]);
    expect(Array.from((readTorchCheckpoint(file) as { data: Float32Array }).data)).toEqual([1.5, -2]);
  });

  it('a legacy file with a pre-0.4 storage view: the tensor reads its slice of the root storage', () => {
    const magic = bytes(PROTO2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, STOP);
    const info = bytes(PROTO2, '}', str('little_endian'), 0x88, 's', STOP);
    const pid = bytes('(', str('storage'), 'ctorch\nFloatStorage\n', str('root'), str('cpu'), 'K', 4, str('view'), 'K', 1, 'K', 2, 0x87, 't', 'Q');
    const object = bytes(PROTO2, 'ctorch._utils\n_rebuild_tensor_v2\n(', pid, 'K', 0, 'K', 2, 0x85, 'K', 1, 0x85, 0x89, 'ccollections\nOrderedDict\n)R', 't', 'R', STOP);
    const keys = bytes(PROTO2, ']', str('root'), 'a', STOP);
    const storage = bytes(new Uint8Array(new BigInt64Array([4n]).buffer), f32(10, 11, 12, 13));
    const file = bytes(magic, bytes(PROTO2, 'M', 0xe9, 0x03, STOP), info, object, keys, storage);
    expect((readTorchCheckpoint(file) as { data: Float32Array }).data).toEqual(new Float32Array([11, 12]));
    expect(refusal(() => readTorchCheckpoint(file.subarray(0, file.length - 1)))).toMatch(/storage "root" declares 4 float32 elements, but only 15 bytes remain/);
    expect(refusal(() => readTorchCheckpoint(bytes(file, 0)))).toMatch(/1 bytes follow the last storage/);
  });

  it('_rebuild_tensor_v3 (with its dtype) and _rebuild_from_type_v2 around a parameter', () => {
    const v3 = bytes(
      PROTO2, 'ctorch._utils\n_rebuild_tensor_v3\n(', storage('LongStorage', '0', 2), 'K', 0, 'K', 2, 0x85, 'K', 1, 0x85, 0x89,
      'ccollections\nOrderedDict\n)R', 'ctorch\nint64\n', 't', 'R', STOP,
    );
    const t = readTorchCheckpoint(archive(v3, { 0: new Uint8Array(new BigInt64Array([3n, -4n]).buffer) })) as { dtype: string; data: BigInt64Array };
    expect(t.dtype).toBe('int64');
    expect(t.data).toEqual(new BigInt64Array([3n, -4n]));
    const mismatch = bytes(
      PROTO2, 'ctorch._utils\n_rebuild_tensor_v3\n(', storage('LongStorage', '0', 2), 'K', 0, 'K', 2, 0x85, 'K', 1, 0x85, 0x89,
      'ccollections\nOrderedDict\n)R', 'ctorch\nfloat32\n', 't', 'R', STOP,
    );
    expect(refusal(() => readTorchCheckpoint(archive(mismatch, { 0: new Uint8Array(16) })))).toMatch(/does not match its int64 storage/);
    const fromType = bytes(
      PROTO2, 'ctorch._tensor\n_rebuild_from_type_v2\n(', 'ctorch._utils\n_rebuild_parameter\n',
      'ctorch.nn.parameter\nParameter\n', '(', tensorOps('0', 2, 0, [2], [1]), 0x88, 'ccollections\nOrderedDict\n)R', 't', '}', 't', 'R', STOP,
    );
    expect((readTorchCheckpoint(archive(fromType, { 0: f32(1, 2) })) as { data: Float32Array }).data).toEqual(new Float32Array([1, 2]));
  });

  it('numpy arrays: other dtypes refused by name, an array never built refused, the bytes checked against the shape', () => {
    const reconstruct = bytes('cnumpy.core.multiarray\n_reconstruct\n', 'cnumpy\nndarray\n', 'K', 0, 0x85, 'c_codecs\nencode\n', str('b'), str('latin1'), 0x86, 'R', 0x87, 'R');
    const dtype = (code: string) => bytes('cnumpy\ndtype\n', str(code), 0x89, 0x88, 0x87, 'R', '(', 'K', 3, str('<'), 'NNN', 'J', u32(0xffffffff), 'J', u32(0xffffffff), 'K', 0, 't', 'b');
    const array = (code: string, n: number, raw: Uint8Array) =>
      bytes(PROTO2, reconstruct, '(', 'K', 1, 'K', n, 0x85, dtype(code), 0x89, 'C', raw.length, raw, 't', 'b', STOP);
    expect(readTorchCheckpoint(archive(array('i2', 2, bytes(1, 0, 0xff, 0xff))))).toEqual(new TorchTensor([2], new Int16Array([1, -1]), 'int16'));
    expect(refusal(() => readTorchCheckpoint(archive(array('O8', 1, new Uint8Array(8)))))).toMatch(/numpy arrays of dtype "O8" are not supported/);
    expect(refusal(() => readTorchCheckpoint(archive(array('f4', 2, new Uint8Array(4)))))).toMatch(/needs 8 bytes, got 4/);
    expect(refusal(() => readTorchCheckpoint(archive(bytes(PROTO2, reconstruct, STOP))))).toMatch(/numpy array that was never given its data/);
  });

  it('OrderedDict from a list of pairs, torch.Size, a big-endian numpy float64 scalar', () => {
    const pairs = bytes(PROTO2, 'ccollections\nOrderedDict\n', '(', '(', str('a'), 'K', 1, 't', '(', str('b'), 'K', 2, 't', 'l', 0x85, 'R', STOP);
    const dict = readTorchCheckpoint(archive(pairs)) as Record<string, unknown>;
    expect(Object.keys(dict)).toEqual(['a', 'b']);
    expect(dict.b).toBe(2);
    expect(readTorchCheckpoint(archive(bytes(PROTO2, 'ctorch\nSize\n', 'K', 3, 'K', 4, 0x86, 0x85, 'R', STOP)))).toEqual([3, 4]);
    const scalar = bytes(
      PROTO2, 'cnumpy.core.multiarray\nscalar\n', 'cnumpy\ndtype\n', str('f8'), 0x89, 0x88, 0x87, 'R',
      '(', 'K', 3, str('>'), 'NNN', 'J', u32(0xffffffff), 'J', u32(0xffffffff), 'K', 0, 't', 'b',
      'c_codecs\nencode\n', str('\x3f\xf8\x00\x00\x00\x00\x00\x00'), str('latin1'), 0x86, 'R', 0x86, 'R', STOP,
    );
    expect(readTorchCheckpoint(archive(scalar))).toBe(1.5);
  });
});

describe('work bounded by the size of the file', () => {
  it('a memoized long list or string copied again and again is refused, not a quadratic hang', () => {
    const n = 100_000;
    // OrderedDict-free: builtins.set(l) for one memoized list of n items, called 1,000 times.
    const list = new Uint8Array(n * 2);
    for (let i = 0; i < n; i++) list.set([0x4b, 1], 2 * i);
    const calls = new Uint8Array(1000 * 6);
    for (let i = 0; i < 1000; i++) calls.set([0x68, 0, 0x68, 1, 0x85, 0x52], 6 * i); // BINGET 0, BINGET 1, TUPLE1, REDUCE
    const pops = new Uint8Array(1000).fill(0x30); // POP each result at the end
    const pickle = bytes(PROTO2, 'cbuiltins\nset\n', 'q', 0, '0', ']', 'q', 1, '(', list, 'e', '0', calls, pops, 'N', STOP);
    expect(refusal(() => readTorchCheckpoint(archive(pickle)))).toMatch(/builtins\.set: the pickle copies more items than a file of its size can hold/);
    // _codecs.encode(text, 'latin1') on one memoized 100,000-character text, 1,000 times.
    const latin = str('latin1');
    const one = bytes('h', 0, 'h', 1, latin, 0x86, 'R', '0'); // BINGET 0, BINGET 1, 'latin1', TUPLE2, REDUCE, POP
    const repeated = new Uint8Array(one.length * 1000);
    for (let i = 0; i < 1000; i++) repeated.set(one, i * one.length);
    const encode = bytes(PROTO2, 'c_codecs\nencode\n', 'q', 0, '0', str('x'.repeat(n)), 'q', 1, '0', repeated, 'N', STOP);
    expect(refusal(() => readTorchCheckpoint(archive(encode)))).toMatch(/_codecs\.encode: the pickle copies more items/);
  });
});
