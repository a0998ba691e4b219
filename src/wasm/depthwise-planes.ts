/**
 * What the two depthwise kernel families share at run time (depthwise-3x3-path.ts,
 * depthwise-general-path.ts): the driver that walks output planes over zero-bordered copies of the
 * input planes, and the packing of a filter per output channel behind its bias. Their emitted row
 * loop (4-pixel tiles, then the last 1..3 pixels as lane stores of one more full tile) is
 * depthwise-rows.ts.
 */
import type { Conv2dGeometry } from '../geometry.js';
import type { WasmRuntime } from './runtime.js';

/**
 * Output planes `[channelStart, channelEnd)` of images `[imageStart, imageEnd)`: input plane
 * c = o / K is copied (`dw3x3_pad`, `rows` × W of it) into the zero-bordered plane at `scratch`
 * (hp × wp floats) once per c, then `plane(o, outputAddress)` computes output plane o from it.
 */
export function forEachDepthwisePlane(
  rt: WasmRuntime, g: Conv2dGeometry, x: number, y: number, scratch: number, wp: number, hp: number, rows: number,
  channelStart: number, channelEnd: number, imageStart: number, imageEnd: number,
  plane: (o: number, output: number) => void,
): void {
  const { inChannels: Cin, outChannels: Cout, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = g;
  if (channelEnd <= channelStart || Ho === 0 || Wo === 0) return;
  const K = Cout / Cin;
  const kernels = rt.kernels;
  // The borders stay zero: every plane copy writes the same interior positions.
  kernels.fill_f32(scratch, hp * wp, 0);
  for (let n = imageStart; n < imageEnd; n++) {
    let copied = -1;
    for (let o = channelStart; o < channelEnd; o++) {
      const c = Math.floor(o / K);
      if (c !== copied) {
        kernels.dw3x3_pad(x + 4 * (n * Cin + c) * H * W, rows, W, scratch, wp, g.padTop, g.padLeft);
        copied = c;
      }
      plane(o, y + 4 * (n * Cout + o) * Ho * Wo);
    }
  }
}

/**
 * Packs each output channel's filter (`taps` weights, PyTorch order) behind its bias into
 * `floatsPerChannel` floats at `address`, zero-filled after the last tap.
 */
export function packDepthwiseFilters(
  rt: WasmRuntime, outChannels: number, taps: number, floatsPerChannel: number, w: Float32Array, bias: Float32Array | null, address: number,
): void {
  const mem = rt.f32();
  for (let o = 0; o < outChannels; o++) {
    const d = (address >>> 2) + floatsPerChannel * o;
    // −0 bias → +0 (adding +0 does that), as the JS tier and the GEMM packing do (gemm.ts)
    mem[d] = bias === null ? 0 : bias[o]! + 0;
    for (let k = 0; k < taps; k++) mem[d + 1 + k] = w[taps * o + k]!;
    for (let k = 1 + taps; k < floatsPerChannel; k++) mem[d + k] = 0;
  }
}
