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
// dwg_plane has one loop body per horizontal stride (1, 2, any), chosen once per plane. The taps
// are a run-time loop (any kernel size), so the weights cannot stay in registers: each tap's
// weight is splat once and applied to 4 output rows at the same tile column (4 accumulators; the
// last 0..3 rows as 2 + 1), which shares the splat and the loop overhead (ROW_GROUPS).
// The padded plane is wide and tall enough (depthwise-general-path.ts) that the last, partial
// 4-pixel tile reads inside it; its extra lanes are computed and dropped (lane stores).
//
// Weights are packed per output channel: [bias, w(0,0) .. w(kh−1, kw−1)], padded to a multiple of
// 4 floats. The bias and each tap's weight are splat-loaded; every output is ((bias + t00) + t01)
// + … in tap order, whatever tile computes it, so results are bitwise repeatable and independent
// of how channels are split over threads. The fused activation is the GEMM's clamp.
import { f32, i32, v128, type FunctionBuilder, type ValType } from './emit.js';
import { multiplyAdd, type KernelFamily, type KernelVariant } from './family.js';
import { emitPlaneRows } from './depthwise-rows.js';

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

/**
 * Output rows a tap is applied to at once: 4 accumulators while 4 rows are left, then 2 and 1.
 * Measured on 5×5 layers (bench/tiers.mjs dw5x5_s1_28 / dw5x5_s2_56, ms): one row with the stride
 * tested per tap 0.91 / 0.85; one kernel body per stride with 2 rows 0.46 / 0.42, 4 rows
 * 0.39 / 0.37, 6 rows 0.39 / 0.52 (6 accumulators and the stride-2 gather outgrow x86's 16
 * vector registers).
 */
const ROW_GROUPS = [4, 2, 1] as const;

function emitPlane(f: FunctionBuilder, variant: KernelVariant): void {
  const [padded, wp, w, y, ho, wo, kh, kw, sh, sw, dh, dw, min, max] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const rowBytes = f.local(i32); // 4·wp
  const groupStep = f.local(i32); // sh·rowBytes: input bytes from one output row to the next
  const rowOffsets = [0, groupStep, f.local(i32), f.local(i32)]; // r·groupStep for the rows of a group
  const outRowBytes = f.local(i32); // 4·wo
  const row = f.local(i32); // padded row sh·i (address)
  const tileStart = f.local(i32); // the tile's first input column in that row (address)
  const tapRow = f.local(i32); // row of the current tap (address)
  const tap = f.local(i32); // the current tap's first input for the group's first row (address)
  const weight = f.local(i32); // the current tap's weight (address)
  const rowsLeft = f.local(i32); // filter rows left
  const tapsLeft = f.local(i32); // taps left in the filter row
  const out = f.local(i32);
  const tilesEnd = f.local(i32);
  const rowEnd = f.local(i32);
  const tileStep = f.local(i32); // 16·sw: bytes between tiles in the padded row
  const dhBytes = f.local(i32); // dh·rowBytes
  const dwBytes = f.local(i32); // 4·dw
  const swBytes = f.local(i32); // 4·sw
  const vmin = f.local(v128);
  const vmax = f.local(v128);
  const vbias = f.local(v128);
  const vw = f.local(v128);
  const acc = Array.from({ length: ROW_GROUPS[0] }, () => f.local(v128));
  const a = f.local(v128);
  const b = f.local(v128);

  f.get(min).f32x4Splat().set(vmin);
  f.get(max).f32x4Splat().set(vmax);
  f.get(w).v128Load32Splat(0).set(vbias);
  f.get(wp).i32Const(2).i32Shl().set(rowBytes);
  f.get(sh).get(rowBytes).i32Mul().set(groupStep);
  f.get(groupStep).i32Const(1).i32Shl().set(rowOffsets[2]!);
  f.get(rowOffsets[2]!).get(groupStep).i32Add().set(rowOffsets[3]!);
  f.get(wo).i32Const(2).i32Shl().set(outRowBytes);
  f.get(sw).i32Const(4).i32Shl().set(tileStep);
  f.get(dh).get(rowBytes).i32Mul().set(dhBytes);
  f.get(dw).i32Const(2).i32Shl().set(dwBytes);
  f.get(sw).i32Const(2).i32Shl().set(swBytes);
  f.get(padded).set(row);

  // One body per horizontal stride (the gather of a tap's 4 inputs), chosen once per plane.
  const body = (gather: Gather) => {
    // acc[0 .. rows) = the tiles of the group's rows whose taps start at tileStart (+ r·groupStep)
    const tile = (rows: number) => {
      for (let r = 0; r < rows; r++) f.get(vbias).set(acc[r]!);
      f.get(w).i32Const(4).i32Add().set(weight);
      f.get(tileStart).set(tapRow);
      f.get(kh).set(rowsLeft);
      f.loop();
      {
        f.get(tapRow).set(tap);
        f.get(kw).set(tapsLeft);
        f.loop();
        {
          f.get(weight).v128Load32Splat().set(vw);
          for (let r = 0; r < rows; r++) {
            const address = (g: FunctionBuilder) => (r === 0 ? g.get(tap) : g.get(tap).get(rowOffsets[r]!).i32Add());
            multiplyAdd(f, variant, (g) => g.get(vw), (g) => pushGather(g, gather, address, swBytes, a, b), (g) => g.get(acc[r]!));
            f.set(acc[r]!);
          }
          f.get(weight).i32Const(4).i32Add().set(weight);
          f.get(tap).get(dwBytes).i32Add().set(tap);
          f.get(tapsLeft).i32Const(1).i32Sub().tee(tapsLeft).brIf(0);
        }
        f.end();
        f.get(tapRow).get(dhBytes).i32Add().set(tapRow);
        f.get(rowsLeft).i32Const(1).i32Sub().tee(rowsLeft).brIf(0);
      }
      f.end();
      for (let r = 0; r < rows; r++) f.get(acc[r]!).get(vmin).f32x4Pmax().get(vmax).f32x4Pmin().set(acc[r]!);
    };
    emitPlaneRows(
      f, { y, ho, wo, out, tilesEnd, rowEnd, acc, outRowBytes }, ROW_GROUPS,
      () => f.get(row).set(tileStart),
      tile,
      () => f.get(tileStart).get(tileStep).i32Add().set(tileStart),
      (rows) => f.get(row).get(groupStep).i32Const(rows).i32Mul().i32Add().set(row),
    );
  };
  f.get(sw).i32Const(1).i32Eq().if();
  body(1);
  f.else();
  f.get(sw).i32Const(2).i32Eq().if();
  body(2);
  f.else();
  body('any');
  f.end();
  f.end();
}

/** How a tap's 4 inputs are gathered: horizontal stride 1, 2, or any (from `swBytes` = 4·sw). */
type Gather = 1 | 2 | 'any';

/**
 * Pushes the 4 inputs of a tap whose first input is at the address `address` pushes: stride 1 one
 * unaligned load, stride 2 the even lanes of two loads (temporaries `a`, `b`), any other stride a
 * splat load and three lanes replaced.
 */
function pushGather(g: FunctionBuilder, gather: Gather, address: (g: FunctionBuilder) => void, swBytes: number, a: number, b: number): void {
  if (gather === 1) {
    address(g);
    g.v128Load();
  } else if (gather === 2) {
    address(g);
    g.v128Load().set(a);
    address(g);
    g.v128Load(16).set(b);
    g.get(a).get(b).f32x4Shuffle(0, 2, 4, 6);
  } else {
    address(g);
    g.v128Load32Splat();
    for (let lane = 1; lane < 4; lane++) {
      address(g);
      g.get(swBytes).i32Const(lane).i32Mul().i32Add().f32Load().f32x4ReplaceLane(lane);
    }
  }
}

/** Pushes the 4 inputs of a tap whose first input is at local `tap`, the stride tested at run time (the gradient kernels). */
function pushTapInputs(g: FunctionBuilder, tap: number, sw: number, swBytes: number, a: number, b: number): void {
  const address = (h: FunctionBuilder) => h.get(tap);
  g.get(sw).i32Const(1).i32Eq().if(v128);
  pushGather(g, 1, address, swBytes, a, b);
  g.else();
  g.get(sw).i32Const(2).i32Eq().if(v128);
  pushGather(g, 2, address, swBytes, a, b);
  g.else();
  pushGather(g, 'any', address, swBytes, a, b);
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
