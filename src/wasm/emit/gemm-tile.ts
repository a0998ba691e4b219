// Kernel family `gemm`: C[MR rows, nc columns] = clamp(bias + A·B), with A the packed weights
// (rows = output channels) and B the activations, for NCHW convolutions.
//
// The XNNPACK "loadsplat" scheme with the roles set for NCHW: in NCHW a convolution's output is
// Y[channel, pixel], and pixels are contiguous, so the weights are the broadcast operand and the
// activations the vector operand. The register tile is MR output channels × 8 pixels: 2·MR f32x4
// accumulators, 2 vectors of B and 1 broadcast of A in flight. x86 V8 allocates about 14 of the
// 16 xmm registers, so MR·2 + 3 must stay within that or the loop spills.
//
// MR per variant (gemmTileRows), measured with the interleaved A/B of bench/gemm-tile.mjs on
// MobileNet 1×1 layers and two dense 3×3 convolutions (AMD EPYC Zen 4, process CPU time):
//   plain (mul+add)         4 × 8. 6 × 8 ran 0.71–0.93× of it on Node 20 and on Node 24; 5×8,
//                           8×8 and 4×16 lost too in a kernel-only sweep (spills).
//   relaxed (relaxed_madd)  6 × 8. On Node 24 (V8 13.6), 1.00–1.25× the 4 × 8 tile, largest on
//                           the deep 7×7 and 14×14 layers, where 8 accumulators leave the FMA
//                           latency exposed; 4 × 16 and 8 × 8 spill. On Node 20 (V8 11.3, relaxed
//                           only behind a flag) 6 × 8 lost (0.73–1.01×): its register allocator
//                           spills the 12 accumulators. Relaxed is the default only where it
//                           validates without flags (Node ≥ 22, current browsers), so 6 × 8.
//
//   packed A (packRows in gemm.ts): per block of MR rows, MR biases then, for each k, the MR
//     rows' weights: [b0 … b(MR-1) | w0k0 … w(MR-1)k0 | w0k1 … ], zero-padded to MR rows.
//   B: row k of B starts at `b + koff[k]` (koff: a table of kc byte offsets) and runs along the
//     pixels. The table lets one kernel serve the 1×1 path (koff[k] = k·H·W·4) and the
//     implicit-im2col path (koff[k] = offset of input channel c, tap (p, q) in a padded input).
//   C: row r at `c + r·ldc`, `nc` contiguous floats.
//
// Rows mr..MR-1 alias row mr-1 (XNNPACK's trick, no branches in the loop): they compute garbage
// from the next packed rows and store it first, and row mr-1 then overwrites it with its value.
// Column tiles are 8 wide, then 4, 2, 1 for the tail (lane loads/stores, nothing read or written
// past column nc). Every output value is bias + Σ_k a·b accumulated in k order, whatever tile or
// row block computed it, so splitting rows or columns over threads changes no bit. The JS side
// asks the module for MR (`gemm_mr`), so packing always matches the kernel it runs.
import { f32, i32, v128, type FunctionBuilder } from './emit.js';
import { multiplyAdd, type KernelFamily, type KernelVariant } from './family.js';

/** Columns of the register tile. */
export const GEMM_NR = 8;

/** MR of the relaxed variant (see the file comment); the plain variant's is 4. */
export const RELAXED_ROWS = 6;

/** Rows of the register tile of a variant. */
export function gemmTileRows(variant: Pick<KernelVariant, 'relaxed'>): number {
  return variant.relaxed ? RELAXED_ROWS : 4;
}

type Width = 8 | 4 | 2 | 1;

/** The family with the default tile rows per variant; `rows` overrides them (for measuring other tiles). */
export function gemmFamily(rows?: number): KernelFamily {
  return {
    name: 'gemm',
    emit(module, variant) {
      const MR = rows ?? gemmTileRows(variant);
      module.addFunction('gemm_f32', [i32, i32, i32, i32, i32, i32, i32, i32, f32, f32], [], (f) => emitGemm(f, variant, MR));
      module.addFunction('gemm_mr', [], [i32], (f) => f.i32Const(MR));
    },
  };
}

function emitGemm(f: FunctionBuilder, variant: KernelVariant, MR: number): void {
  const [mr, nc, kc, a, b, koff, c0, ldc, min, max] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const cRow = [c0];
  for (let r = 1; r < MR; r++) cRow.push(f.local(i32));
  const koffEnd = f.local(i32);
  const ak = f.local(i32);
  const kp = f.local(i32);
  const bk = f.local(i32);
  const vmin = f.local(v128);
  const vmax = f.local(v128);
  const va = f.local(v128);
  const vb0 = f.local(v128);
  const vb1 = f.local(v128);
  const acc = Array.from({ length: MR }, () => [f.local(v128), f.local(v128)] as const);

  // c_r = mr > r ? c_{r-1} + ldc : c_{r-1}   (rows past mr alias row mr - 1)
  for (let r = 1; r < MR; r++) {
    f.get(cRow[r - 1]!).get(ldc).i32Add().get(cRow[r - 1]!).get(mr).i32Const(r).i32GtU().select().set(cRow[r]!);
  }
  f.get(koff).get(kc).i32Const(2).i32Shl().i32Add().set(koffEnd);
  f.get(min).f32x4Splat().set(vmin);
  f.get(max).f32x4Splat().set(vmax);
  const step = 4 * MR; // bytes of A per k

  const tile = (width: Width) => {
    const halves = width === 8 ? 2 : 1;
    // accumulators = the bias of each row
    for (let r = 0; r < MR; r++) {
      f.get(a).v128Load32Splat(4 * r).set(acc[r]![0]);
      if (halves === 2) f.get(acc[r]![0]).set(acc[r]![1]);
    }
    f.get(a).i32Const(step).i32Add().set(ak);
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
      for (let r = 0; r < MR; r++) {
        f.get(ak).v128Load32Splat(4 * r).set(va);
        for (let h = 0; h < halves; h++) {
          const vb = h === 0 ? vb0 : vb1;
          multiplyAdd(f, variant, (g) => g.get(va), (g) => g.get(vb), (g) => g.get(acc[r]![h]!));
          f.set(acc[r]![h]!);
        }
      }
      f.get(ak).i32Const(step).i32Add().set(ak);
      f.get(kp).i32Const(4).i32Add().tee(kp).get(koffEnd).i32LtU().brIf(0);
    }
    f.end();
    // clamp: pmax(acc, min) keeps NaN (a < min is false for NaN), as does pmin(acc, max)
    for (let r = 0; r < MR; r++) {
      for (let h = 0; h < halves; h++) {
        f.get(acc[r]![h]!).get(vmin).f32x4Pmax().get(vmax).f32x4Pmin().set(acc[r]![h]!);
      }
    }
    // store rows MR-1..0, so an aliased row is overwritten by the real one
    for (let r = MR - 1; r >= 0; r--) {
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
  f.get(nc).i32Const(GEMM_NR).i32LtU().brIf(1);
  tile(8);
  advance(8);
  f.get(nc).i32Const(GEMM_NR).i32Sub().set(nc);
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
