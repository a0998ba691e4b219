// Kernel family `gpack`: packing A = Bᵀ for the GEMM (gemm-tile.ts) inside wasm, where the JS
// loop (pointwise-backward.ts, packRowsTransposed) cost as much as the GEMM itself on small
// planes: the 1×1 gradInput's A is Wᵀ, a new one every training step. Layout as gemm.ts's
// packRows: blocks of MR rows (the variant's tile rows), MR zero biases, then for each k the MR
// values B[k][m0 .. m0 + MR − 1], zero past the last row.
import { i32, type FunctionBuilder } from './emit.js';
import type { KernelFamily, KernelVariant } from './family.js';
import { gemmTileRows } from './gemm-tile.js';

/** The family; `rows` overrides the variant's tile rows (as gemmFamily's, for measuring other tiles). */
export function gpackFamily(rows?: number): KernelFamily {
  return {
    name: 'gpack',
    emit(module, variant) {
      module.addFunction('gpack_t', [i32, i32, i32, i32, i32], [], (f) => emitPackTransposed(f, rows ?? gemmTileRows(variant), variant));
    },
  };
}

function emitPackTransposed(f: FunctionBuilder, MR: number, _variant: KernelVariant): void {
  const [dst, src, ldb, rows, k] = [0, 1, 2, 3, 4];
  const m0 = f.local(i32);
  const live = f.local(i32);
  const kk = f.local(i32);
  const s = f.local(i32);
  const d = f.local(i32);
  const r = f.local(i32);
  f.i32Const(0).set(m0);
  f.get(dst).set(d);
  f.block().loop();
  {
    f.get(m0).get(rows).i32GeU().brIf(1);
    f.get(rows).get(m0).i32Sub().set(live);
    // MR zero biases
    for (let t = 0; t < MR; t++) f.get(d).f32Const(0).f32Store(4 * t);
    f.get(d).i32Const(4 * MR).i32Add().set(d);
    f.get(src).get(m0).i32Const(2).i32Shl().i32Add().set(s);
    f.i32Const(0).set(kk);
    f.get(live).i32Const(MR).i32GeU().if();
    {
      // a full block: MR consecutive floats of B's row kk, for every kk
      f.block().loop();
      f.get(kk).get(k).i32GeU().brIf(1);
      for (let t = 0; t < MR; t++) f.get(d).get(s).f32Load(4 * t).f32Store(4 * t);
      f.get(d).i32Const(4 * MR).i32Add().set(d);
      f.get(s).get(ldb).i32Add().set(s);
      f.get(kk).i32Const(1).i32Add().set(kk);
      f.br(0);
      f.end().end();
    }
    f.else();
    {
      // the last, partial block: rows past `live` are zero
      f.block().loop();
      f.get(kk).get(k).i32GeU().brIf(1);
      f.i32Const(0).set(r);
      f.block().loop();
      f.get(r).i32Const(MR).i32GeU().brIf(1);
      f.get(d).get(r).i32Const(2).i32Shl().i32Add();
      f.get(s).get(r).i32Const(2).i32Shl().i32Add().f32Load().f32Const(0).get(r).get(live).i32LtU().select();
      f.f32Store();
      f.get(r).i32Const(1).i32Add().set(r);
      f.br(0);
      f.end().end();
      f.get(d).i32Const(4 * MR).i32Add().set(d);
      f.get(s).get(ldb).i32Add().set(s);
      f.get(kk).i32Const(1).i32Add().set(kk);
      f.br(0);
      f.end().end();
    }
    f.end();
    f.get(m0).i32Const(MR).i32Add().set(m0);
    f.br(0);
  }
  f.end().end();
}
