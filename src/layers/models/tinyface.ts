/**
 * face-api's tiny face detector (the `TinyYolov2` MobileNet-style trunk with separable
 * convolutions) as sepconv modules, for input 416×416 (any size divisible by 32 works). Weights
 * trained with TensorFlow.js load with `loadStateDict` once converted to PyTorch layouts; child
 * names give keys `conv0.weight`, `conv1.depthwise.weight`, `conv1.pointwise.bias`, …,
 * `conv8.bias` (193,321 parameters; BatchNorm already folded into the weights).
 *
 * Pooling is TensorFlow's `'SAME'`: 2×2 windows with the odd cell padded at the bottom/right,
 * where padding never wins the max; the activations are leaky ReLUs with slope float32(0.1).
 */
import { LeakyReLU } from '../activation.js';
import { Conv2d, DepthwiseSeparableConv2d } from '../conv.js';
import { resolveGenerator, type InitOptions } from '../init.js';
import type { Module } from '../module.js';
import { MaxPool2d } from '../pooling.js';
import { Sequential } from '../sequential.js';
import { optional, readOptions } from '../../checks.js';

export interface TinyFaceDetectorOptions extends InitOptions {
  /** Outputs per cell: 5 anchors × (x, y, w, h, score) by default. */
  outChannels?: number;
}

export function tinyFaceDetector(callerOptions: TinyFaceDetectorOptions = {}): Sequential {
  const options = readOptions<TinyFaceDetectorOptions>(callerOptions, ['outChannels', 'seed', 'generator'], 'tinyFaceDetector');
  const generator = resolveGenerator(options);
  const slope = Math.fround(0.1);
  const samePool = (stride: number): MaxPool2d =>
    new MaxPool2d({ kernelSize: 2, stride, padding: { top: 0, bottom: 1, left: 0, right: 1 } });
  const separable = (inChannels: number, outChannels: number): DepthwiseSeparableConv2d =>
    new DepthwiseSeparableConv2d({ inChannels, outChannels, bias: { depthwise: false, pointwise: true }, generator });
  const layers: Record<string, Module> = {
    conv0: new Conv2d({ inChannels: 3, outChannels: 16, kernelSize: 3, generator }),
    leaky0: new LeakyReLU(slope),
    pool0: new MaxPool2d({ kernelSize: 2, stride: 2 }),
  };
  const widths = [16, 32, 64, 128, 256, 512];
  for (let i = 1; i <= 5; i++) {
    layers[`conv${i}`] = separable(widths[i - 1]!, widths[i]!);
    layers[`leaky${i}`] = new LeakyReLU(slope);
    layers[`pool${i}`] = samePool(i === 5 ? 1 : 2);
  }
  layers.conv8 = new Conv2d({ inChannels: 512, outChannels: optional(options.outChannels, 25), kernelSize: 1, generator });
  return new Sequential(layers);
}
