/** Folding inference-mode BatchNorm into the preceding convolution. */
import { describeValue } from '../tensor.js';
import { Module } from './module.js';

/**
 * An equivalent copy of `model` for inference in which every BatchNorm2d that directly follows a
 * convolution in a Sequential is folded into that convolution (w' = w·γ/√(var+ε),
 * b' = (b − mean)·γ/√(var+ε) + β, computed in float64) and replaced by an Identity, as PyTorch's
 * `fuse_conv_bn_eval` does. The Identity keeps later indices (and state-dict keys) unchanged, and
 * a ReLU/ReLU6 after it is still fused into the convolution. `model` itself is not modified.
 * (`model.compile(shape)` does this by default.)
 */
export function foldBatchNorm<M extends Module>(model: M): M {
  if (!(model instanceof Module)) throw new TypeError(`foldBatchNorm: model must be a sepconv Module, got ${describeValue(model)}`);
  const copy = model.clone();
  copy.foldBatchNormInPlace();
  return copy;
}
