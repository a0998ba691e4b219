/** Folding inference-mode BatchNorm into the preceding convolution. */
import { SeedBlock } from './models/seed.js';
import { Identity } from './activation.js';
import { BatchNorm2d } from './batchnorm.js';
import { Conv2d, DepthwiseSeparableConv2d } from './conv.js';
import { Module } from './module.js';
import { describeValue } from '../tensor.js';
import { Sequential } from './sequential.js';

/** The convolution whose output a module ends with, if it is one (or a separable block). */
function trailingConv(m: Module): Conv2d | null {
  if (m instanceof Conv2d) return m;
  if (m instanceof DepthwiseSeparableConv2d) return m.pointwise;
  if (m instanceof SeedBlock) return m.last;
  return null;
}

function foldInPlace(m: Module): number {
  let folded = 0;
  for (const child of m.children()) folded += foldInPlace(child);
  if (!(m instanceof Sequential)) return folded;
  const layers = m.children();
  for (let i = 0; i + 1 < layers.length; i++) {
    const conv = trailingConv(layers[i]!);
    const bn = layers[i + 1];
    if (conv === null || !(bn instanceof BatchNorm2d) || bn.numFeatures !== conv.outChannels) continue;
    // Batch statistics depend on the input: such a layer is no fixed affine map and stays.
    if (!bn.trackRunningStats) continue;
    const { scale, shift } = bn.scaleShift();
    conv.applyChannelAffine(scale, shift);
    m.setLayer(i + 1, new Identity());
    folded++;
  }
  return folded;
}

/**
 * An equivalent copy of `model` for inference in which every BatchNorm2d that directly follows a
 * convolution in a Sequential is folded into that convolution (w' = w·γ/√(var+ε),
 * b' = (b − mean)·γ/√(var+ε) + β, computed in float64) and replaced by an Identity, as PyTorch's
 * `fuse_conv_bn_eval` does. The Identity keeps later indices (and state-dict keys) unchanged, and
 * a ReLU/ReLU6 after it is still fused into the convolution. `model` itself is not modified.
 */
export function foldBatchNorm<M extends Module>(model: M): M {
  if (!(model instanceof Module)) throw new TypeError(`foldBatchNorm: model must be a sepconv Module, got ${describeValue(model)}`);
  const copy = model.clone();
  foldInPlace(copy);
  return copy;
}
