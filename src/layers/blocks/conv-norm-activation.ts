/**
 * torchvision's `Conv2dNormActivation`: a Sequential of a bias-free convolution ("0"), a
 * BatchNorm2d ("1") and, when given, an activation ("2"), with padding (k − 1)/2 · dilation.
 */
import { Conv2d } from '../conv.js';
import { BatchNorm2d, type BatchNorm2dOptions } from '../batchnorm.js';
import type { Generator } from '../init.js';
import type { Module } from '../module.js';
import { Sequential } from '../sequential.js';

export interface ConvNormActivationOptions {
  inChannels: number;
  outChannels: number;
  kernelSize?: number;
  stride?: number;
  groups?: number;
  dilation?: number;
  /** BatchNorm2d's eps and momentum (torchvision's `norm_layer` partials). */
  norm?: BatchNorm2dOptions;
  /** The activation module, or null for none (a linear projection). */
  activation: Module | null;
  generator: Generator;
}

export class Conv2dNormActivation extends Sequential {
  constructor(options: ConvNormActivationOptions) {
    const kernelSize = options.kernelSize ?? 3;
    const dilation = options.dilation ?? 1;
    const conv = new Conv2d({
      inChannels: options.inChannels,
      outChannels: options.outChannels,
      kernelSize,
      stride: options.stride ?? 1,
      padding: ((kernelSize - 1) / 2) * dilation,
      dilation,
      groups: options.groups ?? 1,
      bias: false,
      generator: options.generator,
    });
    const norm = new BatchNorm2d(options.outChannels, options.norm ?? {});
    if (options.activation === null) super(conv, norm);
    else super(conv, norm, options.activation);
  }

  /** It starts with a convolution, so its output is always a tensor of its own. */
  override producesNewTensor(): boolean {
    return true;
  }
}
