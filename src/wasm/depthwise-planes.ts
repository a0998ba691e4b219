/**
 * What the two depthwise kernel families share (depthwise-3x3.ts, depthwise-general.ts): the
 * driver that walks output planes over zero-bordered copies of the input planes, the packing of a
 * filter per output channel behind its bias, and the emitted loop over an output plane's rows
 * (4-pixel tiles, then the last 1..3 pixels as lane stores of one more full tile).
 */
import type { Conv2dGeometry } from '../geometry.js';
import type { FunctionBuilder } from './emit.js';
import type { WasmRuntime } from './runtime.js';

/**
 * Output planes `[channelStart, channelEnd)` of images `[imageStart, imageEnd)`: input plane
 * c = o / K is copied (`dw3x3_pad`, `rows` × W of it) into the zero-bordered plane at `scratch`
 * (hp × wp floats) once per c, then `plane(o, outputAddress)` computes output plane o from it.
 */
export function forEachDepthwisePlane(
  rt: WasmRuntime, g: Conv2dGeometry, x: number, y: number, scratch: number, wp: number, hp: number, rows: number,
  channelStart: number, channelEnd: number, imageStart: number, imageEnd: number,
  plane: (o: number, output: number) => void,
): void {
  const { inChannels: Cin, outChannels: Cout, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
  if (channelEnd <= channelStart || Ho === 0 || Wo === 0) return;
  const K = Cout / Cin;
  const kernels = rt.kernels;
  // The borders stay zero: every plane copy writes the same interior positions.
  kernels.fill_f32(scratch, hp * wp, 0);
  for (let n = imageStart; n < imageEnd; n++) {
    let copied = -1;
    for (let o = channelStart; o < channelEnd; o++) {
      const c = Math.floor(o / K);
      if (c !== copied) {
        kernels.dw3x3_pad(x + 4 * (n * Cin + c) * H * W, rows, W, scratch, wp, g.padTop, g.padLeft);
        copied = c;
      }
      plane(o, y + 4 * (n * Cout + o) * Ho * Wo);
    }
  }
}

/**
 * Packs each output channel's filter (`taps` weights, PyTorch order) behind its bias into
 * `floatsPerChannel` floats at `address`, zero-filled after the last tap.
 */
export function packDepthwiseFilters(
  rt: WasmRuntime, outChannels: number, taps: number, floatsPerChannel: number, w: Float32Array, bias: Float32Array | null, address: number,
): void {
  const mem = rt.f32();
  for (let o = 0; o < outChannels; o++) {
    const d = (address >>> 2) + floatsPerChannel * o;
    // −0 bias → +0 (adding +0 does that), as the JS tier and the GEMM packing do (gemm.ts)
    mem[d] = bias === null ? 0 : bias[o]! + 0;
    for (let k = 0; k < taps; k++) mem[d + 1 + k] = w[taps * o + k]!;
    for (let k = 1 + taps; k < floatsPerChannel; k++) mem[d + k] = 0;
  }
}

/** The locals of an output plane's row loop (all i32 but `acc`, the v128 results of `tile`). */
export interface PlaneRowLocals {
  readonly y: number;
  readonly ho: number;
  readonly wo: number;
  readonly out: number;
  readonly tilesEnd: number;
  readonly rowEnd: number;
  /** One accumulator per output row of a group: acc[r] holds row r's 4 outputs after `tile(rows)`. */
  readonly acc: readonly number[];
  /** 4·wo, set by the caller; needed only when a group has more than one row. */
  readonly outRowBytes?: number;
}

/**
 * Emits the loop over the `ho` output rows of a plane at `y`, in groups of rows computed
 * together: `groups[0]` rows at a time while that many are left, then each later size once if
 * that many are left (so the sizes halve down to 1: [1], or [4, 2, 1] for up to 3 left). Per
 * group: `startRow()`, then `tile(rows)` (leaving each row's 4 outputs in `acc[r]`) and v128
 * stores per full tile, `nextTile()` after each; the last 1..3 pixels as lane stores of one more
 * tile (whose extra lanes read inside the padded plane and are dropped); `nextRows(rows)` after
 * the group.
 */
export function emitPlaneRows(
  f: FunctionBuilder, l: PlaneRowLocals, groups: readonly number[],
  startRow: () => void, tile: (rows: number) => void, nextTile: () => void, nextRows: (rows: number) => void,
): void {
  const { y, ho, wo, out, tilesEnd, rowEnd, acc } = l;
  const outAddress = (r: number) => {
    f.get(out);
    if (r > 0) f.get(l.outRowBytes!).i32Const(r).i32Mul().i32Add();
  };
  const group = (rows: number) => {
    startRow();
    f.get(y).set(out);
    f.get(y).get(wo).i32Const(-4).i32And().i32Const(2).i32Shl().i32Add().set(tilesEnd);
    f.get(y).get(wo).i32Const(2).i32Shl().i32Add().set(rowEnd);
    // full tiles
    f.block().loop();
    f.get(out).get(tilesEnd).i32GeU().brIf(1);
    tile(rows);
    for (let r = 0; r < rows; r++) {
      outAddress(r);
      f.get(acc[r]!).v128Store();
    }
    f.get(out).i32Const(16).i32Add().set(out);
    nextTile();
    f.br(0).end().end();
    // the last 1..3 pixels: lane stores of a full tile
    f.get(out).get(rowEnd).i32LtU().if();
    {
      tile(rows);
      f.get(wo).i32Const(2).i32And().if();
      for (let r = 0; r < rows; r++) {
        outAddress(r);
        f.get(acc[r]!).v128Store64Lane(0);
      }
      f.get(out).i32Const(8).i32Add().set(out);
      for (let r = 0; r < rows; r++) f.get(acc[r]!).get(acc[r]!).f32x4Shuffle(2, 3, 2, 3).set(acc[r]!);
      f.end();
      f.get(wo).i32Const(1).i32And().if();
      for (let r = 0; r < rows; r++) {
        outAddress(r);
        f.get(acc[r]!).v128Store32Lane(0);
      }
      f.end();
    }
    f.end();
    if (rows === 1) f.get(rowEnd).set(y);
    else f.get(y).get(l.outRowBytes!).i32Const(rows).i32Mul().i32Add().set(y);
    nextRows(rows);
    f.get(ho).i32Const(rows).i32Sub().set(ho);
  };
  const [first, ...later] = groups;
  f.block().loop();
  if (first === 1) f.get(ho).i32Eqz().brIf(1);
  else f.get(ho).i32Const(first!).i32LtU().brIf(1);
  group(first!);
  f.br(0).end().end();
  for (const rows of later) {
    f.get(ho).i32Const(rows).i32GeU().if();
    group(rows);
    f.end();
  }
}
