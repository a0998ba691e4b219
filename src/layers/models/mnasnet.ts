/**
 * torchvision 0.14's MNASNet-B1 (Tan et al., arXiv:1807.11626), `_version = 2`: one flat
 * `layers` Sequential (stem conv-BN-ReLU, depthwise-separable conv, six stacks of inverted
 * residuals as `layers.8`–`layers.13`, 1×1 conv to 1280-BN-ReLU), the mean over H and W, and
 * `classifier` = Dropout, Linear. Depths scale by `alpha` with MNASNet's round-up-biased rounding.
 */
import { readNumber, readOptions } from '../../checks.js';
import { ReLU } from '../activation.js';
import { BatchNorm2d } from '../batchnorm.js';
import { MnasInvertedResidual } from '../blocks/residual.js';
import { Conv2d } from '../conv.js';
import { Dropout } from '../dropout.js';
import { checkParameterElements, type Generator } from '../init.js';
import { Linear } from '../linear.js';
import { Sequential } from '../sequential.js';
import { readZooOptions, ZOO_OPTION_NAMES, type ZooOptions } from './options.js';
import { ZooModel, type Stage } from './zoo-model.js';

export interface MNASNetOptions extends ZooOptions {
  /** Depth multiplier (torchvision ships 0.5, 0.75, 1.0 and 1.3; any positive value builds). */
  alpha?: number;
}

/** PyTorch's `1 - 0.9997`, as a float64 (0.00029999999999996696). */
const BN_MOMENTUM = 1 - 0.9997;

/** MNASNet's `_round_to_multiple_of(val, divisor, 0.9)`: rounds up unless within 10% above the lower multiple. */
export function roundToMultipleOf(val: number, divisor: number, roundUpBias = 0.9): number {
  const v = Math.max(divisor, Math.floor((val + divisor / 2) / divisor) * divisor);
  return v >= roundUpBias * val ? v : v + divisor;
}

export function mnasnetDepths(alpha: number): number[] {
  return [32, 16, 24, 40, 80, 96, 192, 320].map((d) => roundToMultipleOf(d * alpha, 8));
}

function stack(inCh: number, outCh: number, kernel: number, stride: number, expansion: number, repeats: number, generator: Generator): Sequential {
  const blocks = [new MnasInvertedResidual(inCh, outCh, kernel, stride, expansion, BN_MOMENTUM, generator)];
  for (let i = 1; i < repeats; i++) blocks.push(new MnasInvertedResidual(outCh, outCh, kernel, 1, expansion, BN_MOMENTUM, generator));
  return new Sequential(...blocks);
}

export class MNASNet extends ZooModel {
  protected readonly factoryName = 'mnasnet';
  protected readonly stages: readonly Stage[] = [{ child: 'layers' }, 'mean', { child: 'classifier' }];
  readonly alpha: number;
  readonly numClasses: number;

  constructor(callerOptions: MNASNetOptions = {}) {
    super();
    const options = readOptions<MNASNetOptions>(callerOptions, ['alpha', ...ZOO_OPTION_NAMES], 'mnasnet');
    const alpha = readNumber(options.alpha, 'mnasnet: alpha', 1, { min: 0, minExclusive: true });
    const d = mnasnetDepths(alpha);
    checkParameterElements(d[7]! * 1280, 'mnasnet: the last 1×1 convolution weight (alpha)');
    checkParameterElements(d[7]! * d[6]! * 6, 'mnasnet: the widest projection weight (alpha)');
    const { numClasses, dropout, generator } = readZooOptions(options, 'mnasnet', 1280, 0.2);
    this.alpha = alpha;
    this.numClasses = numClasses;
    const norm = { momentum: BN_MOMENTUM };
    this.registerModule(
      'layers',
      new Sequential(
        new Conv2d({ inChannels: 3, outChannels: d[0]!, kernelSize: 3, padding: 1, stride: 2, bias: false, generator }),
        new BatchNorm2d(d[0]!, norm),
        new ReLU(),
        new Conv2d({ inChannels: d[0]!, outChannels: d[0]!, kernelSize: 3, padding: 1, stride: 1, groups: d[0]!, bias: false, generator }),
        new BatchNorm2d(d[0]!, norm),
        new ReLU(),
        new Conv2d({ inChannels: d[0]!, outChannels: d[1]!, kernelSize: 1, bias: false, generator }),
        new BatchNorm2d(d[1]!, norm),
        stack(d[1]!, d[2]!, 3, 2, 3, 3, generator),
        stack(d[2]!, d[3]!, 5, 2, 3, 3, generator),
        stack(d[3]!, d[4]!, 5, 2, 6, 3, generator),
        stack(d[4]!, d[5]!, 3, 1, 6, 2, generator),
        stack(d[5]!, d[6]!, 5, 2, 6, 4, generator),
        stack(d[6]!, d[7]!, 3, 1, 6, 1, generator),
        new Conv2d({ inChannels: d[7]!, outChannels: 1280, kernelSize: 1, bias: false, generator }),
        new BatchNorm2d(1280, norm),
        new ReLU(),
      ),
    );
    this.registerModule('classifier', new Sequential(new Dropout(dropout), new Linear(1280, numClasses, { generator })));
  }
}

/** torchvision's `mnasnet0_5` … `mnasnet1_3` by `alpha`, with fresh parameters. */
export function mnasnet(options: MNASNetOptions = {}): MNASNet {
  return new MNASNet(options);
}
