/**
 * torchvision's `Conv2dNormActivation`: a Sequential of a bias-free convolution ("0"), a
 * BatchNorm2d ("1") and, when given, an activation ("2"), with padding (k − 1)/2 · dilation.
 */
import { Conv2d } from '../conv.js';
import { BatchNorm2d, type BatchNorm2dOptions } from '../batchnorm.js';
import type { Generator } from '../init.js';
import { Module } from '../module.js';
import { optional, readInteger, readOptions } from '../../checks.js';
import { describeValue } from '../../tensor.js';
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
  constructor(callerOptions: ConvNormActivationOptions) {
    // Own properties only: an inherited `groups` or `stride` is no option.
    const options = readOptions<ConvNormActivationOptions>(
      callerOptions, ['inChannels', 'outChannels', 'kernelSize', 'stride', 'groups', 'dilation', 'norm', 'activation', 'generator'], 'Conv2dNormActivation',
    );
    const inChannels = readInteger(options.inChannels, 'Conv2dNormActivation: inChannels');
    const outChannels = readInteger(options.outChannels, 'Conv2dNormActivation: outChannels');
    const kernelSize = readInteger(options.kernelSize, 'Conv2dNormActivation: kernelSize', 3);
    const dilation = readInteger(options.dilation, 'Conv2dNormActivation: dilation', 1);
    if (options.activation !== null && !(options.activation instanceof Module)) {
      throw new TypeError(`Conv2dNormActivation: activation must be a Module or null, got ${describeValue(options.activation)}`);
    }
    const conv = new Conv2d({
      inChannels,
      outChannels,
      kernelSize,
      stride: readInteger(options.stride, 'Conv2dNormActivation: stride', 1),
      padding: ((kernelSize - 1) / 2) * dilation,
      dilation,
      groups: readInteger(options.groups, 'Conv2dNormActivation: groups', 1),
      bias: false,
      generator: options.generator,
    });
    const norm = new BatchNorm2d(outChannels, optional(options.norm, {}));
    if (options.activation === null) super(conv, norm);
    else super(conv, norm, options.activation);
  }

  /** It starts with a convolution, so its output is always a tensor of its own. */
  override producesNewTensor(): boolean {
    return true;
  }
}
