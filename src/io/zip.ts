/**
 * A strict reader and a minimal writer for ZIP archives, as `torch.save` (PyTorch ≥ 1.6) writes them.
 *
 * The reader trusts only the central directory (PyTorch sets bit 3 and leaves the local headers'
 * sizes and CRCs zero, writing a data descriptor after each entry), understands zip64, and reads
 * entries that are stored or deflated. Archives come from outside, so every offset and size is
 * checked against the bytes present before anything is allocated, an entry's CRC-32 is checked
 * when it is read, and every error names the entry and the sizes involved.
 *
 * The writer writes stored (uncompressed) entries only, each entry's data aligned to 64 bytes
 * from the start of the archive (as PyTorch's writer does, so a reader can map tensors in place).
 */
import { crc32 } from '../bits.js';
import { describeValue } from '../checks.js';
import { inflateRaw } from '../inflate.js';

export class ZipError extends Error {
  constructor(message: string) {
    super(`zip: ${message}`);
    this.name = 'ZipError';
  }
}

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflated (no other method is read). */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  /** Offset of the entry's local header. */
  readonly headerOffset: number;
}

export interface ZipArchive {
  /** By name, in central-directory order. */
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /** The entry's bytes (a view into the archive for stored entries, a new array for deflated ones). */
  read(name: string): Uint8Array;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
/** Deflate cannot expand data by more than about 1032:1, so a larger declared size is a lie. */
const MAX_DEFLATE_RATIO = 1032;

function quote(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}

/** A 64-bit little-endian size or offset, which must fit in a safe integer (and so in the archive). */
function readUint64(view: DataView, at: number, what: string): number {
  const low = view.getUint32(at, true);
  const high = view.getUint32(at + 4, true);
  if (high >= 0x200000) throw new ZipError(`${what} is ${high} × 2^32 + ${low}, beyond any archive`);
  return high * 4294967296 + low;
}

function findEndOfCentralDirectory(view: DataView): number {
  const length = view.byteLength;
  if (length < EOCD_SIZE) throw new ZipError(`truncated archive: ${length} bytes, shorter than the 22-byte end-of-central-directory record`);
  const lowest = Math.max(0, length - EOCD_SIZE - 0xffff);
  let fallback = -1;
  for (let at = length - EOCD_SIZE; at >= lowest; at--) {
    if (view.getUint32(at, true) !== EOCD_SIGNATURE) continue;
    // The record whose comment ends exactly at the end of the file; a stray signature inside a
    // comment or in stored data does not satisfy that.
    if (at + EOCD_SIZE + view.getUint16(at + 20, true) === length) return at;
    if (fallback < 0) fallback = at;
  }
  if (fallback >= 0) return fallback;
  throw new ZipError('no end-of-central-directory record in the last 64 KiB: the archive is truncated or not a zip file');
}

interface Directory {
  count: number;
  size: number;
  offset: number;
}

function readDirectoryLocation(view: DataView, eocd: number): Directory {
  const disk = view.getUint16(eocd + 4, true);
  const directoryDisk = view.getUint16(eocd + 6, true);
  let count = view.getUint16(eocd + 10, true);
  let size = view.getUint32(eocd + 12, true);
  let offset = view.getUint32(eocd + 16, true);
  const locator = eocd - 20;
  if (locator >= 0 && view.getUint32(locator, true) === ZIP64_LOCATOR_SIGNATURE) {
    const record = readUint64(view, locator + 8, 'the zip64 end-of-central-directory offset');
    if (record + 56 > locator) {
      throw new ZipError(`the zip64 locator points at offset ${record}, but a 56-byte zip64 record does not fit before offset ${locator}`);
    }
    if (view.getUint32(record, true) !== ZIP64_EOCD_SIGNATURE) {
      throw new ZipError(`no zip64 end-of-central-directory record at offset ${record}, where the zip64 locator points`);
    }
    count = readUint64(view, record + 32, 'the zip64 entry count');
    size = readUint64(view, record + 40, 'the zip64 central directory size');
    offset = readUint64(view, record + 48, 'the zip64 central directory offset');
  } else if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    throw new ZipError('the end-of-central-directory record defers to a zip64 record, but there is no zip64 locator before it');
  }
  if (disk !== 0 || directoryDisk !== 0) throw new ZipError(`multi-disk (split) archives are not supported (disk ${disk}, directory on disk ${directoryDisk})`);
  const end = locator >= 0 && view.getUint32(locator, true) === ZIP64_LOCATOR_SIGNATURE ? locator : eocd;
  if (offset + size > end) {
    throw new ZipError(`the central directory [${offset}, ${offset + size}) runs past its end record at offset ${end}: the archive is truncated or corrupt`);
  }
  if (count * CENTRAL_SIZE > size) {
    throw new ZipError(`the end record declares ${count} entries, but a central directory of ${size} bytes holds at most ${Math.floor(size / CENTRAL_SIZE)}`);
  }
  return { count, size, offset };
}

/** Applies the zip64 extended-information extra field (id 1) to the fields saturated at 0xffffffff. */
function applyZip64(view: DataView, extraStart: number, extraLength: number, fields: { size: number; compressedSize: number; headerOffset: number }, name: string): void {
  const needs = [fields.size === 0xffffffff, fields.compressedSize === 0xffffffff, fields.headerOffset === 0xffffffff];
  if (!needs.some(Boolean)) return;
  let at = extraStart;
  const end = extraStart + extraLength;
  while (at + 4 <= end) {
    const id = view.getUint16(at, true);
    const length = view.getUint16(at + 2, true);
    if (at + 4 + length > end) break;
    if (id === 1) {
      let p = at + 4;
      const take = (what: string): number => {
        if (p + 8 > at + 4 + length) throw new ZipError(`entry ${quote(name)}: its zip64 extra field is too short for the ${what}`);
        const value = readUint64(view, p, `entry ${quote(name)}'s zip64 ${what}`);
        p += 8;
        return value;
      };
      if (needs[0]) fields.size = take('size');
      if (needs[1]) fields.compressedSize = take('compressed size');
      if (needs[2]) fields.headerOffset = take('header offset');
      return;
    }
    at += 4 + length;
  }
  throw new ZipError(`entry ${quote(name)} has 32-bit fields saturated at 0xffffffff but no zip64 extra field`);
}

/** Parses the central directory of a ZIP archive. Entries are read lazily with `read(name)`. */
export function readZip(bytes: Uint8Array): ZipArchive {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`readZip: bytes must be a Uint8Array, got ${describeValue(bytes)}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = findEndOfCentralDirectory(view);
  const directory = readDirectoryLocation(view, eocd);
  const decoder = new TextDecoder('utf-8');
  const entries = new Map<string, ZipEntry>();
  let at = directory.offset;
  const end = directory.offset + directory.size;
  for (let i = 0; i < directory.count; i++) {
    if (at + CENTRAL_SIZE > end) throw new ZipError(`central directory entry ${i} of ${directory.count} runs past the directory's end (offset ${end})`);
    if (view.getUint32(at, true) !== CENTRAL_SIGNATURE) {
      throw new ZipError(`central directory entry ${i} of ${directory.count} at offset ${at} has no central-header signature: the directory is corrupt`);
    }
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const fields = { compressedSize: view.getUint32(at + 20, true), size: view.getUint32(at + 24, true), headerOffset: view.getUint32(at + 42, true) };
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const next = at + CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (next > end) throw new ZipError(`central directory entry ${i} (name, extra field and comment) runs past the directory's end (offset ${end})`);
    const name = decoder.decode(bytes.subarray(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLength));
    applyZip64(view, at + CENTRAL_SIZE + nameLength, extraLength, fields, name);
    if (flags & 1) throw new ZipError(`entry ${quote(name)} is encrypted`);
    if (entries.has(name)) throw new ZipError(`entry ${quote(name)} appears twice in the central directory`);
    if (fields.headerOffset + LOCAL_SIZE > directory.offset) {
      throw new ZipError(`entry ${quote(name)}: its local header offset ${fields.headerOffset} is not before the central directory (offset ${directory.offset})`);
    }
    entries.set(name, { name, method, crc32: crc, ...fields });
    at = next;
  }

  const read = (name: string): Uint8Array => {
    const entry = entries.get(name);
    if (entry === undefined) throw new ZipError(`no entry ${quote(name)} in the archive`);
    const h = entry.headerOffset;
    if (view.getUint32(h, true) !== LOCAL_SIGNATURE) throw new ZipError(`entry ${quote(name)}: no local header at offset ${h}`);
    const start = h + LOCAL_SIZE + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
    if (start + entry.compressedSize > directory.offset) {
      throw new ZipError(
        `entry ${quote(name)}: its ${entry.compressedSize} bytes at offset ${start} run past the start of the central directory (offset ${directory.offset}): the archive is truncated or corrupt`,
      );
    }
    const raw = bytes.subarray(start, start + entry.compressedSize);
    let data: Uint8Array;
    if (entry.method === 0) {
      if (entry.size !== entry.compressedSize) {
        throw new ZipError(`entry ${quote(name)} is stored, but its size ${entry.size} differs from its stored size ${entry.compressedSize}`);
      }
      data = raw;
    } else if (entry.method === 8) {
      if (entry.size > entry.compressedSize * MAX_DEFLATE_RATIO + 1024) {
        throw new ZipError(`entry ${quote(name)} declares ${entry.size} bytes from ${entry.compressedSize} deflated bytes, more than deflate can expand to`);
      }
      try {
        data = inflateRaw(raw, entry.size);
      } catch (error) {
        throw new ZipError(`entry ${quote(name)}: corrupt deflate data (${(error as Error).message})`);
      }
      if (data.length !== entry.size) {
        throw new ZipError(`entry ${quote(name)} inflates to ${data.length} bytes, but the directory says ${entry.size}`);
      }
    } else {
      throw new ZipError(`entry ${quote(name)} uses compression method ${entry.method}; only stored (0) and deflated (8) entries are read`);
    }
    const actual = crc32(data);
    if (actual !== entry.crc32) {
      throw new ZipError(`entry ${quote(name)}: CRC-32 mismatch (computed ${hex(actual)}, the directory says ${hex(entry.crc32)}): the archive is corrupt`);
    }
    return data;
  };
  return { entries, read };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

export interface ZipInput {
  readonly name: string;
  readonly data: Uint8Array;
}

const ALIGNMENT = 64;
/** An extra-field id for padding ('FB', the one PyTorch's writer uses). */
const PADDING_FIELD = 0x4246;

/**
 * A ZIP archive of stored entries, each entry's data aligned to 64 bytes. Sizes past 4 GiB (which
 * would need zip64) are refused.
 */
export function writeZip(files: readonly ZipInput[]): Uint8Array {
  const encoder = new TextEncoder();
  const names = files.map((f) => encoder.encode(f.name));
  const locals: { offset: number; padding: number; crc: number }[] = [];
  let offset = 0;
  for (let i = 0; i < files.length; i++) {
    const headerEnd = offset + LOCAL_SIZE + names[i]!.length;
    // A padding field is at least 4 bytes (its id and length).
    let padding = (ALIGNMENT - ((headerEnd + 4) % ALIGNMENT)) % ALIGNMENT;
    padding += 4;
    locals.push({ offset, padding, crc: crc32(files[i]!.data) });
    offset = headerEnd + padding + files[i]!.data.length;
  }
  const directoryOffset = offset;
  let directorySize = 0;
  for (const name of names) directorySize += CENTRAL_SIZE + name.length;
  const total = directoryOffset + directorySize + EOCD_SIZE;
  if (total > 0xffffffff || files.length > 0xffff) {
    throw new RangeError(`writeZip: an archive of ${total} bytes and ${files.length} entries needs zip64, which this writer does not produce`);
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  for (let i = 0; i < files.length; i++) {
    const { offset: h, padding, crc } = locals[i]!;
    const data = files[i]!.data;
    view.setUint32(h, LOCAL_SIGNATURE, true);
    view.setUint16(h + 4, 20, true); // version needed: 2.0
    view.setUint16(h + 6, 0x0800, true); // UTF-8 names
    view.setUint32(h + 14, crc, true);
    view.setUint32(h + 18, data.length, true);
    view.setUint32(h + 22, data.length, true);
    view.setUint16(h + 26, names[i]!.length, true);
    view.setUint16(h + 28, padding, true);
    out.set(names[i]!, h + LOCAL_SIZE);
    const field = h + LOCAL_SIZE + names[i]!.length;
    view.setUint16(field, PADDING_FIELD, true);
    view.setUint16(field + 2, padding - 4, true);
    out.fill(0x5a, field + 4, field + padding); // 'Z', as PyTorch pads
    out.set(data, field + padding);
  }
  let at = directoryOffset;
  for (let i = 0; i < files.length; i++) {
    const { offset: h, crc } = locals[i]!;
    view.setUint32(at, CENTRAL_SIGNATURE, true);
    view.setUint16(at + 4, 20, true);
    view.setUint16(at + 6, 20, true);
    view.setUint16(at + 8, 0x0800, true);
    view.setUint32(at + 16, crc, true);
    view.setUint32(at + 20, files[i]!.data.length, true);
    view.setUint32(at + 24, files[i]!.data.length, true);
    view.setUint16(at + 28, names[i]!.length, true);
    view.setUint32(at + 42, h, true);
    out.set(names[i]!, at + CENTRAL_SIZE);
    at += CENTRAL_SIZE + names[i]!.length;
  }
  view.setUint32(at, EOCD_SIGNATURE, true);
  view.setUint16(at + 8, files.length, true);
  view.setUint16(at + 10, files.length, true);
  view.setUint32(at + 12, directorySize, true);
  view.setUint32(at + 16, directoryOffset, true);
  return out;
}
