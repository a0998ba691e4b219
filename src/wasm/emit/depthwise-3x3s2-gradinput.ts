// Kernel family `dwb`: gradInput of a 3×3, stride-2, dilation-1 depthwise convolution (padding 0
// or 1 per side), one plane at a time: the transposed convolution written as a gather, as the JS
// kernel does (kernels/depthwise-3x3s2-backward.ts). Input row r, column s receives filter tap
// (p, q) from output (i, j) when r + pt = 2i + p and s + pl = 2j + q. With t = r + pt:
//
//   t odd:  filter row 1 from dY row (t − 1)/2        t even: row 0 from dY row t/2, row 2 from t/2 − 1
//
// and along a row, in blocks of 8 input columns s = 2b .. 2b + 7 (b = 4 consecutive dY columns):
//
//   pl = 0:  even s (u = s even): w[p,0]·dY[b] + w[p,2]·dY[b − 1]     odd s: w[p,1]·dY[b]
//   pl = 1:  even s (u odd):      w[p,1]·dY[b]                         odd s: w[p,0]·dY[b + 1] + w[p,2]·dY[b]
//
// each dY[b + δ] one unaligned v128 load; the even and odd results are interleaved by two
// shuffles into 8 consecutive columns. dY is first copied into a plane with a zero
// border of one row and column on every side (wider on the right, for the last block's loads), so
// every input pixel takes the same formula (one call runs many channels: copy, compute, next).
// The last partial block is stored lane by lane; nothing
// is written past column W. Every value is summed in the same order (filter rows ascending, then
// q ascending), so results are bitwise repeatable; with `accumulate` the sum is added to what the
// output holds (old + new), as the channel multiplier's planes are summed in order.
import { i32, v128, type FunctionBuilder } from './emit.js';
import { multiplyAdd, type KernelFamily, type KernelVariant } from './family.js';

export const dwbFamily: KernelFamily = {
  name: 'dwb',
  emit(module, variant) {
    const copy = module.addFunction('dwb_copy_plane', [i32, i32, i32, i32, i32], [], emitCopyPlane, { exported: false });
    for (const pl of [0, 1] as const) {
      const plane = module.addFunction(`dwb_s2_plane_l${pl}`, [i32, i32, i32, i32, i32, i32, i32, i32], [], (f) => emitGradInput(f, variant, pl), { exported: false });
      module.addFunction(`dwb_s2_gradin_l${pl}`, [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32], [], (f) => emitChannels(f, copy, plane));
    }
  },
};

/** Copies the rows × width plane at `src` into `dst` at row 1, column 1 (row stride `wp` floats). */
function emitCopyPlane(f: FunctionBuilder): void {
  const [src, rows, width, dst, wp] = [0, 1, 2, 3, 4];
  const d = f.local(i32);
  const rowEnd = f.local(i32);
  const vecEnd = f.local(i32);
  const rowStart = f.local(i32);
  f.get(dst).get(wp).i32Const(1).i32Add().i32Const(2).i32Shl().i32Add().set(rowStart);
  f.block().loop();
  f.get(rows).i32Eqz().brIf(1);
  f.get(rowStart).set(d);
  f.get(src).get(width).i32Const(2).i32Shl().i32Add().set(rowEnd);
  f.get(src).get(width).i32Const(-4).i32And().i32Const(2).i32Shl().i32Add().set(vecEnd);
  f.block().loop();
  f.get(src).get(vecEnd).i32GeU().brIf(1);
  f.get(d).get(src).v128Load().v128Store();
  f.get(src).i32Const(16).i32Add().set(src);
  f.get(d).i32Const(16).i32Add().set(d);
  f.br(0).end().end();
  f.block().loop();
  f.get(src).get(rowEnd).i32GeU().brIf(1);
  f.get(d).get(src).f32Load().f32Store();
  f.get(src).i32Const(4).i32Add().set(src);
  f.get(d).i32Const(4).i32Add().set(d);
  f.br(0).end().end();
  f.get(rowStart).get(wp).i32Const(2).i32Shl().i32Add().set(rowStart);
  f.get(rows).i32Const(1).i32Sub().set(rows);
  f.br(0);
  f.end().end();
}

/** The exported loop over channels: copy one dY plane, compute its dX plane, next. */
function emitChannels(f: FunctionBuilder, copy: number, plane: number): void {
  const [dy, channels, ho, wo, bordered, wp, filters, out, h, w, padTop, accumulate] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  f.block().loop();
  f.get(channels).i32Eqz().brIf(1);
  f.get(dy).get(ho).get(wo).get(bordered).get(wp).call(copy);
  f.get(bordered).get(wp).get(filters).get(out).get(h).get(w).get(padTop).get(accumulate).call(plane);
  f.get(dy).get(ho).get(wo).i32Mul().i32Const(2).i32Shl().i32Add().set(dy);
  f.get(out).get(h).get(w).i32Mul().i32Const(2).i32Shl().i32Add().set(out);
  f.get(filters).i32Const(36).i32Add().set(filters);
  f.get(channels).i32Const(1).i32Sub().set(channels);
  f.br(0);
  f.end().end();
}

function emitGradInput(f: FunctionBuilder, variant: KernelVariant, pl: 0 | 1): void {
  const [plane, wp, filter, out, h, w, padTop, accumulate] = [0, 1, 2, 3, 4, 5, 6, 7];
  const wt = Array.from({ length: 9 }, () => f.local(v128));
  const y = f.local(i32);
  const rowA = f.local(i32); // dY row of filter row 0 (t even) or 1 (t odd), at column 0
  const rowB = f.local(i32); // dY row of filter row 2 (t even)
  const x0 = f.local(i32); // column of the block
  const bOff = f.local(i32); // byte offset of dY column b = x0 / 2
  const dst = f.local(i32);
  const rest = f.local(i32);
  const even = f.local(v128);
  const odd = f.local(v128);
  const lo = f.local(v128);
  const hi = f.local(v128);
  const rowBytes = f.local(i32);
  for (let t = 0; t < 9; t++) f.get(filter).v128Load32Splat(4 * t).set(wt[t]!);
  f.get(wp).i32Const(2).i32Shl().set(rowBytes);
  f.i32Const(0).set(y);
  f.get(out).set(dst);

  /** even/odd += the taps of filter row p from the dY row at `row` (its column 0 address). */
  const rowTaps = (p: number, row: number, first: boolean) => {
    const load = (delta: number) => (g: FunctionBuilder) => g.get(row).get(bOff).i32Add().v128Load(4 + 4 * delta);
    const madd = (target: number, delta: number, q: number, init: boolean) => {
      if (init) {
        // the first product of a sum: 0 + a·b, as every later term is added
        multiplyAdd(f, variant, load(delta), (g) => g.get(wt[3 * p + q]!), (g) => g.f32x4Const(0, 0, 0, 0));
      } else {
        multiplyAdd(f, variant, load(delta), (g) => g.get(wt[3 * p + q]!), (g) => g.get(target));
      }
      f.set(target);
    };
    if (pl === 0) {
      madd(even, 0, 0, first);
      madd(even, -1, 2, false);
      madd(odd, 0, 1, first);
    } else {
      madd(even, 0, 1, first);
      madd(odd, 1, 0, first);
      madd(odd, 0, 2, false);
    }
  };

  /** One output row: the dY rows are set; `twoRows` = filter rows 0 and 2, else row 1. */
  const outputRow = (twoRows: boolean) => {
    f.i32Const(0).set(x0);
    f.block().loop();
    {
      f.get(x0).get(w).i32GeU().brIf(1);
      // dY column b = x0 / 2, in bytes: x0 · 2
      f.get(x0).i32Const(1).i32Shl().set(bOff);
      if (twoRows) {
        rowTaps(0, rowA, true);
        rowTaps(2, rowB, false);
      } else {
        rowTaps(1, rowA, true);
      }
      // columns x0 .. x0 + 7 = even[0] odd[0] even[1] odd[1] …
      f.get(even).get(odd).f32x4Shuffle(0, 4, 1, 5).set(lo);
      f.get(even).get(odd).f32x4Shuffle(2, 6, 3, 7).set(hi);
      f.get(accumulate).if();
      {
        f.get(dst).v128Load().get(lo).f32x4Add().set(lo);
        f.get(dst).v128Load(16).get(hi).f32x4Add().set(hi);
      }
      f.end();
      f.get(w).get(x0).i32Sub().set(rest);
      f.get(rest).i32Const(8).i32GeU().if();
      {
        f.get(dst).get(lo).v128Store();
        f.get(dst).get(hi).v128Store(16);
        f.get(dst).i32Const(32).i32Add().set(dst);
      }
      f.else();
      {
        // the last 1..7 columns
        f.get(rest).i32Const(4).i32And().if();
        f.get(dst).get(lo).v128Store();
        f.get(hi).set(lo);
        f.get(dst).i32Const(16).i32Add().set(dst);
        f.end();
        f.get(rest).i32Const(2).i32And().if();
        f.get(dst).get(lo).v128Store64Lane(0);
        f.get(lo).get(lo).f32x4Shuffle(2, 3, 2, 3).set(lo);
        f.get(dst).i32Const(8).i32Add().set(dst);
        f.end();
        f.get(rest).i32Const(1).i32And().if();
        f.get(dst).get(lo).v128Store32Lane(0);
        f.get(dst).i32Const(4).i32Add().set(dst);
        f.end();
      }
      f.end();
      f.get(x0).i32Const(8).i32Add().set(x0);
      f.br(0);
    }
    f.end().end();
  };

  f.block().loop();
  {
    f.get(y).get(h).i32GeU().brIf(1);
    // t = y + padTop; the bordered plane's row of dY row i is i + 1
    f.get(y).get(padTop).i32Add().i32Const(1).i32And().if();
    {
      // t odd: filter row 1 from dY row (t − 1) / 2 → plane row (t + 1) / 2
      f.get(plane).get(y).get(padTop).i32Add().i32Const(1).i32Add().i32Const(1).i32ShrU().get(rowBytes).i32Mul().i32Add().set(rowA);
      outputRow(false);
    }
    f.else();
    {
      // t even: row 0 from dY row t / 2 (plane row t/2 + 1), row 2 from t/2 − 1 (plane row t/2)
      f.get(plane).get(y).get(padTop).i32Add().i32Const(1).i32ShrU().i32Const(1).i32Add().get(rowBytes).i32Mul().i32Add().set(rowA);
      f.get(rowA).get(rowBytes).i32Sub().set(rowB);
      outputRow(true);
    }
    f.end();
    f.get(y).i32Const(1).i32Add().set(y);
    f.br(0);
  }
  f.end().end();
}
