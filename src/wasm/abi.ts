/**
 * The wasm kernel module's interface as the run time sees it: what each kernel family exports
 * (the functions and their arguments) and the layouts its packers must match. Build-time code
 * (src/wasm/emit/, which emits the module) and run-time code both import this file; no run-time
 * file imports the emitter.
 */

export interface ActExports {
  /** y[i] = x[i] · sigmoid(x[i]) for i < n; x and y are byte addresses (y may equal x). */
  act_silu_f32(x: number, y: number, n: number): void;
  /** y[i] = sigmoid(x[i]). */
  act_sigmoid_f32(x: number, y: number, n: number): void;
  /** y[i] = x[i] · min(max(x[i] + 3, 0), 6) / 6. */
  act_hardswish_f32(x: number, y: number, n: number): void;
  /**
   * y[p·plane + i] = x[p·plane + i] · scales[p] for p < planes, i < plane (a squeeze-excitation's
   * per-channel scale); x, y, scales byte addresses (y may equal x). One float32 multiply per
   * element: the same bits as JS's `x * s` stored into a Float32Array.
   */
  act_scale_f32(x: number, y: number, plane: number, scales: number, planes: number): void;
  /**
   * out[i] = a[i] + b[i] for i < n (a residual add); byte addresses, out may be a or b. One
   * float32 add per element: the same bits as JS's `a + b` stored into a Float32Array.
   */
  act_add_f32(a: number, b: number, out: number, n: number): void;
}

export interface Dw3x3Exports {
  /**
   * Copies rows `[0, rows)` of the `width`-float-wide plane at `x` into the padded plane at
   * `padded` (row stride `wp` floats), at row `padTop`, column `padLeft`.
   */
  dw3x3_pad(x: number, rows: number, width: number, padded: number, wp: number, padTop: number, padLeft: number): void;
  /** One output plane, stride 1: `y` gets ho × wo floats from the padded plane and the 12 packed floats at `w`. */
  dw3x3_s1(padded: number, wp: number, w: number, y: number, ho: number, wo: number, min: number, max: number): void;
  /** One output plane, stride 2 (as dw3x3_s1). */
  dw3x3_s2(padded: number, wp: number, w: number, y: number, ho: number, wo: number, min: number, max: number): void;
  /**
   * `channels` consecutive planes (channel multiplier 1), stride 1: for each, rows `[0, rows)`
   * of the h × w input plane at `x` copied into the padded plane (dw3x3_pad), then dw3x3_s1 with
   * the next 12 packed floats from `w` into the next ho × wo output plane from `y`. One call
   * instead of two per plane.
   */
  dw3x3_s1_planes(x: number, channels: number, h: number, rows: number, width: number, padded: number, wp: number, padTop: number, padLeft: number,
    w: number, y: number, ho: number, wo: number, min: number, max: number): void;
  /** As dw3x3_s1_planes, stride 2. */
  dw3x3_s2_planes(x: number, channels: number, h: number, rows: number, width: number, padded: number, wp: number, padTop: number, padLeft: number,
    w: number, y: number, ho: number, wo: number, min: number, max: number): void;
}

/** Floats per packed output channel: the bias, nine weights, two zeros (48 bytes, 16-aligned). */
export const DW3X3_PACKED_FLOATS = 12;

export interface Dwgw3Exports {
  /**
   * For `channels` consecutive channels: the x plane (h × w floats, from `x`) copied into the
   * bordered plane at `plane` (row stride `wp`) at row `padTop`, column `padLeft`, then the nine
   * sums of the dY plane (ho × wo floats, from `dy`) against it, stored as 9 floats per channel
   * from `sums`. dY is read up to 3 floats past each plane's end (masked).
   */
  dwgw3_planes(x: number, dy: number, channels: number, h: number, w: number, ho: number, wo: number, plane: number, wp: number, padTop: number, padLeft: number, sums: number): void;
  /**
   * As dwgw3_planes for stride 2: output (i, j) reads X̃[2i + p][2j + q]; the four columns of a
   * tap are the even or odd lanes of two loads, picked by one shuffle (as the forward's
   * dw3x3_s2 does).
   */
  dwgw3_s2_planes(x: number, dy: number, channels: number, h: number, w: number, ho: number, wo: number, plane: number, wp: number, padTop: number, padLeft: number, sums: number): void;
}

/** Floats per row of the bordered plane for input width `w`, output width `wo`, left padding `padLeft`, stride 1 or 2. */
export function dwgw3PlaneWidth(w: number, wo: number, padLeft: number, stride: 1 | 2 = 1): number {
  return Math.max(stride === 1 ? 4 * Math.ceil(wo / 4) + 2 : 8 * Math.ceil(wo / 4) + 2, padLeft + w);
}

/** Rows of the bordered plane: every row a tap reads, and every input row. */
export function dwgw3PlaneHeight(h: number, ho: number, padTop: number, stride: 1 | 2 = 1): number {
  return Math.max(stride * (ho - 1) + 3, padTop + h);
}

export interface DwbExports {
  /**
   * `channels` consecutive dX planes (h × w floats each, from `out`) of 3×3 stride-2 depthwise
   * filters (9 floats each, PyTorch order, from `filters`), left padding 0, top padding `padTop`
   * (0 or 1), from the dY planes (ho × wo floats each, from `dy`). Each dY plane is copied into
   * the bordered plane at `plane` (row stride `wp`, zero border of one, dwbPlaneWidth) first.
   * `accumulate` ≠ 0 adds to what `out` holds.
   */
  dwb_s2_gradin_l0(dy: number, channels: number, ho: number, wo: number, plane: number, wp: number, filters: number, out: number, h: number, w: number, padTop: number, accumulate: number): void;
  /** As dwb_s2_gradin_l0, left padding 1. */
  dwb_s2_gradin_l1(dy: number, channels: number, ho: number, wo: number, plane: number, wp: number, filters: number, out: number, h: number, w: number, padTop: number, accumulate: number): void;
}

/** Floats per row the bordered dY plane needs for an input width `w` and output width `wo`. */
export function dwbPlaneWidth(w: number, wo: number): number {
  return Math.max(wo + 2, 4 * Math.ceil(w / 8) + 6);
}

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

export interface FillExports {
  /** Writes `value` to the `count` float32s starting at byte address `ptr` (4-byte aligned). */
  fill_f32(ptr: number, count: number, value: number): void;
}

export interface GdotExports {
  /**
   * C[m, n] for m < mr (≤ 4), n < nc: Σ_{i<rows, j<width} A[a + m·lda + i·ardx + 4j] ·
   * B[b + boff[n] + i·brdx + 4j], stored at c + m·ldc + 4n. Byte addresses and strides; `boff`
   * points at nc i32 byte offsets.
   */
  gdot_f32(mr: number, nc: number, rows: number, width: number, a: number, lda: number, ardx: number, b: number, boff: number, brdx: number, c: number, ldc: number): void;
}

export interface GemmExports {
  /**
   * C rows 0..mr-1 (1 ≤ mr ≤ MR), columns 0..nc-1: clamp(bias + Σ_k A[r,k]·B[k,j], min, max).
   * Pointers are byte addresses; `koff` points at kc i32 byte offsets of B's rows from `b`.
   */
  gemm_f32(mr: number, nc: number, kc: number, a: number, b: number, koff: number, c: number, ldc: number, min: number, max: number): void;
  /** MR: the rows of the register tile, and of a packed block of A. */
  gemm_mr(): number;
}

export interface GpackExports {
  /**
   * Packs rows [0, rows) of A = Bᵀ, B being k × rows floats at `src` with row stride `ldb`
   * bytes, into MR-row blocks at `dst` (zero bias).
   */
  gpack_t(dst: number, src: number, ldb: number, rows: number, k: number): void;
}

export interface GemvExports {
  /**
   * y[o] for o < rows: clamp(bias[o] + Σ_{i<k} W[o·ldw + i]·x[i], min, max). Byte addresses;
   * `ldw` is W's row stride in floats; `bias` 0 means no bias.
   */
  gemv_f32(rows: number, k: number, w: number, ldw: number, x: number, bias: number, y: number, min: number, max: number): void;
}

/** The exports of a kernel module instance, typed (every family's). */
export interface Col2imExports {
  /**
   * dst[r·dstRow + k] += src[r·srcRow + k] for r < rows, k < n: byte addresses, byte row strides
   * (the accumulation of a column-method gradInput, src/wasm/grouped-backward-columns.ts).
   */
  col2im_s1(src: number, srcRow: number, dst: number, dstRow: number, rows: number, n: number): void;
  /** As col2im_s1 into every second float, dst[r·dstRow + 2k]; reads and writes back (unchanged) up to 16 bytes past the last. */
  col2im_s2(src: number, srcRow: number, dst: number, dstRow: number, rows: number, n: number): void;
  /** As col2im_s1 into dst[r·dstRow + k·dstCol / 4] (`dstCol` bytes between dst floats). */
  col2im_sn(src: number, srcRow: number, dst: number, dstRow: number, rows: number, n: number, dstCol: number): void;
}

/** Output channels per packed panel of the gemmt kernel (two f32x4). */
export const GEMMT_PANEL = 8;

export interface GemmtExports {
  /**
   * Y[o, p] = clamp(bias[o] + Σ_k X[k, p] · W[o, k], min, max) for the first `pixels` pixels p
   * and channels o in [first, channels) counted from the first panel at `w` (first < 8): X row
   * k at x + k·ldx, Y channel o at y + o·ldy (bytes), W packed in panels of GEMMT_PANEL
   * channels, each its biases then, per k, the weights. The same bits as gemm_f32 for every output.
   */
  gemmt_f32(pixels: number, channels: number, kc: number, x: number, ldx: number, w: number, y: number, ldy: number, min: number, max: number, first: number): void;
}

export interface WasmKernels extends FillExports, GemmExports, GemmtExports, GpackExports, GemvExports, GdotExports, Dw3x3Exports, DwgExports, DwbExports, Dwgw3Exports, ActExports, Col2imExports {}
