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

import { describeValue, readEnum, readInteger, readOptions } from '../kernels/checks.js';

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
 * A canonical Huffman code as one lookup table indexed by the next `bits` input bits (DEFLATE sends
 * codes most-significant bit first, so the table is indexed by the bit-reversed code). Each entry is
 * `symbol << 4 | codeLength`; 0 marks a bit pattern that is no code (only in an incomplete code).
 */
interface HuffmanTable {
  entries: Uint32Array;
  bits: number;
}

type CodeKind = 'code-length' | 'literal/length' | 'distance';

/** Builds the table for `lengths[0..count)`, rejecting the code sets zlib rejects. */
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
    return { entries: new Uint32Array(2), bits: 1 };
  }
  // An incomplete code is allowed only when it is a single one-bit code (zlib's rule).
  if (left > 0 && (kind === 'code-length' || maxBits !== 1)) throw new InflateError(`incomplete ${kind} code lengths`);

  const nextCode = new Uint16Array(16);
  let code = 0;
  for (let l = 1; l <= 15; l++) {
    code = (code + lengthCounts[l - 1]!) << 1;
    nextCode[l] = code;
  }
  const size = 1 << maxBits;
  const entries = new Uint32Array(size);
  for (let symbol = 0; symbol < count; symbol++) {
    const l = lengths[symbol]!;
    if (l === 0) continue;
    const c = nextCode[l]!++;
    let reversed = 0;
    for (let b = 0; b < l; b++) reversed |= ((c >> b) & 1) << (l - 1 - b);
    const entry = (symbol << 4) | l;
    for (let i = reversed; i < size; i += 1 << l) entries[i] = entry;
  }
  return { entries, bits: maxBits };
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
 * The decoder proper. The bit buffer holds up to 32 bits, least-significant first; bytes past the
 * end of the input read as zero, and each decoded item checks that it did not use them (then the
 * stream is truncated).
 */
function inflateRawFrom(input: Uint8Array, start: number, maxLength: number): { output: Uint8Array; end: number } {
  const inLength = input.length;
  // A first buffer no larger than the input could possibly produce; grown by doubling up to maxLength.
  let out = new Uint8Array(Math.min(maxLength, Math.max(1024, (inLength - start) * 4), (inLength - start) * MAX_RATIO + 258));
  let outPos = 0;
  let pos = start;
  let bitBuf = 0;
  let bitCount = 0;

  const truncated = (what: string): never => {
    throw new InflateError(`truncated stream: the input (${inLength} bytes) ends inside ${what} (output so far: ${outPos} bytes)`);
  };
  /** Ensures at least n (≤ 25) bits are in the buffer, reading zeros past the end. */
  const need = (n: number): void => {
    while (bitCount < n) {
      bitBuf |= (pos < inLength ? input[pos]! : 0) << bitCount;
      pos++;
      bitCount += 8;
    }
  };
  /** True once bits past the end of the input have been consumed. */
  const overran = (): boolean => pos > inLength && (pos - inLength) * 8 > bitCount;
  const bits = (n: number, what: string): number => {
    need(n);
    const v = bitBuf & ((1 << n) - 1);
    bitBuf >>>= n;
    bitCount -= n;
    if (overran()) truncated(what);
    return v;
  };
  const grow = (needed: number): void => {
    if (needed > maxLength) {
      throw new InflateError(`the decompressed data is longer than maxLength (${maxLength} bytes); the stream is corrupt or not what the caller expected`);
    }
    let capacity = out.length * 2;
    if (capacity < needed) capacity = needed;
    if (capacity > maxLength) capacity = maxLength;
    const bigger = new Uint8Array(capacity);
    bigger.set(out.subarray(0, outPos));
    out = bigger;
  };
  const decodeSymbol = (table: HuffmanTable, what: string): number => {
    need(table.bits);
    const entry = table.entries[bitBuf & ((1 << table.bits) - 1)]!;
    const length = entry & 15;
    if (length === 0) throw new InflateError(`invalid ${what} code at input byte ${Math.min(pos, inLength) - (bitCount >> 3)}`);
    bitBuf >>>= length;
    bitCount -= length;
    if (overran()) truncated(`a ${what} code`);
    return entry >>> 4;
  };

  const lengths = new Uint8Array(288 + 32);
  let final = 0;
  let block = 0;
  while (final === 0) {
    final = bits(1, 'a block header');
    const type = bits(2, 'a block header');
    if (type === 0) {
      // Stored: skip to the byte boundary, then LEN, NLEN and LEN raw bytes.
      bitBuf = 0;
      pos -= bitCount >> 3;
      bitCount = 0;
      if (pos + 4 > inLength) truncated(`the header of stored block ${block}`);
      const len = input[pos]! | (input[pos + 1]! << 8);
      const nlen = input[pos + 2]! | (input[pos + 3]! << 8);
      if ((len ^ 0xffff) !== nlen) throw new InflateError(`stored block ${block}: length ${len} does not match its complement ${nlen}`);
      pos += 4;
      if (pos + len > inLength) truncated(`stored block ${block} (${len} bytes declared, ${inLength - pos} present)`);
      if (outPos + len > out.length) grow(outPos + len);
      out.set(input.subarray(pos, pos + len), outPos);
      outPos += len;
      pos += len;
    } else if (type === 3) {
      throw new InflateError(`block ${block} has the reserved block type 3`);
    } else {
      let litlen: HuffmanTable;
      let dist: HuffmanTable;
      if (type === 1) {
        ({ litlen, dist } = getFixedTables());
      } else {
        const hlit = bits(5, 'a dynamic block header') + 257;
        const hdist = bits(5, 'a dynamic block header') + 1;
        const hclen = bits(4, 'a dynamic block header') + 4;
        if (hlit > 286) throw new InflateError(`dynamic block ${block} declares ${hlit} literal/length codes (at most 286)`);
        if (hdist > 30) throw new InflateError(`dynamic block ${block} declares ${hdist} distance codes (at most 30)`);
        const codeLengthLengths = new Uint8Array(19);
        for (let i = 0; i < hclen; i++) codeLengthLengths[CODE_LENGTH_ORDER[i]!] = bits(3, 'a dynamic block header');
        const codeLengthTable = buildTable(codeLengthLengths, 19, 'code-length');
        lengths.fill(0);
        const total = hlit + hdist;
        let i = 0;
        while (i < total) {
          const symbol = decodeSymbol(codeLengthTable, 'code-length');
          if (symbol < 16) {
            lengths[i++] = symbol;
            continue;
          }
          let repeat: number;
          let value = 0;
          if (symbol === 16) {
            if (i === 0) throw new InflateError(`dynamic block ${block}: a repeat code (16) with no previous length`);
            value = lengths[i - 1]!;
            repeat = 3 + bits(2, 'a dynamic block header');
          } else if (symbol === 17) {
            repeat = 3 + bits(3, 'a dynamic block header');
          } else {
            repeat = 11 + bits(7, 'a dynamic block header');
          }
          if (i + repeat > total) throw new InflateError(`dynamic block ${block}: code lengths repeat past the ${total} declared`);
          lengths.fill(value, i, i + repeat);
          i += repeat;
        }
        if (lengths[256] === 0) throw new InflateError(`dynamic block ${block} has no end-of-block code`);
        litlen = buildTable(lengths.subarray(0, hlit), hlit, 'literal/length');
        dist = buildTable(lengths.subarray(hlit, hlit + hdist), hdist, 'distance');
      }

      // The symbol loop: literals, matches, end of block.
      const litEntries = litlen.entries;
      const litBits = litlen.bits;
      const litMask = (1 << litBits) - 1;
      const distEntries = dist.entries;
      const distBits = dist.bits;
      const distMask = (1 << distBits) - 1;
      for (;;) {
        // Inlined decodeSymbol: this loop is where all the time goes.
        while (bitCount < litBits) {
          bitBuf |= (pos < inLength ? input[pos]! : 0) << bitCount;
          pos++;
          bitCount += 8;
        }
        const entry = litEntries[bitBuf & litMask]!;
        const codeLength = entry & 15;
        if (codeLength === 0) throw new InflateError(`invalid literal/length code in block ${block}`);
        bitBuf >>>= codeLength;
        bitCount -= codeLength;
        if (pos > inLength && overran()) truncated(`block ${block}`);
        const symbol = entry >>> 4;
        if (symbol < 256) {
          if (outPos >= out.length) grow(outPos + 1);
          out[outPos++] = symbol;
          continue;
        }
        if (symbol === 256) break;
        const li = symbol - 257;
        if (li >= 29) throw new InflateError(`invalid literal/length symbol ${symbol} in block ${block}`);
        let length = LENGTH_BASE[li]!;
        const lengthExtra = LENGTH_EXTRA[li]!;
        if (lengthExtra > 0) length += bits(lengthExtra, `block ${block}`);

        while (bitCount < distBits) {
          bitBuf |= (pos < inLength ? input[pos]! : 0) << bitCount;
          pos++;
          bitCount += 8;
        }
        const dEntry = distEntries[bitBuf & distMask]!;
        const dLength = dEntry & 15;
        if (dLength === 0) throw new InflateError(`invalid distance code in block ${block}`);
        bitBuf >>>= dLength;
        bitCount -= dLength;
        if (pos > inLength && overran()) truncated(`block ${block}`);
        const di = dEntry >>> 4;
        if (di >= 30) throw new InflateError(`invalid distance symbol ${di} in block ${block}`);
        let distance = DIST_BASE[di]!;
        const distExtra = DIST_EXTRA[di]!;
        if (distExtra > 0) distance += bits(distExtra, `block ${block}`);
        if (distance > outPos) {
          throw new InflateError(`block ${block}: a match refers ${distance} bytes back, but only ${outPos} bytes have been produced`);
        }
        if (outPos + length > out.length) grow(outPos + length);
        // Byte by byte: the source may overlap the destination (distance < length repeats a pattern).
        let from = outPos - distance;
        const stop = outPos + length;
        if (distance >= length) {
          out.copyWithin(outPos, from, from + length);
          outPos = stop;
        } else {
          while (outPos < stop) out[outPos++] = out[from++]!;
        }
      }
    }
    block++;
  }
  // Give back the whole bytes read ahead into the bit buffer: the stream ends at the next byte boundary.
  pos -= bitCount >> 3;
  const output = outPos === out.length ? out : out.slice(0, outPos);
  return { output, end: pos };
}
