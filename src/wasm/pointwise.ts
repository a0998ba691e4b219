/**
 * The 1×1 path on wasm: per image and group, Y[o, p] = act(bias[o] + Σ_c W[o, c] · X[c, p]) over
 * the output pixels p, one GEMM whose B is the group's input channels as they lie in memory
 * (row c at offset c·H·W·4, contiguous along p: no packing at all). With a stride, the pixels
 * are not contiguous: the general path's im2col runs instead.
 *
 * Columns are taken in chunks whose B slice (depth × chunk floats) fits the L1/L2 budget below,
 * and every 4-channel block sweeps a chunk before the next chunk is touched, so B is read from
 * memory once and from cache by the other blocks.
 */
import type { Conv2dGeometry } from '../geometry.js';
import type { WasmRuntime } from './runtime.js';
import type { WasmConvPath } from './conv-path.js';
import { activationBounds, sgemmRows } from './gemm.js';
import { groupedPath, groupedWeightBytes, groupWeightBytes, packGroupedWeights } from './grouped.js';
import { packPanels, panelBytes, sgemmTransposed, usesTransposedGemm } from './gemm-transposed.js';

/** Bytes of B one column chunk may span (measured: see bench/wasm.mjs). */
export const POINTWISE_CHUNK_BYTES = 48 * 1024;

/**
 * With packed weights of at least WEIGHTS_STREAM_BYTES (beyond L2: deep 7×7 and 14×14 layers)
 * every chunk would stream all of them from L3 again; then, when the whole of B fits in
 * WHOLE_B_BYTES, one chunk takes every pixel and the weights stream once. Interleaved A/B
 * (process CPU time), chunks of 48 KiB vs all pixels: 512→1024, 960→960, 1024→1024, 1280→1280 at
 * 7×7: 1.04-1.31× on Node 20 plain, 1.10-1.63× on Node 24 relaxed; 320→1280 (1.6 MB) 1.01-1.02×,
 * and smaller weights lose (128→128 at 56×56: 0.75-0.82×), so they keep the small chunks.
 */
const WEIGHTS_STREAM_BYTES = 2 * 1024 * 1024;
const WHOLE_B_BYTES = 1024 * 1024;

const strided = (g: Conv2dGeometry): boolean => g.strideH !== 1 || g.strideW !== 1;

function tableBytes(depth: number): number {
  return Math.ceil((4 * depth) / 64) * 64;
}

/** Whether `g` runs on the transposed kernel (few output pixels, no stride): its weights are packed in panels. */
const transposed = (g: Conv2dGeometry): boolean => !strided(g) && g.groups === 1 && usesTransposedGemm(g);

export const pointwisePath: WasmConvPath = {
  weightBytes(g, rt) {
    return transposed(g) ? g.groups * panelBytes(g.outChannels / g.groups, g.inChannels / g.groups) : groupedWeightBytes(g, rt);
  },
  packWeights(rt, g, w, bias, address) {
    if (!transposed(g)) {
      packGroupedWeights(rt, g, w, bias, address);
      return;
    }
    const cinG = g.inChannels / g.groups;
    const coutG = g.outChannels / g.groups;
    const groupBytes = panelBytes(coutG, cinG);
    const mem = rt.f32();
    for (let group = 0; group < g.groups; group++) {
      packPanels(mem, (address + group * groupBytes) >>> 2, w, group * coutG * cinG, coutG, cinG, bias, group * coutG);
    }
  },
  scratchBytes(g) {
    return strided(g) ? groupedPath.scratchBytes(g) : tableBytes(g.inChannels / g.groups);
  },
  run(rt, g, act, weights, x, y, scratch, channelStart, channelEnd, imageStart, imageEnd) {
    if (strided(g)) {
      groupedPath.run(rt, g, act, weights, x, y, scratch, channelStart, channelEnd, imageStart, imageEnd);
      return;
    }
    runColumns(rt, g, act, weights, x, y, scratch, channelStart, channelEnd, imageStart, imageEnd, 0, g.outHeight * g.outWidth);
  },
  runPixels(rt, g, act, weights, x, y, scratch, channelStart, channelEnd, imageStart, imageEnd, pixelStart, pixelEnd) {
    if (strided(g)) throw new RangeError('pointwisePath.runPixels: a strided 1×1 convolution cannot be split by pixels');
    runColumns(rt, g, act, weights, x, y, scratch, channelStart, channelEnd, imageStart, imageEnd, pixelStart, pixelEnd);
  },
};

/**
 * Output pixels [pixelStart, pixelEnd) of the given channels and images: the column chunks of
 * the whole plane, cut to that range. A chunk boundary inside the range only changes which
 * sgemmRows call computes a column, never the order of its sums, so any pixel split gives the
 * bits of the whole plane.
 */
function runColumns(
  rt: WasmRuntime, g: Conv2dGeometry, act: number, weights: number, x: number, y: number, scratch: number,
  channelStart: number, channelEnd: number, imageStart: number, imageEnd: number, pixelStart: number, pixelEnd: number,
): void {
  const { inChannels: Cin, outChannels: Cout, groups } = g;
  const cinG = Cin / groups;
  const coutG = Cout / groups;
  const pixels = g.outHeight * g.outWidth; // = H·W
  const [min, max] = activationBounds(act);
  const useTransposed = transposed(g);
  const groupBytes = useTransposed ? panelBytes(coutG, cinG) : groupWeightBytes(g, rt);
  // The regular kernel's B row table (row c at c·H·W floats) and column chunk; the transposed one needs neither.
  let chunk = 0;
  if (!useTransposed) {
    const ints = rt.i32();
    for (let c = 0; c < cinG; c++) ints[(scratch >>> 2) + c] = 4 * c * pixels;
    chunk = groupBytes >= WEIGHTS_STREAM_BYTES && 4 * cinG * pixels <= WHOLE_B_BYTES
      ? pixels
      : Math.max(8, Math.floor(POINTWISE_CHUNK_BYTES / (4 * cinG) / 8) * 8);
  }
  for (let n = imageStart; n < imageEnd; n++) {
    for (let group = 0; group < groups; group++) {
      const r0 = Math.max(channelStart - group * coutG, 0);
      const r1 = Math.min(channelEnd - group * coutG, coutG);
      if (r1 <= r0) continue;
      const source = x + 4 * (n * Cin + group * cinG) * pixels;
      const out = y + 4 * (n * Cout + group * coutG) * pixels;
      const packed = weights + group * groupBytes;
      if (useTransposed) {
        sgemmTransposed(rt, r0, r1, pixelStart, pixelEnd, cinG, packed, source, out, 4 * pixels, min, max);
        continue;
      }
      for (let p0 = pixelStart; p0 < pixelEnd; p0 += chunk) {
        const width = Math.min(chunk, pixelEnd - p0);
        sgemmRows(rt, r0, r1, width, cinG, packed, source + 4 * p0, scratch, out + 4 * p0, 4 * pixels, min, max);
      }
    }
  }
}
