/**
 * The gradients of the general convolution path on wasm (any kernel size, stride, dilation,
 * zero padding and groups).
 *
 * gradInput at stride 1 (every pad within the kernel's reach) is itself a forward convolution
 * of dY: filters rotated by 180° and transposed per group, W'[c, o, u, v] = W[o, c, kH−1−u,
 * kW−1−v], padding dilation·(k − 1) − pad (as kernels/grouped-backward.ts does on the JS tier),
 * run by the forward's wasm path (grouped.ts). With a stride (dilation 1), input pixel (s·a + r,
 * ·) takes from tap p only when p ≡ r + pad (mod s), from dY row a + (r + pad − p)/s: per phase
 * r of the stride (rows and columns), a stride-1 forward convolution of dY with the sub-filter of
 * those taps, rotated, written to a phase plane, then scattered into the input's grid (each input
 * pixel belongs to exactly one phase). Phases whose sub-filter would need dY cropped (a padding
 * beyond the kernel) stay on the JS kernels.
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

/**
 * One axis of a strided gradInput's phase r: the taps p ≡ r + pad (mod s) (first p0, count n),
 * the sub-convolution's leading padding `lead` = n − 1 − (r + pad − p0)/s, and the phase's size.
 */
interface PhaseAxis { readonly p0: number; readonly n: number; readonly lead: number; readonly size: number }

function phaseAxis(r: number, pad: number, stride: number, kernel: number, inSize: number): PhaseAxis {
  const p0 = (r + pad) % stride;
  const n = p0 < kernel ? Math.floor((kernel - 1 - p0) / stride) + 1 : 0;
  const lead = n - 1 - (r + pad - p0) / stride;
  return { p0, n, lead, size: Math.ceil((inSize - r) / stride) };
}

/** Whether every phase of a strided gradInput is a plain stride-1 convolution of dY (dilation 1, no cropping). */
function isPhasedConvolution(g: Conv2dGeometry): boolean {
  if (g.dilationH !== 1 || g.dilationW !== 1 || (g.strideH === 1 && g.strideW === 1)) return false;
  if (g.strideH > g.inHeight || g.strideW > g.inWidth) return false;
  for (let r = 0; r < g.strideH; r++) if (phaseAxis(r, g.padTop, g.strideH, g.kernelH, g.inHeight).lead < 0) return false;
  for (let r = 0; r < g.strideW; r++) if (phaseAxis(r, g.padLeft, g.strideW, g.kernelW, g.inWidth).lead < 0) return false;
  return true;
}

export function wasmGroupedGradInputApplies(g: Conv2dGeometry): boolean {
  return g.batch > 0 && g.inChannels > 0 && g.outChannels > 0 && g.outHeight * g.outWidth > 0 && (isDualConvolution(g) || isPhasedConvolution(g));
}

/** Writes gradInput into `dx` (see the file comment). */
export function wasmGroupedGradInput(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array): void {
  if (!isDualConvolution(g)) {
    phasedGradInput(rt, g, dy, w, dx);
    return;
  }
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

/** The strided gradInput, phase by phase (see the file comment). */
function phasedGradInput(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array): void {
  const { inChannels: Cin, outChannels: Cout, groups, kernelH: kH, kernelW: kW, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
  const { strideH: sh, strideW: sw } = g;
  const cinG = Cin / groups;
  const coutG = Cout / groups;
  const rowsOf = Array.from({ length: sh }, (_, r) => phaseAxis(r, g.padTop, sh, kH, H));
  const colsOf = Array.from({ length: sw }, (_, r) => phaseAxis(r, g.padLeft, sw, kW, W));
  // Every block first (growing the memory replaces its buffer): sized for the largest phase.
  let weightBytes = 64;
  let scratchBytes = 64;
  let resultFloats = 0;
  const phases: { ry: number; rx: number; geometry: Conv2dGeometry | null }[] = [];
  for (let ry = 0; ry < sh; ry++) {
    for (let rx = 0; rx < sw; rx++) {
      const a = rowsOf[ry]!;
      const b = colsOf[rx]!;
      if (a.size <= 0 || b.size <= 0) continue;
      let geometry: Conv2dGeometry | null = null;
      if (a.n > 0 && b.n > 0) {
        // output a.size × b.size; bottom/right padding makes up the rest (never negative: a
        // larger natural output is computed and its extra rows and columns ignored)
        const bottom = Math.max(0, a.size - Ho - a.lead + a.n - 1);
        const right = Math.max(0, b.size - Wo - b.lead + b.n - 1);
        geometry = conv2dGeometry([g.batch, Cout, Ho, Wo], [Cin, coutG, a.n, b.n], { groups, padding: { top: a.lead, bottom, left: b.lead, right } });
        weightBytes = Math.max(weightBytes, groupedPath.weightBytes(geometry, rt));
        scratchBytes = Math.max(scratchBytes, groupedPath.scratchBytes(geometry));
        resultFloats = Math.max(resultFloats, g.batch * Cin * geometry.outHeight * geometry.outWidth);
      }
      phases.push({ ry, rx, geometry });
    }
  }
  const taps = kH * kW;
  if (dualFilters.length < Cin * coutG * taps) dualFilters = new Float32Array(Cin * coutG * taps);
  const arena = rt.arena;
  const packed = arena.alloc(weightBytes, 'convolution backward phase filters');
  const dyAddress = arena.alloc(4 * dy.length, 'convolution backward gradOutput');
  const result = arena.alloc(4 * Math.max(1, resultFloats), 'convolution backward phase planes');
  const scratch = arena.alloc(scratchBytes, 'convolution backward scratch');
  try {
    rt.write(dyAddress, dy);
    for (const { ry, rx, geometry } of phases) {
      const a = rowsOf[ry]!;
      const b = colsOf[rx]!;
      if (geometry === null) {
        // no tap reaches this phase: its pixels' gradient is 0
        for (let n = 0; n < g.batch; n++) {
          for (let c = 0; c < Cin; c++) {
            const plane = (n * Cin + c) * H * W;
            for (let i = ry; i < H; i += sh) for (let j = rx; j < W; j += sw) dx[plane + i * W + j] = 0;
          }
        }
        continue;
      }
      // W'[c, o, v, u] = W[group·coutG + o, c − group·cinG, p0 + sh·(n − 1 − v), q0 + sw·(m − 1 − u)]
      const filters = dualFilters.subarray(0, Cin * coutG * a.n * b.n);
      for (let c = 0; c < Cin; c++) {
        const group = Math.floor(c / cinG);
        const cLocal = c - group * cinG;
        for (let o = 0; o < coutG; o++) {
          const src = ((group * coutG + o) * cinG + cLocal) * taps;
          const dst = (c * coutG + o) * a.n * b.n;
          for (let v = 0; v < a.n; v++) {
            for (let u = 0; u < b.n; u++) filters[dst + v * b.n + u] = w[src + (a.p0 + sh * (a.n - 1 - v)) * kW + b.p0 + sw * (b.n - 1 - u)]!;
          }
        }
      }
      groupedPath.packWeights(rt, geometry, filters, null, packed);
      callKernel('grouped gradInput', () => groupedPath.run(rt, geometry, 0, packed, dyAddress, result, scratch, 0, Cin, 0, g.batch));
      // scatter the phase plane (its first a.size rows, b.size columns) into the input grid
      const view = rt.f32();
      const ho = geometry.outHeight;
      const wo = geometry.outWidth;
      const base = result >>> 2;
      for (let n = 0; n < g.batch; n++) {
        for (let c = 0; c < Cin; c++) {
          const src = base + (n * Cin + c) * ho * wo;
          const plane = (n * Cin + c) * H * W;
          for (let i = 0; i < a.size; i++) {
            let d = plane + (ry + sh * i) * W + rx;
            let s = src + i * wo;
            for (let j = 0; j < b.size; j++, d += sw, s++) dx[d] = view[s]!;
          }
        }
      }
    }
  } finally {
    arena.release(scratch);
    arena.release(result);
    arena.release(dyAddress);
    arena.release(packed);
  }
}
