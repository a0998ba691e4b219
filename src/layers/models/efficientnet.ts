/**
 * torchvision 0.14's EfficientNet-B0 (Tan & Le, arXiv:1905.11946): `features.0` (3×3 stride-2
 * conv-BN-SiLU), `features.1`–`features.7` (stages of MBConv blocks, `features.N.M.block…`),
 * `features.8` (1×1 conv-BN-SiLU to 1280), `avgpool`, `classifier` = Dropout(0.2), Linear.
 * Stochastic depth probabilities rise linearly from 0 to 0.2 over the 16 blocks (identity in eval).
 */
import { readNumber, readOptions } from '../../checks.js';
import { SiLU } from '../activation.js';
import { Conv2dNormActivation } from '../blocks/conv-norm-activation.js';
import { MBConv, makeDivisible } from '../blocks/residual.js';
import { Dropout } from '../dropout.js';
import { Linear } from '../linear.js';
import type { Module } from '../module.js';
import { AdaptiveAvgPool2d } from '../pooling.js';
import { Sequential } from '../sequential.js';
import { readZooOptions, ZOO_OPTION_NAMES, type ZooOptions } from './options.js';
import { ZooModel, type Stage } from './zoo-model.js';

export interface EfficientNetOptions extends ZooOptions {
  /** The largest stochastic-depth probability (torchvision's `stochastic_depth_prob`, 0.2). */
  stochasticDepthProb?: number;
}

/** [expand ratio, kernel, stride, input channels, output channels, layers] of B0. */
const B0: readonly (readonly [number, number, number, number, number, number])[] = [
  [1, 3, 1, 32, 16, 1], [6, 3, 2, 16, 24, 2], [6, 5, 2, 24, 40, 2], [6, 3, 2, 40, 80, 3],
  [6, 5, 1, 80, 112, 3], [6, 5, 2, 112, 192, 4], [6, 3, 1, 192, 320, 1],
];

export class EfficientNet extends ZooModel {
  protected readonly factoryName = 'efficientnetB0';
  protected readonly stages: readonly Stage[] = [{ child: 'features' }, { child: 'avgpool' }, 'flatten', { child: 'classifier' }];
  readonly numClasses: number;

  constructor(callerOptions: EfficientNetOptions = {}) {
    super();
    const options = readOptions<EfficientNetOptions>(callerOptions, ['stochasticDepthProb', ...ZOO_OPTION_NAMES], 'efficientnetB0');
    const last = 4 * makeDivisible(320, 8);
    const { numClasses, dropout, generator } = readZooOptions(options, 'efficientnetB0', last, 0.2);
    const sdProb = readNumber(options.stochasticDepthProb, 'efficientnetB0: stochasticDepthProb', 0.2, { min: 0, max: 1 });
    this.numClasses = numClasses;
    const total = B0.reduce((sum, row) => sum + row[5], 0);
    const layers: Module[] = [new Conv2dNormActivation({ inChannels: 3, outChannels: makeDivisible(32, 8), stride: 2, activation: new SiLU(), generator })];
    let blockId = 0;
    for (const [expandRatio, kernel, stride, inputChannels, outChannels, count] of B0) {
      const stage: Module[] = [];
      for (let i = 0; i < count; i++) {
        const cnf = {
          expandRatio,
          kernel,
          stride: i === 0 ? stride : 1,
          inputChannels: i === 0 ? makeDivisible(inputChannels, 8) : makeDivisible(outChannels, 8),
          outChannels: makeDivisible(outChannels, 8),
        };
        stage.push(new MBConv(cnf, (sdProb * blockId) / total, {}, generator));
        blockId++;
      }
      layers.push(new Sequential(...stage));
    }
    layers.push(new Conv2dNormActivation({ inChannels: makeDivisible(320, 8), outChannels: last, kernelSize: 1, activation: new SiLU(), generator }));
    this.registerModule('features', new Sequential(...layers));
    this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.registerModule('classifier', new Sequential(new Dropout(dropout), new Linear(last, numClasses, { generator })));
  }

  get features(): Sequential {
    return this.getChild('features');
  }
}

/** torchvision's `efficientnet_b0(num_classes=…)` with fresh parameters. */
export function efficientnetB0(options: EfficientNetOptions = {}): EfficientNet {
  return new EfficientNet(options);
}
