// Kernel family `gdot`: C[m, n] = Σ_i Σ_j A_m[i, j] · B_n[i, j], many dot products of 2-D
// windows: the weight gradient of a general convolution, dW[o, (c, p, q)] = Σ_{i,j} dY[o, i, j] ·
// X(c, p, q)[i, j], where A_m is a dY plane (rows Ho, contiguous along j) and B_n the window of
// the (phase-split, zero-padded) input that tap (c, p, q) reads: also Ho rows of Wo contiguous
// values, at its own offset and row stride. Nothing is packed or transposed: both operands are
// read where they lie, every load a v128 along j.
//
// Register tile: 4 rows of A × 2 windows of B, 8 f32x4 accumulators; per 4 values of j, 2 loads
// of B, 4 of A (one at a time), 8 multiply-adds. Rows of A past `mr` alias row mr − 1, a missing
// second window aliases the first (computed twice, stored once: real values are stored last).
// Along j: 4 lanes at a time, then a 2-lane and a 1-lane step with zero-filled loads (0·0 adds
// nothing, and nothing past a row is read). Every sum is accumulated in one fixed order (lane
// l of the accumulator takes j ≡ l mod 4 row by row, the tails into lanes 0-1, then the lanes
// added as (l0 + l1) + (l2 + l3)), so a C value does not depend on the tile that computed it.
import { i32, v128, type FunctionBuilder } from './emit.js';
import { multiplyAdd, type KernelFamily, type KernelVariant } from './family.js';

export const gdotFamily: KernelFamily = {
  name: 'gdot',
  emit(module, variant) {
    module.addFunction('gdot_f32', [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32], [], (f) => emitGdot(f, variant));
  },
};

const MR = 4;

function emitGdot(f: FunctionBuilder, variant: KernelVariant): void {
  const [mr, nc, rows, width, a, lda, ardx, b, boff, brdx, c, ldc] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const aRow = [a, f.local(i32), f.local(i32), f.local(i32)];
  const cRow = [c, f.local(i32), f.local(i32), f.local(i32)];
  const n = f.local(i32);
  const b0 = f.local(i32);
  const b1 = f.local(i32);
  const i = f.local(i32);
  const j = f.local(i32); // byte offset along the row
  const vecEnd = f.local(i32);
  const rowBytes = f.local(i32);
  const aLine = f.local(i32); // row i of A (row 0's address; others at + r·lda)
  const pa = [f.local(i32), f.local(i32), f.local(i32), f.local(i32)];
  const pb0 = f.local(i32);
  const pb1 = f.local(i32);
  const vb0 = f.local(v128);
  const vb1 = f.local(v128);
  const va = f.local(v128);
  const acc = [0, 1, 2, 3].map(() => [f.local(v128), f.local(v128)] as const);
  const sum = f.local(v128);

  // rows past mr alias row mr − 1 (reads and stores)
  for (let r = 1; r < MR; r++) {
    f.get(aRow[r - 1]!).get(lda).i32Add().get(aRow[r - 1]!).get(mr).i32Const(r).i32GtU().select().set(aRow[r]!);
    f.get(cRow[r - 1]!).get(ldc).i32Add().get(cRow[r - 1]!).get(mr).i32Const(r).i32GtU().select().set(cRow[r]!);
  }
  f.get(width).i32Const(2).i32Shl().set(rowBytes);
  f.get(rowBytes).i32Const(-16).i32And().set(vecEnd);

  /** acc[r][h] += A_r · B_h over the lanes loaded by `loadKind` at byte offset j of the current rows. */
  const step = (load: (g: FunctionBuilder) => FunctionBuilder) => {
    f.get(pb0).get(j).i32Add();
    load(f).set(vb0);
    f.get(pb1).get(j).i32Add();
    load(f).set(vb1);
    for (let r = 0; r < MR; r++) {
      f.get(pa[r]!).get(j).i32Add();
      load(f).set(va);
      for (let h = 0; h < 2; h++) {
        multiplyAdd(f, variant, (g) => g.get(va), (g) => g.get(h === 0 ? vb0 : vb1), (g) => g.get(acc[r]![h]!));
        f.set(acc[r]![h]!);
      }
    }
  };

  f.i32Const(0).set(n);
  f.block().loop();
  {
    f.get(n).get(nc).i32GeU().brIf(1);
    // windows n and n + 1 (n + 1 aliases n when it does not exist)
    f.get(b).get(boff).get(n).i32Const(2).i32Shl().i32Add().i32Load().i32Add().set(b0);
    f.get(b).get(boff).get(n).i32Const(2).i32Shl().i32Add().i32Load(4).i32Add().get(b0).get(n).i32Const(1).i32Add().get(nc).i32LtU().select().set(b1);
    for (let r = 0; r < MR; r++) for (let h = 0; h < 2; h++) f.f32x4Const(0, 0, 0, 0).set(acc[r]![h]!);
    f.i32Const(0).set(i);
    f.get(b0).set(pb0);
    f.get(b1).set(pb1);
    f.get(a).set(aLine);
    f.block().loop();
    {
      f.get(i).get(rows).i32GeU().brIf(1);
      for (let r = 0; r < MR; r++) f.get(aRow[r]!).get(aLine).get(a).i32Sub().i32Add().set(pa[r]!);
      f.i32Const(0).set(j);
      f.block().loop();
      f.get(j).get(vecEnd).i32GeU().brIf(1);
      step((g) => g.v128Load());
      f.get(j).i32Const(16).i32Add().set(j);
      f.br(0);
      f.end().end();
      f.get(width).i32Const(2).i32And().if();
      step((g) => g.v128Load64Zero());
      f.get(j).i32Const(8).i32Add().set(j);
      f.end();
      f.get(width).i32Const(1).i32And().if();
      step((g) => g.v128Load32Zero());
      f.end();
      f.get(aLine).get(ardx).i32Add().set(aLine);
      f.get(pb0).get(brdx).i32Add().set(pb0);
      f.get(pb1).get(brdx).i32Add().set(pb1);
      f.get(i).i32Const(1).i32Add().set(i);
      f.br(0);
    }
    f.end().end();
    // store: window n + 1 first (it may alias n), rows MR−1 .. 0 (aliases of row mr − 1 first)
    for (const h of [1, 0]) {
      for (let r = MR - 1; r >= 0; r--) {
        f.get(cRow[r]!).get(n).i32Const(h).i32Add().get(n).get(n).i32Const(1).i32Add().get(nc).i32LtU().select().i32Const(2).i32Shl().i32Add();
        f.get(acc[r]![h]!).get(acc[r]![h]!).get(acc[r]![h]!).f32x4Shuffle(1, 0, 3, 2).f32x4Add().set(sum); // (l0 + l1), (l2 + l3)
        f.get(sum).f32x4ExtractLane(0).get(sum).f32x4ExtractLane(2).f32Add();
        f.f32Store();
      }
    }
    f.get(n).i32Const(2).i32Add().set(n);
    f.br(0);
  }
  f.end().end();
}
