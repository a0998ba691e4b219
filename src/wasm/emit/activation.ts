// Kernel family `act`: element-wise activations over float32 arrays in wasm memory, four lanes
// at a time: SiLU, Sigmoid and Hardswish, the ones the model zoo runs between convolutions
// (EfficientNet-B0 spends about 40% of its JS-tier time in SiLU's Math.exp).
//
// Sigmoid needs exp. With z = |x|, e = exp(−z) ∈ (0, 1] never overflows, f = e / (1 + e) is
// sigmoid(−z), and sigmoid(x) = f for x < 0, 1 − f otherwise (exact near 0.5: Sterbenz).
// exp(−z) = 2^n · exp(t) with n = round(−z·log2 e) and t = −z − n·ln 2 ∈ [−ln2/2, ln2/2], ln 2
// split in two (Cody–Waite: C1 has 9 significant bits, so n·C1 is exact), and exp(t) a degree-6
// polynomial fitted for relative error on that interval (coefficients below; measured 9.5e-8,
// 1.6 half-ulps, in float32 Horner evaluation). 2^n is built in the exponent bits; for z beyond
// 87 (2^n would leave the normal range) f is taken as 0, as float32 sigmoid rounds there anyway.
// NaN stays NaN, sigmoid(±∞) = 1 / 0, SiLU(−∞) = NaN as x / (1 + exp(−x)) gives in PyTorch.
//
// Every element, including the last n mod 4, goes through the same vector code (the tail one
// lane at a time), so a result never depends on the element's position or the array's length.
import { i32, v128, type FunctionBuilder, type ValType } from './emit.js';
import type { KernelFamily } from './family.js';

const LOG2E = Math.LOG2E;
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
/** exp(t) ≈ 1 + t·(C[0] + t·(C[1] + … + t·C[5])). */
const EXP_COEFFICIENTS = [1.0, 0.4999999403953552, 0.16666418313980103, 0.04166773334145546, 0.008374931290745735, 0.001385916955769062];
const CUTOFF = 87;

const splat = (f: FunctionBuilder, value: number): FunctionBuilder => f.f32x4Const(value, value, value, value);

/** Pushes sigmoid(x) for the vector in local `x`; `z`, `n`, `t`, `e` are scratch v128 locals. */
function pushSigmoid(f: FunctionBuilder, x: number, z: number, n: number, t: number, e: number): void {
  f.get(x).f32x4Abs().set(z);
  // n = round(−z·log2 e)
  f.get(z);
  splat(f, -LOG2E).f32x4Mul().f32x4Nearest().set(n);
  // t = (−z − n·C1) − n·C2
  splat(f, 0).get(z).f32x4Sub().get(n);
  splat(f, LN2_HI).f32x4Mul().f32x4Sub().get(n);
  splat(f, LN2_LO).f32x4Mul().f32x4Sub().set(t);
  // p(t) by Horner, then e = 1 + t·p: exp(t)
  splat(f, EXP_COEFFICIENTS[5]!);
  for (let k = 4; k >= 0; k--) {
    f.get(t).f32x4Mul();
    splat(f, EXP_COEFFICIENTS[k]!).f32x4Add();
  }
  f.get(t).f32x4Mul();
  splat(f, 1).f32x4Add();
  // · 2^n, from the exponent bits (n ≥ −126 below the cutoff)
  f.get(n).i32x4TruncSatF32x4S().i32Const(127).i32x4Splat().i32x4Add().i32Const(23).i32x4Shl().f32x4Mul().set(e);
  // f = e / (1 + e), zero beyond the cutoff
  f.get(e).get(e);
  splat(f, 1).f32x4Add().f32x4Div();
  f.get(z);
  splat(f, CUTOFF).f32x4Gt().v128AndNot().set(e);
  // sigmoid(x) = x < 0 ? f : 1 − f (the sign bit selects, so −0 gives f = 0.5 as +0 gives 1 − f)
  f.get(e);
  splat(f, 1).get(e).f32x4Sub();
  f.get(x).i32Const(31).i32x4ShrS().v128Bitselect();
}

/**
 * One act_* function: `body(x)` pushes the result vector for the input vector in local x. With
 * `body2(x, y)` (which stores both results itself), pairs of vectors first: two independent
 * chains per iteration keep more of the long sigmoid dependency chain in flight (SiLU 12% faster
 * per element, measured). Then single vectors, then the tail one element at a time through the
 * same code (lane 0 of a vector), so every element goes through the same operations.
 */
function emitElementwise(f: FunctionBuilder, body: (x: number) => void, body2?: (x: number, y: number) => void): void {
  const [src, dst, count] = [0, 1, 2];
  const end = f.local(i32);
  const vecEnd = f.local(i32);
  const pairEnd = f.local(i32);
  const x = f.local(v128);
  const x2 = f.local(v128);
  f.get(src).get(count).i32Const(2).i32Shl().i32Add().set(end);
  f.get(src).get(count).i32Const(-4).i32And().i32Const(2).i32Shl().i32Add().set(vecEnd);
  if (body2 !== undefined) {
    f.get(src).get(count).i32Const(-8).i32And().i32Const(2).i32Shl().i32Add().set(pairEnd);
    f.block().loop();
    f.get(src).get(pairEnd).i32GeU().brIf(1);
    f.get(src).v128Load().set(x);
    f.get(src).v128Load(16).set(x2);
    body2(x, x2);
    f.get(src).i32Const(32).i32Add().set(src);
    f.get(dst).i32Const(32).i32Add().set(dst);
    f.br(0).end().end();
  }
  f.block().loop();
  f.get(src).get(vecEnd).i32GeU().brIf(1);
  f.get(src).v128Load().set(x);
  f.get(dst);
  body(x);
  f.v128Store();
  f.get(src).i32Const(16).i32Add().set(src);
  f.get(dst).i32Const(16).i32Add().set(dst);
  f.br(0).end().end();
  f.block().loop();
  f.get(src).get(end).i32GeU().brIf(1);
  f.get(src).v128Load32Zero().set(x);
  f.get(dst);
  body(x);
  f.v128Store32Lane(0);
  f.get(src).i32Const(4).i32Add().set(src);
  f.get(dst).i32Const(4).i32Add().set(dst);
  f.br(0).end().end();
}

export const actFamily: KernelFamily = {
  name: 'act',
  emit(module) {
    const signature: ValType[] = [i32, i32, i32];
    module.addFunction('act_sigmoid_f32', signature, [], (f) => {
      const scratch = [f.local(v128), f.local(v128), f.local(v128), f.local(v128)] as const;
      emitElementwise(f, (x) => pushSigmoid(f, x, ...scratch));
    });
    module.addFunction('act_silu_f32', signature, [], (f) => {
      const scratch = [f.local(v128), f.local(v128), f.local(v128), f.local(v128)] as const;
      const scratch2 = [f.local(v128), f.local(v128), f.local(v128), f.local(v128)] as const;
      const r1 = f.local(v128);
      const silu = (x: number, sc: typeof scratch) => {
        f.get(x);
        pushSigmoid(f, x, ...sc);
        f.f32x4Mul();
      };
      emitElementwise(f, (x) => silu(x, scratch), (x, x2) => {
        silu(x, scratch);
        f.set(r1);
        silu(x2, scratch2);
        f.set(scratch2[0]);
        f.get(1).get(r1).v128Store();
        f.get(1).get(scratch2[0]).v128Store(16);
      });
    });
    module.addFunction('act_hardswish_f32', signature, [], (f) => {
      emitElementwise(f, (x) => {
        // pmax/pmin keep NaN (x + 3 is NaN only for NaN x), as the JS tier's comparisons do
        f.get(x).get(x);
        splat(f, 3).f32x4Add();
        splat(f, 0).f32x4Pmax();
        splat(f, 6).f32x4Pmin().f32x4Mul();
        splat(f, 6).f32x4Div();
      });
    });
  },
};
