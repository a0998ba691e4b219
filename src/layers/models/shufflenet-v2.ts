/**
 * torchvision 0.14's ShuffleNetV2 (Ma et al., arXiv:1807.11164): `conv1` (3×3 stride-2 conv-BN-ReLU),
 * `maxpool` (3×3 stride 2, padding 1), `stage2`–`stage4` (4, 8, 4 blocks, the first of each with
 * stride 2), `conv5` (1×1 conv-BN-ReLU), the mean over H and W, and `fc`.
 */
import { readEnum, readOptions } from '../../checks.js';
import { ReLU } from '../activation.js';
import { BatchNorm2d } from '../batchnorm.js';
import { ShuffleInvertedResidual } from '../blocks/shuffle.js';
import { Conv2d } from '../conv.js';
import { Linear } from '../linear.js';
import { MaxPool2d } from '../pooling.js';
import { Sequential } from '../sequential.js';
import { readZooOptions, type ZooOptions } from './options.js';
import { ZooModel, type Stage } from './zoo-model.js';

export type ShuffleNetV2Width = 0.5 | 1.0 | 1.5 | 2.0;

export interface ShuffleNetV2Options extends Omit<ZooOptions, 'dropout'> {
  /** torchvision's x0_5, x1_0, x1_5, x2_0. */
  width?: ShuffleNetV2Width;
}

/** `stages_out_channels` per width. */
const CHANNELS: Record<string, readonly number[]> = {
  '0.5': [24, 48, 96, 192, 1024],
  '1': [24, 116, 232, 464, 1024],
  '1.5': [24, 176, 352, 704, 1024],
  '2': [24, 244, 488, 976, 2048],
};
const REPEATS = [4, 8, 4];

export class ShuffleNetV2 extends ZooModel {
  protected readonly factoryName = 'shufflenetV2';
  protected readonly stages: readonly Stage[] = [
    { child: 'conv1' }, { child: 'maxpool' }, { child: 'stage2' }, { child: 'stage3' }, { child: 'stage4' }, { child: 'conv5' }, 'mean', { child: 'fc' },
  ];
  readonly width: ShuffleNetV2Width;
  readonly numClasses: number;

  constructor(callerOptions: ShuffleNetV2Options = {}) {
    super();
    const options = readOptions<ShuffleNetV2Options>(callerOptions, ['width', 'numClasses', 'seed', 'generator'], 'shufflenetV2');
    const width = readEnum(options.width, 'shufflenetV2: width', [0.5, 1.0, 1.5, 2.0] as const, 1.0);
    const channels = CHANNELS[String(width)]!;
    const { numClasses, generator } = readZooOptions(options, 'shufflenetV2', channels[4]!, 0);
    this.width = width;
    this.numClasses = numClasses;
    let input = channels[0]!;
    this.registerModule(
      'conv1',
      new Sequential(new Conv2d({ inChannels: 3, outChannels: input, kernelSize: 3, stride: 2, padding: 1, bias: false, generator }), new BatchNorm2d(input), new ReLU()),
    );
    this.registerModule('maxpool', new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 }));
    REPEATS.forEach((repeats, i) => {
      const output = channels[i + 1]!;
      const blocks = [new ShuffleInvertedResidual(input, output, 2, generator)];
      for (let r = 1; r < repeats; r++) blocks.push(new ShuffleInvertedResidual(output, output, 1, generator));
      this.registerModule(`stage${i + 2}`, new Sequential(...blocks));
      input = output;
    });
    const last = channels[4]!;
    this.registerModule(
      'conv5',
      new Sequential(new Conv2d({ inChannels: input, outChannels: last, kernelSize: 1, bias: false, generator }), new BatchNorm2d(last), new ReLU()),
    );
    this.registerModule('fc', new Linear(last, numClasses, { generator }));
  }
}

/** torchvision's `shufflenet_v2_x0_5` … `shufflenet_v2_x2_0` by `width`, with fresh parameters. */
export function shufflenetV2(options: ShuffleNetV2Options = {}): ShuffleNetV2 {
  return new ShuffleNetV2(options);
}
