/**
 * The depthwise gradWeight on the wasm tier (every depthwise geometry): dW[o] = Σ_n (correlation
 * of dY[n, o] with x[n, o / K]). The input and dY are staged into wasm memory once per call; per
 * output channel and image, the input plane is copied into the zero-bordered plane
 * (`dw3x3_pad`, as the forward does) and `dwg_gradw` (depthwise-general.ts) computes the kh·kw
 * sums in float32 lanes; images are summed in order, the first written, the others added, as the
 * JS tier does.
 *
 * gradInput at stride 1 is itself a depthwise convolution: dY, zero-padded by dilation·(k − 1) −
 * padding on each side, correlated with each filter rotated by 180° (same dilation) gives the
 * H × W plane of dX. `wasmDepthwiseGradInput` runs it with the forward's general kernel
 * (`dwg_plane`); the output channels c·K + q of one input plane are summed in q order, the first
 * written, the others added. The 3×3 stride-2 case (padding 0 or 1 per side, MobileNets'
 * downsampling layers) has its own gather kernel (depthwise-3x3s2-gradinput.ts), with the same
 * q-order sum; other strided gradInputs stay on the JS kernels.
 */
import type { Conv2dGeometry } from '../geometry.js';
import { conv2dGeometry } from '../geometry.js';
import { dwbPlaneWidth } from './abi.js';
import { dwgw3PlaneHeight, dwgw3PlaneWidth } from './abi.js';
import { DW3X3_PACKED_FLOATS } from './abi.js';
import { depthwisePaddedWidth } from './depthwise-3x3-path.js';
import { dwgPackedFloats } from './abi.js';
import { generalPaddedHeight, generalPaddedWidth } from './depthwise-general-path.js';
import type { WasmRuntime } from './runtime.js';

export function wasmDepthwiseGradWeight(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, x: Float32Array, dw: Float32Array): void {
  if (g.kernelH === 3 && g.kernelW === 3 && g.strideH === g.strideW && g.strideH <= 2 && g.dilationH === 1 && g.dilationW === 1 &&
    g.outChannels === g.inChannels && g.padTop <= 1 && g.padLeft <= 1 && g.padBottom <= 1 && g.padRight <= 1) {
    gradWeight3x3(rt, g, dy, x, dw, g.strideH as 1 | 2);
    return;
  }
  wasmDepthwiseGradWeightGeneral(rt, g, dy, x, dw);
}

/** gradWeight of any depthwise geometry with the general kernel (`dwg_gradw`), one plane per call. */
export function wasmDepthwiseGradWeightGeneral(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, x: Float32Array, dw: Float32Array): void {
  const { inChannels: Cin, outChannels: Cout, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo, kernelH: kH, kernelW: kW } = g;
  const taps = kH * kW;
  const K = Cout / Cin;
  const wp = generalPaddedWidth(g);
  const hp = generalPaddedHeight(g);
  const arena = rt.arena;
  // Every block first: growing the memory replaces its buffer (and views on it).
  const xAddress = arena.alloc(4 * x.length, 'depthwise backward input');
  const dyAddress = arena.alloc(4 * dy.length, 'depthwise backward gradOutput');
  const plane = arena.alloc(4 * hp * wp + 64, 'depthwise backward padded plane');
  const sums = arena.alloc(4 * taps, 'depthwise backward filter gradient');
  try {
    rt.write(xAddress, x);
    rt.write(dyAddress, dy);
    const kernels = rt.kernels;
    // Three taps of a filter row per pass over dY where the row splits into threes (3×3, 3×6 …).
    const gradw = kW % 3 === 0 ? kernels.dwg_gradw3 : kernels.dwg_gradw;
    kernels.fill_f32(plane, hp * wp, 0);
    const mem = rt.f32();
    const inPlane = H * W;
    const outPlane = Ho * Wo;
    for (let o = 0; o < Cout; o++) {
      const c = Math.floor(o / K);
      for (let n = 0; n < g.batch; n++) {
        kernels.dw3x3_pad(xAddress + 4 * (n * Cin + c) * inPlane, H, W, plane, wp, g.padTop, g.padLeft);
        gradw(plane, wp, dyAddress + 4 * (n * Cout + o) * outPlane, Ho, Wo, kH, kW, g.strideH, g.strideW, g.dilationH, g.dilationW, sums);
        const base = o * taps;
        const s = sums >>> 2;
        if (n === 0) for (let k = 0; k < taps; k++) dw[base + k] = mem[s + k]!;
        else for (let k = 0; k < taps; k++) dw[base + k] = Math.fround(dw[base + k]! + mem[s + k]!);
      }
    }
  } finally {
    arena.release(sums);
    arena.release(plane);
    arena.release(dyAddress);
    arena.release(xAddress);
  }
}

/** 3×3, stride 2, dilation 1, padding 0 or 1 on every side: the stride-2 gather kernel's case. */
function isDepthwise3x3s2(g: Conv2dGeometry): boolean {
  return g.kernelH === 3 && g.kernelW === 3 && g.strideH === 2 && g.strideW === 2 && g.dilationH === 1 && g.dilationW === 1 &&
    g.padTop <= 1 && g.padBottom <= 1 && g.padLeft <= 1 && g.padRight <= 1;
}

/**
 * Whether gradInput of `g` runs on a wasm kernel: stride 1 with paddings the rotation can undo,
 * or the 3×3 stride-2 case.
 */
export function wasmDepthwiseGradInputApplies(g: Conv2dGeometry): boolean {
  if (isDepthwise3x3s2(g)) return true;
  return g.strideH === 1 && g.strideW === 1 &&
    g.padTop <= g.dilationH * (g.kernelH - 1) && g.padBottom <= g.dilationH * (g.kernelH - 1) &&
    g.padLeft <= g.dilationW * (g.kernelW - 1) && g.padRight <= g.dilationW * (g.kernelW - 1);
}

export function wasmDepthwiseGradInput(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array): void {
  if (isDepthwise3x3s2(g)) {
    gradInput3x3s2(rt, g, dy, w, dx);
    return;
  }
  if (g.kernelH === 3 && g.kernelW === 3 && g.strideH === 1 && g.strideW === 1 && g.dilationH === 1 && g.dilationW === 1 && g.outChannels === g.inChannels) {
    gradInput3x3s1(rt, g, dy, w, dx);
    return;
  }
  wasmDepthwiseGradInputGeneral(rt, g, dy, w, dx);
}

/** gradInput at stride 1 of any depthwise geometry with the general kernel (`dwg_plane`), one plane per call. */
export function wasmDepthwiseGradInputGeneral(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array): void {
  const { inChannels: Cin, outChannels: Cout, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo, kernelH: kH, kernelW: kW } = g;
  const K = Cout / Cin;
  const taps = kH * kW;
  // The forward convolution computing dX: input dY (one plane), output H × W.
  const rotated = conv2dGeometry([1, 1, Ho, Wo], [1, 1, kH, kW], {
    dilation: [g.dilationH, g.dilationW],
    padding: {
      top: g.dilationH * (kH - 1) - g.padTop, bottom: g.dilationH * (kH - 1) - g.padBottom,
      left: g.dilationW * (kW - 1) - g.padLeft, right: g.dilationW * (kW - 1) - g.padRight,
    },
  });
  const wp = generalPaddedWidth(rotated);
  const hp = generalPaddedHeight(rotated);
  const packed = dwgPackedFloats(kH, kW);
  const arena = rt.arena;
  const dyAddress = arena.alloc(4 * dy.length, 'depthwise backward gradOutput');
  const filters = arena.alloc(4 * packed * Cout, 'depthwise backward rotated filters');
  const plane = arena.alloc(4 * hp * wp + 64, 'depthwise backward padded plane');
  const result = arena.alloc(4 * H * W, 'depthwise backward plane');
  try {
    rt.write(dyAddress, dy);
    const mem = rt.f32();
    for (let o = 0; o < Cout; o++) {
      const d = (filters >>> 2) + packed * o;
      mem.fill(0, d, d + packed); // a zero bias, then the filter rotated by 180°
      for (let t = 0; t < taps; t++) mem[d + 1 + t] = w[o * taps + taps - 1 - t]!;
    }
    const kernels = rt.kernels;
    kernels.fill_f32(plane, hp * wp, 0);
    const r = result >>> 2;
    for (let n = 0; n < g.batch; n++) {
      for (let c = 0; c < Cin; c++) {
        const dxOff = (n * Cin + c) * H * W;
        for (let q = 0; q < K; q++) {
          const o = c * K + q;
          kernels.dw3x3_pad(dyAddress + 4 * (n * Cout + o) * Ho * Wo, Ho, Wo, plane, wp, rotated.padTop, rotated.padLeft);
          kernels.dwg_plane(plane, wp, filters + 4 * packed * o, result, H, W, kH, kW, 1, 1, g.dilationH, g.dilationW, -Infinity, Infinity);
          const view = rt.f32();
          if (q === 0) dx.set(view.subarray(r, r + H * W), dxOff);
          else for (let k = 0; k < H * W; k++) dx[dxOff + k] += view[r + k]!;
        }
      }
    }
  } finally {
    arena.release(result);
    arena.release(plane);
    arena.release(filters);
    arena.release(dyAddress);
  }
}

/** gradInput of the 3×3 stride-2 case with the gather kernel (see the file comment). */
function gradInput3x3s2(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array): void {
  const { inChannels: Cin, outChannels: Cout, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
  const K = Cout / Cin;
  const wp = dwbPlaneWidth(W, Wo);
  const arena = rt.arena;
  const dyAddress = arena.alloc(4 * dy.length, 'depthwise backward gradOutput');
  const filters = arena.alloc(4 * w.length, 'depthwise backward filters');
  const plane = arena.alloc(4 * (Ho + 2) * wp + 64, 'depthwise backward padded plane');
  // + 64 bytes: an accumulating call loads the last block of a plane whole
  const result = arena.alloc(4 * Cin * H * W + 64, 'depthwise backward gradInput');
  try {
    rt.write(dyAddress, dy);
    rt.write(filters, w);
    const kernels = rt.kernels;
    const kernel = g.padLeft === 0 ? kernels.dwb_s2_gradin_l0 : kernels.dwb_s2_gradin_l1;
    kernels.fill_f32(plane, (Ho + 2) * wp, 0);
    for (let n = 0; n < g.batch; n++) {
      const dyImage = dyAddress + 4 * n * Cout * Ho * Wo;
      if (K === 1) {
        kernel(dyImage, Cin, Ho, Wo, plane, wp, filters, result, H, W, g.padTop, 0);
      } else {
        // output channels c·K + q summed into input plane c in q order
        for (let c = 0; c < Cin; c++) {
          for (let q = 0; q < K; q++) {
            const o = c * K + q;
            kernel(dyImage + 4 * o * Ho * Wo, 1, Ho, Wo, plane, wp, filters + 36 * o, result + 4 * c * H * W, H, W, g.padTop, q === 0 ? 0 : 1);
          }
        }
      }
      dx.set(rt.view(result, Cin * H * W), n * Cin * H * W);
    }
  } finally {
    arena.release(result);
    arena.release(plane);
    arena.release(filters);
    arena.release(dyAddress);
  }
}

/**
 * gradWeight of a 3×3 stride-1 or -2 depthwise convolution (channel multiplier 1, padding 0 or 1
 * per side) with the one-pass nine-tap kernel (depthwise-3x3s1-gradweight.ts), every channel of
 * an image in one call; images summed in order, the first written, the others added in float32,
 * as the general route does.
 */
function gradWeight3x3(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, x: Float32Array, dw: Float32Array, stride: 1 | 2): void {
  const { inChannels: C, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
  const wp = dwgw3PlaneWidth(W, Wo, g.padLeft, stride);
  const hp = dwgw3PlaneHeight(H, Ho, g.padTop, stride);
  const arena = rt.arena;
  const xAddress = arena.alloc(4 * x.length, 'depthwise backward input');
  // + 16 bytes: the last row's masked step loads dY whole
  const dyAddress = arena.alloc(4 * dy.length + 16, 'depthwise backward gradOutput');
  const plane = arena.alloc(4 * hp * wp + 64, 'depthwise backward padded plane');
  const sums = arena.alloc(4 * 9 * C, 'depthwise backward filter gradient');
  try {
    rt.write(xAddress, x);
    rt.write(dyAddress, dy);
    const kernels = rt.kernels;
    kernels.fill_f32(plane, hp * wp, 0);
    for (let n = 0; n < g.batch; n++) {
      (stride === 1 ? kernels.dwgw3_planes : kernels.dwgw3_s2_planes)(xAddress + 4 * n * C * H * W, dyAddress + 4 * n * C * Ho * Wo, C, H, W, Ho, Wo, plane, wp, g.padTop, g.padLeft, sums);
      const view = rt.view(sums, 9 * C);
      if (n === 0) dw.set(view);
      else for (let k = 0; k < 9 * C; k++) dw[k] = Math.fround(dw[k]! + view[k]!);
    }
  } finally {
    arena.release(sums);
    arena.release(plane);
    arena.release(dyAddress);
    arena.release(xAddress);
  }
}

/**
 * gradInput of a 3×3 stride-1 depthwise convolution with multiplier 1 (pads within the kernel's
 * reach, as wasmDepthwiseGradInputApplies requires): the forward's 3×3 kernel over dY padded by
 * 2 − pad, filters rotated by 180° (zero bias), every channel of an image in one call
 * (dw3x3_s1_planes).
 */
function gradInput3x3s1(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, w: Float32Array, dx: Float32Array): void {
  const { inChannels: C, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
  const dual = conv2dGeometry([1, 1, Ho, Wo], [1, 1, 3, 3], { padding: { top: 2 - g.padTop, bottom: 2 - g.padBottom, left: 2 - g.padLeft, right: 2 - g.padRight } });
  const wp = depthwisePaddedWidth(dual);
  const hp = H + 2; // the rows the taps of output row H − 1 reach
  const rows = Math.min(Ho, hp - dual.padTop);
  const arena = rt.arena;
  const dyAddress = arena.alloc(4 * dy.length, 'depthwise backward gradOutput');
  const filters = arena.alloc(4 * DW3X3_PACKED_FLOATS * C, 'depthwise backward rotated filters');
  const plane = arena.alloc(4 * hp * wp + 64, 'depthwise backward padded plane');
  const result = arena.alloc(4 * C * H * W, 'depthwise backward gradInput');
  try {
    rt.write(dyAddress, dy);
    const mem = rt.f32();
    for (let c = 0; c < C; c++) {
      const d = (filters >>> 2) + DW3X3_PACKED_FLOATS * c;
      mem.fill(0, d, d + DW3X3_PACKED_FLOATS); // a zero bias, the filter rotated by 180°, two zeros
      for (let t = 0; t < 9; t++) mem[d + 1 + t] = w[9 * c + 8 - t]!;
    }
    const kernels = rt.kernels;
    kernels.fill_f32(plane, hp * wp, 0);
    for (let n = 0; n < g.batch; n++) {
      kernels.dw3x3_s1_planes(dyAddress + 4 * n * C * Ho * Wo, C, Ho, rows, Wo, plane, wp, dual.padTop, dual.padLeft, filters, result, H, W, -Infinity, Infinity);
      dx.set(rt.view(result, C * H * W), n * C * H * W);
    }
  } finally {
    arena.release(result);
    arena.release(plane);
    arena.release(filters);
    arena.release(dyAddress);
  }
}
