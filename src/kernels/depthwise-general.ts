/**
 * General depthwise kernel: one input plane, one kH×kW filter, any stride, dilation and zero
 * padding, writing one output plane with the fused epilogue. Used for every depthwise shape the
 * specialised 3×3 kernels do not take (5×5, dilated, strided other than 1 and 2, wide padding).
 *
 * The plane is split into an interior, where every tap is inside the input and the loops run
 * without bounds tests, and a border frame that clips the taps per output. Each output sums
 * `bias + Σ_p Σ_q w·x` in the same row-major tap order in both regions.
 */
import { ACT_NONE, ACT_RELU6 } from './epilogue.js';

/** First output index whose window starts at or after input index 0. */
function firstInside(pad: number, stride: number): number {
  return Math.ceil(pad / stride);
}

/** One past the last output index whose window ends inside an input of `size`. */
function lastInsideEnd(size: number, pad: number, kernel: number, stride: number, dilation: number): number {
  const span = (kernel - 1) * dilation;
  // j*stride - pad + span <= size - 1
  return Math.floor((size - 1 + pad - span) / stride) + 1;
}

export function depthwisePlane(
  x: Float32Array, xOff: number, H: number, W: number,
  w: Float32Array, wOff: number, kH: number, kW: number,
  strideH: number, strideW: number, dilationH: number, dilationW: number,
  padTop: number, padLeft: number,
  bias: number, act: number,
  y: Float32Array, yOff: number, Ho: number, Wo: number,
): void {
  const lo = act === ACT_NONE ? -Infinity : 0;
  const hi = act === ACT_RELU6 ? 6 : Infinity;
  const iLo = Math.min(Ho, firstInside(padTop, strideH));
  const iHi = Math.max(iLo, Math.min(Ho, lastInsideEnd(H, padTop, kH, strideH, dilationH)));
  const jLo = Math.min(Wo, firstInside(padLeft, strideW));
  const jHi = Math.max(jLo, Math.min(Wo, lastInsideEnd(W, padLeft, kW, strideW, dilationW)));
  const rowStep = dilationH * W;
  for (let i = 0; i < Ho; i++) {
    const yRow = yOff + i * Wo;
    if (i < iLo || i >= iHi) {
      borderSpan(x, xOff, H, W, w, wOff, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, bias, lo, hi, y, yRow, i, 0, Wo);
      continue;
    }
    borderSpan(x, xOff, H, W, w, wOff, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, bias, lo, hi, y, yRow, i, 0, jLo);
    const xRow = xOff + (i * strideH - padTop) * W - padLeft;
    for (let j = jLo; j < jHi; j++) {
      let sum = bias;
      let xp = (xRow + j * strideW) | 0;
      let wp = wOff;
      for (let p = 0; p < kH; p++) {
        let xq = xp;
        const wEnd = (wp + kW) | 0;
        for (; wp < wEnd; wp = (wp + 1) | 0) {
          sum += x[xq]! * w[wp]!;
          xq = (xq + dilationW) | 0;
        }
        xp = (xp + rowStep) | 0;
      }
      y[yRow + j] = sum < lo ? lo : sum > hi ? hi : sum;
    }
    borderSpan(x, xOff, H, W, w, wOff, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, bias, lo, hi, y, yRow, i, jHi, Wo);
  }
}

/** Outputs `[jStart, jEnd)` of output row `i`, skipping taps that fall in the zero padding. */
function borderSpan(
  x: Float32Array, xOff: number, H: number, W: number,
  w: Float32Array, wOff: number, kH: number, kW: number,
  strideH: number, strideW: number, dilationH: number, dilationW: number,
  padTop: number, padLeft: number,
  bias: number, lo: number, hi: number,
  y: Float32Array, yRow: number, i: number, jStart: number, jEnd: number,
): void {
  const rowStart = i * strideH - padTop;
  for (let j = jStart; j < jEnd; j++) {
    const colStart = j * strideW - padLeft;
    let sum = bias;
    for (let p = 0; p < kH; p++) {
      const r = rowStart + p * dilationH;
      if (r < 0 || r >= H) continue;
      const xRow = xOff + r * W;
      const wRow = wOff + p * kW;
      for (let q = 0; q < kW; q++) {
        const col = colStart + q * dilationW;
        if (col < 0 || col >= W) continue;
        sum += x[xRow + col]! * w[wRow + q]!;
      }
    }
    y[yRow + j] = sum < lo ? lo : sum > hi ? hi : sum;
  }
}
