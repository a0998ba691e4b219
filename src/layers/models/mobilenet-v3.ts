/**
 * torchvision 0.14's MobileNetV3 Large and Small (Howard et al., arXiv:1905.02244): `features.0`
 * (3×3 stride-2 conv-BN-hardswish), the inverted residual blocks (body `block`, squeeze-excitation
 * with hardsigmoid as `block.N.fc1/fc2`), a 1×1 conv-BN-hardswish to 6× the last width, `avgpool`,
 * and `classifier` = Linear, Hardswish, Dropout, Linear. BatchNorm eps 0.001, momentum 0.01.
 */
import { describeValue } from '../../tensor.js';
import { readOptions } from '../../checks.js';
import { Hardswish } from '../activation.js';
import { Conv2dNormActivation } from '../blocks/conv-norm-activation.js';
import { InvertedResidualV3, makeDivisible, type InvertedResidualV3Config } from '../blocks/residual.js';
import { Dropout } from '../dropout.js';
import { Linear } from '../linear.js';
import type { Module } from '../module.js';
import { AdaptiveAvgPool2d } from '../pooling.js';
import { Sequential } from '../sequential.js';
import { readZooOptions, ZOO_OPTION_NAMES, type ZooOptions } from './options.js';
import { ZooModel, type Stage } from './zoo-model.js';

export type MobileNetV3Options = ZooOptions;

type Row = readonly [number, number, number, number, boolean, 'HS' | 'RE', number];

/** [input, kernel, expanded, out, use SE, activation, stride] (torchvision's `bneck_conf`, width 1, dilation 1). */
const LARGE: readonly Row[] = [
  [16, 3, 16, 16, false, 'RE', 1], [16, 3, 64, 24, false, 'RE', 2], [24, 3, 72, 24, false, 'RE', 1],
  [24, 5, 72, 40, true, 'RE', 2], [40, 5, 120, 40, true, 'RE', 1], [40, 5, 120, 40, true, 'RE', 1],
  [40, 3, 240, 80, false, 'HS', 2], [80, 3, 200, 80, false, 'HS', 1], [80, 3, 184, 80, false, 'HS', 1],
  [80, 3, 184, 80, false, 'HS', 1], [80, 3, 480, 112, true, 'HS', 1], [112, 3, 672, 112, true, 'HS', 1],
  [112, 5, 672, 160, true, 'HS', 2], [160, 5, 960, 160, true, 'HS', 1], [160, 5, 960, 160, true, 'HS', 1],
];
const SMALL: readonly Row[] = [
  [16, 3, 16, 16, true, 'RE', 2], [16, 3, 72, 24, false, 'RE', 2], [24, 3, 88, 24, false, 'RE', 1],
  [24, 5, 96, 40, true, 'HS', 2], [40, 5, 240, 40, true, 'HS', 1], [40, 5, 240, 40, true, 'HS', 1],
  [40, 5, 120, 48, true, 'HS', 1], [48, 5, 144, 48, true, 'HS', 1], [48, 5, 288, 96, true, 'HS', 2],
  [96, 5, 576, 96, true, 'HS', 1], [96, 5, 576, 96, true, 'HS', 1],
];

const NORM = { eps: 0.001, momentum: 0.01 };

export class MobileNetV3 extends ZooModel {
  protected readonly factoryName: string;
  protected readonly stages: readonly Stage[] = [{ child: 'features' }, { child: 'avgpool' }, 'flatten', { child: 'classifier' }];
  readonly arch: 'large' | 'small';
  readonly numClasses: number;

  constructor(arch: 'large' | 'small', callerOptions: MobileNetV3Options = {}) {
    super();
    if (arch !== 'large' && arch !== 'small') throw new RangeError(`MobileNetV3: arch must be 'large' or 'small', got ${describeValue(arch)}`);
    const fn = arch === 'large' ? 'mobilenetV3Large' : 'mobilenetV3Small';
    this.factoryName = fn;
    const options = readOptions<MobileNetV3Options>(callerOptions, ZOO_OPTION_NAMES, fn);
    const rows = arch === 'large' ? LARGE : SMALL;
    const lastChannel = makeDivisible(arch === 'large' ? 1280 : 1024, 8);
    const { numClasses, dropout, generator } = readZooOptions(options, fn, lastChannel, 0.2);
    this.arch = arch;
    this.numClasses = numClasses;
    const configs: InvertedResidualV3Config[] = rows.map(([input, kernel, expanded, out, useSe, activation, stride]) => ({
      inputChannels: makeDivisible(input, 8),
      kernel,
      expandedChannels: makeDivisible(expanded, 8),
      outChannels: makeDivisible(out, 8),
      useSe,
      activation,
      stride,
      dilation: 1,
    }));
    const first = configs[0]!.inputChannels;
    const lastIn = configs[configs.length - 1]!.outChannels;
    const lastOut = 6 * lastIn;
    const layers: Module[] = [new Conv2dNormActivation({ inChannels: 3, outChannels: first, stride: 2, norm: NORM, activation: new Hardswish(), generator })];
    for (const cnf of configs) layers.push(new InvertedResidualV3(cnf, NORM, generator));
    layers.push(new Conv2dNormActivation({ inChannels: lastIn, outChannels: lastOut, kernelSize: 1, norm: NORM, activation: new Hardswish(), generator }));
    this.registerModule('features', new Sequential(...layers));
    this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.registerModule(
      'classifier',
      new Sequential(new Linear(lastOut, lastChannel, { generator }), new Hardswish(), new Dropout(dropout), new Linear(lastChannel, numClasses, { generator })),
    );
  }

  get features(): Sequential {
    return this.getChild('features');
  }

  get classifier(): Sequential {
    return this.getChild('classifier');
  }
}

/** torchvision's `mobilenet_v3_large(num_classes=…)` with fresh parameters. */
export function mobilenetV3Large(options: MobileNetV3Options = {}): MobileNetV3 {
  return new MobileNetV3('large', options);
}

/** torchvision's `mobilenet_v3_small(num_classes=…)` with fresh parameters. */
export function mobilenetV3Small(options: MobileNetV3Options = {}): MobileNetV3 {
  return new MobileNetV3('small', options);
}
