/**
 * The gradients of the general convolution path on wasm (any kernel size, stride, dilation,
 * zero padding and groups).
 *
 * gradInput runs one of two ways, chosen in gradInputMethod: by columns (a 1×1 GEMM of the
 * transposed filters with dY, then col2im: grouped-backward-columns.ts), or, at stride 1 with
 * every pad within the kernel's reach and many input channels per group, as a forward
 * convolution of dY: filters rotated by 180° and transposed per group, W'[c, o, u, v] =
 * W[o, c, kH−1−u, kW−1−v], padding dilation·(k − 1) − pad (as kernels/grouped-backward.ts does on
 * the JS tier), run by the forward's wasm path (grouped.ts).
 *
 * gradWeight, per group:
 *
 *   dW[o, (c, p, q)] = Σ_n Σ_{i,j} dY[n, o, i, j] · X(c, p, q)[i, j]
 *
 * where X(c, p, q) is the window of the input that tap (p, q) of channel c reads for the output
 * pixels: the forward's B rows (grouped.ts), Ho rows of Wo contiguous floats in the group's phase
 * planes (or the input itself at stride 1 without padding). The `gdot` kernel (gemm-dot.ts)
 * computes those dot products from the dY planes and the windows where they lie, 4 output
 * channels × 2 windows at a time, nothing packed. Rows of output pixels are taken in chunks of
 * about CHUNK_PIXELS (float32 lanes within a chunk), and chunks and images are summed in float64
 * in a fixed order, as the 1×1 gradient does (pointwise-backward.ts).
 */
import { conv2dGeometry, type Conv2dGeometry } from '../geometry.js';
import { columnsGradInput } from './grouped-backward-columns.js';
import { groupedPath, groupLayout, groupPlanesBytes, groupTableBytes, stageGroupInput, writeTapTable } from './grouped.js';
import { callKernel, type WasmRuntime } from './runtime.js';

/** Output pixels per kernel call (float32 lanes accumulate within one). */
const CHUNK_PIXELS = 2048;

let sums = new Float64Array(256);
/** The dual convolution's filters, grown when too small and reused (a steady state allocates nothing). */
let dualFilters = new Float32Array(256);

/** Whether the wasm weight gradient takes the call (anything with work to do). */
export function wasmGroupedGradWeightApplies(g: Conv2dGeometry): boolean {
  return g.batch > 0 && g.inChannels > 0 && g.outChannels > 0 && g.outHeight * g.outWidth > 0;
}

/** Writes gradWeight (summed over the batch) into `dw` (see the file comment). */
export function wasmGroupedGradWeight(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, x: Float32Array, dw: Float32Array): void {
  const { inChannels: Cin, outChannels: Cout, groups, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
  const cinG = Cin / groups;
  const coutG = Cout / groups;
  const depth = cinG * g.kernelH * g.kernelW;
  const layout = groupLayout(g);
  const chunkRows = Math.max(1, Math.floor(CHUNK_PIXELS / Wo));
  const chunks = Math.ceil(Ho / chunkRows);
  const arena = rt.arena;
  // Every block first: growing the memory replaces its buffer (and views on it).
  const xAddress = arena.alloc(4 * x.length, 'convolution backward input');
  const dyAddress = arena.alloc(4 * dy.length, 'convolution backward gradOutput');
  const table = arena.alloc(groupTableBytes(g), 'convolution backward tap table');
  const planes = arena.alloc(Math.max(64, groupPlanesBytes(g, layout)), 'convolution backward phase planes');
  const result = arena.alloc(4 * coutG * depth, 'convolution backward weight block');
  try {
    rt.write(xAddress, x);
    rt.write(dyAddress, dy);
    writeTapTable(rt, g, layout, table);
    const size = coutG * depth;
    if (sums.length < size) sums = new Float64Array(size);
    const kernel = rt.kernels.gdot_f32;
    const direct = g.batch === 1 && chunks === 1;
    for (let group = 0; group < groups; group++) {
      let first = true;
      for (let n = 0; n < g.batch; n++) {
        const base = stageGroupInput(rt, g, layout, xAddress + 4 * (n * Cin + group * cinG) * H * W, planes);
        const dyGroup = dyAddress + 4 * (n * Cout + group * coutG) * Ho * Wo;
        for (let i0 = 0; i0 < Ho; i0 += chunkRows) {
          const rows = Math.min(chunkRows, Ho - i0);
          callKernel('gdot_f32', () => {
            for (let m0 = 0; m0 < coutG; m0 += 4) {
              kernel(Math.min(4, coutG - m0), depth, rows, Wo, dyGroup + 4 * (m0 * Ho * Wo + i0 * Wo), 4 * Ho * Wo, 4 * Wo,
                base + 4 * i0 * layout.cols, table, 4 * layout.cols, result + 4 * m0 * depth, 4 * depth);
            }
          });
          const block = rt.view(result, size);
          if (direct) {
            dw.set(block, group * size);
          } else if (first) {
            for (let k = 0; k < size; k++) sums[k] = block[k]!;
          } else {
            for (let k = 0; k < size; k++) sums[k] += block[k]!;
          }
          first = false;
        }
      }
      if (!direct) {
        const out = group * size;
        for (let k = 0; k < size; k++) dw[out + k] = sums[k]!;
      }
    }
  } finally {
    arena.release(result);
    arena.release(planes);
    arena.release(table);
    arena.release(dyAddress);
    arena.release(xAddress);
  }
}

/** Whether gradInput of `g` is a forward convolution of dY the wasm path runs (stride 1, pads within the kernel's reach). */
function isDualConvolution(g: Conv2dGeometry): boolean {
  const reachH = g.dilationH * (g.kernelH - 1);
  const reachW = g.dilationW * (g.kernelW - 1);
  return g.strideH === 1 && g.strideW === 1 && g.padTop <= reachH && g.padBottom <= reachH && g.padLeft <= reachW && g.padRight <= reachW;
}

/** Input channels per group from which the dual convolution takes stride 1 (see gradInputMethod). */
const DUAL_MIN_GROUP_CHANNELS = 16;

/**
 * Which way gradInput of `g` runs: the columns (grouped-backward-columns.ts) or the dual forward
 * convolution (stride 1, pads within the kernel's reach, see the file comment).
 *
 * The dual convolution's GEMM has cinG rows, so with few input channels per group its MR-row
 * register tile is mostly empty (3 of 6 rows for an RGB input); a stride needed stride² phase
 * convolutions of the same shape, four packings and a JS scatter (and a JS fallback where a phase
 * needed dY cropped, or with a dilation). The columns' GEMM has cinG·kH·kW rows and nothing
 * staged, at the cost of col2im. Measured (process CPU time, interleaved A/B, 2-vCPU machine
 * under other load, so ±15%): MobileNetV1 conv1 (3→32, 3×3, stride 2) gradInput 2.5 → 0.85 ms
 * on Node 24 relaxed (GEMM 0.52 ms, ~42 GFLOP/s; col2im 0.10; dY copied in 0.12; dX zeroed and
 * copied out 0.09), backward / forward 4.1–4.9 → 1.8–2.2 (bench/backward.mjs);
 * every strided case tried was faster by columns on Node 24 and Node 20,
 * 1.1–6× (cinG 1 to 256, kernels 1, 3, 5, 7, strides 2 and 3, groups 2, batch 3), and the cases
 * the JS kernels ran (dilation with a stride, cropped phases, pads beyond the kernel) 1.1–4×.
 * At stride 1 columns win clearly below 16 input channels per group (cinG 3, 4, 8: 1.4–2.6× on
 * Node 24, 1.1–2.6× on Node 20); from 16 up they are within noise or lose (cinG 32 with 16
 * output channels, cinG 8 with a 5×5 kernel: 0.83–0.84× on Node 20), so the dual convolution
 * keeps those.
 */
export function gradInputMethod(g: Conv2dGeometry): 'columns' | 'dual' {
  return isDualConvolution(g) && g.inChannels / g.groups >= DUAL_MIN_GROUP_CHANNELS ? 'dual' : 'columns';
}

/** Whether the wasm input gradient takes the call (anything with work to do: the columns serve every geometry). */
export function wasmGroupedGradInputApplies(g: Conv2dGeometry): boolean {
  return g.batch > 0 && g.inChannels > 0 && g.outChannels > 0 && g.outHeight * g.outWidth > 0;
}

/** Writes gradInput into `dx` (see gradInputMethod). */
export function wasmGroupedGradInput(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array): void {
  if (gradInputMethod(g) === 'columns') columnsGradInput(rt, g, dy, w, dx);
  else dualGradInput(rt, g, dy, w, dx);
}

/** gradInput as the dual forward convolution of dY (see the file comment). */
function dualGradInput(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array): void {
  const { inChannels: Cin, outChannels: Cout, groups, kernelH: kH, kernelW: kW } = g;
  const cinG = Cin / groups;
  const coutG = Cout / groups;
  const reachH = g.dilationH * (kH - 1);
  const reachW = g.dilationW * (kW - 1);
  const dual = conv2dGeometry([g.batch, Cout, g.outHeight, g.outWidth], [Cin, coutG, kH, kW], {
    groups,
    dilation: [g.dilationH, g.dilationW],
    padding: { top: reachH - g.padTop, bottom: reachH - g.padBottom, left: reachW - g.padLeft, right: reachW - g.padRight },
  });
  // W'[c, o, u, v] = W[group·coutG + o, c − group·cinG, kH−1−u, kW−1−v]
  const taps = kH * kW;
  if (dualFilters.length < Cin * coutG * taps) dualFilters = new Float32Array(Cin * coutG * taps);
  const filters = dualFilters.subarray(0, Cin * coutG * taps);
  for (let c = 0; c < Cin; c++) {
    const group = Math.floor(c / cinG);
    const cLocal = c - group * cinG;
    for (let o = 0; o < coutG; o++) {
      const src = ((group * coutG + o) * cinG + cLocal) * taps;
      const dst = (c * coutG + o) * taps;
      for (let t = 0; t < taps; t++) filters[dst + t] = w[src + taps - 1 - t]!;
    }
  }
  const arena = rt.arena;
  const packed = arena.alloc(groupedPath.weightBytes(dual, rt), 'convolution backward dual filters');
  const dyAddress = arena.alloc(4 * dy.length, 'convolution backward gradOutput');
  const result = arena.alloc(4 * dx.length, 'convolution backward gradInput');
  const scratch = arena.alloc(groupedPath.scratchBytes(dual), 'convolution backward scratch');
  try {
    groupedPath.packWeights(rt, dual, filters, null, packed);
    rt.write(dyAddress, dy);
    callKernel('grouped gradInput', () => groupedPath.run(rt, dual, 0, packed, dyAddress, result, scratch, 0, Cin, 0, g.batch));
    dx.set(rt.view(result, dx.length));
  } finally {
    arena.release(scratch);
    arena.release(result);
    arena.release(dyAddress);
    arena.release(packed);
  }
}
