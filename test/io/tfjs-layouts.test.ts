import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  conv2d, conv2dFilterFromTfjs, conv2dFilterToTfjs, depthwiseConv2d, depthwiseFilterFromTfjs, depthwiseFilterToTfjs,
  nchwToNhwc, nhwcToNchw, type Tensor,
} from '../../src/index.js';
import { expectBitwiseEqual, expectClose, randomTensor, rng } from '../helpers.js';

function fromTf(t: tf.Tensor): Tensor {
  return { shape: t.shape.slice(), data: t.dataSync() as Float32Array };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('TensorFlow.js layouts', () => {
  it('conv2d filter [kH,kW,Cin,Cout] → [Cout,Cin,kH,kW]: our conv matches tf.conv2d', () => {
    const x = randomTensor([2, 7, 9, 3], rng(1)); // NHWC
    const filter = randomTensor([3, 2, 3, 5], rng(2)); // HWIO
    const expected = fromTf(tf.conv2d(tf.tensor4d(x.data, x.shape as [number, number, number, number]), tf.tensor4d(filter.data, filter.shape as [number, number, number, number]), [2, 1], 'valid'));
    const weight = conv2dFilterFromTfjs(filter);
    expect(weight.shape).toEqual([5, 3, 3, 2]);
    // One element by hand: weight[o, c, i, j] = filter[i, j, c, o].
    expect(weight.data[((4 * 3 + 1) * 3 + 2) * 2 + 1]).toBe(filter.data[((2 * 2 + 1) * 3 + 1) * 5 + 4]);
    const y = conv2d(nhwcToNchw(x), weight, { stride: [2, 1] });
    expectClose(nchwToNhwc(y), expected, 1e-5, 'conv2d');
    expectBitwiseEqual(conv2dFilterToTfjs(weight).data, filter.data, 'round trip');
  });

  it('depthwise filter [kH,kW,Cin,K] → [Cin·K,1,kH,kW]: our depthwise conv matches tf.depthwiseConv2d', () => {
    const x = randomTensor([1, 8, 8, 4], rng(3));
    const filter = randomTensor([3, 3, 4, 2], rng(4));
    const expected = fromTf(tf.depthwiseConv2d(tf.tensor4d(x.data, [1, 8, 8, 4]), tf.tensor4d(filter.data, [3, 3, 4, 2]), 1, 'same'));
    const weight = depthwiseFilterFromTfjs(filter);
    expect(weight.shape).toEqual([8, 1, 3, 3]);
    const y = depthwiseConv2d(nhwcToNchw(x), weight, { padding: 'same' });
    expectClose(nchwToNhwc(y), expected, 1e-5, 'depthwise');
    expectBitwiseEqual(depthwiseFilterToTfjs(weight, 4).data, filter.data, 'round trip');
    expect(depthwiseFilterToTfjs({ shape: [4, 1, 3, 3], data: weight.data.subarray(0, 36) }).shape).toEqual([3, 3, 4, 1]);
  });

  it('NHWC ↔ NCHW are inverse permutations; inputs are not modified; bad ranks rejected', () => {
    const x = randomTensor([2, 3, 4, 5], rng(5));
    const copy = Float32Array.from(x.data);
    const nhwc = nchwToNhwc(x);
    expect(nhwc.shape).toEqual([2, 4, 5, 3]);
    expect(nhwc.data[((1 * 4 + 2) * 5 + 3) * 3 + 1]).toBe(x.data[((1 * 3 + 1) * 4 + 2) * 5 + 3]);
    expectBitwiseEqual(nhwcToNchw(nhwc).data, x.data, 'inverse');
    expectBitwiseEqual(x.data, copy, 'unchanged');
    expect(() => conv2dFilterFromTfjs(randomTensor([3, 3, 2], rng(1)))).toThrow(/filter must be 4-D \[kH, kW, Cin, Cout\]/);
    expect(() => depthwiseFilterToTfjs(randomTensor([6, 1, 3, 3], rng(1)), 4)).toThrow(/inChannels must be a positive divisor of weight.shape\[0\] = 6/);
  });
});
