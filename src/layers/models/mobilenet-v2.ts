/**
 * torchvision 0.14's MobileNetV2 (Sandler et al., arXiv:1801.04381) with its module structure and
 * state-dict keys: `features.0` (3×3 stride-2 conv-BN-ReLU6), `features.1`–`features.17`
 * (InvertedResidual, body `conv`), `features.18` (1×1 conv-BN-ReLU6 to 1280·max(1, widthMult)),
 * global average pooling, `classifier.0` (Dropout) and `classifier.1` (Linear).
 */
import { readNumber, readOptions } from '../../checks.js';
import { ReLU6 } from '../activation.js';
import { Conv2dNormActivation } from '../blocks/conv-norm-activation.js';
import { InvertedResidual, makeDivisible } from '../blocks/residual.js';
import { Dropout } from '../dropout.js';
import { checkParameterElements } from '../init.js';
import { Linear } from '../linear.js';
import type { Module } from '../module.js';
import { Sequential } from '../sequential.js';
import { readZooOptions, ZOO_OPTION_NAMES, type ZooOptions } from './options.js';
import { ZooModel, type Stage } from './zoo-model.js';

export interface MobileNetV2Options extends ZooOptions {
  /** Scales every layer's channels, rounded by `_make_divisible(c · widthMult, 8)` (torchvision's `width_mult`). */
  widthMult?: number;
}

/** [expansion t, channels c, repeats n, stride s] of torchvision's `inverted_residual_setting`. */
const SETTING: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

export class MobileNetV2 extends ZooModel {
  protected readonly factoryName = 'mobilenetV2';
  protected readonly stages: readonly Stage[] = [{ child: 'features' }, 'mean', { child: 'classifier' }];
  readonly widthMult: number;
  readonly numClasses: number;
  readonly lastChannel: number;

  constructor(callerOptions: MobileNetV2Options = {}) {
    super();
    const options = readOptions<MobileNetV2Options>(callerOptions, ['widthMult', ...ZOO_OPTION_NAMES], 'mobilenetV2');
    const widthMult = readNumber(options.widthMult, 'mobilenetV2: widthMult', 1, { min: 0, minExclusive: true });
    const lastChannel = makeDivisible(1280 * Math.max(1, widthMult), 8);
    // The widest weights, checked before any layer is built.
    const widest = makeDivisible(320 * widthMult, 8);
    checkParameterElements(widest * lastChannel, 'mobilenetV2: the last 1×1 convolution weight (widthMult)');
    checkParameterElements(makeDivisible(160 * widthMult, 8) * 6 * widest, 'mobilenetV2: the widest projection weight (widthMult)');
    const { numClasses, dropout, generator } = readZooOptions(options, 'mobilenetV2', lastChannel, 0.2);
    this.widthMult = widthMult;
    this.numClasses = numClasses;
    this.lastChannel = lastChannel;
    let input = makeDivisible(32 * widthMult, 8);
    const features: Module[] = [new Conv2dNormActivation({ inChannels: 3, outChannels: input, stride: 2, activation: new ReLU6(), generator })];
    for (const [t, c, n, s] of SETTING) {
      const output = makeDivisible(c * widthMult, 8);
      for (let i = 0; i < n; i++) {
        features.push(new InvertedResidual(input, output, i === 0 ? s : 1, t, generator));
        input = output;
      }
    }
    features.push(new Conv2dNormActivation({ inChannels: input, outChannels: lastChannel, kernelSize: 1, activation: new ReLU6(), generator }));
    this.registerModule('features', new Sequential(...features));
    this.registerModule('classifier', new Sequential(new Dropout(dropout), new Linear(lastChannel, numClasses, { generator })));
  }

  get features(): Sequential {
    return this.getChild('features');
  }

  get classifier(): Sequential {
    return this.getChild('classifier');
  }
}

/** torchvision's `mobilenet_v2(width_mult=…, num_classes=…)` with fresh parameters (PyTorch's default layer init from `seed`). */
export function mobilenetV2(options: MobileNetV2Options = {}): MobileNetV2 {
  return new MobileNetV2(options);
}
