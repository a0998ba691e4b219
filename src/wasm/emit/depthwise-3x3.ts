// Kernel family `dw3x3`: depthwise 3×3 convolution, stride 1 or 2, on NCHW planes, 4 output
// pixels per f32x4 along W.
//
// The input plane is first copied (dw3x3_pad) into a zero-bordered plane in the thread's scratch:
// padded[r][q] = x[r − padTop][q − padLeft], zero outside, row stride `wp` floats. The borders are
// zeroed once per call and never written again, so each plane costs one row copy, and the
// compute loop has no border case at all: output (i, j) = bias + Σ_{kh,kw} w[kh][kw] ·
// padded[s·i + kh][s·j + kw], every tap a vector load from the padded plane.
//   stride 1: the three taps of a row are unaligned v128 loads at column offsets 0, +1, +2.
//   stride 2: two loads at columns 2j and 2j+4 give the even (kw = 0) and odd (kw = 1) columns by
//     one shuffle each; two loads at 2j+2 and 2j+6 give kw = 2 the same way.
// The padded plane is wide enough (see depthwisePaddedWidth) that the last, partial 4-pixel tile
// reads inside it; its extra lanes are computed and dropped (lane stores, nothing written past Wo).
//
// Weights are packed 12 floats per output channel: [bias, w00 .. w22, 0, 0] (depthwise-3x3-path.ts).
// The nine weights and the bias are splatted into locals once per plane. Every output is
// ((bias + t00) + t01) + ... + t22 in row-major tap order, whatever tile computes it, so results
// are bitwise repeatable and independent of how channels are split over threads. The fused
// activation is the GEMM's clamp: pmax(acc, min) then pmin(acc, max), which keeps NaN and −0.
import { f32, i32, v128, type FunctionBuilder } from './emit.js';
import { multiplyAdd, type KernelFamily, type KernelVariant } from './family.js';
import { emitPlaneRows } from './depthwise-rows.js';
import { DW3X3_PACKED_FLOATS } from '../abi.js';

export const dw3x3Family: KernelFamily = {
  name: 'dw3x3',
  emit(module, variant) {
    const pad = module.addFunction('dw3x3_pad', [i32, i32, i32, i32, i32, i32, i32], [], emitPad);
    const s1 = module.addFunction('dw3x3_s1', [i32, i32, i32, i32, i32, i32, f32, f32], [], (f) => emitPlane(f, variant, 1));
    const s2 = module.addFunction('dw3x3_s2', [i32, i32, i32, i32, i32, i32, f32, f32], [], (f) => emitPlane(f, variant, 2));
    for (const [name, plane] of [['dw3x3_s1_planes', s1], ['dw3x3_s2_planes', s2]] as const) {
      module.addFunction(name, [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, f32, f32], [], (f) => emitPlanes(f, pad, plane));
    }
  },
};

/** The loop over planes of dw3x3_s1_planes / dw3x3_s2_planes: pad-copy, one plane, advance. */
function emitPlanes(f: FunctionBuilder, pad: number, plane: number): void {
  const [x, channels, h, rows, width, padded, wp, padTop, padLeft, w, y, ho, wo, min, max] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  f.block().loop();
  f.get(channels).i32Eqz().brIf(1);
  f.get(x).get(rows).get(width).get(padded).get(wp).get(padTop).get(padLeft).call(pad);
  f.get(padded).get(wp).get(w).get(y).get(ho).get(wo).get(min).get(max).call(plane);
  f.get(x).get(h).get(width).i32Mul().i32Const(2).i32Shl().i32Add().set(x);
  f.get(y).get(ho).get(wo).i32Mul().i32Const(2).i32Shl().i32Add().set(y);
  f.get(w).i32Const(4 * DW3X3_PACKED_FLOATS).i32Add().set(w);
  f.get(channels).i32Const(1).i32Sub().set(channels);
  f.br(0);
  f.end().end();
}

function emitPad(f: FunctionBuilder): void {
  const [x, rows, width, padded, wp, padTop, padLeft] = [0, 1, 2, 3, 4, 5, 6];
  const dst = f.local(i32);
  const vecEnd = f.local(i32);
  const end = f.local(i32);
  const s = f.local(i32);
  const d = f.local(i32);
  // dst = padded + 4·(padTop·wp + padLeft)
  f.get(padded).get(padTop).get(wp).i32Mul().get(padLeft).i32Add().i32Const(2).i32Shl().i32Add().set(dst);
  f.block().loop();
  f.get(rows).i32Eqz().brIf(1);
  {
    // one row: 4 floats at a time, then the last 0..3
    f.get(x).set(s);
    f.get(dst).set(d);
    f.get(x).get(width).i32Const(-4).i32And().i32Const(2).i32Shl().i32Add().set(vecEnd);
    f.get(x).get(width).i32Const(2).i32Shl().i32Add().set(end);
    f.block().loop();
    f.get(s).get(vecEnd).i32GeU().brIf(1);
    f.get(d).get(s).v128Load().v128Store();
    f.get(s).i32Const(16).i32Add().set(s);
    f.get(d).i32Const(16).i32Add().set(d);
    f.br(0).end().end();
    f.block().loop();
    f.get(s).get(end).i32GeU().brIf(1);
    f.get(d).get(s).f32Load().f32Store();
    f.get(s).i32Const(4).i32Add().set(s);
    f.get(d).i32Const(4).i32Add().set(d);
    f.br(0).end().end();
  }
  f.get(end).set(x);
  f.get(dst).get(wp).i32Const(2).i32Shl().i32Add().set(dst);
  f.get(rows).i32Const(1).i32Sub().set(rows);
  f.br(0).end().end();
}

/**
 * Output rows computed together (then 2, then 1 for what is left): each tap's multiply-add is
 * emitted for every row of the group before the next tap. V8 keeps the order of wasm
 * instructions, so a single 4-pixel tile ran its nine dependent multiply-adds at their latency;
 * side by side the rows' chains overlap. Each output still sums its taps in the same order, so
 * the bits do not depend on the grouping.
 */
export const DW3X3_ROW_GROUPS: Readonly<Record<1 | 2, readonly number[]>> = { 1: [4, 2, 1], 2: [4, 2, 1] };

function emitPlane(f: FunctionBuilder, variant: KernelVariant, stride: 1 | 2, groups: readonly number[] = DW3X3_ROW_GROUPS[stride]): void {
  const [padded, wp, w, y, ho, wo, min, max] = [0, 1, 2, 3, 4, 5, 6, 7];
  const most = groups[0]!;
  const rowBytes = f.local(i32); // 4·wp
  const outRowBytes = f.local(i32); // 4·wo
  const row = f.local(i32); // padded row s·i of the group's first output row i
  const p = f.local(i32); // the tile's first input column in that row
  const out = f.local(i32);
  const tilesEnd = f.local(i32); // out + 16·floor(wo / 4)
  const rowEnd = f.local(i32); // out + 4·wo
  const vmin = f.local(v128);
  const vmax = f.local(v128);
  const vbias = f.local(v128);
  const wk = Array.from({ length: 9 }, () => f.local(v128));
  const acc = Array.from({ length: most }, () => f.local(v128));
  // stride 2: the two loads of each row's tap pair (kw = 1 reuses kw = 0's)
  const a = Array.from({ length: most }, () => f.local(v128));
  const b = Array.from({ length: most }, () => f.local(v128));
  // the input rows a group reads: q[k] = p + k·rowBytes, k < stride·(rows − 1) + 3
  const inputRows = stride * (most - 1) + 3;
  const q = Array.from({ length: inputRows }, () => f.local(i32));

  f.get(min).f32x4Splat().set(vmin);
  f.get(max).f32x4Splat().set(vmax);
  f.get(w).v128Load32Splat(0).set(vbias);
  for (let k = 0; k < 9; k++) f.get(w).v128Load32Splat(4 * (k + 1)).set(wk[k]!);
  f.get(wp).i32Const(2).i32Shl().set(rowBytes);
  f.get(wo).i32Const(2).i32Shl().set(outRowBytes);
  f.get(padded).set(row);

  // acc[r] = the tile of output row r whose first padded column is at address p
  const tile = (rows: number) => {
    const needed = stride * (rows - 1) + 3;
    f.get(p).set(q[0]!);
    for (let k = 1; k < needed; k++) f.get(q[k - 1]!).get(rowBytes).i32Add().set(q[k]!);
    for (let r = 0; r < rows; r++) f.get(vbias).set(acc[r]!);
    for (let kh = 0; kh < 3; kh++) {
      for (let kw = 0; kw < 3; kw++) {
        for (let r = 0; r < rows; r++) {
          const input = q[stride * r + kh]!;
          const pushTap = (g: FunctionBuilder) => {
            if (stride === 1) {
              g.get(input).v128Load(4 * kw);
              return;
            }
            // stride 2: columns 2j + kw + {0, 2, 4, 6} = the even lanes of two loads (kw = 0, 2), or the odd ones (kw = 1)
            if (kw !== 1) {
              const base = kw === 2 ? 8 : 0;
              g.get(input).v128Load(base).set(a[r]!);
              g.get(input).v128Load(base + 16).set(b[r]!);
            }
            g.get(a[r]!).get(b[r]!);
            if (kw === 1) g.f32x4Shuffle(1, 3, 5, 7);
            else g.f32x4Shuffle(0, 2, 4, 6);
          };
          multiplyAdd(f, variant, (g) => g.get(wk[3 * kh + kw]!), pushTap, (g) => g.get(acc[r]!));
          f.set(acc[r]!);
        }
      }
    }
    for (let r = 0; r < rows; r++) f.get(acc[r]!).get(vmin).f32x4Pmax().get(vmax).f32x4Pmin().set(acc[r]!);
  };

  emitPlaneRows(
    f, { y, ho, wo, out, tilesEnd, rowEnd, acc, outRowBytes }, groups,
    () => f.get(row).set(p),
    tile,
    () => f.get(p).i32Const(16 * stride).i32Add().set(p),
    (rows) => f.get(row).get(rowBytes).i32Const(stride * rows).i32Mul().i32Add().set(row),
  );
}
