// Kernel family `gemmt`: the 1×1 convolution with the roles of gemm-tile.ts swapped, for layers
// with few output pixels (7×7 and 14×14 planes): a register tile of MR pixels × 8 output
// channels, the pixels' input values splatted and the weights the vector operand.
//
// Why: gemm-tile.ts makes pixels the vector operand, 8 to a tile, so a 7×7 plane (49 pixels) is
// six full tiles and a one-column tile that costs as much as a full one (one pass over all of K
// for MR channels): 7 passes for 6.1 tiles of work. Here the leftover is a tile of fewer pixels,
// whose cost shrinks with them, as in XNNPACK's NHWC kernels. Measured on MobileNetV1/V2's deep
// layers: see src/wasm/gemm-transposed.ts, which chooses between the two.
//
//   packed W (packPanels in gemm-transposed.ts): per panel of 8 output channels, their 8 biases,
//     then for each k the 8 channels' weights: [b0 … b7 | w0k0 … w7k0 | w0k1 … ], zero-padded.
//   X: input row k (channel k of the group) at x + k·ldx, pixels contiguous.
//   Y: output channel o at y + o·ldy, pixels contiguous.
//
// Panels outside, pixel tiles inside (see emitGemmT), the pixels cut into tiles of nearly equal
// size, each size its own code, so no tile computes a pixel it does not store.
// Every output is bias + Σ_k x·w accumulated in k order with the variant's
// multiply-add, exactly as gemm-tile.ts computes it, so both kernels give the same bits and
// either may compute any part of a layer.
import { f32, i32, v128, type FunctionBuilder } from './emit.js';
import { multiplyAdd, type KernelFamily, type KernelVariant } from './family.js';
import { gemmTileRows } from './gemm-tile.js';
import { GEMMT_PANEL as GEMMT_NR } from '../abi.js';

export const gemmtFamily: KernelFamily = {
  name: 'gemmt',
  emit(module, variant) {
    const MR = gemmTileRows(variant);
    module.addFunction('gemmt_f32', [i32, i32, i32, i32, i32, i32, i32, i32, f32, f32, i32], [], (f) => emitGemmT(f, variant, MR));
  },
};

function emitGemmT(f: FunctionBuilder, variant: KernelVariant, MR: number): void {
  const [pixels, channels, kc, x, ldx, w, y, ldy, min, max, first] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const xb = f.local(i32); // the pixel tile's first input value (row 0)
  const yb = f.local(i32); // its first output value (channel 0 of the panel)
  const left = f.local(i32); // pixels not yet computed in this panel
  const xk = f.local(i32);
  const wk = f.local(i32);
  const k = f.local(i32);
  const column = Array.from({ length: GEMMT_NR }, () => f.local(i32)); // yb + j·ldy
  const vmin = f.local(v128);
  const vmax = f.local(v128);
  const vw0 = f.local(v128);
  const vw1 = f.local(v128);
  const vx = f.local(v128);
  const acc = Array.from({ length: MR }, () => [f.local(v128), f.local(v128)] as const);

  f.get(min).f32x4Splat().set(vmin);
  f.get(max).f32x4Splat().set(vmax);

  // One tile of `rows` pixels at xb/yb for the panel at w (the cost follows the pixels), storing
  // only lanes [first, channels) of the panel's 8 when `partialChannels`.
  const tile = (rows: number, partialChannels: boolean) => {
    for (let r = 0; r < rows; r++) {
      f.get(w).v128Load().set(acc[r]![0]);
      f.get(w).v128Load(16).set(acc[r]![1]);
    }
    f.get(w).i32Const(4 * GEMMT_NR).i32Add().set(wk);
    f.get(xb).set(xk);
    f.get(kc).set(k);
    f.loop();
    {
      f.get(wk).v128Load().set(vw0);
      f.get(wk).v128Load(16).set(vw1);
      for (let r = 0; r < rows; r++) {
        f.get(xk).v128Load32Splat(4 * r).set(vx);
        multiplyAdd(f, variant, (g) => g.get(vx), (g) => g.get(vw0), (g) => g.get(acc[r]![0]));
        f.set(acc[r]![0]);
        multiplyAdd(f, variant, (g) => g.get(vx), (g) => g.get(vw1), (g) => g.get(acc[r]![1]));
        f.set(acc[r]![1]);
      }
      f.get(wk).i32Const(4 * GEMMT_NR).i32Add().set(wk);
      f.get(xk).get(ldx).i32Add().set(xk);
      f.get(k).i32Const(1).i32Sub().tee(k).brIf(0);
    }
    f.end();
    // clamp: pmax(acc, min) keeps NaN, as does pmin(acc, max)
    for (let r = 0; r < rows; r++) {
      for (const h of [0, 1]) f.get(acc[r]![h]!).get(vmin).f32x4Pmax().get(vmax).f32x4Pmin().set(acc[r]![h]!);
    }
    for (let j = 0; j < GEMMT_NR; j++) f.get(yb).get(ldy).i32Const(j).i32Mul().i32Add().set(column[j]!);
    for (let j = 0; j < GEMMT_NR; j++) {
      if (partialChannels) f.get(channels).i32Const(j).i32GtU().get(first).i32Const(j).i32LeU().i32And().if();
      for (let r = 0; r < rows; r++) f.get(column[j]!).get(acc[r]![j >> 2]!).f32x4ExtractLane(j & 3).f32Store(4 * r);
      if (partialChannels) f.end();
    }
    f.get(xb).i32Const(4 * rows).i32Add().set(xb);
    f.get(yb).i32Const(4 * rows).i32Add().set(yb);
  };
  // Every pixel of the panel at w, in ⌈pixels / MR⌉ tiles of nearly equal size (49 = 4·6 + 5·5,
  // not 8·6 + 1: a tile of one or two rows leaves the multiply-add latency exposed), each size
  // its own code.
  const tiles = f.local(i32);
  const rowsNow = f.local(i32);
  const panel = (partialChannels: boolean) => {
    f.get(x).set(xb);
    f.get(y).set(yb);
    f.get(pixels).set(left);
    f.get(pixels).i32Const(MR - 1).i32Add().i32Const(MR).i32DivU().set(tiles);
    f.block().loop();
    f.get(left).i32Eqz().brIf(1);
    // rows = ⌈left / tiles⌉
    f.get(left).get(tiles).i32Add().i32Const(1).i32Sub().get(tiles).i32DivU().set(rowsNow);
    const bySize = (rows: number) => {
      if (rows === 1) {
        tile(1, partialChannels);
        return;
      }
      f.get(rowsNow).i32Const(rows).i32Eq().if();
      tile(rows, partialChannels);
      f.else();
      bySize(rows - 1);
      f.end();
    };
    bySize(MR);
    f.get(left).get(rowsNow).i32Sub().set(left);
    f.get(tiles).i32Const(1).i32Sub().set(tiles);
    f.br(0).end().end();
  };

  // Panels of 8 channels outside, pixels inside: a panel's weights (8·(k + 1) floats) are read
  // from memory once and stay in L1 over every pixel tile; the input (all pixels × k) stays in L2.
  f.block().loop();
  f.get(channels).i32Eqz().brIf(1);
  f.get(channels).i32Const(GEMMT_NR).i32GeU().get(first).i32Eqz().i32And().if();
  panel(false);
  f.else();
  panel(true);
  f.end();
  // next panel: every lane from its first, channels −= 8 (at least 0), y += 8·ldy, w += 4·8·(kc + 1)
  f.i32Const(0).set(first);
  f.get(channels).i32Const(GEMMT_NR).i32Sub().tee(channels).i32Const(0).get(channels).i32Const(0).i32GtS().select().set(channels);
  f.get(y).get(ldy).i32Const(GEMMT_NR).i32Mul().i32Add().set(y);
  f.get(w).get(kc).i32Const(1).i32Add().i32Const(4 * GEMMT_NR).i32Mul().i32Add().set(w);
  f.br(0).end().end();
}
