// Kernel family `dwgw3`: the weight gradient of a 3×3, stride-1 or -2, dilation-1 depthwise
// convolution, many channels per call: dW[c][p][q] = Σ_{i,j} dY[c][i][j] · X̃[c][s·i + p][s·j + q],
// X̃ the input plane in a zero-bordered plane (top/left padding as the forward's). Per channel the
// input plane is copied into the bordered plane (borders zeroed once by the caller, never written),
// then one pass over dY: per 4 output columns, one load of dY and nine unaligned loads of X̃ (three
// rows × columns +0, +1, +2) feed nine accumulators, one per tap, so dY is read once (the general
// kernel, depthwise-general.ts, takes three passes). The last 1–3 columns of a row are loaded
// whole and masked (lanes past the row are zeroed in both operands, so a value outside the
// window never enters a sum, even an infinite one). Each tap's lanes are added as (l0 + l1) +
// (l2 + l3) at the end: a fixed order, bitwise repeatable.
import { f32, i32, v128, type FunctionBuilder } from './emit.js';
import { multiplyAdd, type KernelFamily, type KernelVariant } from './family.js';

export const dwgw3Family: KernelFamily = {
  name: 'dwgw3',
  emit(module, variant) {
    module.addFunction('dwgw3_planes', [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32], [], (f) => emitPlanes(f, variant, 1));
    module.addFunction('dwgw3_s2_planes', [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32], [], (f) => emitPlanes(f, variant, 2));
  },
};

function emitPlanes(f: FunctionBuilder, variant: KernelVariant, stride: 1 | 2): void {
  const [x, dy, channels, h, w, ho, wo, plane, wp, padTop, padLeft, sums] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const rowBytes = f.local(i32);
  const start = f.local(i32); // where the plane copy starts
  const src = f.local(i32);
  const d = f.local(i32);
  const end = f.local(i32);
  const vecEnd = f.local(i32);
  const r = f.local(i32);
  const i = f.local(i32);
  const j = f.local(i32); // byte offset along the output row
  const jVec = f.local(i32); // bytes of the full 4-column steps
  const dyRow = f.local(i32);
  const xRow = f.local(i32); // bordered plane row i, column 0
  const mask = f.local(v128);
  const dv = f.local(v128);
  const sum = f.local(v128);
  const acc = Array.from({ length: 9 }, () => f.local(v128));
  const xv = f.local(v128);
  const restF = f.local(f32);

  f.get(wp).i32Const(2).i32Shl().set(rowBytes);
  f.get(plane).get(padTop).get(wp).i32Mul().get(padLeft).i32Add().i32Const(2).i32Shl().i32Add().set(start);
  f.get(wo).i32Const(-4).i32And().i32Const(2).i32Shl().set(jVec);
  // lanes l < wo mod 4 all ones: (0, 1, 2, 3) < rest
  f.get(wo).i32Const(3).i32And().f32ConvertI32U().set(restF);
  f.f32x4Const(0, 1, 2, 3).get(restF).f32x4Splat().f32x4Lt().set(mask);

  /** One step of 4 columns at byte offset j; `masked` for the last partial one. */
  const step = (masked: boolean) => {
    f.get(dyRow).get(j).i32Add().v128Load();
    if (masked) f.get(mask).v128And();
    f.set(dv);
    for (let p = 0; p < 3; p++) {
      for (let q = 0; q < 3; q++) {
        const t = 3 * p + q;
        // row p of X̃ relative to the output row, at the step's first input column
        const base = (g: FunctionBuilder) => {
          g.get(xRow);
          if (stride === 1) g.get(j).i32Add();
          else g.get(j).i32Const(1).i32Shl().i32Add();
          if (p > 0) g.get(rowBytes).i32Const(p).i32Mul().i32Add();
          return g;
        };
        if (stride === 1) base(f).v128Load(4 * q);
        else {
          // columns 2j + q: lanes (0, 2, 4, 6) or (1, 3, 5, 7) of the 8 floats from column q & ~1
          const first = q === 2 ? 8 : 0;
          base(f).v128Load(first);
          base(f).v128Load(first + 16);
          if (q === 1) f.f32x4Shuffle(1, 3, 5, 7);
          else f.f32x4Shuffle(0, 2, 4, 6);
        }
        if (masked) f.get(mask).v128And();
        f.set(xv);
        multiplyAdd(f, variant, (g) => g.get(dv), (g) => g.get(xv), (g) => g.get(acc[t]!));
        f.set(acc[t]!);
      }
    }
  };

  f.block().loop();
  {
    f.get(channels).i32Eqz().brIf(1);
    // copy the x plane into the bordered plane, row by row
    f.get(start).set(d);
    f.get(h).set(r);
    f.block().loop();
    {
      f.get(r).i32Eqz().brIf(1);
      f.get(x).get(w).i32Const(2).i32Shl().i32Add().set(end);
      f.get(x).get(w).i32Const(-4).i32And().i32Const(2).i32Shl().i32Add().set(vecEnd);
      f.get(d).set(src); // src walks the destination row
      f.block().loop();
      f.get(x).get(vecEnd).i32GeU().brIf(1);
      f.get(src).get(x).v128Load().v128Store();
      f.get(x).i32Const(16).i32Add().set(x);
      f.get(src).i32Const(16).i32Add().set(src);
      f.br(0).end().end();
      f.block().loop();
      f.get(x).get(end).i32GeU().brIf(1);
      f.get(src).get(x).f32Load().f32Store();
      f.get(x).i32Const(4).i32Add().set(x);
      f.get(src).i32Const(4).i32Add().set(src);
      f.br(0).end().end();
      f.get(d).get(rowBytes).i32Add().set(d);
      f.get(r).i32Const(1).i32Sub().set(r);
      f.br(0);
    }
    f.end().end();
    // nine sums over the dY plane
    for (const a of acc) f.f32x4Const(0, 0, 0, 0).set(a);
    f.get(dy).set(dyRow);
    f.get(plane).set(xRow);
    f.i32Const(0).set(i);
    f.block().loop();
    {
      f.get(i).get(ho).i32GeU().brIf(1);
      f.i32Const(0).set(j);
      f.block().loop();
      f.get(j).get(jVec).i32GeU().brIf(1);
      step(false);
      f.get(j).i32Const(16).i32Add().set(j);
      f.br(0).end().end();
      f.get(wo).i32Const(3).i32And().if();
      step(true);
      f.end();
      f.get(dyRow).get(wo).i32Const(2).i32Shl().i32Add().set(dyRow);
      f.get(xRow).get(rowBytes).i32Add().set(xRow);
      if (stride === 2) f.get(xRow).get(rowBytes).i32Add().set(xRow);
      f.get(i).i32Const(1).i32Add().set(i);
      f.br(0);
    }
    f.end().end();
    for (let t = 0; t < 9; t++) {
      f.get(sums);
      f.get(acc[t]!).get(acc[t]!).get(acc[t]!).f32x4Shuffle(1, 0, 3, 2).f32x4Add().set(sum); // (l0 + l1), (l2 + l3)
      f.get(sum).f32x4ExtractLane(0).get(sum).f32x4ExtractLane(2).f32Add();
      f.f32Store(4 * t);
    }
    f.get(dyRow).set(dy); // dY of the next channel follows this one's
    f.get(sums).i32Const(36).i32Add().set(sums);
    f.get(channels).i32Const(1).i32Sub().set(channels);
    f.br(0);
  }
  f.end().end();
}
