/**
 * Running the `act` kernels (activation.ts) on float32 arrays: in place in wasm memory when both
 * arrays live there (a compiled model's activations do), through a staging block otherwise, so
 * the wasm tier's result is the same wherever the arrays live.
 */
import type { ActExports } from './abi.js';
import type { WasmRuntime } from './runtime.js';

/** The element-wise activations (every act_* export but the channel scale). */
export type ActKernel = Exclude<keyof ActExports, 'act_scale_f32' | 'act_add_f32'>;

/** y[i] = f(x[i]) with the wasm kernel `kernel` (x and y may be the same array). */
export function runActivation(rt: WasmRuntime, kernel: ActKernel, x: Float32Array, y: Float32Array): void {
  const n = x.length;
  if (n === 0) return;
  const source = rt.addressOf(x);
  const target = rt.addressOf(y);
  if (source >= 0 && target >= 0) {
    rt.kernels[kernel](source, target, n);
    return;
  }
  const staging = rt.arena.alloc(4 * n, 'activation staging');
  try {
    rt.write(staging, x);
    rt.kernels[kernel](staging, staging, n);
    y.set(rt.view(staging, n));
  } finally {
    rt.arena.release(staging);
  }
}

/**
 * y = x scaled per plane by `scales` (act_scale_f32) when all three arrays live in wasm memory (a
 * compiled model's activations do); false when one does not, and the caller scales in JS (the
 * same bits: one float32 multiply per element either way).
 */
export function scaleChannelsInWasm(rt: WasmRuntime, x: Float32Array, scales: Float32Array, y: Float32Array, plane: number): boolean {
  const source = rt.addressOf(x);
  const target = rt.addressOf(y);
  const factors = rt.addressOf(scales);
  if (source < 0 || target < 0 || factors < 0) return false;
  rt.kernels.act_scale_f32(source, target, plane, factors, scales.length);
  return true;
}

/**
 * out = a + b (act_add_f32) when all three arrays live in wasm memory; false when one does not,
 * and the caller adds in JS (the same bits: one float32 add per element either way).
 */
export function addInWasm(rt: WasmRuntime, a: Float32Array, b: Float32Array, out: Float32Array): boolean {
  const x = rt.addressOf(a);
  const y = rt.addressOf(b);
  const z = rt.addressOf(out);
  if (x < 0 || y < 0 || z < 0) return false;
  rt.kernels.act_add_f32(x, y, z, out.length);
  return true;
}
