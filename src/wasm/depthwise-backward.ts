/**
 * The depthwise gradWeight on the wasm tier (every depthwise geometry): dW[o] = Σ_n (correlation
 * of dY[n, o] with x[n, o / K]). The input and dY are staged into wasm memory once per call; per
 * output channel and image, the input plane is copied into the zero-bordered plane
 * (`dw3x3_pad`, as the forward does) and `dwg_gradw` (depthwise-general.ts) computes the kh·kw
 * sums in float32 lanes; images are summed in order, the first written, the others added, as the
 * JS tier does. gradInput stays on the JS kernels (which run the forward kernels on dY).
 */
import type { Conv2dGeometry } from '../kernels/geometry.js';
import { generalPaddedHeight, generalPaddedWidth } from './depthwise-general-path.js';
import type { WasmRuntime } from './runtime.js';

export function wasmDepthwiseGradWeight(rt: WasmRuntime, g: Conv2dGeometry, dy: Float32Array, x: Float32Array, dw: Float32Array): void {
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
    kernels.fill_f32(plane, hp * wp, 0);
    const mem = rt.f32();
    const inPlane = H * W;
    const outPlane = Ho * Wo;
    for (let o = 0; o < Cout; o++) {
      const c = Math.floor(o / K);
      for (let n = 0; n < g.batch; n++) {
        kernels.dw3x3_pad(xAddress + 4 * (n * Cin + c) * inPlane, H, W, plane, wp, g.padTop, g.padLeft);
        kernels.dwg_gradw(plane, wp, dyAddress + 4 * (n * Cout + o) * outPlane, Ho, Wo, kH, kW, g.strideH, g.strideW, g.dilationH, g.dilationW, sums);
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
