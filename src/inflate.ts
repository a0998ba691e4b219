/**
 * DEFLATE (RFC 1951) and its zlib wrapper (RFC 1950), decoded synchronously in plain TypeScript.
 *
 * Why not `node:zlib` or `DecompressionStream`: the first is Node-only, the second is asynchronous
 * and neither lets the caller bound the output before it is produced. A zip entry knows its
 * uncompressed size and a PNG knows how many filtered bytes its image needs, so every call here takes
 * `maxLength` and never allocates more than that: a 1 KB "zip bomb" that would expand to gigabytes
 * is an error after `maxLength` bytes, not an out-of-memory crash.
 *
 * The rules about malformed streams follow zlib's (`inflate.c`, `inftrees.c`), so a stream zlib
 * rejects is rejected here too: over-subscribed or incomplete code sets (except a single one-bit
 * code), a missing end-of-block code, length and distance codes 286/287/30/31, a distance further
 * back than the output so far, a stored block whose length does not match its complement, block
 * type 3, truncation anywhere, and (zlib wrapper) a bad header, a preset dictionary or an Adler-32
 * mismatch. Bytes after the end of the stream are ignored (as zlib does); `bytesRead` says where
 * the stream ended.
 */

import { describeValue, readEnum, readInteger, readOptions } from './checks.js';

/** A malformed, truncated or too large DEFLATE or zlib stream. */
export class InflateError extends Error {
  constructor(message: string) {
    super(`inflate: ${message}`);
    this.name = 'InflateError';
  }
}

export interface InflateOptions {
  /**
   * The most bytes the decompressed data may hold (an integer ≥ 0). Nothing larger is ever
   * allocated; a stream that would produce more is an InflateError.
   */
  maxLength: number;
  /** 'zlib' (the default: a 2-byte header, the deflate data, an Adler-32 check) or 'raw' deflate. */
  format?: 'zlib' | 'raw';
}

export interface InflateResult {
  /** The decompressed bytes (a fresh array of exactly the decompressed length). */
  data: Uint8Array;
  /** How many input bytes the stream used (header and check included); any further bytes are not read. */
  bytesRead: number;
}

// ---------------------------------------------------------------------------------------------
// Static tables (RFC 1951 §3.2.5)

const LENGTH_BASE = new Uint16Array([
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
]);
const LENGTH_EXTRA = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]);
const DIST_BASE = new Uint16Array([
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
  8193, 12289, 16385, 24577,
]);
const DIST_EXTRA = new Uint8Array([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]);
/** The order in which a dynamic block lists the code lengths of the code-length alphabet. */
const CODE_LENGTH_ORDER = new Uint8Array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

// ---------------------------------------------------------------------------------------------
// Huffman decoding tables

/**
 * A canonical Huffman code as lookup tables indexed by the next input bits (DEFLATE sends codes
 * most-significant bit first, so the tables are indexed by the bit-reversed code). Codes up to
 * PRIMARY_BITS long are found in one lookup; longer ones (rare) through a second, small table per
 * prefix, so a block whose longest code has 15 bits does not build a 32768-entry table.
 *
 * An entry is `symbol << 4 | codeLength` (the whole code's length); `LINK | offset << 4 | subBits`
 * (negative)
 * sends a primary entry to the sub-table at `offset`, indexed by the next `subBits` bits; 0 marks a
 * bit pattern that is no code (only in an incomplete code).
 */
interface HuffmanTable {
  entries: Int32Array;
  /** The longest code: bits to have in the buffer before a lookup. */
  bits: number;
  /** Bits indexing the primary table (min(bits, PRIMARY_BITS)). */
  primaryBits: number;
}

const PRIMARY_BITS = 10;
/** The sign bit marks a link (Int32Array entries stay small integers for V8, unlike Uint32 values ≥ 2^31). */
const LINK = -0x80000000;

type CodeKind = 'code-length' | 'literal/length' | 'distance';

/** Builds the tables for `lengths[0..count)`, rejecting the code sets zlib rejects. */
function buildTable(lengths: Uint8Array, count: number, kind: CodeKind): HuffmanTable {
  const lengthCounts = new Uint16Array(16);
  let maxBits = 0;
  for (let i = 0; i < count; i++) {
    const l = lengths[i]!;
    lengthCounts[l]!++;
    if (l > maxBits) maxBits = l;
  }
  lengthCounts[0] = 0;
  // Kraft sum: `left` is how many codes of the current length are still free.
  let left = 1;
  for (let l = 1; l <= 15; l++) {
    left = left * 2 - lengthCounts[l]!;
    if (left < 0) throw new InflateError(`over-subscribed ${kind} code lengths`);
  }
  if (maxBits === 0) {
    // No codes at all: allowed for distances (a block of literals only); zlib rejects it elsewhere.
    if (kind !== 'distance') throw new InflateError(`no ${kind} codes`);
    return { entries: new Int32Array(2), bits: 1, primaryBits: 1 };
  }
  // An incomplete code is allowed only when it is a single one-bit code (zlib's rule).
  if (left > 0 && (kind === 'code-length' || maxBits !== 1)) throw new InflateError(`incomplete ${kind} code lengths`);

  const nextCode = new Uint16Array(16);
  let code = 0;
  for (let l = 1; l <= 15; l++) {
    code = (code + lengthCounts[l - 1]!) << 1;
    nextCode[l] = code;
  }
  // Every symbol's bit-reversed code.
  const reversedCodes = new Uint16Array(count);
  for (let symbol = 0; symbol < count; symbol++) {
    const l = lengths[symbol]!;
    if (l === 0) continue;
    const c = nextCode[l]!++;
    let reversed = 0;
    for (let b = 0; b < l; b++) reversed |= ((c >> b) & 1) << (l - 1 - b);
    reversedCodes[symbol] = reversed;
  }
  const primaryBits = Math.min(maxBits, PRIMARY_BITS);
  const primarySize = 1 << primaryBits;
  // Sub-table sizes: per primary prefix, the longest code beyond PRIMARY_BITS that starts with it.
  const subBits = new Uint8Array(primarySize);
  if (maxBits > PRIMARY_BITS) {
    for (let symbol = 0; symbol < count; symbol++) {
      const l = lengths[symbol]!;
      if (l <= PRIMARY_BITS) continue;
      const prefix = reversedCodes[symbol]! & (primarySize - 1);
      if (l - PRIMARY_BITS > subBits[prefix]!) subBits[prefix] = l - PRIMARY_BITS;
    }
  }
  let size = primarySize;
  const offsets = new Int32Array(primarySize);
  for (let prefix = 0; prefix < primarySize; prefix++) {
    if (subBits[prefix] === 0) continue;
    offsets[prefix] = size;
    size += 1 << subBits[prefix]!;
  }
  const entries = new Int32Array(size);
  for (let prefix = 0; prefix < primarySize; prefix++) {
    if (subBits[prefix] !== 0) entries[prefix] = LINK | (offsets[prefix]! << 4) | subBits[prefix]!;
  }
  for (let symbol = 0; symbol < count; symbol++) {
    const l = lengths[symbol]!;
    if (l === 0) continue;
    const reversed = reversedCodes[symbol]!;
    const entry = (symbol << 4) | l;
    if (l <= primaryBits) {
      for (let i = reversed; i < primarySize; i += 1 << l) entries[i] = entry;
    } else {
      const prefix = reversed & (primarySize - 1);
      const sub = subBits[prefix]!;
      const base = offsets[prefix]!;
      for (let i = reversed >>> PRIMARY_BITS; i < 1 << sub; i += 1 << (l - PRIMARY_BITS)) entries[base + i] = entry;
    }
  }
  return { entries, bits: maxBits, primaryBits };
}

/** The entry for the code at the bottom of `bitBuf` (which holds at least `table.bits` bits). */
function lookup(table: HuffmanTable, bitBuf: number): number {
  const entries = table.entries;
  const entry = entries[bitBuf & ((1 << table.primaryBits) - 1)]!;
  if (entry >= 0) return entry;
  return entries[((entry >>> 4) & 0x7ffffff) + ((bitBuf >>> PRIMARY_BITS) & ((1 << (entry & 15)) - 1))]!;
}

let fixedTables: { litlen: HuffmanTable; dist: HuffmanTable } | null = null;

function getFixedTables(): { litlen: HuffmanTable; dist: HuffmanTable } {
  if (fixedTables === null) {
    const lengths = new Uint8Array(288);
    lengths.fill(8, 0, 144);
    lengths.fill(9, 144, 256);
    lengths.fill(7, 256, 280);
    lengths.fill(8, 280, 288);
    // The fixed literal/length code is complete over 288 symbols (286 and 287 exist but are invalid);
    // the fixed distance code has 32 five-bit codes of which 30 are used: build it over 32 so it is
    // complete, and reject 30 and 31 when decoded, as zlib does.
    const distLengths = new Uint8Array(32).fill(5);
    fixedTables = { litlen: buildTable(lengths, 288, 'literal/length'), dist: buildTable(distLengths, 32, 'distance') };
  }
  return fixedTables;
}

// ---------------------------------------------------------------------------------------------
// Checksums

/** Adler-32 (RFC 1950) of `bytes`. */
export function adler32(bytes: Uint8Array): number {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`adler32: bytes must be a Uint8Array, got ${describeValue(bytes)}`);
  let a = 1;
  let b = 0;
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    // 5552 is the most bytes before b can overflow 2^32 (zlib's NMAX); reduce at least that often.
    const end = Math.min(i + 5552, n);
    for (; i < end; i++) {
      a += bytes[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// The decoder

function checkOptions(bytes: unknown, options: unknown, fn: string): { input: Uint8Array; maxLength: number; zlib: boolean } {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${fn}: bytes must be a Uint8Array, got ${describeValue(bytes)}`);
  if (options === undefined) throw new TypeError(`${fn}: options { maxLength } are required (the most decompressed bytes expected)`);
  const o = readOptions<InflateOptions>(options, ['maxLength', 'format'], fn);
  const maxLength = readInteger(o.maxLength, `${fn}: options.maxLength`, undefined, 0, 2 ** 32 - 1);
  const format = readEnum(o.format, `${fn}: options.format`, ['zlib', 'raw'] as const, 'zlib');
  return { input: bytes, maxLength, zlib: format === 'zlib' };
}

/**
 * Decompresses a zlib (default) or raw DEFLATE stream into at most `options.maxLength` bytes, and
 * says how many input bytes it used. Throws InflateError on any malformed, truncated or too long
 * stream (the message says which and where).
 */
export function inflateWithInfo(bytes: Uint8Array, options: InflateOptions): InflateResult {
  return inflateFrom(bytes, options, 'inflateWithInfo');
}

function inflateFrom(bytes: Uint8Array, options: InflateOptions, fn: string): InflateResult {
  const { input, maxLength, zlib } = checkOptions(bytes, options, fn);
  let start = 0;
  if (zlib) {
    if (input.length < 2) throw new InflateError(`truncated zlib header: ${input.length} byte(s), a zlib stream starts with 2`);
    const cmf = input[0]!;
    const flg = input[1]!;
    if ((cmf & 0x0f) !== 8) throw new InflateError(`zlib header: compression method ${cmf & 0x0f}, only 8 (deflate) exists`);
    if (cmf >> 4 > 7) throw new InflateError(`zlib header: window size 2^${(cmf >> 4) + 8} is more than the 32 KiB deflate allows`);
    if ((cmf * 256 + flg) % 31 !== 0) throw new InflateError(`zlib header: check bits wrong (0x${hex2(cmf)}${hex2(flg)} is not a multiple of 31)`);
    if (flg & 0x20) throw new InflateError('zlib header: the stream needs a preset dictionary, which is not supported');
    start = 2;
  }
  const { output, end } = inflateRawFrom(input, start, maxLength);
  let bytesRead = end;
  if (zlib) {
    if (end + 4 > input.length) throw new InflateError(`truncated stream: the Adler-32 check after the deflate data is missing (${input.length - end} of 4 bytes)`);
    const expected = ((input[end]! << 24) | (input[end + 1]! << 16) | (input[end + 2]! << 8) | input[end + 3]!) >>> 0;
    const actual = adler32(output);
    if (expected !== actual) {
      throw new InflateError(`Adler-32 mismatch: the stream says 0x${expected.toString(16).padStart(8, '0')}, the data gives 0x${actual.toString(16).padStart(8, '0')}`);
    }
    bytesRead += 4;
  }
  return { data: output, bytesRead };
}

/** Decompresses a zlib (default) or raw DEFLATE stream into at most `options.maxLength` bytes. */
export function inflate(bytes: Uint8Array, options: InflateOptions): Uint8Array {
  return inflateFrom(bytes, options, 'inflate').data;
}

/** Decompresses a raw DEFLATE stream (as in zip entries with method 8) into at most `maxLength` bytes. */
export function inflateRaw(bytes: Uint8Array, maxLength: number): Uint8Array {
  return inflateFrom(bytes, { maxLength, format: 'raw' }, 'inflateRaw').data;
}

/** Decompresses a zlib stream (as in PNG's IDAT chunks) into at most `maxLength` bytes, checking its Adler-32. */
export function inflateZlib(bytes: Uint8Array, maxLength: number): Uint8Array {
  return inflateFrom(bytes, { maxLength, format: 'zlib' }, 'inflateZlib').data;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** DEFLATE can expand at most 1032:1 (a 258-byte match costs at least 2 bits); used to size the first buffer. */
const MAX_RATIO = 1032;

/**
 * The bit reader's state between the parts of the decoder. The hot symbol loop copies it into
 * local variables (closures over mutable locals would make V8 keep them in a heap context, several
 * times slower) and writes it back before calling the helpers below.
 */
interface BitState {
  input: Uint8Array;
  pos: number;
  /** Up to 32 bits, least-significant first; bytes past the end of the input read as zero. */
  bitBuf: number;
  bitCount: number;
  /** Output so far, for messages. */
  outPos: number;
}

function truncated(s: BitState, what: string): never {
  throw new InflateError(`truncated stream: the input (${s.input.length} bytes) ends inside ${what} (output so far: ${s.outPos} bytes)`);
}

/** Reads n (≤ 16) bits; an error if they lie past the end of the input. */
function readBits(s: BitState, n: number, what: string): number {
  const input = s.input;
  while (s.bitCount < n) {
    s.bitBuf |= (s.pos < input.length ? input[s.pos]! : 0) << s.bitCount;
    s.pos++;
    s.bitCount += 8;
  }
  const v = s.bitBuf & ((1 << n) - 1);
  s.bitBuf >>>= n;
  s.bitCount -= n;
  if (s.pos > input.length && (s.pos - input.length) * 8 > s.bitCount) truncated(s, what);
  return v;
}

function readSymbol(s: BitState, table: HuffmanTable, what: string): number {
  const input = s.input;
  while (s.bitCount < table.bits) {
    s.bitBuf |= (s.pos < input.length ? input[s.pos]! : 0) << s.bitCount;
    s.pos++;
    s.bitCount += 8;
  }
  const entry = lookup(table, s.bitBuf);
  const length = entry & 15;
  if (length === 0) throw new InflateError(`invalid ${what} code at input byte ${Math.min(s.pos, input.length) - (s.bitCount >> 3)}`);
  s.bitBuf >>>= length;
  s.bitCount -= length;
  if (s.pos > input.length && (s.pos - input.length) * 8 > s.bitCount) truncated(s, `a ${what} code`);
  return entry >>> 4;
}

/** A dynamic block's header: the code-length code, then the literal/length and distance codes. */
function readDynamicTables(s: BitState, block: number, lengths: Uint8Array): { litlen: HuffmanTable; dist: HuffmanTable } {
  const where = 'a dynamic block header';
  const hlit = readBits(s, 5, where) + 257;
  const hdist = readBits(s, 5, where) + 1;
  const hclen = readBits(s, 4, where) + 4;
  if (hlit > 286) throw new InflateError(`dynamic block ${block} declares ${hlit} literal/length codes (at most 286)`);
  if (hdist > 30) throw new InflateError(`dynamic block ${block} declares ${hdist} distance codes (at most 30)`);
  const codeLengthLengths = new Uint8Array(19);
  for (let i = 0; i < hclen; i++) codeLengthLengths[CODE_LENGTH_ORDER[i]!] = readBits(s, 3, where);
  const codeLengthTable = buildTable(codeLengthLengths, 19, 'code-length');
  lengths.fill(0);
  const total = hlit + hdist;
  let i = 0;
  while (i < total) {
    const symbol = readSymbol(s, codeLengthTable, 'code-length');
    if (symbol < 16) {
      lengths[i++] = symbol;
      continue;
    }
    let repeat: number;
    let value = 0;
    if (symbol === 16) {
      if (i === 0) throw new InflateError(`dynamic block ${block}: a repeat code (16) with no previous length`);
      value = lengths[i - 1]!;
      repeat = 3 + readBits(s, 2, where);
    } else if (symbol === 17) {
      repeat = 3 + readBits(s, 3, where);
    } else {
      repeat = 11 + readBits(s, 7, where);
    }
    if (i + repeat > total) throw new InflateError(`dynamic block ${block}: code lengths repeat past the ${total} declared`);
    lengths.fill(value, i, i + repeat);
    i += repeat;
  }
  if (lengths[256] === 0) throw new InflateError(`dynamic block ${block} has no end-of-block code`);
  return {
    litlen: buildTable(lengths.subarray(0, hlit), hlit, 'literal/length'),
    dist: buildTable(lengths.subarray(hlit, hlit + hdist), hdist, 'distance'),
  };
}

function tooLong(maxLength: number): InflateError {
  return new InflateError(`the decompressed data is longer than maxLength (${maxLength} bytes); the stream is corrupt or not what the caller expected`);
}

/** A bigger output buffer (doubling, never past maxLength) holding the first `used` bytes of `out`. */
function grow(out: Uint8Array, used: number, needed: number, maxLength: number): Uint8Array {
  if (needed > maxLength) throw tooLong(maxLength);
  let capacity = out.length * 2;
  if (capacity < needed) capacity = needed;
  if (capacity > maxLength) capacity = maxLength;
  const bigger = new Uint8Array(capacity);
  bigger.set(out.subarray(0, used));
  return bigger;
}

/** The decoder proper: from `start` to the end of the final block. */
function inflateRawFrom(input: Uint8Array, start: number, maxLength: number): { output: Uint8Array; end: number } {
  const inLength = input.length;
  // A first buffer no larger than the input could possibly produce; grown by doubling up to maxLength.
  let out: Uint8Array = new Uint8Array(Math.min(maxLength, Math.max(1024, (inLength - start) * 4), (inLength - start) * MAX_RATIO + 258));
  const s: BitState = { input, pos: start, bitBuf: 0, bitCount: 0, outPos: 0 };
  const lengths = new Uint8Array(288 + 32);
  let final = 0;
  let block = 0;
  while (final === 0) {
    final = readBits(s, 1, 'a block header');
    const type = readBits(s, 2, 'a block header');
    if (type === 0) {
      // Stored: skip to the byte boundary, then LEN, NLEN and LEN raw bytes.
      let pos = s.pos - (s.bitCount >> 3);
      s.bitBuf = 0;
      s.bitCount = 0;
      if (pos + 4 > inLength) {
        s.pos = pos;
        truncated(s, `the header of stored block ${block}`);
      }
      const len = input[pos]! | (input[pos + 1]! << 8);
      const nlen = input[pos + 2]! | (input[pos + 3]! << 8);
      if ((len ^ 0xffff) !== nlen) throw new InflateError(`stored block ${block}: length ${len} does not match its complement ${nlen}`);
      pos += 4;
      if (pos + len > inLength) truncated(s, `stored block ${block} (${len} bytes declared, ${inLength - pos} present)`);
      if (s.outPos + len > out.length) out = grow(out, s.outPos, s.outPos + len, maxLength);
      out.set(input.subarray(pos, pos + len), s.outPos);
      s.outPos += len;
      s.pos = pos + len;
      block++;
      continue;
    }
    if (type === 3) throw new InflateError(`block ${block} has the reserved block type 3`);
    const { litlen, dist } = type === 1 ? getFixedTables() : readDynamicTables(s, block, lengths);

    // The symbol loop, on local copies of the state: literals, matches, end of block.
    const litEntries = litlen.entries;
    const litBits = litlen.bits;
    const litMask = (1 << litlen.primaryBits) - 1;
    const distEntries = dist.entries;
    const distBits = dist.bits;
    const distMask = (1 << dist.primaryBits) - 1;
    let pos = s.pos;
    let bitBuf = s.bitBuf;
    let bitCount = s.bitCount;
    let outPos = s.outPos;
    let capacity = out.length;
    let problem = '';
    for (;;) {
      while (bitCount < litBits) {
        bitBuf |= (pos < inLength ? input[pos]! : 0) << bitCount;
        pos++;
        bitCount += 8;
      }
      let entry = litEntries[bitBuf & litMask]!;
      if (entry < 0) entry = litEntries[((entry >>> 4) & 0x7ffffff) + ((bitBuf >>> PRIMARY_BITS) & ((1 << (entry & 15)) - 1))]!;
      const codeLength = entry & 15;
      if (codeLength === 0) {
        problem = `invalid literal/length code in block ${block}`;
        break;
      }
      bitBuf >>>= codeLength;
      bitCount -= codeLength;
      if (pos > inLength && (pos - inLength) * 8 > bitCount) {
        problem = 'truncated';
        break;
      }
      const symbol = entry >>> 4;
      if (symbol < 256) {
        if (outPos >= capacity) {
          out = grow(out, outPos, outPos + 1, maxLength);
          capacity = out.length;
        }
        out[outPos++] = symbol;
        continue;
      }
      if (symbol === 256) break;
      const li = symbol - 257;
      if (li >= 29) {
        problem = `invalid literal/length symbol ${symbol} in block ${block}`;
        break;
      }
      let length = LENGTH_BASE[li]!;
      const lengthExtra = LENGTH_EXTRA[li]!;
      // Length extra bits (≤ 5) and the distance code (≤ 15 bits): refill once for both.
      while (bitCount < lengthExtra + distBits) {
        bitBuf |= (pos < inLength ? input[pos]! : 0) << bitCount;
        pos++;
        bitCount += 8;
      }
      if (lengthExtra > 0) {
        length += bitBuf & ((1 << lengthExtra) - 1);
        bitBuf >>>= lengthExtra;
        bitCount -= lengthExtra;
      }
      let dEntry = distEntries[bitBuf & distMask]!;
      if (dEntry < 0) dEntry = distEntries[((dEntry >>> 4) & 0x7ffffff) + ((bitBuf >>> PRIMARY_BITS) & ((1 << (dEntry & 15)) - 1))]!;
      const dLength = dEntry & 15;
      if (dLength === 0) {
        problem = `invalid distance code in block ${block}`;
        break;
      }
      bitBuf >>>= dLength;
      bitCount -= dLength;
      const di = dEntry >>> 4;
      if (di >= 30) {
        problem = `invalid distance symbol ${di} in block ${block}`;
        break;
      }
      let distance = DIST_BASE[di]!;
      const distExtra = DIST_EXTRA[di]!;
      if (distExtra > 0) {
        while (bitCount < distExtra) {
          bitBuf |= (pos < inLength ? input[pos]! : 0) << bitCount;
          pos++;
          bitCount += 8;
        }
        distance += bitBuf & ((1 << distExtra) - 1);
        bitBuf >>>= distExtra;
        bitCount -= distExtra;
      }
      if (pos > inLength && (pos - inLength) * 8 > bitCount) {
        problem = 'truncated';
        break;
      }
      if (distance > outPos) {
        problem = `block ${block}: a match refers ${distance} bytes back, but only ${outPos} bytes have been produced`;
        break;
      }
      const stop = outPos + length;
      if (stop > capacity) {
        out = grow(out, outPos, stop, maxLength);
        capacity = out.length;
      }
      let from = outPos - distance;
      if (distance >= length && length > 32) {
        out.copyWithin(outPos, from, from + length);
        outPos = stop;
      } else {
        // Byte by byte: short copies, and overlapping ones (distance < length repeats a pattern).
        while (outPos < stop) out[outPos++] = out[from++]!;
      }
    }
    s.pos = pos;
    s.bitBuf = bitBuf;
    s.bitCount = bitCount;
    s.outPos = outPos;
    if (problem === 'truncated') truncated(s, `block ${block}`);
    if (problem !== '') throw new InflateError(problem);
    block++;
  }
  // Give back the whole bytes read ahead into the bit buffer: the stream ends at the next byte boundary.
  const end = s.pos - (s.bitCount >> 3);
  const output = s.outPos === out.length ? out : out.slice(0, s.outPos);
  return { output, end };
}
