// Kernel family `gemm4x8`: C[4 rows, nc columns] = clamp(bias + A·B), with A the packed weights
// (rows = output channels) and B the activations, for NCHW convolutions.
//
// The XNNPACK "loadsplat" scheme with the roles set for NCHW: in NCHW a convolution's output is
// Y[channel, pixel], and pixels are contiguous, so the weights are the broadcast operand and the
// activations the vector operand. The register tile is 4 output channels × 8 pixels: 8 f32x4
// accumulators, 2 vectors of B and 1 broadcast of A in flight (11 of x86's 16 xmm registers).
//
//   packed A (packWeights4 in gemm.ts): per block of 4 rows, 4 biases then, for each k, the 4
//     rows' weights: [b0 b1 b2 b3 | w0k0 w1k0 w2k0 w3k0 | w0k1 ... ], zero-padded to 4 rows.
//   B: row k of B starts at `b + koff[k]` (koff: a table of kc byte offsets) and runs along the
//     pixels. The table lets one kernel serve the 1×1 path (koff[k] = k·H·W·4) and the
//     implicit-im2col path (koff[k] = offset of input channel c, tap (p, q) in a padded input).
//   C: row r at `c + r·ldc`, `nc` contiguous floats.
//
// Rows mr..3 alias row mr-1 (XNNPACK's trick, no branches in the loop): they compute garbage
// from the next packed rows and store it first, and row mr-1 then overwrites it with its value.
// Column tiles are 8 wide, then 4, 2, 1 for the tail (lane loads/stores, nothing read or written
// past column nc). Every output value is bias + Σ_k a·b accumulated in k order, whatever tile or
// row block computed it, so splitting rows or columns over threads changes no bit.
import { f32, i32, v128, type FunctionBuilder } from './emit.js';
import { multiplyAdd, type KernelFamily, type KernelVariant } from './family.js';

export interface Gemm4x8Exports {
  /**
   * C rows 0..mr-1 (1 ≤ mr ≤ 4), columns 0..nc-1: clamp(bias + Σ_k A[r,k]·B[k,j], min, max).
   * Pointers are byte addresses; `koff` points at kc i32 byte offsets of B's rows from `b`.
   */
  gemm4x8_f32(mr: number, nc: number, kc: number, a: number, b: number, koff: number, c: number, ldc: number, min: number, max: number): void;
}

/** Rows and columns of the register tile. */
export const GEMM_MR = 4;
export const GEMM_NR = 8;

type Width = 8 | 4 | 2 | 1;

export const gemm4x8Family: KernelFamily = {
  name: 'gemm4x8',
  emit(module, variant) {
    module.addFunction('gemm4x8_f32', [i32, i32, i32, i32, i32, i32, i32, i32, f32, f32], [], (f) => emitGemm(f, variant));
  },
};

function emitGemm(f: FunctionBuilder, variant: KernelVariant): void {
  const [mr, nc, kc, a, b, koff, c0, ldc, min, max] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const c1 = f.local(i32);
  const c2 = f.local(i32);
  const c3 = f.local(i32);
  const koffEnd = f.local(i32);
  const ak = f.local(i32);
  const kp = f.local(i32);
  const bk = f.local(i32);
  const vmin = f.local(v128);
  const vmax = f.local(v128);
  const va = f.local(v128);
  const vb0 = f.local(v128);
  const vb1 = f.local(v128);
  const acc = [0, 1, 2, 3].map(() => [f.local(v128), f.local(v128)] as const);
  const cRow = [c0, c1, c2, c3];

  // c1 = mr < 2 ? c0 : c0 + ldc;  c2 = mr <= 2 ? c1 : c1 + ldc;  c3 = mr != 4 ? c2 : c2 + ldc
  f.get(c0).get(ldc).i32Add().get(c0).get(mr).i32Const(2).i32GeU().select().set(c1);
  f.get(c1).get(ldc).i32Add().get(c1).get(mr).i32Const(2).i32GtU().select().set(c2);
  f.get(c2).get(ldc).i32Add().get(c2).get(mr).i32Const(4).i32Eq().select().set(c3);
  f.get(koff).get(kc).i32Const(2).i32Shl().i32Add().set(koffEnd);
  f.get(min).f32x4Splat().set(vmin);
  f.get(max).f32x4Splat().set(vmax);

  const tile = (width: Width) => {
    const halves = width === 8 ? 2 : 1;
    // accumulators = the bias of each row
    for (let r = 0; r < 4; r++) {
      f.get(a).v128Load32Splat(4 * r).set(acc[r]![0]);
      if (halves === 2) f.get(acc[r]![0]).set(acc[r]![1]);
    }
    f.get(a).i32Const(16).i32Add().set(ak);
    f.get(koff).set(kp);
    f.loop();
    {
      // bk = b + koff[k]
      f.get(b).get(kp).i32Load().i32Add().set(bk);
      if (width === 8) {
        f.get(bk).v128Load().set(vb0);
        f.get(bk).v128Load(16).set(vb1);
      } else if (width === 4) f.get(bk).v128Load().set(vb0);
      else if (width === 2) f.get(bk).v128Load64Zero().set(vb0);
      else f.get(bk).v128Load32Zero().set(vb0);
      for (let r = 0; r < 4; r++) {
        f.get(ak).v128Load32Splat(4 * r).set(va);
        for (let h = 0; h < halves; h++) {
          const vb = h === 0 ? vb0 : vb1;
          multiplyAdd(f, variant, (g) => g.get(va), (g) => g.get(vb), (g) => g.get(acc[r]![h]!));
          f.set(acc[r]![h]!);
        }
      }
      f.get(ak).i32Const(16).i32Add().set(ak);
      f.get(kp).i32Const(4).i32Add().tee(kp).get(koffEnd).i32LtU().brIf(0);
    }
    f.end();
    // clamp: pmax(acc, min) keeps NaN (a < min is false for NaN), as does pmin(acc, max)
    for (let r = 0; r < 4; r++) {
      for (let h = 0; h < halves; h++) {
        f.get(acc[r]![h]!).get(vmin).f32x4Pmax().get(vmax).f32x4Pmin().set(acc[r]![h]!);
      }
    }
    // store rows 3..0, so an aliased row is overwritten by the real one
    for (let r = 3; r >= 0; r--) {
      const row = cRow[r]!;
      if (width === 8) {
        f.get(row).get(acc[r]![0]).v128Store();
        f.get(row).get(acc[r]![1]).v128Store(16);
      } else if (width === 4) f.get(row).get(acc[r]![0]).v128Store();
      else if (width === 2) f.get(row).get(acc[r]![0]).v128Store64Lane(0);
      else f.get(row).get(acc[r]![0]).v128Store32Lane(0);
    }
  };

  const advance = (width: Width) => {
    const bytes = 4 * width;
    f.get(b).i32Const(bytes).i32Add().set(b);
    for (const row of cRow) f.get(row).i32Const(bytes).i32Add().set(row);
  };

  // full 8-wide tiles
  f.block().loop();
  f.get(nc).i32Const(8).i32LtU().brIf(1);
  tile(8);
  advance(8);
  f.get(nc).i32Const(8).i32Sub().set(nc);
  f.br(0);
  f.end().end();
  // the tail: 4, 2, 1 columns
  for (const width of [4, 2, 1] as const) {
    f.get(nc).i32Const(width).i32And().if();
    tile(width);
    if (width !== 1) advance(width);
    f.end();
  }
}
