// Kernel family `dwg`: the general depthwise convolution (any kernel size, stride, dilation and
// channel multiplier; the dispatcher's `depthwise` path), on NCHW planes, 4 output pixels per
// f32x4 along W. The 3×3 stride-1/2 cases have their own, faster family (depthwise-3x3.ts); this
// one serves MobileNetV3's, MNASNet's and EfficientNet's 5×5 depthwise layers, dilations, and
// everything else a depthwise convolution can be.
//
// As in dw3x3, the input plane is first copied into a zero-bordered plane in the thread's scratch
// (dw3x3_pad), so the compute loop has no border case: output (i, j) = bias + Σ_{r,c}
// w[r][c] · padded[sh·i + dh·r][sw·j + dw·c], taps in row-major order, accumulated in one f32x4
// per 4 outputs. A tap's 4 inputs are
//   stride 1: one unaligned v128 load;
//   stride 2: the even lanes of two loads (columns 2j + dw·c + {0, 2, 4, 6}), one shuffle;
//   stride ≥ 3: four scalar loads put into lanes.
// The padded plane is wide and tall enough (depthwise-general-path.ts) that the last, partial
// 4-pixel tile reads inside it; its extra lanes are computed and dropped (lane stores).
//
// Weights are packed per output channel: [bias, w(0,0) .. w(kh−1, kw−1)], padded to a multiple of
// 4 floats. The bias and each tap's weight are splat-loaded; every output is ((bias + t00) + t01)
// + … in tap order, whatever tile computes it, so results are bitwise repeatable and independent
// of how channels are split over threads. The fused activation is the GEMM's clamp.
import { f32, i32, v128, type FunctionBuilder, type ValType } from './emit.js';
import { multiplyAdd, type KernelFamily, type KernelVariant } from './family.js';
import { emitPlaneRows } from './depthwise-planes.js';

export interface DwgExports {
  /**
   * The gradient of one filter: `out` gets kh·kw floats, out[r·kw + c] = Σ_{i,j} dy[i][j] ·
   * padded[sh·i + dh·r][sw·j + dw·c], for the ho × wo plane `dy` and the padded input plane.
   */
  dwg_gradw(
    padded: number, wp: number, dy: number, ho: number, wo: number,
    kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, out: number,
  ): void;
  /**
   * One output plane: `y` gets ho × wo floats from the padded plane at `padded` (row stride `wp`
   * floats) and the packed weights at `w` (bias, then kh·kw taps), with strides (sh, sw) and
   * dilations (dh, dw).
   */
  dwg_plane(
    padded: number, wp: number, w: number, y: number, ho: number, wo: number,
    kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, min: number, max: number,
  ): void;
  /** `dwg_gradw` for kw a multiple of 3: three taps of a filter row per pass over dY, the same bits. */
  dwg_gradw3(
    padded: number, wp: number, dy: number, ho: number, wo: number,
    kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, out: number,
  ): void;
}

/** Floats per packed output channel for a kh×kw filter: the bias and the taps, 16-byte aligned. */
export function dwgPackedFloats(kh: number, kw: number): number {
  return 4 * Math.ceil((1 + kh * kw) / 4);
}

export const dwgFamily: KernelFamily = {
  name: 'dwg',
  emit(module, variant) {
    const signature: ValType[] = [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, f32, f32];
    module.addFunction('dwg_plane', signature, [], (f) => emitPlane(f, variant));
    const gradw: ValType[] = [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32];
    module.addFunction('dwg_gradw', gradw, [], (f) => emitGradWeight(f, variant, null));
    module.addFunction('dwg_gradw3', gradw, [], (f) => emitGradWeight(f, variant, 3));
  },
};

function emitPlane(f: FunctionBuilder, variant: KernelVariant): void {
  const [padded, wp, w, y, ho, wo, kh, kw, sh, sw, dh, dw, min, max] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const rowBytes = f.local(i32); // 4·wp
  const row = f.local(i32); // padded row sh·i (address)
  const tileStart = f.local(i32); // the tile's first input column in that row (address)
  const tapRow = f.local(i32); // row of the current tap (address)
  const tap = f.local(i32); // the current tap's first input (address)
  const weight = f.local(i32); // the current tap's weight (address)
  const r = f.local(i32);
  const c = f.local(i32);
  const out = f.local(i32);
  const tilesEnd = f.local(i32);
  const rowEnd = f.local(i32);
  const tileStep = f.local(i32); // 16·sw: bytes between tiles in the padded row
  const dhBytes = f.local(i32); // dh·rowBytes
  const dwBytes = f.local(i32); // 4·dw
  const swBytes = f.local(i32); // 4·sw
  const vmin = f.local(v128);
  const vmax = f.local(v128);
  const acc = f.local(v128);
  const a = f.local(v128);
  const b = f.local(v128);

  f.get(min).f32x4Splat().set(vmin);
  f.get(max).f32x4Splat().set(vmax);
  f.get(wp).i32Const(2).i32Shl().set(rowBytes);
  f.get(sw).i32Const(4).i32Shl().set(tileStep);
  f.get(dh).get(rowBytes).i32Mul().set(dhBytes);
  f.get(dw).i32Const(2).i32Shl().set(dwBytes);
  f.get(sw).i32Const(2).i32Shl().set(swBytes);
  f.get(padded).set(row);

  const pushTap = (g: FunctionBuilder) => pushTapInputs(g, tap, sw, swBytes, a, b);

  // acc = the tile whose taps start at tileStart
  const tile = () => {
    f.get(w).v128Load32Splat(0).set(acc);
    f.get(w).i32Const(4).i32Add().set(weight);
    f.get(tileStart).set(tapRow);
    f.i32Const(0).set(r);
    f.block().loop();
    {
      f.get(tapRow).set(tap);
      f.i32Const(0).set(c);
      f.block().loop();
      {
        multiplyAdd(f, variant, (g) => g.get(weight).v128Load32Splat(), pushTap, (g) => g.get(acc));
        f.set(acc);
        f.get(weight).i32Const(4).i32Add().set(weight);
        f.get(tap).get(dwBytes).i32Add().set(tap);
        f.get(c).i32Const(1).i32Add().tee(c).get(kw).i32LtU().brIf(0);
      }
      f.end().end();
      f.get(tapRow).get(dhBytes).i32Add().set(tapRow);
      f.get(r).i32Const(1).i32Add().tee(r).get(kh).i32LtU().brIf(0);
    }
    f.end().end();
    f.get(acc).get(vmin).f32x4Pmax().get(vmax).f32x4Pmin().set(acc);
  };

  emitPlaneRows(
    f, { y, ho, wo, out, tilesEnd, rowEnd, acc },
    () => f.get(row).set(tileStart),
    tile,
    () => f.get(tileStart).get(tileStep).i32Add().set(tileStart),
    () => f.get(row).get(rowBytes).get(sh).i32Mul().i32Add().set(row),
  );
}

/** Pushes the 4 inputs of a tap whose first input is at local `tap` (strides as in the forward). */
function pushTapInputs(g: FunctionBuilder, tap: number, sw: number, swBytes: number, a: number, b: number): void {
  g.get(sw).i32Const(1).i32Eq().if(v128);
  g.get(tap).v128Load();
  g.else();
  g.get(sw).i32Const(2).i32Eq().if(v128);
  g.get(tap).v128Load().set(a);
  g.get(tap).v128Load(16).set(b);
  g.get(a).get(b).f32x4Shuffle(0, 2, 4, 6);
  g.else();
  g.get(tap).v128Load32Splat();
  for (let lane = 1; lane < 4; lane++) g.get(tap).get(swBytes).i32Const(lane).i32Mul().i32Add().f32Load().f32x4ReplaceLane(lane);
  g.end();
  g.end();
}

// dwg_gradw: for each tap (r, c), one pass over the dy plane: a f32x4 accumulator takes 4 output
// columns at a time (dy · the tap's 4 inputs), the last wo mod 4 columns go to a scalar float32
// sum (so no lane multiplies an input that tap never sees: an infinity there would poison the
// sum), and the result is ((lane 0 + lane 1) + (lane 2 + lane 3)) + tail. The order is fixed, so
// the gradient is bitwise repeatable.
function emitGradWeight(f: FunctionBuilder, variant: KernelVariant, taps: number | null): void {
  const [padded, wp, dy, ho, wo, kh, kw, sh, sw, dh, dw, out] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  // `taps` columns of one filter row in one pass over dY (dY loaded once for all of them), or,
  // when null, one tap per pass for any kw. Each tap's sum is accumulated in the same order either
  // way, so both give the same bits.
  const group = taps ?? 1;
  const rowBytes = f.local(i32);
  const swBytes = f.local(i32);
  const dwBytes = f.local(i32);
  const r = f.local(i32);
  const c = f.local(i32);
  const i = f.local(i32);
  const tapOrigin = f.local(i32); // the first tap's input for output (0, 0)
  const xRow = f.local(i32);
  const x = f.local(i32);
  const d = f.local(i32);
  const tilesEnd = f.local(i32);
  const rowEnd = f.local(i32);
  const tap = f.local(i32);
  const tails = Array.from({ length: group }, () => f.local(f32));
  const accs = Array.from({ length: group }, () => f.local(v128));
  const dyv = f.local(v128);
  const a = f.local(v128);
  const b = f.local(v128);
  f.get(wp).i32Const(2).i32Shl().set(rowBytes);
  f.get(sw).i32Const(2).i32Shl().set(swBytes);
  f.get(dw).i32Const(2).i32Shl().set(dwBytes);
  /** tap = x + dwBytes·k: the k-th tap of the group. */
  const tapAt = (k: number) => {
    f.get(x);
    if (k > 0) f.get(dwBytes).i32Const(k).i32Mul().i32Add();
    f.set(tap);
  };
  f.i32Const(0).set(r);
  f.block().loop();
  {
    f.i32Const(0).set(c);
    f.block().loop();
    {
      // tapOrigin = padded + (dh·r)·rowBytes + 4·dw·c
      f.get(padded).get(dh).get(r).i32Mul().get(rowBytes).i32Mul().i32Add().get(dwBytes).get(c).i32Mul().i32Add().set(tapOrigin);
      for (let k = 0; k < group; k++) {
        f.f32x4Const(0, 0, 0, 0).set(accs[k]!);
        f.f32Const(0).set(tails[k]!);
      }
      f.get(tapOrigin).set(xRow);
      f.get(dy).set(d);
      f.i32Const(0).set(i);
      f.block().loop();
      f.get(i).get(ho).i32GeU().brIf(1);
      {
        f.get(xRow).set(x);
        f.get(d).get(wo).i32Const(-4).i32And().i32Const(2).i32Shl().i32Add().set(tilesEnd);
        f.get(d).get(wo).i32Const(2).i32Shl().i32Add().set(rowEnd);
        f.block().loop();
        f.get(d).get(tilesEnd).i32GeU().brIf(1);
        f.get(d).v128Load().set(dyv);
        for (let k = 0; k < group; k++) {
          tapAt(k);
          multiplyAdd(f, variant, (g) => g.get(dyv), (g) => pushTapInputs(g, tap, sw, swBytes, a, b), (g) => g.get(accs[k]!));
          f.set(accs[k]!);
        }
        f.get(d).i32Const(16).i32Add().set(d);
        f.get(x).get(swBytes).i32Const(2).i32Shl().i32Add().set(x);
        f.br(0).end().end();
        f.block().loop();
        f.get(d).get(rowEnd).i32GeU().brIf(1);
        for (let k = 0; k < group; k++) {
          tapAt(k);
          f.get(d).f32Load().get(tap).f32Load().f32Mul().get(tails[k]!).f32Add().set(tails[k]!);
        }
        f.get(d).i32Const(4).i32Add().set(d);
        f.get(x).get(swBytes).i32Add().set(x);
        f.br(0).end().end();
        f.get(xRow).get(rowBytes).get(sh).i32Mul().i32Add().set(xRow);
        f.get(i).i32Const(1).i32Add().set(i);
      }
      f.br(0).end().end();
      // out[r·kw + c + k] = ((l0 + l1) + (l2 + l3)) + tail
      for (let k = 0; k < group; k++) {
        const acc = accs[k]!;
        f.get(out).get(r).get(kw).i32Mul().get(c).i32Add().i32Const(k).i32Add().i32Const(2).i32Shl().i32Add();
        f.get(acc).f32x4ExtractLane(0).get(acc).f32x4ExtractLane(1).f32Add();
        f.get(acc).f32x4ExtractLane(2).get(acc).f32x4ExtractLane(3).f32Add().f32Add();
        f.get(tails[k]!).f32Add().f32Store();
      }
      f.get(c).i32Const(group).i32Add().tee(c).get(kw).i32LtU().brIf(0);
    }
    f.end().end();
    f.get(r).i32Const(1).i32Add().tee(r).get(kh).i32LtU().brIf(0);
  }
  f.end().end();
}
