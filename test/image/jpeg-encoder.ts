/**
 * A baseline JPEG writer for tests, independent of the decoder: float DCT, a flat quantisation
 * table, fixed-length Huffman codes (every AC symbol 8 bits, every DC category 4 bits: a valid
 * canonical code, easy to get right), any sampling factors, and restart markers every
 * `restartInterval` MCUs. Pillow cannot write restart markers; this can.
 */

export interface JpegSpec {
  width: number;
  height: number;
  /**
   * 1 (gray), 3 (RGB, converted to YCbCr) or 4 (libjpeg's CMYK samples, stored as CMYK or, with
   * `ycck`, as YCCK: the YCbCr of (255 − C, 255 − M, 255 − Y), and K) samples per pixel, row-major.
   */
  channels: 1 | 3 | 4;
  ycck?: boolean;
  pixels: Uint8Array;
  /** [h, v] per component; default 1×1 for each. */
  sampling?: [number, number][];
  quant?: number;
  restartInterval?: number;
  /**
   * Write a progressive file (SOF2): DC in two passes (first with Al = 1, then the refinement
   * bit), AC per component in two spectral bands (1–5, then 6–63 with Al = 1 followed by its
   * refinement scan), with end-of-band runs and correction bits, as libjpeg's jcphuff.c writes them.
   */
  progressive?: boolean;
  /**
   * Store colour as RGB instead of YCbCr, signalled as libjpeg expects: 'ids' by component ids
   * 'R', 'G', 'B' (and no JFIF marker), 'adobe' by an Adobe APP14 marker with transform 0.
   */
  rgb?: 'ids' | 'adobe';
}

class BitWriter {
  bytes: number[] = [];
  private acc = 0;
  private n = 0;
  put(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.n === 8) this.emit();
    }
  }
  private emit(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0);
    this.acc = 0;
    this.n = 0;
  }
  /** Pads the last byte with 1 bits. */
  flush(): void {
    while (this.n !== 0) this.put(1, 1);
  }
}

function category(v: number): number {
  let a = Math.abs(v);
  let s = 0;
  while (a > 0) {
    s++;
    a >>= 1;
  }
  return s;
}

/**
 * The AC symbols (run << 4 | size): EOB, ZRL, every run 0..15 with size 1..10, and the progressive
 * end-of-band runs EOB1..EOB14 (r << 4), in a fixed order.
 */
const AC_SYMBOLS = [0x00, 0xf0];
for (let r = 1; r <= 14; r++) AC_SYMBOLS.push(r << 4);
for (let r = 0; r < 16; r++) for (let s = 1; s <= 10; s++) AC_SYMBOLS.push((r << 4) | s);
const AC_CODE = new Map(AC_SYMBOLS.map((sym, i) => [sym, i]));

const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
  54, 47, 55, 62, 63,
];

function fdct(block: number[]): number[] {
  const out = new Array<number>(64).fill(0);
  for (let u = 0; u < 8; u++) {
    for (let v = 0; v < 8; v++) {
      let sum = 0;
      for (let x = 0; x < 8; x++) {
        for (let y = 0; y < 8; y++) sum += block[y * 8 + x]! * Math.cos(((2 * x + 1) * u * Math.PI) / 16) * Math.cos(((2 * y + 1) * v * Math.PI) / 16);
      }
      const cu = u === 0 ? Math.SQRT1_2 : 1;
      const cv = v === 0 ? Math.SQRT1_2 : 1;
      out[v * 8 + u] = 0.25 * cu * cv * sum;
    }
  }
  return out;
}

function segment(marker: number, body: number[]): number[] {
  return [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body];
}

export function encodeJpeg(spec: JpegSpec): Uint8Array {
  const { width, height, channels, pixels } = spec;
  const q = spec.quant ?? 4;
  const sampling = spec.sampling ?? Array.from({ length: channels }, () => [1, 1] as [number, number]);
  const hMax = Math.max(...sampling.map((s) => s[0]));
  const vMax = Math.max(...sampling.map((s) => s[1]));
  // Full-resolution planes (YCbCr for colour).
  const planes: Float64Array[] = Array.from({ length: channels }, () => new Float64Array(width * height));
  for (let i = 0; i < width * height; i++) {
    if (channels === 1) {
      planes[0]![i] = pixels[i]!;
    } else if (channels === 4) {
      const [c, m, y, k] = [0, 1, 2, 3].map((j) => pixels[i * 4 + j]!) as [number, number, number, number];
      if (spec.ycck) {
        const [r, g, b] = [255 - c, 255 - m, 255 - y];
        planes[0]![i] = 0.299 * r + 0.587 * g + 0.114 * b;
        planes[1]![i] = -0.168736 * r - 0.331264 * g + 0.5 * b + 128;
        planes[2]![i] = 0.5 * r - 0.418688 * g - 0.081312 * b + 128;
      } else {
        planes[0]![i] = c;
        planes[1]![i] = m;
        planes[2]![i] = y;
      }
      planes[3]![i] = k;
    } else if (spec.rgb) {
      for (let c = 0; c < 3; c++) planes[c]![i] = pixels[i * 3 + c]!;
    } else {
      const r = pixels[i * 3]!;
      const g = pixels[i * 3 + 1]!;
      const b = pixels[i * 3 + 2]!;
      planes[0]![i] = 0.299 * r + 0.587 * g + 0.114 * b;
      planes[1]![i] = -0.168736 * r - 0.331264 * g + 0.5 * b + 128;
      planes[2]![i] = 0.5 * r - 0.418688 * g - 0.081312 * b + 128;
    }
  }
  const mcusX = Math.ceil(width / (8 * hMax));
  const mcusY = Math.ceil(height / (8 * vMax));
  // Per component: downsample by averaging, pad to whole MCUs by edge replication.
  const comps = sampling.map(([h, v], c) => {
    const fx = hMax / h;
    const fy = vMax / v;
    const cw = Math.ceil((width * h) / hMax);
    const ch = Math.ceil((height * v) / vMax);
    const pw = mcusX * h * 8;
    const ph = mcusY * v * 8;
    const plane = new Float64Array(pw * ph);
    for (let y = 0; y < ph; y++) {
      for (let x = 0; x < pw; x++) {
        const sx = Math.min(x, cw - 1);
        const sy = Math.min(y, ch - 1);
        let sum = 0;
        let n = 0;
        for (let dy = 0; dy < fy; dy++) {
          for (let dx = 0; dx < fx; dx++) {
            const X = Math.min(sx * fx + dx, width - 1);
            const Y = Math.min(sy * fy + dy, height - 1);
            sum += planes[c]![Y * width + X]!;
            n++;
          }
        }
        plane[y * pw + x] = sum / n;
      }
    }
    // Quantised coefficients of every block of the padded grid (natural order).
    const bw = pw / 8;
    const bh = ph / 8;
    const coefficients: number[][] = [];
    for (let by = 0; by < bh; by++) {
      for (let bx = 0; bx < bw; bx++) {
        const block: number[] = [];
        for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) block.push(plane[(by * 8 + y) * pw + bx * 8 + x]! - 128);
        coefficients.push(fdct(block).map((v) => Math.round(v / q)));
      }
    }
    return { h, v, bw, blocksX: Math.ceil(cw / 8), blocksY: Math.ceil(ch / 8), coefficients, pred: 0 };
  });

  const out: number[] = [0xff, 0xd8];
  if (spec.rgb === 'adobe' || channels === 4) out.push(...segment(0xee, [0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, spec.ycck ? 2 : 0]));
  else if (!spec.rgb) out.push(...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]));
  const ids = spec.rgb === 'ids' ? [0x52, 0x47, 0x42] : [1, 2, 3, 4];
  out.push(...segment(0xdb, [0, ...new Array<number>(64).fill(q)]));
  const sof = [8, height >> 8, height & 255, width >> 8, width & 255, channels];
  for (let c = 0; c < channels; c++) sof.push(ids[c]!, (sampling[c]![0] << 4) | sampling[c]![1], 0);
  out.push(...segment(spec.progressive ? 0xc2 : 0xc0, sof));
  // DC table 0: categories 0..11, 4-bit codes; AC table 0: the symbols above, 8-bit codes.
  const dcCounts = new Array<number>(16).fill(0);
  dcCounts[3] = 12;
  const acCounts = new Array<number>(16).fill(0);
  acCounts[7] = AC_SYMBOLS.length;
  out.push(...segment(0xc4, [0x00, ...dcCounts, ...Array.from({ length: 12 }, (_, i) => i), 0x10, ...acCounts, ...AC_SYMBOLS]));
  if (spec.restartInterval) out.push(...segment(0xdd, [spec.restartInterval >> 8, spec.restartInterval & 255]));

  type Comp = (typeof comps)[number];
  /** One scan: its header, then every MCU (with restart markers), each block written by `code`. */
  const scan = (members: number[], ss: number, se: number, ah: number, al: number, code: (w: BitWriter, c: Comp, block: number[], last: boolean) => void, finish?: (w: BitWriter) => void): void => {
    const sos: number[] = [members.length];
    for (const c of members) sos.push(ids[c]!, 0x00);
    sos.push(ss, se, (ah << 4) | al);
    out.push(...segment(0xda, sos));
    let w = new BitWriter();
    let rst = 0;
    const single = members.length === 1;
    const only = comps[members[0]!]!;
    const total = single ? only.blocksX * only.blocksY : mcusX * mcusY;
    for (let mcu = 0; mcu < total; mcu++) {
      const lastOfInterval = spec.restartInterval ? (mcu + 1) % spec.restartInterval === 0 || mcu === total - 1 : mcu === total - 1;
      if (spec.restartInterval && mcu > 0 && mcu % spec.restartInterval === 0) {
        w.flush();
        out.push(...w.bytes, 0xff, 0xd0 + rst);
        rst = (rst + 1) & 7;
        w = new BitWriter();
        for (const c of comps) c.pred = 0;
      }
      for (const ci of members) {
        const c = comps[ci]!;
        const blocks: [number, number][] = single ? [[mcu % c.blocksX, Math.floor(mcu / c.blocksX)]] : [];
        if (!single) {
          for (let by = 0; by < c.v; by++) for (let bx = 0; bx < c.h; bx++) blocks.push([(mcu % mcusX) * c.h + bx, Math.floor(mcu / mcusX) * c.v + by]);
        }
        for (const [bx, by] of blocks) code(w, c, c.coefficients[by * c.bw + bx]!, lastOfInterval);
      }
      if (lastOfInterval && finish) finish(w);
    }
    w.flush();
    out.push(...w.bytes);
  };
  const putDc = (w: BitWriter, c: Comp, value: number): void => {
    const diff = value - c.pred;
    c.pred = value;
    const s = category(diff);
    w.put(s, 4);
    if (s > 0) w.put(diff > 0 ? diff : diff + (1 << s) - 1, s);
  };
  /** The point transform of progressive scans: the magnitude shifted right by al, the sign kept. */
  const shifted = (v: number, al: number): number => (v < 0 ? -(-v >> al) : v >> al);
  const putAc = (w: BitWriter, block: number[], from: number, to: number, al = 0): number => {
    let run = 0;
    for (let k = from; k <= to; k++) {
      const v = shifted(block[ZIGZAG[k]!]!, al);
      if (v === 0) {
        run++;
        continue;
      }
      while (run > 15) {
        w.put(AC_CODE.get(0xf0)!, 8);
        run -= 16;
      }
      const size = category(v);
      if (size > 10) throw new Error('test encoder: coefficient too large; raise quant');
      w.put(AC_CODE.get((run << 4) | size)!, 8);
      w.put(v > 0 ? v : v + (1 << size) - 1, size);
      run = 0;
    }
    return run;
  };
  const all = comps.map((_, i) => i);
  for (const c of comps) c.pred = 0;
  if (!spec.progressive) {
    scan(all, 0, 63, 0, 0, (w, c, block) => {
      putDc(w, c, block[0]!);
      if (putAc(w, block, 1, 63) > 0) w.put(AC_CODE.get(0x00)!, 8);
    });
  } else {
    scan(all, 0, 0, 0, 1, (w, c, block) => putDc(w, c, block[0]! >> 1));
    for (const ci of all) {
      for (const [ss, se, al] of [[1, 5, 0], [6, 63, 1]] as const) {
        // End-of-band runs: consecutive blocks with an empty band cost one symbol; a run ends
        // before a block with coefficients, at its longest (2^15 - 1), and at each restart.
        let eobrun = 0;
        const flushRun = (w: BitWriter): void => {
          if (eobrun === 0) return;
          const r = 31 - Math.clz32(eobrun);
          w.put(AC_CODE.get(r << 4)!, 8);
          if (r > 0) w.put(eobrun - (1 << r), r);
          eobrun = 0;
        };
        scan([ci], ss, se, 0, al, (w, _c, block) => {
          let empty = true;
          for (let k = ss; k <= se; k++) if (shifted(block[ZIGZAG[k]!]!, al) !== 0) empty = false;
          if (empty) {
            eobrun++;
            if (eobrun === 0x7fff) flushRun(w);
            return;
          }
          flushRun(w);
          if (putAc(w, block, ss, se, al) > 0) {
            eobrun = 1;
          }
        }, flushRun);
      }
      // The refinement of band 6-63 (Ah = 1, Al = 0), as jcphuff.c's encode_mcu_AC_refine.
      {
        const [ss, se] = [6, 63];
        let eobrun = 0;
        let pending: number[] = []; // correction bits that follow the end-of-band run symbol
        const flushRun = (w: BitWriter): void => {
          if (eobrun > 0) {
            const r = 31 - Math.clz32(eobrun);
            w.put(AC_CODE.get(r << 4)!, 8);
            if (r > 0) w.put(eobrun - (1 << r), r);
            eobrun = 0;
          }
          for (const bit of pending) w.put(bit, 1);
          pending = [];
        };
        scan([ci], ss, se, 1, 0, (w, _c, block) => {
          const abs = Array.from({ length: 64 }, (_, k) => (k >= ss && k <= se ? Math.abs(block[ZIGZAG[k]!]!) : 0));
          let eob = 0; // the last position that becomes non-zero in this pass
          for (let k = ss; k <= se; k++) if (abs[k] === 1) eob = k;
          let run = 0;
          let bits: number[] = [];
          for (let k = ss; k <= se; k++) {
            const t = abs[k]!;
            if (t === 0) {
              run++;
              continue;
            }
            while (run > 15 && k <= eob) {
              flushRun(w);
              w.put(AC_CODE.get(0xf0)!, 8);
              run -= 16;
              for (const bit of bits) w.put(bit, 1);
              bits = [];
            }
            if (t > 1) {
              bits.push(t & 1); // already non-zero: its correction bit
              continue;
            }
            flushRun(w);
            w.put(AC_CODE.get((run << 4) | 1)!, 8);
            w.put(block[ZIGZAG[k]!]! < 0 ? 0 : 1, 1);
            for (const bit of bits) w.put(bit, 1);
            bits = [];
            run = 0;
          }
          if (run > 0 || bits.length > 0) {
            eobrun++;
            pending.push(...bits);
            if (eobrun === 0x7fff || pending.length > 900) flushRun(w);
          }
        }, flushRun);
      }
    }
    scan(all, 0, 0, 1, 0, (w, _c, block) => w.put(block[0]! & 1, 1));
  }
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}
