/**
 * A JPEG decoder in plain TypeScript: baseline and extended sequential (SOF0, SOF1) and progressive
 * (SOF2) Huffman-coded 8-bit images, gray, three-component (YCbCr, or RGB when the file says so)
 * or four-component (CMYK, YCCK: converted to RGB as Pillow does), any sampling factors with
 * integer ratios, restart intervals.
 *
 * It reproduces what libjpeg(-turbo) does with its default settings, since that is what Pillow, and
 * so torchvision, gives a model: the integer "islow" inverse DCT (`jidctint.c`) with libjpeg's
 * range-limit table, "fancy" (triangle) upsampling for 2×1, 1×2 and 2×2 chroma (`jdsample.c`) and
 * replication for other ratios, and libjpeg's fixed-point YCbCr → RGB tables (`jdcolor.c`).
 *
 * Refused with an error naming them: arithmetic coding, lossless and hierarchical JPEG, 12-bit
 * samples, and fractional sampling ratios (libjpeg refuses those too).
 * A scan whose data ends early is an error (libjpeg pads it with zeros and warns; Pillow then
 * returns a partly grey image).
 */
import { MAX_ELEMENTS } from '../checks.js';
import { wrongFormatHint } from '../sniff.js';
import { type DecodedImage, DEFAULT_MAX_PIXELS, ImageDecodeError, type ImageLimits } from './png.js';

function fail(message: string): never {
  throw new ImageDecodeError('jpeg', message);
}

/**
 * The most scans a file may have. Every scan visits every block, so a hostile progressive file of
 * thousands of tiny scans (end-of-band runs cover 32767 blocks a symbol) would take minutes;
 * real files have about 10 (libjpeg's progressive script) and rarely over 20. libjpeg-turbo
 * suggests a limit of this order (its scan limit parameter).
 */
const MAX_SCANS = 150;

/** Zigzag position → natural (row-major) position in the 8×8 block. */
const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
  54, 47, 55, 62, 63,
]);

const SOF_NAMES: Record<number, string> = {
  0xc3: 'lossless (SOF3)', 0xc5: 'differential sequential (SOF5)', 0xc6: 'differential progressive (SOF6)',
  0xc7: 'differential lossless (SOF7)', 0xc9: 'arithmetic-coded sequential (SOF9)', 0xca: 'arithmetic-coded progressive (SOF10)',
  0xcb: 'arithmetic-coded lossless (SOF11)', 0xcd: 'arithmetic-coded differential sequential (SOF13)',
  0xce: 'arithmetic-coded differential progressive (SOF14)', 0xcf: 'arithmetic-coded differential lossless (SOF15)',
};

// ---------------------------------------------------------------------------------------------
// Huffman tables

interface Huffman {
  /** 9-bit lookahead: symbol << 8 | code length, 0 when the code is longer than 9 bits. */
  fast: Uint16Array;
  /** Per code length 1..16: the largest code (−1 if none), and the index of its first symbol minus its first code. */
  maxCode: Int32Array;
  offset: Int32Array;
  symbols: Uint8Array;
}

const FAST_BITS = 9;

function buildHuffman(counts: Uint8Array, symbols: Uint8Array, where: string): Huffman {
  const fast = new Uint16Array(1 << FAST_BITS);
  const maxCode = new Int32Array(18).fill(-1);
  const offset = new Int32Array(18);
  let longest = 0;
  for (let l = 1; l <= 16; l++) if (counts[l - 1]! > 0) longest = l;
  let code = 0;
  let k = 0;
  for (let l = 1; l <= longest; l++) {
    const n = counts[l - 1]!;
    offset[l] = k - code;
    for (let i = 0; i < n; i++, k++, code++) {
      if (l <= FAST_BITS) {
        const shift = FAST_BITS - l;
        for (let j = 0; j < 1 << shift; j++) fast[(code << shift) | j] = (symbols[k]! << 8) | l;
      }
    }
    if (n > 0) maxCode[l] = code - 1;
    // libjpeg's "bogus Huffman table" check: the codes of each length fit, and none is all ones.
    if (code >= 1 << l) fail(`${where}: Huffman table is over-subscribed at code length ${l}`);
    code <<= 1;
  }
  maxCode[17] = 0x7fffffff; // a sentinel past the longest code
  return { fast, maxCode, offset, symbols };
}

// ---------------------------------------------------------------------------------------------
// Frame and components

interface Component {
  id: number;
  h: number;
  v: number;
  quantTable: number;
  /** The quantisation table as it was at the component's first scan (libjpeg latches it then). */
  quant: Uint16Array | null;
  /** Blocks the component really has, and as laid out in whole MCUs. */
  blocksPerLine: number;
  blocksPerColumn: number;
  paddedBlocksPerLine: number;
  paddedBlocksPerColumn: number;
  /** Downsampled size in samples (libjpeg's downsampled_width/height). */
  width: number;
  height: number;
  coefficients: Int16Array;
  dcTable: number;
  acTable: number;
  pred: number;
  /** Whether a scan has given this component any DC data. */
  hasData: boolean;
}

interface Frame {
  progressive: boolean;
  width: number;
  height: number;
  components: Component[];
  hMax: number;
  vMax: number;
  mcusPerLine: number;
  mcusPerColumn: number;
}

// ---------------------------------------------------------------------------------------------
// Entropy-coded data

class BitReader {
  pos: number;
  private buf = 0;
  private count = 0;
  /** Zero bits appended after the data hit a marker (or the end of the file). */
  private fake = 0;
  markerHit = false;

  constructor(private readonly data: Uint8Array, start: number) {
    this.pos = start;
  }

  private fill(): void {
    while (this.count <= 24) {
      let byte = 0;
      if (!this.markerHit && this.pos < this.data.length) {
        byte = this.data[this.pos]!;
        if (byte === 0xff) {
          const next = this.pos + 1 < this.data.length ? this.data[this.pos + 1]! : -1;
          if (next === 0x00) {
            this.pos += 2;
          } else {
            this.markerHit = true;
            byte = 0;
            this.fake += 8;
          }
        } else {
          this.pos++;
        }
      } else {
        this.markerHit = true;
        this.fake += 8;
      }
      this.buf = ((this.buf << 8) | byte) >>> 0;
      this.count += 8;
    }
  }

  /** Throws when bits past the end of the scan's data were used. */
  check(where: string): void {
    if (this.count < this.fake) fail(`truncated scan data (${where}): the entropy-coded segment ends before the last block`);
  }

  bits(n: number): number {
    if (n === 0) return 0;
    if (this.count < n) this.fill();
    this.count -= n;
    return (this.buf >>> this.count) & ((1 << n) - 1);
  }

  bit(): number {
    if (this.count < 1) this.fill();
    this.count--;
    return (this.buf >>> this.count) & 1;
  }

  decode(table: Huffman): number {
    if (this.count < 16) this.fill();
    const look = (this.buf >>> (this.count - FAST_BITS)) & ((1 << FAST_BITS) - 1);
    const entry = table.fast[look]!;
    if (entry !== 0) {
      this.count -= entry & 0xff;
      return entry >> 8;
    }
    let l = FAST_BITS + 1;
    let code = (this.buf >>> (this.count - l)) & ((1 << l) - 1);
    while (l <= 16 && code > table.maxCode[l]!) {
      l++;
      code = (this.buf >>> (this.count - l)) & ((1 << l) - 1);
    }
    if (l > 16) fail('invalid Huffman code in the scan data (corrupt file)');
    this.count -= l;
    return table.symbols[table.offset[l]! + code]!;
  }

  /** JPEG's EXTEND: s bits as a signed value. */
  receiveExtend(s: number): number {
    if (s === 0) return 0;
    if (s > 16) fail(`coefficient magnitude category ${s} (at most 16)`);
    const v = this.bits(s);
    return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
  }

  /** Drops the buffered bits and moves to the next marker (skipping stray bytes, as libjpeg does). */
  toMarker(): void {
    this.buf = 0;
    this.count = 0;
    this.fake = 0;
    this.markerHit = false;
    const d = this.data;
    while (this.pos < d.length && !(d[this.pos] === 0xff && this.pos + 1 < d.length && d[this.pos + 1] !== 0 && d[this.pos + 1] !== 0xff)) this.pos++;
  }
}

interface ScanSpec {
  components: Component[];
  ss: number;
  se: number;
  ah: number;
  al: number;
}

function decodeScan(
  data: Uint8Array, start: number, frame: Frame, scan: ScanSpec, dc: (Huffman | null)[], ac: (Huffman | null)[], restartInterval: number,
): number {
  const { components, ss, se, ah, al } = scan;
  const reader = new BitReader(data, start);
  let eobrun = 0;
  const progressive = frame.progressive;
  const where = `scan of component(s) ${components.map((c) => c.id).join(', ')}`;

  const tableFor = (tables: (Huffman | null)[], index: number, kind: string): Huffman => {
    const t = tables[index];
    if (!t) fail(`${where} uses ${kind} Huffman table ${index}, which was never defined`);
    return t;
  };
  const dcTables = components.map((c) => (progressive && (ss !== 0 || ah !== 0) ? null : tableFor(dc, c.dcTable, 'DC')));
  const acTables = components.map((c) => (progressive && ss === 0 ? null : tableFor(ac, c.acTable, 'AC')));

  const decodeBaseline = (c: Component, ci: number, at: number): void => {
    const coefficients = c.coefficients;
    const t = reader.decode(dcTables[ci]!);
    c.pred += reader.receiveExtend(t);
    coefficients[at] = c.pred;
    const acTable = acTables[ci]!;
    for (let k = 1; k < 64; ) {
      const rs = reader.decode(acTable);
      const s = rs & 15;
      const r = rs >> 4;
      if (s === 0) {
        if (r < 15) break;
        k += 16;
        continue;
      }
      k += r;
      if (k > 63) fail(`${where}: a run of zeros past the end of a block (corrupt data)`);
      coefficients[at + ZIGZAG[k]!] = reader.receiveExtend(s);
      k++;
    }
  };
  const decodeDcFirst = (c: Component, ci: number, at: number): void => {
    const t = reader.decode(dcTables[ci]!);
    c.pred += reader.receiveExtend(t);
    c.coefficients[at] = c.pred * (1 << al);
  };
  const decodeDcRefine = (c: Component, _ci: number, at: number): void => {
    if (reader.bit()) c.coefficients[at] |= 1 << al;
  };
  const decodeAcFirst = (c: Component, ci: number, at: number): void => {
    if (eobrun > 0) {
      eobrun--;
      return;
    }
    const table = acTables[ci]!;
    const coefficients = c.coefficients;
    for (let k = ss; k <= se; ) {
      const rs = reader.decode(table);
      const s = rs & 15;
      const r = rs >> 4;
      if (s === 0) {
        if (r < 15) {
          eobrun = (1 << r) - 1;
          if (r > 0) eobrun += reader.bits(r);
          break;
        }
        k += 16;
        continue;
      }
      k += r;
      if (k > se) fail(`${where}: a run of zeros past the end of the band (corrupt data)`);
      coefficients[at + ZIGZAG[k]!] = reader.receiveExtend(s) * (1 << al);
      k++;
    }
  };
  const decodeAcRefine = (c: Component, ci: number, at: number): void => {
    const table = acTables[ci]!;
    const coefficients = c.coefficients;
    const p1 = 1 << al;
    const m1 = -1 << al;
    let k = ss;
    if (eobrun === 0) {
      for (; k <= se; k++) {
        const rs = reader.decode(table);
        let s = rs & 15;
        let r = rs >> 4;
        if (s !== 0) {
          if (s !== 1) fail(`${where}: a refinement coefficient of magnitude category ${s} (must be 1)`);
          s = reader.bit() ? p1 : m1;
        } else if (r !== 15) {
          eobrun = 1 << r;
          if (r > 0) eobrun += reader.bits(r);
          break;
        }
        // Skip r zero coefficients (correcting the non-zero ones passed), then place the new one.
        do {
          const p = at + ZIGZAG[k]!;
          const v = coefficients[p]!;
          if (v !== 0) {
            if (reader.bit() && (v & p1) === 0) coefficients[p] = v >= 0 ? v + p1 : v + m1;
          } else {
            if (--r < 0) break;
          }
          k++;
        } while (k <= se);
        if (s !== 0) {
          if (k > se) fail(`${where}: a refinement places a coefficient past the end of the band (corrupt data)`);
          coefficients[at + ZIGZAG[k]!] = s;
        }
      }
    }
    if (eobrun > 0) {
      for (; k <= se; k++) {
        const p = at + ZIGZAG[k]!;
        const v = coefficients[p]!;
        if (v !== 0 && reader.bit() && (v & p1) === 0) coefficients[p] = v >= 0 ? v + p1 : v + m1;
      }
      eobrun--;
    }
  };

  const decodeBlock = !progressive
    ? decodeBaseline
    : ss === 0
      ? ah === 0 ? decodeDcFirst : decodeDcRefine
      : ah === 0 ? decodeAcFirst : decodeAcRefine;

  let mcuCount: number;
  let blockAt: (mcu: number, c: Component, ci: number, b: number) => number;
  if (components.length === 1) {
    // Non-interleaved: one block per MCU, over the blocks the component really has.
    const c = components[0]!;
    mcuCount = c.blocksPerLine * c.blocksPerColumn;
    blockAt = (mcu) => ((Math.floor(mcu / c.blocksPerLine) * c.paddedBlocksPerLine) + (mcu % c.blocksPerLine)) * 64;
  } else {
    mcuCount = frame.mcusPerLine * frame.mcusPerColumn;
    blockAt = (mcu, c, _ci, b) => {
      const row = Math.floor(mcu / frame.mcusPerLine) * c.v + Math.floor(b / c.h);
      const col = (mcu % frame.mcusPerLine) * c.h + (b % c.h);
      return (row * c.paddedBlocksPerLine + col) * 64;
    };
  }

  for (const c of components) {
    c.pred = 0;
    if (ss === 0) c.hasData = true;
  }
  let expectedRst = 0;
  for (let mcu = 0; mcu < mcuCount; mcu++) {
    if (restartInterval > 0 && mcu > 0 && mcu % restartInterval === 0) {
      reader.toMarker();
      const p = reader.pos;
      if (p + 1 >= data.length) fail(`truncated scan data (${where}): the file ends before restart marker ${expectedRst}`);
      const marker = data[p + 1]!;
      if (marker !== 0xd0 + expectedRst) {
        fail(`${where}: expected restart marker RST${expectedRst} after MCU ${mcu}, found marker 0x${marker.toString(16)}`);
      }
      reader.pos = p + 2;
      expectedRst = (expectedRst + 1) & 7;
      for (const c of components) c.pred = 0;
      eobrun = 0;
    }
    for (let ci = 0; ci < components.length; ci++) {
      const c = components[ci]!;
      const blocks = components.length === 1 ? 1 : c.h * c.v;
      for (let b = 0; b < blocks; b++) decodeBlock(c, ci, blockAt(mcu, c, ci, b));
    }
    reader.check(where);
  }
  reader.toMarker();
  return reader.pos;
}

// ---------------------------------------------------------------------------------------------
// Inverse DCT: libjpeg's jpeg_idct_islow, integer for integer

const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/**
 * libjpeg's post-IDCT range-limit table, indexed by (value & 1023) where value already has the
 * centring (+128) pending: clamps −512..511 to 0..255 (values further out wrap, as in libjpeg).
 */
const RANGE_LIMIT = (() => {
  const t = new Uint8Array(1024);
  for (let x = 0; x < 1024; x++) {
    if (x < 128) t[x] = x + 128;
    else if (x < 512) t[x] = 255;
    else if (x < 896) t[x] = 0;
    else t[x] = x - 896;
  }
  return t;
})();

/** libjpeg's DESCALE: x / 2^n rounded (half up), on its 64-bit integers; a shift when x fits in 32 bits. */
function descale(x: number, n: number): number {
  const v = x + (1 << (n - 1));
  return (v | 0) === v ? v >> n : Math.floor(v / 2 ** n);
}

/** One 8×8 block: coefficients (natural order) × quantisation table → 8-bit samples at out[o + y·stride + x]. */
function idctBlock(coefficients: Int16Array, at: number, quant: Uint16Array, workspace: Int32Array, out: Uint8Array, o: number, stride: number): void {
  // Pass 1: columns.
  for (let col = 0; col < 8; col++) {
    const c = at + col;
    if (
      coefficients[c + 8] === 0 && coefficients[c + 16] === 0 && coefficients[c + 24] === 0 && coefficients[c + 32] === 0 &&
      coefficients[c + 40] === 0 && coefficients[c + 48] === 0 && coefficients[c + 56] === 0
    ) {
      const dc = (coefficients[c]! * quant[col]!) * (1 << PASS1_BITS);
      for (let r = 0; r < 8; r++) workspace[r * 8 + col] = dc;
      continue;
    }
    let z2 = coefficients[c + 16]! * quant[col + 16]!;
    let z3 = coefficients[c + 48]! * quant[col + 48]!;
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    z2 = coefficients[c]! * quant[col]!;
    z3 = coefficients[c + 32]! * quant[col + 32]!;
    let tmp0 = (z2 + z3) * (1 << CONST_BITS);
    let tmp1 = (z2 - z3) * (1 << CONST_BITS);
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = coefficients[c + 56]! * quant[col + 56]!;
    tmp1 = coefficients[c + 40]! * quant[col + 40]!;
    tmp2 = coefficients[c + 24]! * quant[col + 24]!;
    tmp3 = coefficients[c + 8]! * quant[col + 8]!;
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336;
    tmp1 *= FIX_2_053119869;
    tmp2 *= FIX_3_072711026;
    tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223;
    z2 *= -FIX_2_562915447;
    z3 = z3 * -FIX_1_961570560 + z5;
    z4 = z4 * -FIX_0_390180644 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    const n = CONST_BITS - PASS1_BITS;
    // The workspace is C `int`: | 0 wraps as the C cast does (only hostile coefficients get there).
    workspace[col] = descale(tmp10 + tmp3, n) | 0;
    workspace[56 + col] = descale(tmp10 - tmp3, n) | 0;
    workspace[8 + col] = descale(tmp11 + tmp2, n) | 0;
    workspace[48 + col] = descale(tmp11 - tmp2, n) | 0;
    workspace[16 + col] = descale(tmp12 + tmp1, n) | 0;
    workspace[40 + col] = descale(tmp12 - tmp1, n) | 0;
    workspace[24 + col] = descale(tmp13 + tmp0, n) | 0;
    workspace[32 + col] = descale(tmp13 - tmp0, n) | 0;
  }
  // Pass 2: rows.
  const n = CONST_BITS + PASS1_BITS + 3;
  for (let row = 0; row < 8; row++) {
    const w = row * 8;
    const p = o + row * stride;
    let z2 = workspace[w + 2]!;
    let z3 = workspace[w + 6]!;
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    let tmp0 = (workspace[w]! + workspace[w + 4]!) * (1 << CONST_BITS);
    let tmp1 = (workspace[w]! - workspace[w + 4]!) * (1 << CONST_BITS);
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = workspace[w + 7]!;
    tmp1 = workspace[w + 5]!;
    tmp2 = workspace[w + 3]!;
    tmp3 = workspace[w + 1]!;
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336;
    tmp1 *= FIX_2_053119869;
    tmp2 *= FIX_3_072711026;
    tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223;
    z2 *= -FIX_2_562915447;
    z3 = z3 * -FIX_1_961570560 + z5;
    z4 = z4 * -FIX_0_390180644 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    out[p] = RANGE_LIMIT[descale(tmp10 + tmp3, n) & 1023]!;
    out[p + 7] = RANGE_LIMIT[descale(tmp10 - tmp3, n) & 1023]!;
    out[p + 1] = RANGE_LIMIT[descale(tmp11 + tmp2, n) & 1023]!;
    out[p + 6] = RANGE_LIMIT[descale(tmp11 - tmp2, n) & 1023]!;
    out[p + 2] = RANGE_LIMIT[descale(tmp12 + tmp1, n) & 1023]!;
    out[p + 5] = RANGE_LIMIT[descale(tmp12 - tmp1, n) & 1023]!;
    out[p + 3] = RANGE_LIMIT[descale(tmp13 + tmp0, n) & 1023]!;
    out[p + 4] = RANGE_LIMIT[descale(tmp13 - tmp0, n) & 1023]!;
  }
}

// ---------------------------------------------------------------------------------------------
// Upsampling (jdsample.c) and colour conversion (jdcolor.c)

/**
 * A component's samples at full resolution (frame width × height), from its plane of `planeWidth`
 * columns, of which width × height are real (libjpeg's downsampled_width/height).
 */
function upsample(plane: Uint8Array, planeWidth: number, c: Component, frame: Frame): Uint8Array {
  const hr = frame.hMax / c.h;
  const vr = frame.vMax / c.v;
  const W = frame.width;
  const H = frame.height;
  const w = c.width;
  const h = c.height;
  const out = new Uint8Array(W * H);
  if (hr === 1 && vr === 1) {
    for (let y = 0; y < H; y++) out.set(plane.subarray(y * planeWidth, y * planeWidth + W), y * W);
    return out;
  }
  // Fancy (triangle) upsampling for 2×1 (when wider than 2), 1×2 and 2×2 (when wider than 2), as libjpeg-turbo.
  const row = (y: number): number => Math.min(Math.max(y, 0), h - 1) * planeWidth;
  if (hr === 2 && vr === 1 && w > 2) {
    const line = new Uint8Array(2 * w);
    for (let y = 0; y < H; y++) {
      h2v1Fancy(plane, row(y), w, line);
      out.set(line.subarray(0, W), y * W);
    }
    return out;
  }
  if (hr === 1 && vr === 2) {
    for (let y = 0; y < H; y++) {
      const sy = y >> 1;
      const near = row(sy);
      const far = row(y & 1 ? sy + 1 : sy - 1);
      const bias = y & 1 ? 2 : 1;
      for (let x = 0; x < W; x++) out[y * W + x] = (plane[near + x]! * 3 + plane[far + x]! + bias) >> 2;
    }
    return out;
  }
  if (hr === 2 && vr === 2 && w > 2) {
    const sums = new Int32Array(w);
    const line = new Uint8Array(2 * w);
    for (let y = 0; y < H; y++) {
      const sy = y >> 1;
      const near = row(sy);
      const far = row(y & 1 ? sy + 1 : sy - 1);
      for (let x = 0; x < w; x++) sums[x] = plane[near + x]! * 3 + plane[far + x]!;
      h2v2Fancy(sums, w, line);
      out.set(line.subarray(0, W), y * W);
    }
    return out;
  }
  // Replication (libjpeg's int_upsample, and h2v1/h2v2 for narrow images).
  for (let y = 0; y < H; y++) {
    const src = Math.floor(y / vr) * planeWidth;
    for (let x = 0; x < W; x++) out[y * W + x] = plane[src + Math.floor(x / hr)]!;
  }
  return out;
}

function h2v1Fancy(plane: Uint8Array, at: number, w: number, line: Uint8Array): void {
  let v = plane[at]!;
  line[0] = v;
  line[1] = (v * 3 + plane[at + 1]! + 2) >> 2;
  for (let x = 1; x < w - 1; x++) {
    v = plane[at + x]! * 3;
    line[2 * x] = (v + plane[at + x - 1]! + 1) >> 2;
    line[2 * x + 1] = (v + plane[at + x + 1]! + 2) >> 2;
  }
  v = plane[at + w - 1]!;
  line[2 * w - 2] = (v * 3 + plane[at + w - 2]! + 1) >> 2;
  line[2 * w - 1] = v;
}

function h2v2Fancy(sums: Int32Array, w: number, line: Uint8Array): void {
  let this_ = sums[0]!;
  let next = sums[1]!;
  line[0] = (this_ * 4 + 8) >> 4;
  line[1] = (this_ * 3 + next + 7) >> 4;
  let last = this_;
  this_ = next;
  for (let x = 1; x < w - 1; x++) {
    next = sums[x + 1]!;
    line[2 * x] = (this_ * 3 + last + 8) >> 4;
    line[2 * x + 1] = (this_ * 3 + next + 7) >> 4;
    last = this_;
    this_ = next;
  }
  line[2 * w - 2] = (this_ * 3 + last + 8) >> 4;
  line[2 * w - 1] = (this_ * 4 + 7) >> 4;
}

/** libjpeg's YCbCr → RGB tables (16-bit fixed point). */
const YCC = (() => {
  const SCALE = 65536;
  const HALF = 32768;
  const fix = (x: number): number => Math.floor(x * SCALE + 0.5);
  const crR = new Int32Array(256);
  const cbB = new Int32Array(256);
  const crG = new Int32Array(256);
  const cbG = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const x = i - 128;
    crR[i] = Math.floor((fix(1.402) * x + HALF) / SCALE);
    cbB[i] = Math.floor((fix(1.772) * x + HALF) / SCALE);
    crG[i] = -fix(0.71414) * x;
    cbG[i] = -fix(0.34414) * x + HALF;
  }
  return { crR, cbB, crG, cbG };
})();

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Four components, as Pillow gives them to torchvision: libjpeg's output (YCCK converted to CMYK
 * by its ycck_cmyk_convert; an Adobe transform of 2, or another non-zero value, means YCCK, no
 * Adobe marker or transform 0 means CMYK), inverted (Pillow's "CMYK;I": Adobe files store inverted
 * CMYK, and Pillow assumes every CMYK JPEG does), then Pillow's convert('RGB'):
 * R = clip(nk − nk·C/255) with nk = 255 − K, in its integer MULDIV255 arithmetic.
 */
function cmykToRgb(planes: [Uint8Array, Uint8Array, Uint8Array, Uint8Array], width: number, height: number, adobeTransform: number): DecodedImage {
  const [p0, p1, p2, p3] = planes;
  const ycck = adobeTransform > 0;
  const { crR, cbB, crG, cbG } = YCC;
  const out = new Uint8Array(width * height * 3);
  const muldiv255 = (a: number, b: number): number => {
    const t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  for (let i = 0, o = 0; i < width * height; i++, o += 3) {
    let c0 = p0[i]!;
    let c1 = p1[i]!;
    let c2 = p2[i]!;
    if (ycck) {
      const y = c0;
      const cb = c1;
      const cr = c2;
      c0 = clamp8(255 - (y + crR[cr]!));
      c1 = clamp8(255 - (y + ((cbG[cb]! + crG[cr]!) >> 16)));
      c2 = clamp8(255 - (y + cbB[cb]!));
    }
    // Pillow's inversion, then its cmyk2rgb.
    const k = 255 - p3[i]!;
    const nk = 255 - k;
    out[o] = clamp8(nk - muldiv255(255 - c0, nk));
    out[o + 1] = clamp8(nk - muldiv255(255 - c1, nk));
    out[o + 2] = clamp8(nk - muldiv255(255 - c2, nk));
  }
  return { data: out, width, height, channels: 3 };
}

// ---------------------------------------------------------------------------------------------
// The file

/** True when `bytes` starts with a JPEG SOI marker. */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * Decodes a JPEG file to 8-bit gray (1 channel) or RGB (3 channels: colour and CMYK files), as
 * libjpeg with its default settings and Pillow's convert('RGB') do. Throws ImageDecodeError for malformed, truncated or unsupported files.
 */
export function decodeJpeg(bytes: Uint8Array, limits: ImageLimits = {}): DecodedImage {
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!isJpeg(bytes)) {
    const hint = wrongFormatHint(bytes, 'jpeg');
    fail(hint !== null ? `not a JPEG file: ${hint}` : 'not a JPEG file (no SOI marker FF D8 FF at the start)');
  }
  const quant: (Uint16Array | null)[] = [null, null, null, null];
  const dc: (Huffman | null)[] = [null, null, null, null];
  const ac: (Huffman | null)[] = [null, null, null, null];
  let frame: Frame | null = null;
  let restartInterval = 0;
  let adobeTransform = -1;
  let sawJfif = false;
  let scans = 0;
  let pos = 2;
  const length16 = (at: number): number => (bytes[at]! << 8) | bytes[at + 1]!;

  for (;;) {
    // Find the next marker (fill bytes 0xFF may precede it).
    // A sequential file that ends after complete scans without EOI decodes, as in Pillow; a
    // progressive one may be missing its later scans, which Pillow reports as truncation too.
    if (pos >= bytes.length && scans > 0 && !frame!.progressive) break;
    if (pos >= bytes.length) fail(`truncated file: no EOI marker (${bytes.length} bytes${frame === null ? ', no frame header' : ''})`);
    // Stray bytes before a marker are skipped, as libjpeg does (with a warning).
    while (pos < bytes.length && bytes[pos] !== 0xff) pos++;
    while (pos < bytes.length && bytes[pos] === 0xff) pos++;
    if (pos >= bytes.length && scans > 0 && !frame!.progressive) break;
    if (pos >= bytes.length) fail(`truncated file: no EOI marker (${bytes.length} bytes)`);
    const marker = bytes[pos++]!;
    if (marker === 0xd9) break; // EOI
    if (marker === 0xd8) fail(`a second SOI marker at byte ${pos - 2}`);
    if (marker >= 0xd0 && marker <= 0xd7) continue; // a stray RST outside a scan: ignored, as libjpeg does
    if (marker === 0x01) continue; // TEM
    if (pos + 2 > bytes.length) fail(`truncated file: marker 0x${marker.toString(16)} at byte ${pos - 2} has no length`);
    const length = length16(pos);
    if (length < 2) fail(`marker 0x${marker.toString(16)} at byte ${pos - 2} has length ${length} (at least 2)`);
    const end = pos + length;
    if (end > bytes.length) fail(`truncated file: marker 0x${marker.toString(16)} at byte ${pos - 2} declares ${length} bytes, ${bytes.length - pos} remain`);
    const body = pos + 2;
    switch (marker) {
      case 0xdb: {
        // DQT: one or more tables.
        let p = body;
        while (p < end) {
          const pq = bytes[p]! >> 4;
          const tq = bytes[p]! & 15;
          if (pq > 1 || tq > 3) fail(`DQT: precision ${pq} / table ${tq} (0 or 1 / 0 to 3)`);
          const size = pq === 0 ? 64 : 128;
          if (p + 1 + size > end) fail(`DQT: table ${tq} is cut short`);
          const table = new Uint16Array(64);
          for (let k = 0; k < 64; k++) table[ZIGZAG[k]!] = pq === 0 ? bytes[p + 1 + k]! : length16(p + 1 + 2 * k);
          quant[tq] = table;
          p += 1 + size;
        }
        break;
      }
      case 0xc4: {
        // DHT: one or more tables.
        let p = body;
        while (p < end) {
          const tc = bytes[p]! >> 4;
          const th = bytes[p]! & 15;
          if (tc > 1 || th > 3) fail(`DHT: class ${tc} / table ${th} (0 or 1 / 0 to 3)`);
          if (p + 17 > end) fail(`DHT: table ${th} is cut short`);
          const counts = bytes.subarray(p + 1, p + 17);
          let total = 0;
          for (let i = 0; i < 16; i++) total += counts[i]!;
          if (total > 256 || p + 17 + total > end) fail(`DHT: table ${th} declares ${total} symbols${total > 256 ? ' (at most 256)' : ', more than the segment holds'}`);
          const table = buildHuffman(counts, bytes.slice(p + 17, p + 17 + total), `DHT ${tc === 0 ? 'DC' : 'AC'} table ${th}`);
          (tc === 0 ? dc : ac)[th] = table;
          p += 17 + total;
        }
        break;
      }
      case 0xc0:
      case 0xc1:
      case 0xc2: {
        if (frame !== null) fail('a second frame header (SOF)');
        frame = readFrame(bytes, body, end, marker === 0xc2, maxPixels);
        break;
      }
      case 0xdd:
        if (length !== 4) fail(`DRI must have length 4, has ${length}`);
        restartInterval = length16(body);
        break;
      case 0xda: {
        if (frame === null) fail('a scan (SOS) before the frame header (SOF)');
        if (scans >= MAX_SCANS) fail(`more than ${MAX_SCANS} scans (real files have about 10; refused to bound the decoding time)`);
        const scan = readScan(bytes, body, end, frame);
        for (const c of scan.components) {
          if (quant[c.quantTable] === null) fail(`component ${c.id} uses quantisation table ${c.quantTable}, which was never defined`);
          if (c.quant === null) c.quant = quant[c.quantTable]!;
        }
        pos = decodeScan(bytes, end, frame, scan, dc, ac, restartInterval);
        scans++;
        continue;
      }
      case 0xe0:
        if (length >= 7 && bytes[body] === 0x4a && bytes[body + 1] === 0x46 && bytes[body + 2] === 0x49 && bytes[body + 3] === 0x46 && bytes[body + 4] === 0) sawJfif = true;
        break;
      case 0xee:
        // Adobe: "Adobe", version, flags0, flags1, transform.
        if (length >= 14 && bytes[body] === 0x41 && bytes[body + 1] === 0x64 && bytes[body + 2] === 0x6f && bytes[body + 3] === 0x62 && bytes[body + 4] === 0x65) {
          adobeTransform = bytes[body + 11]!;
        }
        break;
      case 0xdc:
        fail('a DNL marker (the image height is defined after the first scan), which is not supported');
      default:
        if (SOF_NAMES[marker] !== undefined) fail(`${SOF_NAMES[marker]} JPEG is not supported (only baseline, extended sequential and progressive Huffman JPEG)`);
        // APPn, COM and others: skipped.
        break;
    }
    pos = end;
  }
  if (frame === null) fail('no frame header (SOF) before EOI');
  if (scans === 0) fail('no scan (SOS) before EOI');
  for (const c of frame.components) if (!c.hasData) fail(`component ${c.id} has no DC data in any scan`);
  return toImage(frame, adobeTransform, sawJfif);
}

function readFrame(bytes: Uint8Array, body: number, end: number, progressive: boolean, maxPixels: number): Frame {
  if (end - body < 6) fail('SOF is cut short');
  const precision = bytes[body]!;
  const height = (bytes[body + 1]! << 8) | bytes[body + 2]!;
  const width = (bytes[body + 3]! << 8) | bytes[body + 4]!;
  const n = bytes[body + 5]!;
  if (precision !== 8) fail(`${precision}-bit samples are not supported (only 8-bit)`);
  if (height === 0) fail('the frame height is 0 (defined later by a DNL marker), which is not supported');
  if (width === 0) fail('the frame width is 0');
  if (width * height > maxPixels) fail(`the image is ${width}×${height} = ${width * height} pixels, over the limit of ${maxPixels} (option maxPixels)`);
  if (n !== 1 && n !== 3 && n !== 4) fail(`${n} components (1 gray, 3 colour or 4 CMYK/YCCK are supported)`);
  if (end - body !== 6 + 3 * n) fail(`SOF length ${end - body + 2} does not match ${n} components`);
  const components: Component[] = [];
  for (let i = 0; i < n; i++) {
    const p = body + 6 + 3 * i;
    const h = bytes[p + 1]! >> 4;
    const v = bytes[p + 1]! & 15;
    const tq = bytes[p + 2]!;
    if (h < 1 || h > 4 || v < 1 || v > 4) fail(`component ${bytes[p]} has sampling factors ${h}×${v} (1 to 4 each)`);
    if (tq > 3) fail(`component ${bytes[p]} uses quantisation table ${tq} (0 to 3)`);
    if (components.some((c) => c.id === bytes[p])) fail(`two components have the id ${bytes[p]}`);
    components.push({
      id: bytes[p]!, h, v, quantTable: tq, quant: null, blocksPerLine: 0, blocksPerColumn: 0, paddedBlocksPerLine: 0, paddedBlocksPerColumn: 0,
      width: 0, height: 0, coefficients: new Int16Array(0), dcTable: 0, acTable: 0, pred: 0, hasData: false,
    });
  }
  const hMax = Math.max(...components.map((c) => c.h));
  const vMax = Math.max(...components.map((c) => c.v));
  for (const c of components) {
    if (hMax % c.h !== 0 || vMax % c.v !== 0) {
      fail(`component ${c.id} has sampling factors ${c.h}×${c.v} against ${hMax}×${vMax}: fractional sampling is not supported (libjpeg refuses it too)`);
    }
  }
  const mcusPerLine = Math.ceil(width / (8 * hMax));
  const mcusPerColumn = Math.ceil(height / (8 * vMax));
  let total = 0;
  for (const c of components) {
    c.width = Math.ceil((width * c.h) / hMax);
    c.height = Math.ceil((height * c.v) / vMax);
    c.blocksPerLine = Math.ceil(c.width / 8);
    c.blocksPerColumn = Math.ceil(c.height / 8);
    c.paddedBlocksPerLine = mcusPerLine * c.h;
    c.paddedBlocksPerColumn = mcusPerColumn * c.v;
    total += c.paddedBlocksPerLine * c.paddedBlocksPerColumn;
  }
  // Every block costs at least one bit of DC code in some scan: a file cannot describe more blocks
  // than it has bits, so a small file declaring a huge image is refused before the allocation.
  if (total > bytes.length * 8) fail(`the ${width}×${height} frame has ${total} blocks, more than ${bytes.length} bytes of data can encode (truncated or corrupt file)`);
  if (total * 64 > MAX_ELEMENTS) fail(`the ${width}×${height} frame is too large to decode (${total * 64} coefficients, over 2^28)`);
  for (const c of components) c.coefficients = new Int16Array(c.paddedBlocksPerLine * c.paddedBlocksPerColumn * 64);
  return { progressive, width, height, components, hMax, vMax, mcusPerLine, mcusPerColumn };
}

function readScan(bytes: Uint8Array, body: number, end: number, frame: Frame): ScanSpec {
  const n = bytes[body]!;
  if (n < 1 || n > 4 || end - body !== 1 + 2 * n + 3) fail(`SOS: ${n} components in a ${end - body + 2}-byte header`);
  const components: Component[] = [];
  for (let i = 0; i < n; i++) {
    const id = bytes[body + 1 + 2 * i]!;
    const c = frame.components.find((x) => x.id === id);
    if (c === undefined) fail(`SOS names component ${id}, which the frame does not have`);
    if (components.includes(c)) fail(`SOS names component ${id} twice`);
    c.dcTable = bytes[body + 2 + 2 * i]! >> 4;
    c.acTable = bytes[body + 2 + 2 * i]! & 15;
    if (c.dcTable > 3 || c.acTable > 3) fail(`SOS: component ${id} uses Huffman tables ${c.dcTable}/${c.acTable} (0 to 3)`);
    components.push(c);
  }
  const p = body + 1 + 2 * n;
  const ss = bytes[p]!;
  const se = bytes[p + 1]!;
  const ah = bytes[p + 2]! >> 4;
  const al = bytes[p + 2]! & 15;
  if (frame.progressive) {
    if (ss > 63 || se > 63 || se < ss || (ss === 0 && se !== 0) || (ss > 0 && n !== 1) || ah > 13 || al > 13) {
      fail(`invalid progressive scan parameters Ss=${ss} Se=${se} Ah=${ah} Al=${al} over ${n} component(s)`);
    }
    if (ss > 0 && !components[0]!.hasData) fail(`an AC scan of component ${components[0]!.id} before its DC scan`);
  } else if (ss !== 0 || se !== 63 || ah !== 0 || al !== 0) {
    fail(`a sequential scan must have Ss=0 Se=63 Ah=Al=0, has Ss=${ss} Se=${se} Ah=${ah} Al=${al}`);
  }
  if (n > 1) {
    let blocks = 0;
    for (const c of components) blocks += c.h * c.v;
    if (blocks > 10) fail(`an interleaved scan with ${blocks} blocks per MCU (at most 10)`);
  }
  return { components, ss, se, ah, al };
}

function toImage(frame: Frame, adobeTransform: number, sawJfif: boolean): DecodedImage {
  const { width, height, components } = frame;
  const workspace = new Int32Array(64);
  const planes = components.map((c) => {
    const planeWidth = c.paddedBlocksPerLine * 8;
    const plane = new Uint8Array(planeWidth * c.paddedBlocksPerColumn * 8);
    const q = c.quant!;
    for (let by = 0; by < c.blocksPerColumn; by++) {
      for (let bx = 0; bx < c.blocksPerLine; bx++) {
        idctBlock(c.coefficients, (by * c.paddedBlocksPerLine + bx) * 64, q, workspace, plane, by * 8 * planeWidth + bx * 8, planeWidth);
      }
    }
    return upsample(plane, planeWidth, c, frame);
  });
  if (components.length === 1) return { data: planes[0]!, width, height, channels: 1 };
  if (components.length === 4) return cmykToRgb(planes as [Uint8Array, Uint8Array, Uint8Array, Uint8Array], width, height, adobeTransform);
  // libjpeg's colour-space guess: JFIF means YCbCr; Adobe transform 0 means RGB; else component ids 'R','G','B' mean RGB.
  const ids = components.map((c) => c.id);
  const rgb = !sawJfif && (adobeTransform === 0 || (adobeTransform < 0 && ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42));
  const out = new Uint8Array(width * height * 3);
  const [p0, p1, p2] = planes as [Uint8Array, Uint8Array, Uint8Array];
  if (rgb) {
    for (let i = 0, o = 0; i < width * height; i++, o += 3) {
      out[o] = p0[i]!;
      out[o + 1] = p1[i]!;
      out[o + 2] = p2[i]!;
    }
  } else {
    const { crR, cbB, crG, cbG } = YCC;
    for (let i = 0, o = 0; i < width * height; i++, o += 3) {
      const y = p0[i]!;
      const cb = p1[i]!;
      const cr = p2[i]!;
      out[o] = clamp8(y + crR[cr]!);
      out[o + 1] = clamp8(y + ((cbG[cb]! + crG[cr]!) >> 16));
      out[o + 2] = clamp8(y + cbB[cb]!);
    }
  }
  return { data: out, width, height, channels: 3 };
}
