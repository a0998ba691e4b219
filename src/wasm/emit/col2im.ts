// Kernel family `col2im`: the accumulation of a column-method gradInput (grouped-backward-columns.ts),
// dst[r·dstRow + k·stride] += src[r·srcRow + k] for r < rows, k < n, one (channel, tap) at a time.
// Each dX element receives its taps in the order of the calls, so the sums are bitwise repeatable.
//
// Three strides: 1 (vectors), 2 (four source floats spread over the even lanes of two dst vectors
// by a shuffle with zeros: the odd lanes get + 0, which leaves a sum started at +0 unchanged, so
// the result is the same as one float at a time), and any (one float at a time). Independent loads,
// adds and stores are emitted side by side (V8 keeps wasm instruction order).
import { f32, type FunctionBuilder, i32, v128 } from './emit.js';
import type { KernelFamily } from './family.js';

export const col2imFamily: KernelFamily = {
  name: 'col2im',
  emit(module) {
    module.addFunction('col2im_s1', [i32, i32, i32, i32, i32, i32], [], (f) => emitRows(f, 1));
    module.addFunction('col2im_s2', [i32, i32, i32, i32, i32, i32], [], (f) => emitRows(f, 2));
    module.addFunction('col2im_sn', [i32, i32, i32, i32, i32, i32, i32], [], (f) => emitRows(f, 0));
  },
};

/**
 * Params (src, srcRow, dst, dstRow, rows, n[, dstCol]): byte addresses and byte strides.
 * `stride` 1 or 2 is built in; 0 reads the column stride (bytes) from the seventh param.
 */
function emitRows(f: FunctionBuilder, stride: 0 | 1 | 2): void {
  const [src, srcRow, dst, dstRow, rows, n, dstCol] = [0, 1, 2, 3, 4, 5, 6];
  const s = f.local(i32);
  const d = f.local(i32);
  const end = f.local(i32);
  const vecEnd = f.local(i32);
  const [a, b, c, e, zero] = [f.local(v128), f.local(v128), f.local(v128), f.local(v128), f.local(v128)];
  const [g, h] = [f.local(v128), f.local(v128)];
  f.f32x4Const(0, 0, 0, 0).set(zero);
  f.block().loop();
  f.get(rows).i32Eqz().brIf(1);
  f.get(src).set(s);
  f.get(dst).set(d);
  // end = src + 4·n; vecEnd = src + 32·floor(n / 8)
  f.get(src).get(n).i32Const(2).i32Shl().i32Add().set(end);
  f.get(src).get(n).i32Const(-8).i32And().i32Const(2).i32Shl().i32Add().set(vecEnd);
  if (stride === 1) {
    // eight floats: two source vectors onto two dst vectors
    f.block().loop();
    f.get(s).get(vecEnd).i32GeU().brIf(1);
    f.get(s).v128Load().set(a);
    f.get(s).v128Load(16).set(b);
    f.get(d).v128Load().set(c);
    f.get(d).v128Load(16).set(e);
    f.get(d).get(c).get(a).f32x4Add().v128Store();
    f.get(d).get(e).get(b).f32x4Add().v128Store(16);
    f.get(s).i32Const(32).i32Add().set(s);
    f.get(d).i32Const(32).i32Add().set(d);
    f.br(0).end().end();
  } else if (stride === 2) {
    // eight floats: two source vectors onto the even lanes of four dst vectors (16 floats; the
    // last odd one is read and written back unchanged, hence the caller's 16 bytes of slack)
    f.block().loop();
    f.get(s).get(vecEnd).i32GeU().brIf(1);
    f.get(s).v128Load().set(a);
    f.get(s).v128Load(16).set(b);
    f.get(d).v128Load().set(c);
    f.get(d).v128Load(16).set(e);
    f.get(d).v128Load(32).set(g);
    f.get(d).v128Load(48).set(h);
    f.get(d).get(c).get(a).get(zero).f32x4Shuffle(0, 4, 1, 4).f32x4Add().v128Store();
    f.get(d).get(e).get(a).get(zero).f32x4Shuffle(2, 4, 3, 4).f32x4Add().v128Store(16);
    f.get(d).get(g).get(b).get(zero).f32x4Shuffle(0, 4, 1, 4).f32x4Add().v128Store(32);
    f.get(d).get(h).get(b).get(zero).f32x4Shuffle(2, 4, 3, 4).f32x4Add().v128Store(48);
    f.get(s).i32Const(32).i32Add().set(s);
    f.get(d).i32Const(64).i32Add().set(d);
    f.br(0).end().end();
  } else {
    // any stride: two floats at a time (independent), then the last one
    const [x0, x1] = [f.local(f32), f.local(f32)];
    const d1 = f.local(i32);
    f.block().loop();
    f.get(s).i32Const(8).i32Add().get(end).i32GtU().brIf(1); // pairs while s + 8 ≤ end
    f.get(d).get(dstCol).i32Add().set(d1);
    f.get(d).f32Load().get(s).f32Load().f32Add().set(x0);
    f.get(d1).f32Load().get(s).f32Load(4).f32Add().set(x1);
    f.get(d).get(x0).f32Store();
    f.get(d1).get(x1).f32Store();
    f.get(s).i32Const(8).i32Add().set(s);
    f.get(d1).get(dstCol).i32Add().set(d);
    f.br(0).end().end();
  }
  // the floats left, one at a time
  f.block().loop();
  f.get(s).get(end).i32GeU().brIf(1);
  f.get(d).get(d).f32Load().get(s).f32Load().f32Add().f32Store();
  f.get(s).i32Const(4).i32Add().set(s);
  if (stride === 0) f.get(d).get(dstCol).i32Add().set(d);
  else f.get(d).i32Const(4 * stride).i32Add().set(d);
  f.br(0).end().end();
  f.get(src).get(srcRow).i32Add().set(src);
  f.get(dst).get(dstRow).i32Add().set(dst);
  f.get(rows).i32Const(1).i32Sub().set(rows);
  f.br(0).end().end();
}
