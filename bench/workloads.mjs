/**
 * The one list of benchmark workloads, shared by every bench in this folder.
 *
 * A workload is a single convolution (batch 1, NCHW, PyTorch weight layout) or a chain of them.
 * Targets are the single-thread GFLOP/s figures of issue 3 (FLOPs = 2·MACs); they are printed
 * next to the measurements so a missed target is visible, never adjusted here to fit a result.
 */

/**
 * @typedef {object} ConvSpec
 * @property {string} name
 * @property {number} inChannels
 * @property {number} height
 * @property {number} width
 * @property {number} outChannels
 * @property {number} kernel   square kernel size
 * @property {number} stride
 * @property {number} pad      symmetric zero padding
 * @property {number} groups
 */

/**
 * @typedef {object} Workload
 * @property {string} name
 * @property {string} description
 * @property {ConvSpec[]} layers        one entry, or the whole chain (each layer's input is the previous output)
 * @property {boolean} reference        whether sepconv's float64 reference path is timed too (it is slow)
 * @property {number} [expectedMacs]    asserted before anything runs
 * @property {[number, number]} target  GFLOP/s [target, stretch] from issue 3
 */

/** @returns {ConvSpec} */
function conv(name, inChannels, size, outChannels, kernel, stride, pad, groups) {
  return { name, inChannels, height: size, width: size, outChannels, kernel, stride, pad, groups };
}

/**
 * MobileNetV1 (224×224, width 1.0): the first 3×3 stride-2 convolution, then 13 depthwise-separable
 * blocks (depthwise 3×3 with padding 1, then pointwise 1×1), 27 convolutions in all. The schedule is
 * the paper's Table 1 (arXiv:1704.04861): [pointwise output channels, depthwise stride].
 * @returns {ConvSpec[]}
 */
export function mobilenetV1Layers() {
  const schedule = [[64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
    [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1]];
  const layers = [conv('conv1', 3, 224, 32, 3, 2, 1, 1)];
  let channels = 32;
  let size = 112;
  schedule.forEach(([outChannels, stride], i) => {
    layers.push(conv(`block${i + 1}.dw`, channels, size, channels, 3, stride, 1, channels));
    size = Math.floor((size + 2 - 3) / stride) + 1;
    layers.push(conv(`block${i + 1}.pw`, channels, size, outChannels, 1, 1, 0, 1));
    channels = outChannels;
  });
  return layers;
}

/** The 27 convolutions of MobileNetV1 without biases (GUIDE §2; the paper's 569M includes the FC layer). */
export const MOBILENET_V1_MACS = 567_716_352;

/** @param {ConvSpec} spec @param {boolean} reference @param {[number, number]} target @returns {Workload} */
function single(spec, reference, target) {
  const g = spec.groups === 1 ? '' : ` g${spec.groups}`;
  const description = `${spec.inChannels}×${spec.height}×${spec.width}→${spec.outChannels} k${spec.kernel} s${spec.stride} p${spec.pad}${g}`;
  return { name: spec.name, description, layers: [spec], reference, target };
}

/** @type {Workload[]} */
export const WORKLOADS = [
  single(conv('conv3x3_first', 3, 224, 32, 3, 2, 1, 1), true, [4.0, 5.5]),
  single(conv('dw3x3_s1_112', 32, 112, 32, 3, 1, 1, 32), true, [5.0, 6.0]),
  single(conv('pw_112', 32, 112, 64, 1, 1, 0, 1), false, [6.0, 7.5]),
  single(conv('dw3x3_s2_112', 64, 112, 64, 3, 2, 1, 64), true, [4.0, 5.0]),
  single(conv('pw_56', 128, 56, 128, 1, 1, 0, 1), false, [6.0, 7.5]),
  single(conv('dw3x3_s1_28', 256, 28, 256, 3, 1, 1, 256), true, [5.0, 6.0]),
  single(conv('pw_14', 512, 14, 512, 1, 1, 0, 1), false, [6.0, 7.5]),
  single(conv('dw3x3_s1_14', 512, 14, 512, 3, 1, 1, 512), true, [5.0, 6.0]),
  single(conv('pw_7', 1024, 7, 1024, 1, 1, 0, 1), false, [6.0, 7.5]),
  single(conv('conv3x3_mid', 64, 56, 64, 3, 1, 1, 1), false, [6.0, 7.0]),
  single(conv('grouped3x3', 128, 28, 128, 3, 1, 1, 4), false, [4.0, 5.5]),
  single(conv('dw_mult2', 32, 56, 64, 3, 1, 1, 32), true, [4.0, 5.5]),
  // the 5×5 depthwise layers of EfficientNet-B0 / MNASNet / MobileNetV3-Large (the general depthwise kernel)
  single(conv('dw5x5_s1_28', 240, 28, 240, 5, 1, 2, 240), true, [2.0, 3.0]),
  single(conv('dw5x5_s2_56', 144, 56, 144, 5, 2, 2, 144), true, [1.5, 2.5]),
  {
    name: 'mobilenet_v1',
    description: 'MobileNetV1 224×224 ×1.0, 27 convolutions as one chain',
    layers: mobilenetV1Layers(),
    reference: false,
    expectedMacs: MOBILENET_V1_MACS,
    target: [5.5, 7.0],
  },
];

/** The NCHW input shape of a layer (batch 1). @param {ConvSpec} spec */
export const inputShape = (spec) => [1, spec.inChannels, spec.height, spec.width];

/** The PyTorch weight shape `[Cout, Cin/groups, k, k]` of a layer. @param {ConvSpec} spec */
export const weightShape = (spec) => [spec.outChannels, spec.inChannels / spec.groups, spec.kernel, spec.kernel];

/** The options of a layer as sepconv's `conv2d` takes them. @param {ConvSpec} spec */
export const convOptions = (spec) => ({ stride: spec.stride, padding: spec.pad, groups: spec.groups });

/** mulberry32: a small seeded PRNG, so every run (and every engine) sees the same numbers. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
