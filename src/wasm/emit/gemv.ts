// Kernel family `gemv`: y[o] = clamp(bias[o] + Σ_i W[o, i]·x[i], min, max) for a row-major W,
// the batch-1 `nn.Linear` (a classifier's 1280 → 1000 reads 5 MB of weights to do 1.3 MFLOP,
// so it is bound by how fast W streams through: whole v128 loads of W's rows, no packing).
//
// Four rows at a time share each load of x: per 8 values of i, 2 loads of x, 8 of W, 8
// multiply-adds into 8 accumulators (two per row, so consecutive multiply-adds of a row do not
// wait for each other). The rows left over (outFeatures mod 4) run the same code one row at a
// time, and every row's arithmetic is the same whichever group computed it:
//   a0 = Σ over i ≡ 0..3 (mod 8) lanes, a1 = Σ over i ≡ 4..7 (mod 8), both in i order;
//   a 4-value tail (k mod 8 ≥ 4) goes into a0; s = ((a0 + a1) lanes summed as (l0 + l1) + (l2 + l3));
//   then the last k mod 4 products added one by one in i order, then the bias, then the clamp.
// So a row's value does not depend on how many rows a call computes (threads may split rows).
import { f32, i32, v128, type FunctionBuilder } from './emit.js';
import { multiplyAdd, type KernelFamily, type KernelVariant } from './family.js';

export const gemvFamily: KernelFamily = {
  name: 'gemv',
  emit(module, variant) {
    module.addFunction('gemv_f32', [i32, i32, i32, i32, i32, i32, i32, f32, f32], [], (f) => emitGemv(f, variant));
  },
};

function emitGemv(f: FunctionBuilder, variant: KernelVariant): void {
  const [rows, k, w, ldw, x, bias, y, min, max] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const R = 4;
  const wRow = [f.local(i32), f.local(i32), f.local(i32), f.local(i32)];
  const rowBytes = f.local(i32);
  const o = f.local(i32);
  const i = f.local(i32); // byte offset along the row
  const k8 = f.local(i32); // bytes of the 8-wide part
  const k4 = f.local(i32); // bytes of the 8- and 4-wide parts
  const kBytes = f.local(i32);
  const xv0 = f.local(v128);
  const xv1 = f.local(v128);
  const acc = [0, 1, 2, 3].map(() => [f.local(v128), f.local(v128)] as const);
  const s = f.local(f32);

  f.get(ldw).i32Const(2).i32Shl().set(rowBytes);
  f.get(k).i32Const(2).i32Shl().set(kBytes);
  f.get(kBytes).i32Const(-32).i32And().set(k8);
  f.get(kBytes).i32Const(-16).i32And().set(k4);

  /** Rows o .. o+count-1 (count 4 or 1), W rows from wRow[0] on. */
  const body = (count: number) => {
    for (let r = 1; r < count; r++) f.get(wRow[r - 1]!).get(rowBytes).i32Add().set(wRow[r]!);
    for (let r = 0; r < count; r++) {
      f.f32x4Const(0, 0, 0, 0).set(acc[r]![0]);
      f.f32x4Const(0, 0, 0, 0).set(acc[r]![1]);
    }
    f.i32Const(0).set(i);
    // 8 values of i per step
    f.block().loop();
    f.get(i).get(k8).i32GeU().brIf(1);
    f.get(x).get(i).i32Add().v128Load().set(xv0);
    f.get(x).get(i).i32Add().v128Load(16).set(xv1);
    for (let r = 0; r < count; r++) {
      for (let h = 0; h < 2; h++) {
        const xv = h === 0 ? xv0 : xv1;
        multiplyAdd(f, variant, (g) => g.get(wRow[r]!).get(i).i32Add().v128Load(16 * h), (g) => g.get(xv), (g) => g.get(acc[r]![h]!));
        f.set(acc[r]![h]!);
      }
    }
    f.get(i).i32Const(32).i32Add().set(i);
    f.br(0);
    f.end().end();
    // a 4-value step into a0
    f.get(i).get(k4).i32LtU().if();
    f.get(x).get(i).i32Add().v128Load().set(xv0);
    for (let r = 0; r < count; r++) {
      multiplyAdd(f, variant, (g) => g.get(wRow[r]!).get(i).i32Add().v128Load(), (g) => g.get(xv0), (g) => g.get(acc[r]![0]!));
      f.set(acc[r]![0]!);
    }
    f.get(i).i32Const(16).i32Add().set(i);
    f.end();
    for (let r = 0; r < count; r++) {
      // s = (l0 + l1) + (l2 + l3) of a0 + a1
      f.get(acc[r]![0]!).get(acc[r]![1]!).f32x4Add().set(xv0);
      f.get(xv0).f32x4ExtractLane(0).get(xv0).f32x4ExtractLane(1).f32Add();
      f.get(xv0).f32x4ExtractLane(2).get(xv0).f32x4ExtractLane(3).f32Add();
      f.f32Add().set(s);
      // the last k mod 4 products, in i order (i is the same for every row here)
      f.get(i).set(k8); // k8 is free now: the tail cursor of this row
      f.block().loop();
      f.get(k8).get(kBytes).i32GeU().brIf(1);
      f.get(s).get(wRow[r]!).get(k8).i32Add().f32Load().get(x).get(k8).i32Add().f32Load().f32Mul().f32Add().set(s);
      f.get(k8).i32Const(4).i32Add().set(k8);
      f.br(0);
      f.end().end();
      // + bias, clamp (NaN kept: max(s, min) and min(·, max) as pmax/pmin would)
      f.get(bias).if();
      f.get(s).get(bias).get(o).i32Const(2).i32Shl().i32Add().f32Load(4 * r).f32Add().set(s);
      f.end();
      f.get(y).get(o).i32Const(2).i32Shl().i32Add();
      f.get(s).f32x4Splat().get(min).f32x4Splat().f32x4Pmax().get(max).f32x4Splat().f32x4Pmin().f32x4ExtractLane(0);
      f.f32Store(4 * r);
    }
    f.get(kBytes).i32Const(-32).i32And().set(k8); // restore for the next rows
    f.get(wRow[0]!).get(rowBytes).i32Const(count).i32Mul().i32Add().set(wRow[0]!);
    f.get(o).i32Const(count).i32Add().set(o);
  };

  f.get(w).set(wRow[0]!);
  f.i32Const(0).set(o);
  f.block().loop();
  f.get(o).i32Const(R).i32Add().get(rows).i32GtU().brIf(1);
  body(R);
  f.br(0);
  f.end().end();
  f.block().loop();
  f.get(o).get(rows).i32GeU().brIf(1);
  body(1);
  f.br(0);
  f.end().end();
}
