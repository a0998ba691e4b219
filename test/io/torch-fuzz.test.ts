/**
 * A mutation fuzzer for the checkpoint reader, with fixed seeds and fixed case counts. Three
 * streams: bytes of the whole archive mutated (the zip reader: directory, headers, sizes; data
 * changes are caught by the CRC), bytes of data.pkl mutated inside a rebuilt archive whose CRCs are
 * right (the unpickler and the tensor checks), and bytes of a legacy-format file mutated (five
 * pickles and raw storages, no CRC at all). Each read must return a checkpoint whose tensors are
 * well formed or throw a TorchCheckpointError with a bounded message: never another error, a
 * stack overflow, a hang or a huge allocation. A fourth stream writes random sequences of opcodes
 * (marks, memo, containers, allowed globals, calls, persistent ids) for the unpickler alone.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TorchCheckpointError, TorchTensor, readTorchCheckpoint, saveTorchCheckpoint, type TorchValue } from '../../src/index.js';
import { readZip, writeZip } from '../../src/io/zip.js';
import { rng } from '../helpers.js';

const FIXTURES = new URL('../fixtures/pth/', import.meta.url);
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, FIXTURES)));

/** Small enough that a mutated shape cannot make a case slow; the default limit is tested elsewhere. */
const LIMIT = { maxTensorBytes: 1 << 20 };

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x28, 0x2e, 0x4a, 0x4b, 0x51, 0x52, 0x58, 0x5d, 0x61, 0x63, 0x68, 0x71, 0x74, 0x7d, 0x81, 0x8a, 0x93, 0x94, 0x95];
const HUGE32 = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000000, 0xfffffffe];

type Outcome = 'read' | 'refused';

interface Counts {
  read: number;
  refused: number;
  mishandled: string[];
}

/** Every tensor well formed: data length = product of shape, a known dtype. */
function checkValue(value: TorchValue): void {
  const seen = new Set<object>();
  const work: unknown[] = [value];
  while (work.length > 0) {
    const v = work.pop();
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof TorchTensor) {
      const n = v.shape.reduce((a, b) => a * b, 1);
      if (v.data.length !== n) throw new Error(`tensor data length ${v.data.length} for shape ${v.shape}`);
      continue;
    }
    if (ArrayBuffer.isView(v)) continue;
    for (const item of Object.values(v)) work.push(item);
  }
}

function attempt(bytes: Uint8Array, counts: Counts): Outcome | null {
  try {
    checkValue(readTorchCheckpoint(bytes, LIMIT));
    counts.read++;
    return 'read';
  } catch (error) {
    if (error instanceof TorchCheckpointError && error.message.length < 2000) {
      counts.refused++;
      return 'refused';
    }
    if (counts.mishandled.length < 10) counts.mishandled.push(`${(error as Error).name}: ${(error as Error).message.slice(0, 300)}`);
    return null;
  }
}

function mutateBytes(input: Uint8Array, random: () => number): Uint8Array {
  const at = (n: number): number => Math.floor(random() * Math.max(1, n));
  let bytes = input.slice();
  const rounds = 1 + at(3);
  for (let r = 0; r < rounds && bytes.length > 0; r++) {
    switch (at(6)) {
      case 0:
        bytes[at(bytes.length)]! ^= 1 << at(8);
        break;
      case 1:
        bytes[at(bytes.length)] = INTERESTING[at(INTERESTING.length)]!;
        break;
      case 2:
        bytes = bytes.slice(0, at(bytes.length));
        break;
      case 3: { // a huge 32-bit value anywhere (sizes, offsets, counts, lengths)
        const p = at(bytes.length - 4);
        if (p + 4 <= bytes.length) new DataView(bytes.buffer).setUint32(p, HUGE32[at(HUGE32.length)]!, true);
        break;
      }
      case 4: { // a byte inserted
        const p = at(bytes.length);
        const grown = new Uint8Array(bytes.length + 1);
        grown.set(bytes.subarray(0, p));
        grown[p] = INTERESTING[at(INTERESTING.length)]!;
        grown.set(bytes.subarray(p), p + 1);
        bytes = grown;
        break;
      }
      default: { // a byte removed
        const p = at(bytes.length);
        bytes = Uint8Array.from([...bytes.subarray(0, p), ...bytes.subarray(p + 1)]);
      }
    }
  }
  return bytes;
}

const ZIP_CORPUS = ['dtypes.pt', 'protocol4.pt', 'training.pt', 'numpy-arrays.pt'];

describe('checkpoint reader mutation fuzzer (fixed seeds, fixed counts)', () => {
  it('archive bytes mutated: 3000 cases (seed 20261206)', () => {
    const random = rng(20261206);
    const corpus = [...ZIP_CORPUS.map(fixture), fixture('deflated.pt'), saveTorchCheckpoint({ w: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } })];
    const counts: Counts = { read: 0, refused: 0, mishandled: [] };
    for (let i = 0; i < 3000; i++) attempt(mutateBytes(corpus[i % corpus.length]!, random), counts);
    console.log(`torch fuzz, archive bytes: 3000 cases, ${counts.read} read, ${counts.refused} refused, ${counts.mishandled.length} mishandled`);
    expect(counts.mishandled).toEqual([]);
    expect(counts.read + counts.refused).toBe(3000);
  });

  it('data.pkl mutated inside archives with right CRCs: 6000 cases (seed 20261207)', () => {
    const random = rng(20261207);
    const archives: { name: string; data: Uint8Array }[][] = ZIP_CORPUS.map((name) => {
      const zip = readZip(fixture(name));
      return [...zip.entries.keys()].map((entry) => ({ name: entry, data: zip.read(entry).slice() }));
    });
    const counts: Counts = { read: 0, refused: 0, mishandled: [] };
    for (let i = 0; i < 6000; i++) {
      const files = archives[i % archives.length]!.map((f) => ({ ...f }));
      // Now and then a storage record cut short (numpy-arrays.pt has none: its bytes are in the pickle).
      const record = i % 10 === 9 ? files.find((f) => f.name.includes('/data/')) : undefined;
      if (record !== undefined) record.data = record.data.slice(0, Math.floor(random() * record.data.length));
      else {
        const pickle = files.find((f) => f.name.endsWith('data.pkl'))!;
        pickle.data = mutateBytes(pickle.data, random);
      }
      attempt(writeZip(files), counts);
    }
    console.log(`torch fuzz, data.pkl: 6000 cases, ${counts.read} read, ${counts.refused} refused, ${counts.mishandled.length} mishandled`);
    expect(counts.mishandled).toEqual([]);
    expect(counts.read + counts.refused).toBe(6000);
  });

  it('legacy-format bytes mutated (no CRC): 4000 cases (seed 20261208)', () => {
    const random = rng(20261208);
    const legacy = fixture('legacy-dtypes.pt');
    const counts: Counts = { read: 0, refused: 0, mishandled: [] };
    for (let i = 0; i < 4000; i++) attempt(mutateBytes(legacy, random), counts);
    console.log(`torch fuzz, legacy format: 4000 cases, ${counts.read} read, ${counts.refused} refused, ${counts.mishandled.length} mishandled`);
    expect(counts.mishandled).toEqual([]);
    expect(counts.read + counts.refused).toBe(4000);
  });

  it('random opcode sequences (allowed globals, tensors, memo, marks): 5000 pickles (seed 20261209)', () => {
    const random = rng(20261209);
    const at = (n: number): number => Math.floor(random() * n);
    const enc = new TextEncoder();
    const unicode = (s: string): number[] => {
      const b = enc.encode(s);
      return [0x58, b.length, 0, 0, 0, ...b];
    };
    const pieces: (() => number[])[] = [
      () => [0x28], () => [0x29], () => [0x5d], () => [0x7d], () => [0x4e], () => [0x88], () => [0x89], () => [0x30], () => [0x31], () => [0x32],
      () => [0x4b, at(256)], () => [0x4a, at(256), at(256), at(256), at(256)], () => [0x8a, 1, at(256)],
      () => unicode(['storage', 'cpu', '0', '1', 'w', '__proto__', 'module.x'][at(7)]!),
      () => [0x74], () => [0x85], () => [0x86], () => [0x87], () => [0x6c], () => [0x64], () => [0x61], () => [0x65], () => [0x73], () => [0x75],
      () => [0x52], () => [0x81], () => [0x62], () => [0x51], () => [0x94], () => [0x71, at(4)], () => [0x68, at(4)],
      () => [...enc.encode(['ctorch._utils\n_rebuild_tensor_v2\n', 'ctorch\nFloatStorage\n', 'ccollections\nOrderedDict\n', 'ctorch\nSize\n', 'ctorch._utils\n_rebuild_parameter\n', 'ctorch\nLongStorage\n'][at(6)]!)],
    ];
    const storage = new Uint8Array(64);
    const counts: Counts = { read: 0, refused: 0, mishandled: [] };
    for (let i = 0; i < 5000; i++) {
      const ops: number[] = [0x80, 2];
      const n = 1 + at(60);
      for (let k = 0; k < n; k++) ops.push(...pieces[at(pieces.length)]!());
      ops.push(0x2e);
      attempt(writeZip([{ name: 'a/data.pkl', data: Uint8Array.from(ops) }, { name: 'a/data/0', data: storage }, { name: 'a/data/1', data: storage }]), counts);
    }
    console.log(`torch fuzz, random opcode sequences: 5000 cases, ${counts.read} read, ${counts.refused} refused, ${counts.mishandled.length} mishandled`);
    expect(counts.mishandled).toEqual([]);
    expect(counts.read + counts.refused).toBe(5000);
  });

  it('every truncation of a checkpoint is refused (zip and legacy)', () => {
    const counts: Counts = { read: 0, refused: 0, mishandled: [] };
    for (const name of ['dtypes.pt', 'legacy-dtypes.pt']) {
      const file = fixture(name);
      for (let n = 0; n < file.length; n++) attempt(file.subarray(0, n), counts);
    }
    expect(counts.mishandled).toEqual([]);
    expect(counts.read).toBe(0);
  });
});
