/**
 * Writes pickle protocol 2, the protocol `torch.save` uses for `data.pkl`: a byte builder with one
 * method per opcode kind, and a memo so that each global is spelled out once.
 */

export class PickleWriter {
  private chunks: Uint8Array[] = [];
  private current = new Uint8Array(4096);
  private used = 0;
  private readonly memo = new Map<string, number>();
  private readonly encoder = new TextEncoder();

  constructor() {
    this.byte2(0x80, 2); // PROTO 2
  }

  private reserve(n: number): void {
    if (this.used + n <= this.current.length) return;
    this.chunks.push(this.current.subarray(0, this.used));
    this.current = new Uint8Array(Math.max(4096, n));
    this.used = 0;
  }

  private byte(v: number): void {
    if (this.used === this.current.length) this.reserve(1);
    this.current[this.used++] = v;
  }

  /** An opcode and a one-byte argument. */
  private byte2(op: number, v: number): void {
    this.reserve(2);
    this.current[this.used++] = op;
    this.current[this.used++] = v;
  }

  private uint32(v: number): void {
    this.reserve(4);
    this.current[this.used++] = v & 0xff;
    this.current[this.used++] = (v >>> 8) & 0xff;
    this.current[this.used++] = (v >>> 16) & 0xff;
    this.current[this.used++] = (v >>> 24) & 0xff;
  }

  private raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.current.set(bytes, this.used);
    this.used += bytes.length;
  }

  mark(): void {
    this.byte(0x28);
  }

  none(): void {
    this.byte(0x4e);
  }

  bool(v: boolean): void {
    this.byte(v ? 0x88 : 0x89);
  }

  /** An int: BININT1/BININT2/BININT when it fits, else LONG1 (two's complement, little-endian). */
  int(v: number | bigint): void {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new RangeError(`PickleWriter.int: ${v} is not a safe integer`);
      if (v >= 0 && v < 256) return this.byte2(0x4b, v);
      if (v >= 0 && v < 65536) {
        this.byte2(0x4d, v & 0xff);
        return this.byte(v >> 8);
      }
      if (v >= -(2 ** 31) && v < 2 ** 31) {
        this.byte(0x4a);
        return this.uint32(v >>> 0);
      }
    }
    let n = BigInt(v);
    const out: number[] = [];
    // Little-endian two's complement, as short as the sign allows.
    while (true) {
      const b = Number(n & 0xffn);
      out.push(b);
      n >>= 8n;
      if ((n === 0n && (b & 0x80) === 0) || (n === -1n && (b & 0x80) !== 0)) break;
    }
    this.byte2(0x8a, out.length);
    this.raw(Uint8Array.from(out));
  }

  float(v: number): void {
    this.reserve(9);
    this.current[this.used] = 0x47; // BINFLOAT: big-endian float64
    new DataView(this.current.buffer, this.current.byteOffset + this.used + 1, 8).setFloat64(0, v, false);
    this.used += 9;
  }

  string(s: string): void {
    const bytes = this.encoder.encode(s);
    this.byte(0x58); // BINUNICODE
    this.uint32(bytes.length);
    this.raw(bytes);
  }

  /** A global, memoized: the first use writes GLOBAL and BINPUT/LONG_BINPUT, later ones BINGET. */
  global(module: string, name: string): void {
    const key = `${module}\n${name}`;
    const index = this.memo.get(key);
    if (index !== undefined) {
      if (index < 256) this.byte2(0x68, index);
      else {
        this.byte(0x6a);
        this.uint32(index);
      }
      return;
    }
    this.byte(0x63);
    this.raw(this.encoder.encode(`${module}\n${name}\n`));
    const next = this.memo.size;
    this.memo.set(key, next);
    if (next < 256) this.byte2(0x71, next);
    else {
      this.byte(0x72);
      this.uint32(next);
    }
  }

  emptyTuple(): void {
    this.byte(0x29);
  }

  /** TUPLE: everything since the last MARK. */
  tuple(): void {
    this.byte(0x74);
  }

  emptyList(): void {
    this.byte(0x5d);
  }

  appends(): void {
    this.byte(0x65);
  }

  emptyDict(): void {
    this.byte(0x7d);
  }

  setItems(): void {
    this.byte(0x75);
  }

  reduce(): void {
    this.byte(0x52);
  }

  binPersId(): void {
    this.byte(0x51);
  }

  /** STOP, and the finished pickle. */
  finish(): Uint8Array {
    this.byte(0x2e);
    this.chunks.push(this.current.subarray(0, this.used));
    let total = 0;
    for (const c of this.chunks) total += c.length;
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.chunks = [];
    this.current = new Uint8Array(0);
    this.used = 0;
    return out;
  }
}
