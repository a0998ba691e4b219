/**
 * torchvision's published ImageNet weights for the zoo models sepconv builds: where each file is,
 * the SHA-256 prefix its name carries, the size of the model it fits, the accuracy torchvision
 * reports and the preprocessing it was evaluated with. Transcribed from torchvision 0.14's
 * `*_Weights` enums (`tools/check-weights-table.py` compares the two); one deliberate difference:
 * EfficientNet-B0's file, whose 0.14 name (`efficientnet_b0_rwightman-3dd342df.pth`) does not match
 * the SHA-256 of the bytes served under it, is the renamed file later torchvision releases point
 * to (pytorch/vision#7744).
 */

/** The torchvision builder names of the models with published weights. */
export const PRETRAINED_ARCHS = [
  'mobilenet_v2',
  'mobilenet_v3_large',
  'mobilenet_v3_small',
  'shufflenet_v2_x0_5',
  'shufflenet_v2_x1_0',
  'shufflenet_v2_x1_5',
  'shufflenet_v2_x2_0',
  'mnasnet0_5',
  'mnasnet0_75',
  'mnasnet1_0',
  'mnasnet1_3',
  'efficientnet_b0',
] as const;
export type PretrainedArch = (typeof PRETRAINED_ARCHS)[number];

/** PRETRAINED_ARCHS written short, for messages. */
export const ARCH_LIST = 'mobilenet_v2, mobilenet_v3_large/_small, shufflenet_v2_x0_5/_x1_0/_x1_5/_x2_0, mnasnet0_5/0_75/1_0/1_3, efficientnet_b0';

/** Weight-set names as torchvision spells them; `DEFAULT` is each model's best set. */
export const WEIGHT_SET_NAMES = ['IMAGENET1K_V1', 'IMAGENET1K_V2'] as const;
export type WeightSetName = (typeof WEIGHT_SET_NAMES)[number];

/**
 * torchvision's `ImageClassification` transform: resize the shorter side to `resize`, center-crop
 * `centerCrop` × `centerCrop`, scale to [0, 1], normalize each channel with `mean` and `std`.
 */
export interface Preprocessing {
  readonly resize: number;
  readonly centerCrop: number;
  readonly interpolation: 'bilinear' | 'bicubic';
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

export interface PretrainedWeights {
  readonly arch: PretrainedArch;
  readonly name: WeightSetName;
  /** Where torchvision downloads the file from. */
  readonly url: string;
  /** The last part of `url`: `<stem>-<sha256Prefix>.pth`, also the name of the cached file. */
  readonly fileName: string;
  /** The first hex digits of the file's SHA-256, as in its name (torch hub's `check_hash`). */
  readonly sha256Prefix: string;
  /** Trainable parameters of the model the file fits (torchvision's `num_params`). */
  readonly numParams: number;
  /** Outputs of the classifier: the 1000 ImageNet-1K classes. */
  readonly numClasses: 1000;
  /** Top-1 and top-5 accuracy (%) on the ImageNet-1K validation set as torchvision reports them. */
  readonly accuracy: { readonly top1: number; readonly top5: number };
  readonly preprocessing: Preprocessing;
}

import { describeValue } from '../checks.js';

const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
const BASE = 'https://download.pytorch.org/models/';

/** [arch, set, file name, numParams, acc@1, acc@5, resize, interpolation]; every set crops 224. */
type Row = readonly [PretrainedArch, WeightSetName, string, number, number, number, number, 'bilinear' | 'bicubic'];

const ROWS: readonly Row[] = [
  ['mobilenet_v2', 'IMAGENET1K_V1', 'mobilenet_v2-b0353104.pth', 3504872, 71.878, 90.286, 256, 'bilinear'],
  ['mobilenet_v2', 'IMAGENET1K_V2', 'mobilenet_v2-7ebf99e0.pth', 3504872, 72.154, 90.822, 232, 'bilinear'],
  ['mobilenet_v3_large', 'IMAGENET1K_V1', 'mobilenet_v3_large-8738ca79.pth', 5483032, 74.042, 91.34, 256, 'bilinear'],
  ['mobilenet_v3_large', 'IMAGENET1K_V2', 'mobilenet_v3_large-5c1a4163.pth', 5483032, 75.274, 92.566, 232, 'bilinear'],
  ['mobilenet_v3_small', 'IMAGENET1K_V1', 'mobilenet_v3_small-047dcff4.pth', 2542856, 67.668, 87.402, 256, 'bilinear'],
  ['shufflenet_v2_x0_5', 'IMAGENET1K_V1', 'shufflenetv2_x0.5-f707e7126e.pth', 1366792, 60.552, 81.746, 256, 'bilinear'],
  ['shufflenet_v2_x1_0', 'IMAGENET1K_V1', 'shufflenetv2_x1-5666bf0f80.pth', 2278604, 69.362, 88.316, 256, 'bilinear'],
  ['shufflenet_v2_x1_5', 'IMAGENET1K_V1', 'shufflenetv2_x1_5-3c479a10.pth', 3503624, 72.996, 91.086, 232, 'bilinear'],
  ['shufflenet_v2_x2_0', 'IMAGENET1K_V1', 'shufflenetv2_x2_0-8be3c8ee.pth', 7393996, 76.23, 93.006, 232, 'bilinear'],
  ['mnasnet0_5', 'IMAGENET1K_V1', 'mnasnet0.5_top1_67.823-3ffadce67e.pth', 2218512, 67.734, 87.49, 256, 'bilinear'],
  ['mnasnet0_75', 'IMAGENET1K_V1', 'mnasnet0_75-7090bc5f.pth', 3170208, 71.18, 90.496, 232, 'bilinear'],
  ['mnasnet1_0', 'IMAGENET1K_V1', 'mnasnet1.0_top1_73.512-f206786ef8.pth', 4383312, 73.456, 91.51, 256, 'bilinear'],
  ['mnasnet1_3', 'IMAGENET1K_V1', 'mnasnet1_3-a4c69d6f.pth', 6282256, 76.506, 93.522, 232, 'bilinear'],
  ['efficientnet_b0', 'IMAGENET1K_V1', 'efficientnet_b0_rwightman-7f5810bc.pth', 5288548, 77.692, 93.532, 256, 'bicubic'],
];

/** torchvision's `DEFAULT` for each model: its most accurate set. */
export const DEFAULT_WEIGHT_SETS: Readonly<Record<PretrainedArch, WeightSetName>> = Object.freeze({
  mobilenet_v2: 'IMAGENET1K_V2',
  mobilenet_v3_large: 'IMAGENET1K_V2',
  mobilenet_v3_small: 'IMAGENET1K_V1',
  shufflenet_v2_x0_5: 'IMAGENET1K_V1',
  shufflenet_v2_x1_0: 'IMAGENET1K_V1',
  shufflenet_v2_x1_5: 'IMAGENET1K_V1',
  shufflenet_v2_x2_0: 'IMAGENET1K_V1',
  mnasnet0_5: 'IMAGENET1K_V1',
  mnasnet0_75: 'IMAGENET1K_V1',
  mnasnet1_0: 'IMAGENET1K_V1',
  mnasnet1_3: 'IMAGENET1K_V1',
  efficientnet_b0: 'IMAGENET1K_V1',
});

/**
 * The hash prefix torch hub reads from a file name: the hex digits between the last `-` and the
 * extension (`mobilenet_v2-7ebf99e0.pth` → `7ebf99e0`). At least 8 digits (32 bits) are required
 * for the check to mean something; null when the name carries none.
 */
export function sha256PrefixOfFileName(fileName: string): string | null {
  if (typeof fileName !== 'string') throw new TypeError(`sha256PrefixOfFileName: fileName must be a string, got ${describeValue(fileName)}`);
  const match = /-([0-9a-f]{8,64})\.(pth|pt|safetensors)$/.exec(fileName);
  return match === null ? null : match[1]!;
}

function entry(row: Row): PretrainedWeights {
  const [arch, name, fileName, numParams, top1, top5, resize, interpolation] = row;
  const sha256Prefix = sha256PrefixOfFileName(fileName);
  if (sha256Prefix === null) throw new Error(`weights table: ${fileName} carries no SHA-256 prefix`);
  return Object.freeze({
    arch,
    name,
    url: BASE + fileName,
    fileName,
    sha256Prefix,
    numParams,
    numClasses: 1000,
    accuracy: Object.freeze({ top1, top5 }),
    preprocessing: Object.freeze({ resize, centerCrop: 224, interpolation, mean: IMAGENET_MEAN, std: IMAGENET_STD }),
  } as const);
}

/** Every published weight set, in the order above. */
export const PRETRAINED_WEIGHTS: readonly PretrainedWeights[] = Object.freeze(ROWS.map(entry));

const quote = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value) : describeValue(value));

/** Whether `value` names a model with published weights. */
export function isPretrainedArch(value: unknown): value is PretrainedArch {
  return typeof value === 'string' && (PRETRAINED_ARCHS as readonly string[]).includes(value);
}

/** The weight sets published for `arch`, in table order. */
export function weightSetsOf(arch: PretrainedArch): PretrainedWeights[] {
  if (!isPretrainedArch(arch)) throw new RangeError(`weightSetsOf: arch must be one of ${ARCH_LIST}, got ${quote(arch)}`);
  return PRETRAINED_WEIGHTS.filter((w) => w.arch === arch);
}

/**
 * The entry for `arch` and weight set `name` (`'DEFAULT'` = torchvision's default). Throws a
 * RangeError that lists what exists when either is unknown.
 */
export function pretrainedWeights(arch: string, name = 'DEFAULT'): PretrainedWeights {
  return findWeights(arch, name, 'pretrainedWeights');
}

/** `pretrainedWeights` with the calling function's name in its messages. */
export function findWeights(arch: unknown, name: unknown, fn: string): PretrainedWeights {
  if (!isPretrainedArch(arch)) {
    throw new RangeError(`${fn}: arch must be one of ${ARCH_LIST}, got ${quote(arch)}`);
  }
  const setName = name === 'DEFAULT' ? DEFAULT_WEIGHT_SETS[arch] : name;
  const found = PRETRAINED_WEIGHTS.find((w) => w.arch === arch && w.name === setName);
  if (found === undefined) {
    const available = PRETRAINED_WEIGHTS.filter((w) => w.arch === arch).map((w) => w.name);
    throw new RangeError(`${fn}: ${arch} has weight sets ${[...available, 'DEFAULT'].join(', ')}, got ${quote(name)}`);
  }
  return found;
}
