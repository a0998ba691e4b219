/**
 * MobileNetV1 (Howard et al. 2017, arXiv:1704.04861) from sepconv modules: a 3×3 stride-2
 * conv-BN-ReLU6, 13 depthwise-separable blocks (depthwise 3×3-BN-ReLU6, pointwise 1×1-BN-ReLU6),
 * global average pooling and a fully connected classifier. Convolutions have no bias (BatchNorm
 * follows each), so at width 1.0 and 1000 classes it has 4,231,976 learnable parameters.
 *
 * Names follow the widespread PyTorch port (`model.0.0.weight` … `model.13.4.running_var`,
 * `fc.weight`, `fc.bias`), so its state dict loads with `loadStateDict` (ReLU vs ReLU6 has no
 * parameters and does not affect loading).
 */
import type { Tensor, TensorLike } from '../../tensor.js';
import { ReLU6 } from '../activation.js';
import { BatchNorm2d } from '../batchnorm.js';
import { readInteger, readNumber, readOptions } from '../../kernels/validate.js';
import { Conv2d, DepthwiseConv2d, PointwiseConv2d } from '../conv.js';
import { resolveGenerator, type Generator, type InitOptions, checkParameterElements } from '../init.js';
import { Flatten, Linear } from '../linear.js';
import { chainedOutputShape, Module, type ForwardAsyncOptions, checkForwardAsyncOptions } from '../module.js';
import { planChain, type PlanStep } from '../compile.js';
import { AdaptiveAvgPool2d } from '../pooling.js';
import { Sequential } from '../sequential.js';

export interface MobileNetV1Options extends InitOptions {
  /** Scales every layer's channel count (α in the paper): channels = max(1, floor(c·α)). */
  widthMultiplier?: number;
  numClasses?: number;
  /** Input channels (3 for RGB). */
  inChannels?: number;
}

/** [outChannels, stride] of the 13 depthwise-separable blocks at width 1.0. */
const BLOCKS: readonly (readonly [number, number])[] = [
  [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
  [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
];

function convBn(inChannels: number, outChannels: number, stride: number, generator: Generator): Sequential {
  return new Sequential(
    new Conv2d({ inChannels, outChannels, kernelSize: 3, stride, padding: 1, bias: false, generator }),
    new BatchNorm2d(outChannels),
    new ReLU6(),
  );
}

function convDw(inChannels: number, outChannels: number, stride: number, generator: Generator): Sequential {
  return new Sequential(
    new DepthwiseConv2d({ inChannels, kernelSize: 3, stride, padding: 1, bias: false, generator }),
    new BatchNorm2d(inChannels),
    new ReLU6(),
    new PointwiseConv2d({ inChannels, outChannels, bias: false, generator }),
    new BatchNorm2d(outChannels),
    new ReLU6(),
  );
}

export class MobileNetV1 extends Module {
  readonly widthMultiplier: number;
  readonly numClasses: number;

  constructor(callerOptions: MobileNetV1Options = {}) {
    super();
    // Own properties only, read once: nothing inherited is an option.
    const options = readOptions<MobileNetV1Options>(callerOptions, ['widthMultiplier', 'numClasses', 'inChannels', 'seed', 'generator'], 'mobilenetV1');
    const alpha = readNumber(options.widthMultiplier, 'mobilenetV1: widthMultiplier', 1, { min: 0, minExclusive: true });
    const numClasses = readInteger(options.numClasses, 'mobilenetV1: numClasses', 1000);
    const inChannels = readInteger(options.inChannels, 'mobilenetV1: inChannels', 3);
    // The largest weights, checked before any layer is built: the 1024→1024 pointwise
    // convolution (widthMultiplier) and the classifier (numClasses).
    const widest = Math.max(1, Math.floor(1024 * alpha));
    checkParameterElements(widest * widest, 'mobilenetV1: the widest pointwise weight (widthMultiplier)');
    checkParameterElements(widest * numClasses, 'mobilenetV1: the classifier weight (numClasses)');
    checkParameterElements(Math.max(1, Math.floor(32 * alpha)) * inChannels * 9, 'mobilenetV1: the first convolution weight (inChannels)');
    this.widthMultiplier = alpha;
    this.numClasses = numClasses;
    const width = (c: number): number => Math.max(1, Math.floor(c * alpha));
    const generator = resolveGenerator(options);
    const layers: Module[] = [convBn(inChannels, width(32), 2, generator)];
    let channels = width(32);
    for (const [out, stride] of BLOCKS) {
      layers.push(convDw(channels, width(out), stride, generator));
      channels = width(out);
    }
    layers.push(new AdaptiveAvgPool2d(1));
    this.registerModule('model', new Sequential(...layers));
    this.registerModule('flatten', new Flatten());
    this.registerModule('fc', new Linear(channels, numClasses, { generator }));
  }

  /** The convolutional trunk and the global pool. */
  get model(): Sequential {
    return this.getChild('model');
  }

  get fc(): Linear {
    return this.getChild('fc');
  }

  forward(x: TensorLike): Tensor {
    let y = this.model.forward(x);
    y = this.getChild('flatten').forward(y);
    return this.fc.forward(y);
  }

  /** fc, flatten and the trunk's backward, in that order. */
  override backward(gradOutput: TensorLike): Tensor {
    const g = this.getChild('flatten').backward(this.fc.backward(gradOutput));
    return this.model.backward(g);
  }

  override async forwardAsync(x: TensorLike, options: ForwardAsyncOptions = {}): Promise<Tensor> {
    checkForwardAsyncOptions(options);
    let y = await this.model.forwardAsync(x, options);
    y = this.getChild('flatten').forward(y);
    return this.fc.forward(y);
  }

  outputShape(inputShape: readonly number[]): number[] {
    return chainedOutputShape(this.children(), inputShape);
  }

  override plan(inputShape: readonly number[]): PlanStep {
    return planChain(inputShape, this.children().map((child) => (shape: readonly number[]) => child.plan(shape)));
  }

  override extraRepr(): string {
    return this.widthMultiplier === 1 ? '' : `width_multiplier=${this.widthMultiplier}`;
  }
}

/** MobileNetV1 with fresh parameters (PyTorch default init from `seed`, BatchNorm at identity statistics). */
export function mobilenetV1(options: MobileNetV1Options = {}): MobileNetV1 {
  return new MobileNetV1(options);
}
