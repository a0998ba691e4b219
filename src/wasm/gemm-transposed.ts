/**
 * The JavaScript side of the gemmt kernel (emit/gemm-transposed.ts): the 1×1 convolution with
 * pixels splatted and weights as vectors, for layers with few output pixels. Packing the weights
 * into panels of GEMMT_PANEL output channels, and driving the kernel over pixel tiles.
 *
 * Which layers take it (pointwise.ts asks `usesTransposedGemm`): measured on MobileNetV1/V2's 1×1
 * layers, interleaved A/B of the two kernels in one process (Node 24 relaxed and Node 20 plain):
 * see TRANSPOSED_MAX_PIXELS. Both kernels give the same bits, so the choice changes only speed.
 */
import type { Conv2dGeometry } from '../geometry.js';
import { GEMMT_PANEL } from './abi.js';
import type { WasmRuntime } from './runtime.js';

/**
 * Output planes of at most this many pixels take the transposed kernel (7×7, 10×10, 14×14,
 * 20×20). Interleaved A/B against the other kernel in one process, process CPU time, same bits:
 * MobileNetV1/V2's 7×7 layers 1.10–1.19× on Node 24 (relaxed) and 0.97–1.17× on Node 20
 * (plain); 14×14 layers 0.96–1.35× (Node 24), 0.89–1.10× (Node 20); whole models with the 14×14
 * layers included against 7×7 only: MobileNetV1 1.06× (Node 24) and 1.14× (Node 20),
 * MobileNetV2 1.00×. 28×28 (784 pixels) keeps the other kernel.
 */
export const TRANSPOSED_MAX_PIXELS = 400;

/** Whether the 1×1 layer `g` (stride 1) runs on the transposed kernel. */
export function usesTransposedGemm(g: Conv2dGeometry): boolean {
  return g.outHeight * g.outWidth <= TRANSPOSED_MAX_PIXELS && g.outHeight * g.outWidth > 0;
}

/** Bytes of one group's panels: ⌈rows / 8⌉ panels of 8 biases and 8·k weights. */
export function panelBytes(rows: number, k: number): number {
  return 4 * Math.ceil(rows / GEMMT_PANEL) * GEMMT_PANEL * (k + 1);
}

/**
 * Packs rows `[0, rows)` of A (row m at `a[aIndex + m·k]`, k contiguous values) and their bias
 * (or 0) at float index `dst` of `mem` in panels of GEMMT_PANEL rows; missing rows are zero.
 */
export function packPanels(
  mem: Float32Array, dst: number, a: Float32Array, aIndex: number, rows: number, k: number, bias: Float32Array | null, biasIndex: number,
): void {
  const panelFloats = GEMMT_PANEL * (k + 1);
  for (let m0 = 0; m0 < rows; m0 += GEMMT_PANEL) {
    const base = dst + (m0 / GEMMT_PANEL) * panelFloats;
    for (let j = 0; j < GEMMT_PANEL; j++) {
      const m = m0 + j;
      if (m >= rows) {
        for (let kk = 0; kk <= k; kk++) mem[base + j + GEMMT_PANEL * kk] = 0;
        continue;
      }
      // −0 bias → +0, as the other packings do (gemm.ts)
      mem[base + j] = bias === null ? 0 : bias[biasIndex + m]! + 0;
      const src = aIndex + m * k;
      for (let kk = 0; kk < k; kk++) mem[base + GEMMT_PANEL * (kk + 1) + j] = a[src + kk]!;
    }
  }
}

/**
 * Y channels `[channelStart, channelEnd)` (relative to the packed panels at `packed`, whose
 * channel 0 is Y's channel 0 at `y`) for pixels `[pixelStart, pixelEnd)`: X row k at x + k·ld,
 * Y channel o at y + o·ld, `ld` the plane's bytes. A range starting inside a panel computes that
 * panel's earlier channels too but stores only its own.
 */
export function sgemmTransposed(
  rt: WasmRuntime, channelStart: number, channelEnd: number, pixelStart: number, pixelEnd: number, k: number,
  packed: number, x: number, y: number, ld: number, min: number, max: number,
): void {
  if (channelEnd <= channelStart || pixelEnd <= pixelStart) return;
  const panelStart = channelStart - (channelStart % GEMMT_PANEL);
  const panels = packed + panelStart * 4 * (k + 1);
  rt.kernels.gemmt_f32(pixelEnd - pixelStart, channelEnd - panelStart, k, x + 4 * pixelStart, ld, panels, y + panelStart * ld + 4 * pixelStart, ld, min, max, channelStart - panelStart);
}
