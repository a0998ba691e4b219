/**
 * The gradients of the activations a convolution or BatchNorm can fuse, from the forward's output y
 * (PyTorch's rules: ReLU passes the gradient where y > 0 — `threshold_backward` on the result —
 * and ReLU6 where 0 < y < 6, which is `hardtanh_backward`'s 0 < x < 6; NaN passes nothing).
 */
import type { Tensor } from '../tensor.js';
import type { FusedActivation } from '../epilogue.js';

/** dx[i] = dy[i] where the activation's slope at output y[i] is 1, else 0; written into `into`. */
export function activationGradientInto(activation: FusedActivation, dy: Float32Array, y: Float32Array, into: Float32Array): void {
  if (activation === 'relu') {
    for (let i = 0; i < dy.length; i++) into[i] = y[i]! > 0 ? dy[i]! : 0;
  } else {
    for (let i = 0; i < dy.length; i++) {
      const v = y[i]!;
      into[i] = v > 0 && v < 6 ? dy[i]! : 0;
    }
  }
}

/** The gradient before a fused activation, as a tensor over `into` (which must hold dy's size). */
export function activationGradient(activation: FusedActivation, dy: Tensor, y: Tensor, into: Float32Array): Tensor {
  activationGradientInto(activation, dy.data, y.data, into);
  return { shape: dy.shape, data: into };
}
