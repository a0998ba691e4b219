/**
 * The pure-TypeScript DEFLATE/zlib decoder against node:zlib (the reference): random and real data
 * compressed at every level and strategy (stored, fixed and dynamic blocks), the output bound, the
 * malformed streams zlib rejects, and a fixed-seed fuzzer (every truncation, byte flips, random
 * bytes) in which the decoder must agree with zlib on what is valid and what it decodes to.
 */
import { readFileSync, readdirSync } from 'node:fs';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InflateError, adler32, inflate, inflateRaw, inflateWithInfo, inflateZlib } from '../src/inflate.js';
import { rng } from './helpers.js';

const SEED = 20261206;

/** Byte equality with a short message (toEqual on 100 KB arrays is very slow and prints the arrays). */
function expectSame(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual.length).toBe(expected.length);
  let first = -1;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      first = i;
      break;
    }
  }
  expect(first, 'index of the first differing byte').toBe(-1);
}

/** Data with the shapes compressors meet: noise, text, runs, long-distance repeats, a ramp. */
function samples(): { name: string; data: Uint8Array }[] {
  const random = rng(SEED);
  const noise = Uint8Array.from({ length: 70000 }, () => Math.floor(random() * 256));
  const words = ['conv', 'depthwise', 'separable', ' ', '\n', 'tensor', 'the ', 'kernel', '(', ')', '0', '1'];
  let text = '';
  while (text.length < 100000) text += words[Math.floor(random() * words.length)];
  const runs = new Uint8Array(50000);
  for (let i = 0; i < runs.length; ) {
    const n = 1 + Math.floor(random() * 300);
    runs.fill(Math.floor(random() * 4), i, i + n);
    i += n;
  }
  const far = new Uint8Array(90000);
  const chunk = noise.subarray(0, 3000);
  for (let i = 0; i < far.length; i += 31000) far.set(chunk.subarray(0, Math.min(3000, far.length - i)), i);
  const ramp = Uint8Array.from({ length: 40000 }, (_, i) => (i * 7 + (i >> 8)) & 255);
  // Byte frequencies from 2^15 down to 1: Huffman codes up to the 15-bit limit (the decoder's
  // second-level tables), in a random order so there are few matches.
  const skewedParts: number[] = [];
  for (let b = 0; b < 16; b++) for (let k = 0; k < 1 << (15 - b); k++) skewedParts.push(b * 13);
  for (let b = 16; b < 256; b++) skewedParts.push(b);
  for (let i = skewedParts.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [skewedParts[i], skewedParts[j]] = [skewedParts[j]!, skewedParts[i]!];
  }
  const skewed = Uint8Array.from(skewedParts);
  return [
    { name: 'empty', data: new Uint8Array(0) },
    { name: 'one byte', data: new Uint8Array([42]) },
    { name: 'noise', data: noise },
    { name: 'text', data: new TextEncoder().encode(text) },
    { name: 'runs', data: runs },
    { name: 'far repeats', data: far },
    { name: 'ramp', data: ramp },
    { name: 'zeros', data: new Uint8Array(300000) },
    { name: 'skewed (15-bit codes)', data: skewed },
  ];
}

/** Real files: this repository's own sources (text) and the decoder's module itself. */
function realFiles(): { name: string; data: Uint8Array }[] {
  const dir = new URL('../src/io/', import.meta.url);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ name: f, data: new Uint8Array(readFileSync(new URL(f, dir))) }));
}

const STRATEGIES: [string, number][] = [
  ['default', zlib.constants.Z_DEFAULT_STRATEGY],
  ['fixed', zlib.constants.Z_FIXED],
  ['huffman-only', zlib.constants.Z_HUFFMAN_ONLY],
  ['rle', zlib.constants.Z_RLE],
  ['filtered', zlib.constants.Z_FILTERED],
];

describe('inflate matches node:zlib on valid streams', () => {
  for (const { name, data } of samples()) {
    it(`${name} (${data.length} bytes): every level, every strategy, zlib and raw`, () => {
      for (let level = 0; level <= 9; level++) {
        for (const [, strategy] of STRATEGIES) {
          const z = new Uint8Array(zlib.deflateSync(data, { level, strategy }));
          expectSame(inflateZlib(z, data.length), data);
          const r = new Uint8Array(zlib.deflateRawSync(data, { level, strategy }));
          expectSame(inflateRaw(r, data.length), data);
        }
      }
    });
  }

  it('small windows and memory levels (short distances, many blocks)', () => {
    const data = samples()[3]!.data;
    for (const windowBits of [9, 10, 12, 15]) {
      for (const memLevel of [1, 5, 9]) {
        const z = new Uint8Array(zlib.deflateSync(data, { windowBits, memLevel, level: 6 }));
        expectSame(inflateZlib(z, data.length), data);
      }
    }
  });

  it('real files, every level', () => {
    for (const { data } of realFiles()) {
      for (let level = 0; level <= 9; level++) {
        const z = new Uint8Array(zlib.deflateSync(data, { level }));
        expectSame(inflateZlib(z, data.length), data);
      }
    }
  });

  it('a stream flushed in pieces (sync-flush empty stored blocks between dynamic ones)', () => {
    const data = samples()[3]!.data;
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < data.length; i += 7000) {
      pieces.push(new Uint8Array(zlib.deflateRawSync(data.subarray(i, i + 7000), { finishFlush: zlib.constants.Z_SYNC_FLUSH })));
    }
    // Each piece alone is a non-final stream ending with an empty stored block; concatenate them and end with a final empty block.
    const finalBlock = new Uint8Array([0x03, 0x00]); // fixed block, final, immediately end-of-block
    const total = pieces.reduce((n, p) => n + p.length, 0) + 2;
    const stream = new Uint8Array(total);
    let at = 0;
    for (const p of pieces) {
      stream.set(p, at);
      at += p.length;
    }
    stream.set(finalBlock, at);
    // Each piece is compressed independently, so no match reaches into an earlier piece: valid concatenation.
    expectSame(inflateRaw(stream, data.length), data);
    expectSame(new Uint8Array(zlib.inflateRawSync(stream)), data);
  });

  it('returns a fresh array of the exact length and says where the stream ended', () => {
    const data = new TextEncoder().encode('hello hello hello hello');
    const z = new Uint8Array(zlib.deflateSync(data));
    const withTrailer = new Uint8Array(z.length + 5);
    withTrailer.set(z);
    withTrailer.set([1, 2, 3, 4, 5], z.length);
    const result = inflateWithInfo(withTrailer, { maxLength: 1000 });
    expect(result.data).toEqual(data);
    expect(result.data.length).toBe(data.length);
    expect(result.data.buffer.byteLength).toBe(data.length);
    expect(result.bytesRead).toBe(z.length);
    const raw = new Uint8Array(zlib.deflateRawSync(data));
    expect(inflateWithInfo(raw, { maxLength: 100, format: 'raw' }).bytesRead).toBe(raw.length);
  });

  it('does not modify its input', () => {
    const data = samples()[3]!.data;
    const z = new Uint8Array(zlib.deflateSync(data));
    const copy = z.slice();
    inflate(z, { maxLength: data.length });
    expect(z).toEqual(copy);
  });
});

describe('adler32', () => {
  it('matches zlib on the zlib trailer of every sample', () => {
    for (const { data } of samples()) {
      const z = zlib.deflateSync(data);
      expect(adler32(data)).toBe(z.readUInt32BE(z.length - 4));
    }
  });
});

describe('the output bound', () => {
  it('exactly maxLength bytes decode; one byte less is an error', () => {
    const data = samples()[7]!.data; // 300000 zeros from a few hundred bytes
    const z = new Uint8Array(zlib.deflateSync(data));
    expectSame(inflateZlib(z, data.length), data);
    expect(() => inflateZlib(z, data.length - 1)).toThrow(InflateError);
    expect(() => inflateZlib(z, data.length - 1)).toThrow(/longer than maxLength \(299999 bytes\)/);
    expect(() => inflateZlib(z, 0)).toThrow(/longer than maxLength/);
  });

  it('a bomb (1 GB of zeros in about 1 MB) is stopped at maxLength without allocating beyond it', () => {
    // 1e9 zeros would take seconds to compress; build the raw stream directly: one fixed block of
    // a literal 0 then matches of length 258 at distance 1 (each 'len 258' = symbol 285, 8 bits, dist code 0 = 5 bits).
    const matches = 100000; // 25.8 MB of output from ~160 KB
    const bits: number[] = [];
    const put = (value: number, n: number): void => {
      for (let i = 0; i < n; i++) bits.push((value >> i) & 1);
    };
    const putCode = (code: number, n: number): void => {
      for (let i = n - 1; i >= 0; i--) bits.push((code >> i) & 1);
    };
    put(1, 1); // final
    put(1, 2); // fixed
    putCode(0x30, 8); // literal 0
    for (let m = 0; m < matches; m++) {
      putCode(0xc5, 8); // symbol 285 (length 258): 280..287 are 11000000 + (sym - 280)
      putCode(0, 5); // distance code 0: distance 1
    }
    putCode(0, 7); // end of block (256)
    const bytes = new Uint8Array(Math.ceil(bits.length / 8));
    for (let i = 0; i < bits.length; i++) bytes[i >> 3]! |= bits[i]! << (i & 7);
    const full = 1 + matches * 258;
    expect(inflateRaw(bytes, full).length).toBe(full);
    expect(new Uint8Array(zlib.inflateRawSync(bytes)).length).toBe(full);
    expect(() => inflateRaw(bytes, 1_000_000)).toThrow(/longer than maxLength \(1000000 bytes\)/);
  });
});

describe('malformed streams: clear InflateErrors', () => {
  const cases: [string, Uint8Array, 'zlib' | 'raw', RegExp][] = [
    ['empty zlib', new Uint8Array(0), 'zlib', /truncated zlib header/],
    ['empty raw', new Uint8Array(0), 'raw', /truncated stream/],
    ['compression method 7', new Uint8Array([0x77, 0x01 + 0, 0, 0]), 'zlib', /compression method 7/],
    ['window too large', new Uint8Array([0x88, 0x1c, 0, 0]), 'zlib', /window size/],
    ['bad check bits', new Uint8Array([0x78, 0x9d, 3, 0]), 'zlib', /check bits/],
    ['preset dictionary', new Uint8Array([0x78, 0xbb, 0, 0, 0, 1, 3, 0]), 'zlib', /preset dictionary/],
    ['reserved block type', new Uint8Array([0x07]), 'raw', /reserved block type 3/],
    ['stored length vs complement', new Uint8Array([0x01, 0x05, 0x00, 0xfa, 0xf0, 1, 2, 3, 4, 5]), 'raw', /does not match its complement/],
    ['stored block cut short', new Uint8Array([0x01, 0x05, 0x00, 0xfa, 0xff, 1, 2]), 'raw', /truncated stream.*stored block/],
    // fixed block: literal 'a' (0x91 reversed...), then a match at distance 2 with only 1 byte produced.
    ['distance too far back', fixedStream([['lit', 97], ['match', 3, 2], ['end']]), 'raw', /refers 2 bytes back, but only 1/],
    ['distance symbol 30', fixedStream([['lit', 97], ['rawmatch', 257, 30], ['end']]), 'raw', /invalid distance symbol 30/],
    ['length symbol 286', fixedStream([['lit', 97], ['sym', 286], ['end']]), 'raw', /invalid literal\/length symbol 286/],
    ['no end of block', fixedStream([['lit', 97]]), 'raw', /truncated stream/],
  ];
  for (const [name, bytes, format, message] of cases) {
    it(name, () => {
      expect(() => inflate(bytes, { maxLength: 1000, format })).toThrow(InflateError);
      expect(() => inflate(bytes, { maxLength: 1000, format })).toThrow(message);
      // node:zlib rejects the same streams
      const reference = format === 'zlib' ? zlib.inflateSync : zlib.inflateRawSync;
      expect(() => reference(bytes, { finishFlush: zlib.constants.Z_FINISH })).toThrow();
    });
  }

  it('Adler-32 mismatch', () => {
    const z = new Uint8Array(zlib.deflateSync(new TextEncoder().encode('some data')));
    z[z.length - 1]! ^= 1;
    expect(() => inflateZlib(z, 100)).toThrow(/Adler-32 mismatch/);
  });

  it('missing Adler-32', () => {
    const z = new Uint8Array(zlib.deflateSync(new TextEncoder().encode('some data')));
    expect(() => inflateZlib(z.subarray(0, z.length - 2), 100)).toThrow(/Adler-32 check .* is missing \(2 of 4 bytes\)/);
  });

  it('dynamic block code-length errors', () => {
    // HLIT=0 (257), HDIST=0 (1), HCLEN=0 (4 lengths: for 16, 17, 18, 0), all 1: over-subscribed.
    const over = bitsToBytes([[1, 1], [2, 2], [0, 5], [0, 5], [0, 4], [1, 3], [1, 3], [1, 3], [1, 3]]);
    expect(() => inflateRaw(over, 100)).toThrow(/over-subscribed code-length code lengths/);
    // Only one code-length code of length 1: incomplete, which zlib rejects for this alphabet.
    const incomplete = bitsToBytes([[1, 1], [2, 2], [0, 5], [0, 5], [0, 4], [0, 3], [0, 3], [0, 3], [1, 3]]);
    expect(() => inflateRaw(incomplete, 100)).toThrow(/incomplete code-length code lengths/);
    // A repeat (16) as the very first code length. Code lengths: 0 -> code 0, 16 -> code 1 (one bit each).
    const repeatFirst = bitsToBytes([[1, 1], [2, 2], [0, 5], [0, 5], [0, 4], [1, 3], [0, 3], [0, 3], [1, 3], [1, 1], [0, 2]]);
    expect(() => inflateRaw(repeatFirst, 100)).toThrow(/repeat code \(16\) with no previous length/);
    for (const bytes of [over, incomplete, repeatFirst]) expect(() => zlib.inflateRawSync(bytes)).toThrow();
  });

  it('argument checks name the parameter', () => {
    expect(() => inflate('abc' as unknown as Uint8Array, { maxLength: 1 })).toThrow(TypeError);
    expect(() => inflate(new Uint8Array(2), null as unknown as { maxLength: number })).toThrow(/options must be an object/);
    expect(() => inflate(new Uint8Array(2), { maxLength: -1 })).toThrow(/options.maxLength must be a non-negative integer up to 4294967295, got -1/);
    expect(() => inflate(new Uint8Array(2), { maxLength: 1.5 })).toThrow(RangeError);
    expect(() => inflate(new Uint8Array(2), { maxLength: 2 ** 40 })).toThrow(RangeError);
    expect(() => inflate(new Uint8Array(2), { maxLength: 1, format: 'gzip' as 'raw' })).toThrow(/options.format must be one of 'zlib', 'raw'/);
    expect(() => inflate(new Uint8Array(2), undefined as never)).toThrow(/options \{ maxLength \} are required/);
    expect(() => inflate(new Uint8Array(2), { maxLenght: 1 } as never)).toThrow(/unknown option "maxLenght"/);
    expect(() => inflateRaw(new Uint8Array(2), -1)).toThrow(/inflateRaw: options.maxLength/);
    expect(() => adler32([1, 2] as never)).toThrow(/adler32: bytes must be a Uint8Array/);
  });
});

describe('fuzzing against node:zlib (fixed seed)', () => {
  const base = (): { data: Uint8Array; streams: Uint8Array[] } => {
    const s = samples();
    const data = s[3]!.data.subarray(0, 6000);
    const streams = [
      new Uint8Array(zlib.deflateRawSync(data, { level: 9 })),
      new Uint8Array(zlib.deflateRawSync(data, { level: 1, strategy: zlib.constants.Z_FIXED })),
      new Uint8Array(zlib.deflateRawSync(s[2]!.data.subarray(0, 3000), { level: 0 })),
      new Uint8Array(zlib.deflateRawSync(s[4]!.data.subarray(0, 6000), { level: 6, strategy: zlib.constants.Z_RLE })),
    ];
    return { data, streams };
  };

  it('every truncation of every stream is an InflateError', () => {
    let count = 0;
    for (const stream of base().streams) {
      for (let n = 0; n < stream.length; n++) {
        expect(() => inflateRaw(stream.subarray(0, n), 1 << 20)).toThrow(InflateError);
        count++;
      }
      const z = new Uint8Array(zlib.deflateSync(inflateRaw(stream, 1 << 20)));
      for (let n = 0; n < z.length; n++) {
        expect(() => inflateZlib(z.subarray(0, n), 1 << 20)).toThrow(InflateError);
        count++;
      }
    }
    console.log(`inflate fuzz: ${count} truncations, all InflateErrors`);
    expect(count).toBeGreaterThan(10000);
  });

  it('byte flips and random bytes: the same verdict and output as zlib', () => {
    const random = rng(SEED + 1);
    const { streams } = base();
    const counts = { cases: 0, valid: 0, invalid: 0 };
    const check = (bytes: Uint8Array): void => {
      let expected: Uint8Array | null = null;
      try {
        expected = new Uint8Array(zlib.inflateRawSync(bytes, { maxOutputLength: 1 << 20 }));
      } catch {
        expected = null;
      }
      let actual: Uint8Array | null = null;
      try {
        actual = inflateRaw(bytes, 1 << 20);
      } catch (error) {
        expect(error).toBeInstanceOf(InflateError);
        expect((error as Error).message.length).toBeLessThan(200);
      }
      counts.cases++;
      if (expected === null) {
        counts.invalid++;
        expect(actual).toBeNull();
      } else {
        counts.valid++;
        expectSame(actual!, expected);
      }
    };
    for (let i = 0; i < 3000; i++) {
      const stream = streams[i % streams.length]!.slice();
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) {
        const at = Math.floor(random() * stream.length);
        if (random() < 0.5) stream[at]! ^= 1 << Math.floor(random() * 8);
        else stream[at] = Math.floor(random() * 256);
      }
      check(stream);
    }
    for (let i = 0; i < 2000; i++) {
      check(Uint8Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
    }
    console.log(`inflate fuzz: ${counts.cases} cases, ${counts.valid} valid (same output as zlib), ${counts.invalid} rejected by both`);
    expect(counts.cases).toBe(5000);
    // Both outcomes occur, so the comparison tests something either way.
    expect(counts.valid).toBeGreaterThan(100);
    expect(counts.invalid).toBeGreaterThan(100);
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-built streams

/** Packs [value, bitCount] fields least-significant bit first, as DEFLATE reads header fields. */
function bitsToBytes(fields: [number, number][]): Uint8Array {
  const bits: number[] = [];
  for (const [value, n] of fields) for (let i = 0; i < n; i++) bits.push((value >> i) & 1);
  const bytes = new Uint8Array(Math.ceil(bits.length / 8) + 1);
  for (let i = 0; i < bits.length; i++) bytes[i >> 3]! |= bits[i]! << (i & 7);
  return bytes.subarray(0, Math.ceil(bits.length / 8));
}

type Item = ['lit', number] | ['match', number, number] | ['rawmatch', number, number] | ['sym', number] | ['end'];

/** A final fixed-Huffman block with the given items. */
function fixedStream(items: Item[]): Uint8Array {
  const bits: number[] = [];
  const put = (value: number, n: number): void => {
    for (let i = 0; i < n; i++) bits.push((value >> i) & 1);
  };
  const putCode = (code: number, n: number): void => {
    for (let i = n - 1; i >= 0; i--) bits.push((code >> i) & 1);
  };
  const symbol = (s: number): void => {
    if (s < 144) putCode(0x30 + s, 8);
    else if (s < 256) putCode(0x190 + s - 144, 9);
    else if (s < 280) putCode(s - 256, 7);
    else putCode(0xc0 + s - 280, 8);
  };
  put(1, 1);
  put(1, 2);
  for (const item of items) {
    if (item[0] === 'lit') symbol(item[1]);
    else if (item[0] === 'sym') symbol(item[1]);
    else if (item[0] === 'end') symbol(256);
    else if (item[0] === 'rawmatch') {
      symbol(item[1]);
      putCode(item[2], 5);
    } else {
      const [, length, distance] = item;
      if (length < 3 || length > 10 || distance < 1 || distance > 4) throw new Error('test helper: short matches only');
      symbol(257 + length - 3);
      putCode(distance - 1, 5);
    }
  }
  const bytes = new Uint8Array(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) bytes[i >> 3]! |= bits[i]! << (i & 7);
  return bytes;
}
