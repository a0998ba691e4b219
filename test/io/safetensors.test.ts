import { describe, expect, it } from 'vitest';
import {
  BatchNorm2d, Conv2d, DepthwiseSeparableConv2d, SafetensorsError, Sequential, isInt64Tensor, loadSafetensors, parseSafetensors, saveSafetensors, type Tensor,
} from '../../src/index.js';
import { expectBitwiseEqual, randomTensor, rng } from '../helpers.js';

const ascii = (s: string): number[] => Array.from(s, (ch) => ch.charCodeAt(0));

/** A file assembled byte by byte: 8-byte little-endian header length, the header text, then the data bytes. */
function file(header: string, data: number[]): Uint8Array {
  const n = header.length;
  return new Uint8Array([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24, 0, 0, 0, 0, ...ascii(header), ...data]);
}

// Written out from the format's specification; values hand-encoded (little-endian).
const HEADER =
  '{"__metadata__":{"format":"pt"},' +
  '"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},' +
  '"b":{"dtype":"F16","shape":[4],"data_offsets":[16,24]},' +
  '"c":{"dtype":"BF16","shape":[2,1],"data_offsets":[24,28]},' +
  '"d":{"dtype":"F64","shape":[1],"data_offsets":[28,36]}}';
const DATA = [
  0x00, 0x00, 0x80, 0x3f, /* 1.0 */ 0x00, 0x00, 0x20, 0x40, /* 2.5 */ 0x00, 0x00, 0x40, 0xc0, /* -3 */ 0xcd, 0xcc, 0xcc, 0x3d, /* 0.1f */
  0x00, 0x3c, /* 1.0 */ 0x00, 0xc0, /* -2 */ 0xff, 0x7b, /* 65504 */ 0x01, 0x00, /* 2^-24 (subnormal) */
  0x80, 0x3f, /* 1.0 */ 0x00, 0xbf, /* -0.5 */
  0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f, /* 0.1 (float64) */
];

describe('loadSafetensors', () => {
  it('reads a file built byte by byte from the specification (F32 as is; F16, BF16, F64 converted)', () => {
    const { tensors, metadata } = parseSafetensors(file(HEADER, DATA));
    expect(metadata).toEqual({ format: 'pt' });
    expect(Object.keys(tensors).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(tensors.a).toEqual({ shape: [2, 2], data: new Float32Array([1, 2.5, -3, Math.fround(0.1)]) });
    expect(tensors.b).toEqual({ shape: [4], data: new Float32Array([1, -2, 65504, 2 ** -24]) });
    expect(tensors.c).toEqual({ shape: [2, 1], data: new Float32Array([1, -0.5]) });
    expect(tensors.d).toEqual({ shape: [1], data: new Float32Array([Math.fround(0.1)]) });
    // The header may be padded with spaces; an ArrayBuffer and a Uint8Array inside a larger buffer work too.
    const padded = file(HEADER + '    ', DATA);
    expect(loadSafetensors(padded.slice().buffer).a!.data[1]).toBe(2.5);
    const big = new Uint8Array(padded.length + 3);
    big.set(padded, 3);
    expect(loadSafetensors(big.subarray(3)).d!.data[0]).toBe(Math.fround(0.1));
  });

  it('F16 specials: infinity, NaN, negative zero', () => {
    const t = loadSafetensors(file('{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}', [0x00, 0x7c, 0x00, 0xfc, 0x01, 0x7e, 0x00, 0x80])).h!;
    expect(t.data[0]).toBe(Infinity);
    expect(t.data[1]).toBe(-Infinity);
    expect(Number.isNaN(t.data[2])).toBe(true);
    expect(Object.is(t.data[3], -0)).toBe(true);
  });

  it('the result does not alias the file bytes', () => {
    const bytes = file(HEADER, DATA);
    const t = loadSafetensors(bytes).a!;
    bytes.fill(0);
    expect(t.data[0]).toBe(1);
  });

  it('I64 loads as an int64 tensor (BigInt64Array), exactly, including values beyond 2^53', () => {
    const header = '{"n":{"dtype":"I64","shape":[3],"data_offsets":[0,24]}}';
    const bytes = file(header, [7, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0x20, 0]);
    const n = loadSafetensors(bytes).n!;
    expect(n.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(n.data as BigInt64Array)).toEqual([7n, -1n, 2n ** 53n + 1n]);
    expect(isInt64Tensor(n)).toBe(true);
    // Saved back as I64, byte for byte.
    expect(saveSafetensors({ n }).subarray(-24)).toEqual(bytes.subarray(-24));
  });

  it('other dtypes: a clear error, or left out with skipUnsupported', () => {
    const header = '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"m":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}';
    const bytes = file(header, [0, 0, 0x80, 0x3f, 1, 0, 1, 1]);
    expect(() => loadSafetensors(bytes)).toThrow(/tensor "m" has dtype U8; sepconv loads F32, F16, BF16, F64 \(as float32\) and I64.*skipUnsupported/);
    const parsed = parseSafetensors(bytes, { skipUnsupported: true });
    expect(Object.keys(parsed.tensors)).toEqual(['w']);
    expect(parsed.skipped).toEqual(['m']);
  });

  it('a tensor named "__proto__" is an own key of a record without a prototype, and round trips', () => {
    const header = '{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"constructor":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    const tensors = loadSafetensors(file(header, [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]));
    expect(Object.getPrototypeOf(tensors)).toBe(null);
    expect(Object.keys(tensors)).toEqual(['__proto__', 'constructor']);
    expect(Object.prototype.hasOwnProperty.call(tensors, '__proto__')).toBe(true);
    expect(tensors['__proto__']!.data[0]).toBe(1);
    const again = loadSafetensors(saveSafetensors(tensors));
    expect(Object.keys(again).sort()).toEqual(['__proto__', 'constructor']);
    expect(again['__proto__']!.data[0]).toBe(1);
    expect(again['constructor']!.data[0]).toBe(2);
    // A plain object built with a computed "__proto__" key is written the same way.
    const plain = { ['__proto__']: { shape: [1], data: new Float32Array([3]) } };
    expect(loadSafetensors(saveSafetensors(plain))['__proto__']!.data[0]).toBe(3);
    // Metadata keys too.
    const meta = parseSafetensors(file('{"__metadata__":{"__proto__":"x"}}', [])).metadata!;
    expect(Object.keys(meta)).toEqual(['__proto__']);
    expect(meta['__proto__']).toBe('x');
  });

  it('options are validated: an object with a boolean skipUnsupported and nothing else', () => {
    const bytes = file(HEADER, DATA);
    expect(() => loadSafetensors(bytes, null as never)).toThrow(/loadSafetensors: options must be an object, got null/);
    expect(() => loadSafetensors(bytes, 'skip' as never)).toThrow(TypeError);
    expect(() => loadSafetensors(bytes, { skipUnsupported: 'yes' } as never)).toThrow(/skipUnsupported must be a boolean, got "yes"/);
    expect(() => loadSafetensors(bytes, { skipUnsuported: true } as never)).toThrow(/unknown option "skipUnsuported"/);
    expect(() => loadSafetensors(bytes, Object.create({ skipUnsupported: true }))).toThrow(/option "skipUnsupported" is inherited/);
    const u8 = file('{"m":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', [1]);
    (Object.prototype as Record<string, unknown>).skipUnsupported = true;
    try {
      expect(() => loadSafetensors(u8)).toThrow(/has dtype U8/);
    } finally {
      delete (Object.prototype as Record<string, unknown>).skipUnsupported;
    }
  });

  const malformed: [string, Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', new Uint8Array([1, 0, 0]), /truncated file: 3 bytes, shorter than the 8-byte header length prefix/],
    ['header length past the end', file(HEADER, DATA).subarray(0, 40), /truncated file: the header length prefix says \d+ bytes, but only 32 follow/],
    ['bad JSON', file('{"a":{"dtype":"F32",', []), /header is not valid JSON: expected a string key at position 20/],
    ['invalid UTF-8', new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe]), /not valid UTF-8/],
    ['a header length above the limit', new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0]), /header length prefix says 4294967296 bytes, more than the limit of 100000000/],
    ['duplicate tensor names', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /duplicate key "a" at position 54/],
    ['duplicate fields in an entry', file('{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /duplicate key "dtype"/],
    ['duplicate __metadata__', file('{"__metadata__":{},"__metadata__":{}}', []), /duplicate key "__metadata__"/],
    ['duplicate metadata keys', file('{"__metadata__":{"k":"a","k":"b"}}', []), /duplicate key "k"/],
    ['a shape dimension above 2^53', file('{"a":{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /shape must be an array of integers from 0 to 4294967295/],
    ['trailing text after the header object', file('{} x', []), /unexpected text after the JSON value at position 3/],
    ['header not an object', file('[1,2]', []), /header must be a JSON object/],
    ['entry not an object', file('{"a":3}', []), /header entry "a" must be an object/],
    ['missing shape', file('{"a":{"dtype":"F32","data_offsets":[0,4]}}', [0, 0, 0, 0]), /tensor "a": shape must be an array of integers from 0 to 4294967295/],
    ['bad offsets', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', [0, 0, 0, 0]), /data_offsets must be \[begin, end\]/],
    ['negative offsets', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}', [0, 0, 0, 0]), /data_offsets must be \[begin, end\]/],
    ['end before begin', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', [0, 0, 0, 0]), /end before they begin/],
    ['unknown dtype', file('{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /tensor "a" has an unknown dtype "F33"/],
    ['size disagrees with shape', file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /span 4 bytes, but F32 shape \[2\] needs 8/],
    ['truncated data (offsets out of range)', file(HEADER, DATA.slice(0, 30)), /tensor "d": data_offsets \[28, 36\] run past the end of the data section \(30 bytes/],
    [
      'overlapping offsets',
      file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', [0, 0, 0, 0, 0, 0, 0, 0]),
      /tensors "a" \[0, 8\] and "b" \[4, 8\] have overlapping data_offsets/,
    ],
    ['a gap between tensors', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', [0, 0, 0, 0, 0, 0, 0, 0]), /data bytes \[0, 4\) belong to no tensor/],
    ['trailing bytes', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0, 9]), /has 5 bytes but the tensors cover 4/],
    ['bad __metadata__', file('{"__metadata__":{"v":1}}', []), /__metadata__ must be an object of string values/],
    ['a dimension above the limit', file('{"a":{"dtype":"F32","shape":[4294967296,0],"data_offsets":[0,0]}}', []), /tensor "a": shape must be an array of integers from 0 to 4294967295/],
  ];
  for (const [label, bytes, message] of malformed) {
    it(`rejects ${label}`, () => {
      expect(() => loadSafetensors(bytes)).toThrow(SafetensorsError);
      expect(() => loadSafetensors(bytes)).toThrow(message);
    });
  }

  it('deeply nested headers are rejected by depth, not by a stack overflow', () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const inEntry = file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":${deep}}}`, [0, 0, 0, 0]);
    const inMetadata = file(`{"__metadata__":{"k":${deep}}}`, []);
    for (const bytes of [inEntry, inMetadata]) {
      expect(() => loadSafetensors(bytes)).toThrow(SafetensorsError);
      expect(() => loadSafetensors(bytes)).toThrow(/nesting deeper than 32 levels/);
    }
    // Unknown extra fields of reasonable depth are ignored, as the reference implementation does.
    const extra = file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":{"y":[1,{"z":null}]}}}', [0, 0, 0x80, 0x3f]);
    expect(loadSafetensors(extra).a!.data[0]).toBe(1);
  });

  it('rejects a non-byte argument with a TypeError', () => {
    expect(() => loadSafetensors('file.safetensors' as never)).toThrow(TypeError);
    expect(() => loadSafetensors([1, 2, 3] as never)).toThrow(/bytes must be a Uint8Array/);
  });
});

describe('a file laid out as safetensors.torch.save_file writes a conv-BN state_dict', () => {
  it('loads into Sequential(Conv2d, BatchNorm2d), num_batches_tracked (I64) included, and saves it back as I64', () => {
    // save_file puts 8-byte dtypes first, then sorts by name; "format": "pt" metadata; header padded to 8.
    const entries: [string, string, number[], number[]][] = [
      ['1.num_batches_tracked', 'I64', [], [5, 0, 0, 0, 0, 0, 0, 0]],
      ['0.weight', 'F32', [2, 1, 1, 1], [0.5, -1]],
      ['1.bias', 'F32', [2], [0.25, 0]],
      ['1.running_mean', 'F32', [2], [1, 2]],
      ['1.running_var', 'F32', [2], [4, 1]],
      ['1.weight', 'F32', [2], [2, 3]],
    ];
    const data: number[] = [];
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    for (const [name, dtype, shape, values] of entries) {
      const begin = data.length;
      if (dtype === 'I64') data.push(...values);
      else for (const v of values) data.push(...new Uint8Array(new Float32Array([v]).buffer));
      header[name] = { dtype, shape, data_offsets: [begin, data.length] };
    }
    let text = JSON.stringify(header);
    text += ' '.repeat((8 - (text.length % 8)) % 8);
    const bytes = file(text, data);
    const net = new Sequential(new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 1, bias: false }), new BatchNorm2d(2));
    net.loadStateDict(loadSafetensors(bytes));
    expect(net.at<BatchNorm2d>(1).numBatchesTracked.data[0]).toBe(5n);
    // Saved back, num_batches_tracked is I64 again, with the same bytes.
    const saved = saveSafetensors(net.stateDict(), { format: 'pt' });
    const savedHeader = JSON.parse(new TextDecoder().decode(saved.subarray(8, 8 + Number(new DataView(saved.buffer).getBigUint64(0, true)))));
    expect(savedHeader['1.num_batches_tracked']).toEqual({ dtype: 'I64', shape: [], data_offsets: expect.any(Array) });
    const [begin] = savedHeader['1.num_batches_tracked'].data_offsets as number[];
    const dataStart = saved.length - 48;
    expect(Array.from(saved.subarray(dataStart + begin!, dataStart + begin! + 8))).toEqual([5, 0, 0, 0, 0, 0, 0, 0]);
    // skipUnsupported still leaves BatchNorm's count alone (it is optional).
    const other = new Sequential(new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 1, bias: false }), new BatchNorm2d(2));
    other.loadStateDict(loadSafetensors(bytes, { skipUnsupported: true }));
    expect(other.at<BatchNorm2d>(1).numBatchesTracked.data[0]).toBe(5n);
    const y = net.forward({ shape: [1, 1, 1, 1], data: new Float32Array([2]) });
    // channel 0: (2·0.5 − 1)/√(4 + 1e-5)·2 + 0.25; channel 1: (2·(−1) − 2)/√(1 + 1e-5)·3 + 0
    expect(y.data[0]).toBeCloseTo(0.25, 6);
    expect(y.data[1]).toBeCloseTo(-12 / Math.sqrt(1 + 1e-5), 5);
  });
});

describe('saveSafetensors', () => {
  it('round trips tensors and metadata; header is sorted, 8-byte aligned and follows the spec', () => {
    const dict: Record<string, Tensor> = {
      'z.weight': randomTensor([3, 2, 1, 1], rng(1)),
      'a.bias': randomTensor([3], rng(2)),
      scalar: { shape: [], data: new Float32Array([4]) },
    };
    const bytes = saveSafetensors(dict, { format: 'pt', note: 'x' });
    const view = new DataView(bytes.buffer);
    const n = view.getUint32(0, true);
    expect(view.getUint32(4, true)).toBe(0);
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.__metadata__).toEqual({ format: 'pt', note: 'x' });
    expect(header['a.bias']).toEqual({ dtype: 'F32', shape: [3], data_offsets: [0, 12] });
    expect(header.scalar).toEqual({ dtype: 'F32', shape: [], data_offsets: [12, 16] });
    expect(header['z.weight']).toEqual({ dtype: 'F32', shape: [3, 2, 1, 1], data_offsets: [16, 40] });
    expect(bytes.length).toBe(8 + n + 40);
    const { tensors, metadata } = parseSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt', note: 'x' });
    for (const [k, t] of Object.entries(dict)) {
      expect(tensors[k]!.shape).toEqual(t.shape);
      expectBitwiseEqual(tensors[k]!.data, t.data, k);
    }
  });

  it('a model state dict survives save → load → loadStateDict', () => {
    const a = new DepthwiseSeparableConv2d({ inChannels: 3, kernelsPerLayer: 2, outChannels: 5, seed: 1 });
    const b = new DepthwiseSeparableConv2d({ inChannels: 3, kernelsPerLayer: 2, outChannels: 5, seed: 2 });
    b.loadStateDict(loadSafetensors(saveSafetensors(a.stateDict())));
    const x = randomTensor([1, 3, 6, 6], rng(3));
    expectBitwiseEqual(b.forward(x).data, a.forward(x).data, 'model');
  });

  it('rejects bad input before writing anything', () => {
    expect(() => saveSafetensors({ __metadata__: randomTensor([1], rng(1)) })).toThrow(/"__metadata__" is reserved/);
    expect(() => saveSafetensors({ a: { shape: [2], data: new Float32Array(3) } })).toThrow(/a.data.length must equal/);
    expect(() => saveSafetensors({}, { v: 1 } as never)).toThrow(/metadata must be an object of string values/);
    expect(() => saveSafetensors(null as never)).toThrow(TypeError);
  });
});
