/** The torchvision model zoo, re-exported. */
export { MobileNetV2, mobilenetV2 } from './mobilenet-v2.js';
export type { MobileNetV2Options } from './mobilenet-v2.js';
export { MobileNetV3, mobilenetV3Large, mobilenetV3Small } from './mobilenet-v3.js';
export type { MobileNetV3Options } from './mobilenet-v3.js';
export { ShuffleNetV2, shufflenetV2 } from './shufflenet-v2.js';
export type { ShuffleNetV2Options, ShuffleNetV2Width } from './shufflenet-v2.js';
export { MNASNet, mnasnet } from './mnasnet.js';
export type { MNASNetOptions } from './mnasnet.js';
export { EfficientNet, efficientnetB0 } from './efficientnet.js';
export type { EfficientNetOptions } from './efficientnet.js';
export type { ZooOptions } from './options.js';
