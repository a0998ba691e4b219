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
// The relaxed variant evaluates the polynomial with relaxed_madd (multiplyAdd), within the same
// ulp bounds; each variant is bitwise repeatable.
//
// Speed (measured on the x64 machines of the benchmarks, V8 13.6): the sigmoid is a chain of
// ~25 dependent vector operations, and V8 schedules instructions in the order the code gives
// them, so one vector at a time ran at the chain's latency (~2 ns per element). The main loop
// therefore takes VECTORS vectors and emits every step for all of them before the next step
// (independent operations side by side), and the constants live in locals set before the loops
// (V8 rebuilds an f32x4.const at each use, several instructions each): about 1 ns per element.
import { i32, v128, type FunctionBuilder, type ValType } from './emit.js';
import { multiplyAdd, type KernelFamily, type KernelVariant } from './family.js';

const LOG2E = Math.LOG2E;
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
/** exp(t) ≈ 1 + t·(C[0] + t·(C[1] + … + t·C[5])). */
const EXP_COEFFICIENTS = [1.0, 0.4999999403953552, 0.16666418313980103, 0.04166773334145546, 0.008374931290745735, 0.001385916955769062];
const CUTOFF = 87;
/**
 * 1.5·2^23 + 127: adding it to y (|y| < 2^22) rounds y to the nearest integer n (ties to even,
 * as f32x4.nearest) and leaves n + 127 in the low mantissa bits, so the bits shifted left by 23
 * are 2^n, and subtracting it again gives n exactly (XNNPACK's "magic bias"): the same n as
 * nearest, without trunc_sat, which x64 V8 expands into several instructions.
 */
const MAGIC_BIAS = 12582912 + 127;
/** Vectors per main-loop iteration (measured 1, 2, 3, 4, 6: 4 and 6 tie, 4 spills less). */
const VECTORS = 4;

/** A constant in a v128 local, set where this is called (before the loops). */
function constant(f: FunctionBuilder, value: number): number {
  const local = f.local(v128);
  f.f32x4Const(value, value, value, value).set(local);
  return local;
}

/**
 * Emits `ys[j] = g(xs[j])` for every j, for vectors in locals; each step for every vector before
 * the next step. Called once per loop of emitElementwise (with VECTORS vectors, then one).
 */
type VectorBody = (xs: readonly number[], ys: readonly number[]) => void;

/** The sigmoid (times x for SiLU) as a VectorBody; its constants are set where this is called. */
function sigmoidBody(f: FunctionBuilder, variant: KernelVariant, timesX: boolean): VectorBody {
  const minusLog2e = constant(f, -LOG2E);
  const magic = constant(f, MAGIC_BIAS);
  const ln2Hi = constant(f, LN2_HI);
  const ln2Lo = constant(f, LN2_LO);
  const coefficients = EXP_COEFFICIENTS.map((c) => constant(f, c));
  const one = constant(f, 1);
  const cutoff = constant(f, CUTOFF);
  const zero = constant(f, 0);
  return (xs, ys) => {
    const each = (step: (j: number) => void): void => xs.forEach((_, j) => step(j));
    const locals = (): number[] => xs.map(() => f.local(v128));
    const [z, n, t, e] = [locals(), locals(), locals(), locals()];
    const p = ys; // the polynomial's partial sums, before ys holds the result
    each((j) => f.get(xs[j]!).f32x4Abs().set(z[j]!));
    // n = round(−z·log2 e), biased (MAGIC_BIAS): 2^n from its bits into e, then n itself
    each((j) => f.get(z[j]!).get(minusLog2e).f32x4Mul().get(magic).f32x4Add().set(n[j]!));
    each((j) => f.get(n[j]!).i32Const(23).i32x4Shl().set(e[j]!));
    each((j) => f.get(n[j]!).get(magic).f32x4Sub().set(n[j]!));
    // t = (−z − n·C1) − n·C2 (Cody–Waite)
    each((j) => f.get(zero).get(z[j]!).f32x4Sub().get(n[j]!).get(ln2Hi).f32x4Mul().f32x4Sub().set(t[j]!));
    each((j) => f.get(t[j]!).get(n[j]!).get(ln2Lo).f32x4Mul().f32x4Sub().set(t[j]!));
    // p(t) by Horner, then exp(t) = 1 + t·p, times 2^n (n ≥ −126 below the cutoff)
    each((j) => f.get(coefficients[5]!).set(p[j]!));
    for (let c = 4; c >= 0; c--) {
      each((j) => multiplyAdd(f, variant, (g) => g.get(p[j]!), (g) => g.get(t[j]!), (g) => g.get(coefficients[c]!)).set(p[j]!));
    }
    each((j) => multiplyAdd(f, variant, (g) => g.get(p[j]!), (g) => g.get(t[j]!), (g) => g.get(one)).get(e[j]!).f32x4Mul().set(e[j]!));
    // f = e / (1 + e), zero beyond the cutoff
    each((j) => f.get(e[j]!).get(e[j]!).get(one).f32x4Add().f32x4Div().set(e[j]!));
    each((j) => f.get(e[j]!).get(z[j]!).get(cutoff).f32x4Gt().v128AndNot().set(e[j]!));
    // sigmoid(x) = x < 0 ? f : 1 − f (the sign bit selects, so −0 gives f = 0.5 as +0 gives 1 − f)
    each((j) => {
      f.get(e[j]!).get(one).get(e[j]!).f32x4Sub().get(xs[j]!).i32Const(31).i32x4ShrS().v128Bitselect();
      if (timesX) f.get(xs[j]!).f32x4Mul();
      f.set(ys[j]!);
    });
  };
}

/**
 * One act_* function over (src, dst, count): VECTORS vectors per iteration, then single vectors,
 * then the tail one element at a time (lane 0 of a vector), every one through `body`, so every
 * element goes through the same operations wherever it lies.
 */
function emitElementwise(f: FunctionBuilder, body: VectorBody): void {
  const [src, dst, count] = [0, 1, 2];
  const end = f.local(i32);
  const vecEnd = f.local(i32);
  const wideEnd = f.local(i32);
  const xs = Array.from({ length: VECTORS }, () => f.local(v128));
  const ys = Array.from({ length: VECTORS }, () => f.local(v128));
  f.get(src).get(count).i32Const(2).i32Shl().i32Add().set(end);
  f.get(src).get(count).i32Const(-4).i32And().i32Const(2).i32Shl().i32Add().set(vecEnd);
  f.get(src).get(count).i32Const(-4 * VECTORS).i32And().i32Const(2).i32Shl().i32Add().set(wideEnd);
  const loop = (stop: number, vectors: number, load: (j: number) => void, store: (j: number) => void, bytes: number): void => {
    f.block().loop();
    f.get(src).get(stop).i32GeU().brIf(1);
    for (let j = 0; j < vectors; j++) {
      load(j);
      f.set(xs[j]!);
    }
    body(xs.slice(0, vectors), ys.slice(0, vectors));
    for (let j = 0; j < vectors; j++) store(j);
    f.get(src).i32Const(bytes).i32Add().set(src);
    f.get(dst).i32Const(bytes).i32Add().set(dst);
    f.br(0).end().end();
  };
  loop(wideEnd, VECTORS, (j) => f.get(src).v128Load(16 * j), (j) => f.get(dst).get(ys[j]!).v128Store(16 * j), 16 * VECTORS);
  loop(vecEnd, 1, () => f.get(src).v128Load(), () => f.get(dst).get(ys[0]!).v128Store(), 16);
  loop(end, 1, () => f.get(src).v128Load32Zero(), () => f.get(dst).get(ys[0]!).v128Store32Lane(0), 4);
}

export const actFamily: KernelFamily = {
  name: 'act',
  emit(module, variant) {
    const signature: ValType[] = [i32, i32, i32];
    module.addFunction('act_sigmoid_f32', signature, [], (f) => emitElementwise(f, sigmoidBody(f, variant, false)));
    module.addFunction('act_silu_f32', signature, [], (f) => emitElementwise(f, sigmoidBody(f, variant, true)));
    module.addFunction('act_hardswish_f32', signature, [], (f) => {
      const [three, zero, six] = [constant(f, 3), constant(f, 0), constant(f, 6)];
      emitElementwise(f, (xs, ys) => {
        // pmax/pmin keep NaN (x + 3 is NaN only for NaN x), as the JS tier's comparisons do
        xs.forEach((x, j) => {
          f.get(x).get(x).get(three).f32x4Add().get(zero).f32x4Pmax().get(six).f32x4Pmin().f32x4Mul().get(six).f32x4Div().set(ys[j]!);
        });
      });
    });
    module.addFunction('act_scale_f32', [i32, i32, i32, i32, i32], [], emitChannelScale);
    module.addFunction('act_add_f32', [i32, i32, i32, i32], [], emitAdd);
  },
};

/** act_scale_f32 (see ActExports): per plane, its scale splatted, then vectors and the 0..3 left one at a time. */
function emitChannelScale(f: FunctionBuilder): void {
  const [x, y, plane, scales, planes] = [0, 1, 2, 3, 4];
  const s = f.local(v128);
  const end = f.local(i32);
  const vecEnd = f.local(i32);
  f.block().loop();
  f.get(planes).i32Eqz().brIf(1);
  f.get(scales).v128Load32Splat().set(s);
  f.get(x).get(plane).i32Const(2).i32Shl().i32Add().set(end);
  f.get(x).get(plane).i32Const(-4).i32And().i32Const(2).i32Shl().i32Add().set(vecEnd);
  f.block().loop();
  f.get(x).get(vecEnd).i32GeU().brIf(1);
  f.get(y).get(x).v128Load().get(s).f32x4Mul().v128Store();
  f.get(x).i32Const(16).i32Add().set(x);
  f.get(y).i32Const(16).i32Add().set(y);
  f.br(0).end().end();
  f.block().loop();
  f.get(x).get(end).i32GeU().brIf(1);
  f.get(y).get(x).f32Load().get(scales).f32Load().f32Mul().f32Store();
  f.get(x).i32Const(4).i32Add().set(x);
  f.get(y).i32Const(4).i32Add().set(y);
  f.br(0).end().end();
  f.get(scales).i32Const(4).i32Add().set(scales);
  f.get(planes).i32Const(1).i32Sub().set(planes);
  f.br(0).end().end();
}

/** act_add_f32 (see ActExports): vectors, then the 0..3 left one at a time. */
function emitAdd(f: FunctionBuilder): void {
  const [a, b, out, n] = [0, 1, 2, 3];
  const end = f.local(i32);
  const vecEnd = f.local(i32);
  f.get(a).get(n).i32Const(2).i32Shl().i32Add().set(end);
  f.get(a).get(n).i32Const(-4).i32And().i32Const(2).i32Shl().i32Add().set(vecEnd);
  const step = (bytes: number) => {
    f.get(a).i32Const(bytes).i32Add().set(a);
    f.get(b).i32Const(bytes).i32Add().set(b);
    f.get(out).i32Const(bytes).i32Add().set(out);
  };
  f.block().loop();
  f.get(a).get(vecEnd).i32GeU().brIf(1);
  f.get(out).get(a).v128Load().get(b).v128Load().f32x4Add().v128Store();
  step(16);
  f.br(0).end().end();
  f.block().loop();
  f.get(a).get(end).i32GeU().brIf(1);
  f.get(out).get(a).f32Load().get(b).f32Load().f32Add().f32Store();
  step(4);
  f.br(0).end().end();
}
