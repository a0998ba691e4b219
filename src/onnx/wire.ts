/**
 * The protobuf wire format, as much of it as ONNX needs: a bounds-checked reader and a writer.
 *
 * A message is a sequence of fields, each a tag `(field << 3) | wireType` (a varint) followed by
 * its value: 0 a varint, 1 eight bytes, 2 a varint length and that many bytes, 5 four bytes.
 * Groups (3, 4) are obsolete and refused. Every length is checked against the bytes present
 * before it is used, so a truncated or hostile file gives an error naming what was being read,
 * never an out-of-range read or a huge allocation.
 *
 * Varints are decoded as two 32-bit halves: an int64 such as −1 (`axes`, Slice `ends` =
 * INT64_MAX) takes ten bytes, and its value is exact while it fits a double's 53 bits (larger
 * magnitudes, the INT64 sentinels, become the nearest double).
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/** An `onnx:` RangeError for malformed bytes: `what` names the message or field being read. */
export function wireError(what: string, detail: string): RangeError {
  return new RangeError(`onnx: malformed file: ${what}: ${detail}`);
}

const TWO_32 = 4294967296;

export class WireReader {
  pos: number;
  private readonly view: DataView;

  /** Reads `bytes[start, end)`; `what` names the message in errors. */
  constructor(readonly bytes: Uint8Array, start: number, readonly end: number, readonly what: string) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** An unsigned varint as two halves combined, read as a signed int64 (two's complement). */
  varint(): number {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    const bytes = this.bytes;
    for (let i = 0; ; i++) {
      if (this.pos >= this.end) throw wireError(this.what, `a varint runs past the end of its message (at byte ${this.pos})`);
      if (i >= 10) throw wireError(this.what, `a varint is longer than 10 bytes (at byte ${this.pos})`);
      const b = bytes[this.pos++]!;
      const bits = b & 0x7f;
      if (shift < 28) lo += bits * 2 ** shift;
      else if (shift === 28) {
        lo += (bits & 0x0f) * 2 ** 28;
        hi += bits >>> 4;
      } else hi += bits * 2 ** (shift - 32);
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    hi %= TWO_32;
    return hi >= 2 ** 31 ? (hi - TWO_32) * TWO_32 + lo : hi * TWO_32 + lo;
  }

  /** A tag: [field number, wire type]. */
  tag(): [number, number] {
    const t = this.varint();
    if (t < 0 || t > 2 ** 32) throw wireError(this.what, `invalid field tag ${t} at byte ${this.pos}`);
    const field = Math.floor(t / 8);
    const wire = t % 8;
    if (field === 0) throw wireError(this.what, `field number 0 at byte ${this.pos}`);
    return [field, wire];
  }

  /** A length-delimited field: its byte range [start, end), checked against the message. */
  lengthDelimited(): [number, number] {
    const length = this.varint();
    if (length < 0 || length > this.end - this.pos) {
      throw wireError(this.what, `a field declares ${length} bytes but only ${this.end - this.pos} remain (at byte ${this.pos})`);
    }
    const start = this.pos;
    this.pos += length;
    return [start, this.pos];
  }

  /** A UTF-8 string field. */
  string(): string {
    const [start, end] = this.lengthDelimited();
    return utf8.decode(this.bytes.subarray(start, end));
  }

  fixed32Float(): number {
    if (this.end - this.pos < 4) throw wireError(this.what, `a 4-byte field runs past the end (at byte ${this.pos})`);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  fixed64Double(): number {
    if (this.end - this.pos < 8) throw wireError(this.what, `an 8-byte field runs past the end (at byte ${this.pos})`);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Skips a field's value of wire type `wire` (unknown fields). */
  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT: this.varint(); return;
      case WIRE_FIXED64: this.advance(8); return;
      case WIRE_BYTES: this.lengthDelimited(); return;
      case WIRE_FIXED32: this.advance(4); return;
      default: throw wireError(this.what, `unsupported wire type ${wire} at byte ${this.pos} (groups are not used by ONNX)`);
    }
  }

  private advance(n: number): void {
    if (this.end - this.pos < n) throw wireError(this.what, `a ${n}-byte field runs past the end (at byte ${this.pos})`);
    this.pos += n;
  }

  /** A sub-reader over a length-delimited field (an embedded message). */
  message(what: string): WireReader {
    const [start, end] = this.lengthDelimited();
    return new WireReader(this.bytes, start, end, what);
  }

  /**
   * Appends a repeated varint field's values, packed (wire type 2) or not (wire type 0), to `out`.
   * Packed runs are counted before they are read, so `out` grows only by what the bytes hold.
   */
  repeatedVarint(wire: number, out: number[], limit: number): void {
    if (wire === WIRE_VARINT) {
      if (out.length >= limit) throw wireError(this.what, `more than ${limit} values in a repeated field`);
      out.push(this.varint());
      return;
    }
    if (wire !== WIRE_BYTES) throw wireError(this.what, `a repeated integer field has wire type ${wire}`);
    const [start, end] = this.lengthDelimited();
    const sub = new WireReader(this.bytes, start, end, this.what);
    while (!sub.done) {
      if (out.length >= limit) throw wireError(this.what, `more than ${limit} values in a repeated field`);
      out.push(sub.varint());
    }
  }

  /** The same for repeated fixed32 floats. */
  repeatedFloat(wire: number, out: number[], limit: number): void {
    if (wire === WIRE_FIXED32) {
      if (out.length >= limit) throw wireError(this.what, `more than ${limit} values in a repeated field`);
      out.push(this.fixed32Float());
      return;
    }
    if (wire !== WIRE_BYTES) throw wireError(this.what, `a repeated float field has wire type ${wire}`);
    const [start, end] = this.lengthDelimited();
    if ((end - start) % 4 !== 0) throw wireError(this.what, `a packed float field has ${end - start} bytes, not a multiple of 4`);
    if (out.length + (end - start) / 4 > limit) throw wireError(this.what, `more than ${limit} values in a repeated field`);
    for (let p = start; p < end; p += 4) out.push(this.view.getFloat32(p, true));
  }

  /** Expects wire type `expected` for `field`, naming it otherwise. */
  expect(wire: number, expected: number, field: string): void {
    if (wire !== expected) throw wireError(this.what, `field ${field} has wire type ${wire}, expected ${expected}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

/** Builds a protobuf message; nested messages are written by building them first. */
export class WireWriter {
  private chunks: Uint8Array[] = [];
  private current: number[] = [];
  private size = 0;

  get length(): number {
    return this.size + this.current.length;
  }

  private flush(): void {
    if (this.current.length > 0) {
      this.chunks.push(Uint8Array.from(this.current));
      this.size += this.current.length;
      this.current = [];
    }
  }

  /** A varint of a (possibly negative) integer: negatives take 10 bytes, two's complement. */
  rawVarint(value: number): void {
    if (!Number.isInteger(value)) throw new RangeError(`protobuf varint: ${value} is not an integer`);
    let lo: number;
    let hi: number;
    if (value >= 0) {
      lo = value % TWO_32;
      hi = Math.floor(value / TWO_32);
    } else {
      const v = -value;
      let l = v % TWO_32;
      let h = Math.floor(v / TWO_32);
      // two's complement of (h, l) in 64 bits
      l = (TWO_32 - l) % TWO_32;
      h = (TWO_32 - h - (l === 0 ? 0 : 1)) % TWO_32;
      lo = l;
      hi = h;
    }
    const out = this.current;
    while (hi > 0 || lo > 0x7f) {
      out.push((lo & 0x7f) | 0x80);
      lo = (lo >>> 7) | ((hi & 0x7f) << 25);
      lo >>>= 0;
      hi = Math.floor(hi / 128);
    }
    out.push(lo);
  }

  tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  varintField(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
  }

  floatField(field: number, value: number): void {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.current.push(...b);
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.tag(field, WIRE_BYTES);
    this.rawVarint(bytes.length);
    if (bytes.length < 64) {
      for (let i = 0; i < bytes.length; i++) this.current.push(bytes[i]!);
      return;
    }
    this.flush();
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  stringField(field: number, value: string): void {
    this.bytesField(field, utf8Encoder.encode(value));
  }

  messageField(field: number, message: WireWriter): void {
    this.bytesField(field, message.finish());
  }

  /** A packed repeated varint field. */
  packedVarints(field: number, values: readonly number[]): void {
    const inner = new WireWriter();
    for (const v of values) inner.rawVarint(v);
    this.bytesField(field, inner.finish());
  }

  finish(): Uint8Array {
    this.flush();
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    this.chunks = [out];
    return out;
  }
}
