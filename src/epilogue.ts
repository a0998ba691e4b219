/**
 * The epilogue every kernel applies as it writes an output value: add the bias, then the fused
 * activation. Activations are small integer codes so that kernels stay monomorphic.
 *
 * Signed zeros: the result is (+0 + Σ products) + bias, as PyTorch's oneDNN convolutions and its
 * linear layers compute it, so a sum of −0 products with a −0 bias (or none) is +0. Kernels start
 * their sums from the bias instead, which gives the same result, sign of zero included, once a −0
 * bias is read as `bias + 0` (= +0): every kernel and every tier reads the bias that way.
 */

export type Activation = 'none' | 'relu' | 'relu6';
/** An activation a layer fuses into its convolution's epilogue. */
export type FusedActivation = Exclude<Activation, 'none'>;

export const ACT_NONE = 0;
export const ACT_RELU = 1;
export const ACT_RELU6 = 2;

export const ACTIVATIONS: readonly Activation[] = ['none', 'relu', 'relu6'];

export function activationCode(activation: Activation): number {
  return activation === 'relu' ? ACT_RELU : activation === 'relu6' ? ACT_RELU6 : ACT_NONE;
}

/**
 * Applies activation `act` to `v`. NaN passes through unchanged, as in PyTorch. Small enough for
 * V8 to inline into the kernels' store loops.
 */
export function activate(v: number, act: number): number {
  if (act === ACT_RELU) return v < 0 ? 0 : v;
  if (act === ACT_RELU6) return v < 0 ? 0 : v > 6 ? 6 : v;
  return v;
}

/** In place: `data[i] = activate(data[i], act)` over `[offset, offset + length)`. */
export function activateRange(data: Float32Array, offset: number, length: number, act: number): void {
  if (act === ACT_NONE) return;
  const end = offset + length;
  if (act === ACT_RELU) {
    for (let i = offset; i < end; i++) {
      const v = data[i]!;
      if (v < 0) data[i] = 0;
    }
  } else {
    for (let i = offset; i < end; i++) {
      const v = data[i]!;
      if (v < 0) data[i] = 0;
      else if (v > 6) data[i] = 6;
    }
  }
}
