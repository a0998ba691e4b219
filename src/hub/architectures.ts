/**
 * From a torchvision builder name to a sepconv zoo model and back: which factory and options make
 * `mobilenet_v3_small` or `shufflenet_v2_x1_5`, and which name a built model answers to (so a weight
 * set can be looked up from the model alone).
 */
import { EfficientNet, efficientnetB0 } from '../layers/models/efficientnet.js';
import { MNASNet, mnasnet } from '../layers/models/mnasnet.js';
import { MobileNetV2, mobilenetV2 } from '../layers/models/mobilenet-v2.js';
import { MobileNetV3, mobilenetV3Large, mobilenetV3Small } from '../layers/models/mobilenet-v3.js';
import { describeValue, readOptions } from '../checks.js';
import { ZOO_OPTION_NAMES, type ZooOptions } from '../layers/models/options.js';
import { ShuffleNetV2, shufflenetV2 } from '../layers/models/shufflenet-v2.js';
import { Module } from '../layers/module.js';
import { ARCH_LIST, isPretrainedArch, type PretrainedArch } from './weights.js';

/** A zoo model of one of the pretrained architectures. */
export type PretrainedModel = MobileNetV2 | MobileNetV3 | ShuffleNetV2 | MNASNet | EfficientNet;

const MNASNET_ALPHAS: Record<string, number> = { mnasnet0_5: 0.5, mnasnet0_75: 0.75, mnasnet1_0: 1.0, mnasnet1_3: 1.3 };
const SHUFFLENET_WIDTHS: Record<string, 0.5 | 1 | 1.5 | 2> = {
  shufflenet_v2_x0_5: 0.5, shufflenet_v2_x1_0: 1, shufflenet_v2_x1_5: 1.5, shufflenet_v2_x2_0: 2,
};

/** Builds the sepconv model torchvision's `arch()` builds (fresh parameters; `options` as the factory takes them). */
export function buildArch(arch: PretrainedArch, callerOptions: ZooOptions = {}): PretrainedModel {
  if (!isPretrainedArch(arch)) throw new RangeError(`buildArch: arch must be one of ${ARCH_LIST}, got ${describeValue(arch)}`);
  const options = readOptions<ZooOptions>(callerOptions, ZOO_OPTION_NAMES, 'buildArch') as ZooOptions;
  switch (arch) {
    case 'mobilenet_v2': return mobilenetV2(options);
    case 'mobilenet_v3_large': return mobilenetV3Large(options);
    case 'mobilenet_v3_small': return mobilenetV3Small(options);
    case 'efficientnet_b0': return efficientnetB0(options);
    case 'shufflenet_v2_x0_5':
    case 'shufflenet_v2_x1_0':
    case 'shufflenet_v2_x1_5':
    case 'shufflenet_v2_x2_0':
      return shufflenetV2({ ...options, width: SHUFFLENET_WIDTHS[arch]! });
    case 'mnasnet0_5':
    case 'mnasnet0_75':
    case 'mnasnet1_0':
    case 'mnasnet1_3':
      return mnasnet({ ...options, alpha: MNASNET_ALPHAS[arch]! });
  }
}

function nameOfValue(table: Record<string, number>, value: number): PretrainedArch | null {
  for (const [name, v] of Object.entries(table)) if (v === value) return name as PretrainedArch;
  return null;
}

/**
 * The torchvision name of `model`'s architecture when weights are published for it (a
 * MobileNetV2 of width 1, a ShuffleNetV2 x1.5, ...), else null (a MobileNetV2 of width 0.5, a
 * MobileNetV1, any other module). The number of classes is not looked at here.
 */
export function archOf(model: Module): PretrainedArch | null {
  if (!(model instanceof Module)) throw new TypeError(`archOf: model must be a sepconv Module, got ${describeValue(model)}`);
  if (model instanceof MobileNetV2) return model.widthMult === 1 ? 'mobilenet_v2' : null;
  if (model instanceof MobileNetV3) return model.arch === 'large' ? 'mobilenet_v3_large' : 'mobilenet_v3_small';
  if (model instanceof ShuffleNetV2) return nameOfValue(SHUFFLENET_WIDTHS, model.width);
  if (model instanceof MNASNet) return nameOfValue(MNASNET_ALPHAS, model.alpha);
  if (model instanceof EfficientNet) return 'efficientnet_b0';
  return null;
}

/** What `model` is, for a message: its class and the width that has no weights. */
export function describeModel(model: Module): string {
  if (model instanceof MobileNetV2) return `MobileNetV2 (widthMult ${model.widthMult})`;
  if (model instanceof ShuffleNetV2) return `ShuffleNetV2 (width ${model.width})`;
  if (model instanceof MNASNet) return `MNASNet (alpha ${model.alpha})`;
  return model.constructor.name;
}
