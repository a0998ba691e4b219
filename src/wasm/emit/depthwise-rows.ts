/**
 * The emitted row loop the depthwise kernel families share (dw3x3, dwg): build time only; the
 * run-time plane driver is depthwise-planes.ts.
 */
import type { FunctionBuilder } from './emit.js';

/** The locals of an output plane's row loop (all i32 but `acc`, the v128 results of `tile`). */
export interface PlaneRowLocals {
  readonly y: number;
  readonly ho: number;
  readonly wo: number;
  readonly out: number;
  readonly tilesEnd: number;
  readonly rowEnd: number;
  /** One accumulator per output row of a group: acc[r] holds row r's 4 outputs after `tile(rows)`. */
  readonly acc: readonly number[];
  /** 4·wo, set by the caller; needed only when a group has more than one row. */
  readonly outRowBytes?: number;
}

/**
 * Emits the loop over the `ho` output rows of a plane at `y`, in groups of rows computed
 * together: `groups[0]` rows at a time while that many are left, then each later size once if
 * that many are left (so the sizes halve down to 1: [1], or [4, 2, 1] for up to 3 left). Per
 * group: `startRow()`, then `tile(rows)` (leaving each row's 4 outputs in `acc[r]`) and v128
 * stores per full tile, `nextTile()` after each; the last 1..3 pixels as lane stores of one more
 * tile (whose extra lanes read inside the padded plane and are dropped); `nextRows(rows)` after
 * the group.
 */
export function emitPlaneRows(
  f: FunctionBuilder, l: PlaneRowLocals, groups: readonly number[],
  startRow: () => void, tile: (rows: number) => void, nextTile: () => void, nextRows: (rows: number) => void,
): void {
  const { y, ho, wo, out, tilesEnd, rowEnd, acc } = l;
  const outAddress = (r: number) => {
    f.get(out);
    if (r > 0) f.get(l.outRowBytes!).i32Const(r).i32Mul().i32Add();
  };
  const group = (rows: number) => {
    startRow();
    f.get(y).set(out);
    f.get(y).get(wo).i32Const(-4).i32And().i32Const(2).i32Shl().i32Add().set(tilesEnd);
    f.get(y).get(wo).i32Const(2).i32Shl().i32Add().set(rowEnd);
    // full tiles
    f.block().loop();
    f.get(out).get(tilesEnd).i32GeU().brIf(1);
    tile(rows);
    for (let r = 0; r < rows; r++) {
      outAddress(r);
      f.get(acc[r]!).v128Store();
    }
    f.get(out).i32Const(16).i32Add().set(out);
    nextTile();
    f.br(0).end().end();
    // the last 1..3 pixels: lane stores of a full tile
    f.get(out).get(rowEnd).i32LtU().if();
    {
      tile(rows);
      f.get(wo).i32Const(2).i32And().if();
      for (let r = 0; r < rows; r++) {
        outAddress(r);
        f.get(acc[r]!).v128Store64Lane(0);
      }
      f.get(out).i32Const(8).i32Add().set(out);
      for (let r = 0; r < rows; r++) f.get(acc[r]!).get(acc[r]!).f32x4Shuffle(2, 3, 2, 3).set(acc[r]!);
      f.end();
      f.get(wo).i32Const(1).i32And().if();
      for (let r = 0; r < rows; r++) {
        outAddress(r);
        f.get(acc[r]!).v128Store32Lane(0);
      }
      f.end();
    }
    f.end();
    if (rows === 1) f.get(rowEnd).set(y);
    else f.get(y).get(l.outRowBytes!).i32Const(rows).i32Mul().i32Add().set(y);
    nextRows(rows);
    f.get(ho).i32Const(rows).i32Sub().set(ho);
  };
  const [first, ...later] = groups;
  f.block().loop();
  if (first === 1) f.get(ho).i32Eqz().brIf(1);
  else f.get(ho).i32Const(first!).i32LtU().brIf(1);
  group(first!);
  f.br(0).end().end();
  for (const rows of later) {
    f.get(ho).i32Const(rows).i32GeU().if();
    group(rows);
    f.end();
  }
}
