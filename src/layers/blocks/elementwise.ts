/** Element-wise helpers the blocks share: residual add, channel scale, channel interleave. */
import { addInWasm, scaleChannelsInWasm } from '../../wasm/activation-run.js';
import type { WasmRuntime } from '../../wasm/runtime.js';

/** y[i] += x[i] (y and x of equal length). */
export function addInto(y: Float32Array, x: Float32Array): void {
  addOnTier(null, y, x, y);
}

/**
 * out[i] = a[i] + b[i]: in wasm when `rt` is given and all three arrays live in its memory (a
 * compiled model's activations), else in JS; one float32 add per element either way, the same bits.
 */
export function addOnTier(rt: WasmRuntime | null, a: Float32Array, b: Float32Array, out: Float32Array): void {
  if (rt !== null && addInWasm(rt, a, b, out)) return;
  for (let i = 0; i < out.length; i++) out[i] = a[i]! + b[i]!;
}

/** scaleChannels in wasm when `rt` is given and all three arrays live in its memory, else in JS (the same bits). */
export function scaleChannelsOnTier(rt: WasmRuntime | null, x: Float32Array, scale: Float32Array, out: Float32Array, plane: number): void {
  if (rt === null || !scaleChannelsInWasm(rt, x, scale, out, plane)) scaleChannels(x, scale, out, plane);
}

/** out[n, c, :, :] = x[n, c, :, :] · scale[n, c] over `planes` = N·C planes of `plane` values; out may be x. */
export function scaleChannels(x: Float32Array, scale: Float32Array, out: Float32Array, plane: number): void {
  const planes = scale.length;
  for (let p = 0; p < planes; p++) {
    const s = scale[p]!;
    const end = (p + 1) * plane;
    for (let i = p * plane; i < end; i++) out[i] = x[i]! * s;
  }
}

/**
 * ShuffleNetV2's concat followed by `channel_shuffle(·, 2)` in one pass: output channel 2i is
 * channel i of `a`, output channel 2i + 1 is channel i of `b`, for i < half. `a` has `aChannels`
 * channels per sample (only its first `half` are read: the untouched half of a stride-1 block's
 * input), `b` has `half`.
 */
export function interleaveChannels(
  a: Float32Array, aChannels: number, b: Float32Array, half: number, out: Float32Array, batch: number, plane: number,
): void {
  for (let n = 0; n < batch; n++) {
    const aBase = n * aChannels * plane;
    const bBase = n * half * plane;
    const outBase = n * 2 * half * plane;
    for (let i = 0; i < half; i++) {
      const o0 = outBase + 2 * i * plane;
      const a0 = aBase + i * plane;
      const b0 = bBase + i * plane;
      for (let j = 0; j < plane; j++) out[o0 + j] = a[a0 + j]!;
      const o1 = o0 + plane;
      for (let j = 0; j < plane; j++) out[o1 + j] = b[b0 + j]!;
    }
  }
}
