/**
 * Zero-size tensors, as PyTorch 1.13 treats them: an empty batch (N = 0) flows through conv2d,
 * every layer and a compiled model and gives an empty result of the right shape; zero input
 * channels give the bias alone (the empty sum is +0); an empty height, width, kernel or output
 * channel count is an error, as in PyTorch, and so are pooling inputs with C, H or W = 0.
 */
import { describe, expect, it } from 'vitest';
import {
  backendInfo, AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, BatchNorm2d, Conv2d, Flatten, LPPool2d, Linear, MaxPool2d, MaxUnpool2d, ReLU,
  Sequential, conv2d, conv2dGeometry, depthwise_separable_conv, loadSafetensors, prepareConv2d, referenceConv2d, saveSafetensors,
  selectKernelPath, summary, type Conv2dOptions, type KernelPath,
} from '../../src/index.js';

/** Both kernel tiers (wasm where this engine can run it). */
const BACKENDS = backendInfo().simd ? (['js', 'wasm'] as const) : (['js'] as const);

const empty = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });

const PATHS: { path: KernelPath; weight: number[]; options: Conv2dOptions }[] = [
  { path: 'depthwise3x3s1', weight: [4, 1, 3, 3], options: { groups: 4, padding: 1 } },
  { path: 'depthwise3x3s2', weight: [8, 1, 3, 3], options: { groups: 4, padding: 1, stride: 2 } },
  { path: 'depthwise', weight: [4, 1, 5, 5], options: { groups: 4, padding: 2 } },
  { path: 'pointwise', weight: [6, 4, 1, 1], options: {} },
  { path: 'grouped', weight: [6, 2, 3, 3], options: { groups: 2, padding: 1 } },
  { path: 'grouped', weight: [6, 4, 3, 3], options: { padding: 1, paddingMode: 'reflect' } },
];

describe('conv2d with an empty batch (N = 0) on every kernel path', () => {
  for (const { path, weight, options } of PATHS) {
    it(`${path} ${JSON.stringify(options)}`, () => {
      const x = empty([0, 4, 7, 9]);
      const w = { shape: weight, data: new Float32Array(weight.reduce((a, b) => a * b, 1)).fill(0.5) };
      const g = conv2dGeometry(x.shape, w.shape, options);
      expect(selectKernelPath(g)).toBe(path);
      const results = [referenceConv2d(x, w, options)];
      for (const backend of BACKENDS) results.push(conv2d(x, w, { ...options, backend }), prepareConv2d(w, { ...options, backend }).run(x));
      for (const y of results) {
        expect(y.shape).toEqual([0, g.outChannels, g.outHeight, g.outWidth]);
        expect(y.data.length).toBe(0);
      }
    });
  }
});

describe('conv2d with zero input channels gives act(bias) (the empty sum is +0)', () => {
  for (const options of [{ padding: 1 }, {}, { padding: 1, stride: 2, paddingMode: 'circular' }] as Conv2dOptions[]) {
    it(JSON.stringify(options), () => {
      const x = empty([2, 0, 5, 6]);
      const w = empty([3, 0, options.padding === undefined ? 1 : 3, options.padding === undefined ? 1 : 3]);
      const bias = new Float32Array([-0, 2.5, -7]);
      const g = conv2dGeometry(x.shape, w.shape, options);
      const plane = g.outHeight * g.outWidth;
      const results = [referenceConv2d(x, w, { ...options, bias })];
      for (const backend of BACKENDS) results.push(conv2d(x, w, { ...options, bias, backend }), prepareConv2d(w, { ...options, bias, backend }).run(x));
      for (const y of results) {
        expect(y.shape).toEqual([2, 3, g.outHeight, g.outWidth]);
        for (let i = 0; i < y.data.length; i++) expect(Object.is(y.data[i], [0, 2.5, -7][Math.floor(i / plane) % 3])).toBe(true);
      }
      for (const backend of BACKENDS) {
        const relu6 = conv2d(x, w, { ...options, bias, activation: 'relu6', backend });
        expect(Array.from(relu6.data.subarray(0, 3 * plane), (v) => v)).toEqual([...Array(plane).fill(0), ...Array(plane).fill(2.5), ...Array(plane).fill(0)]);
        expect(conv2d(x, w, { ...options, backend }).data.every((v) => Object.is(v, 0))).toBe(true);
      }
    });
  }
});

describe('empty dimensions PyTorch rejects', () => {
  const w = empty([2, 4, 3, 3]);
  it('conv2d: H, W, Cout, kH, kW = 0 → RangeError naming the dimension', () => {
    expect(() => conv2d(empty([1, 4, 0, 5]), w)).toThrow(/input\.shape\[2\] must be at least 1/);
    expect(() => conv2d(empty([1, 4, 5, 0]), w)).toThrow(/input\.shape\[3\] must be at least 1/);
    expect(() => conv2d(empty([4, 0, 5]), w)).toThrow(/input\.shape\[1\] must be at least 1/);
    expect(() => conv2d(empty([1, 4, 5, 5]), empty([0, 4, 3, 3]))).toThrow(/weight\.shape\[0\] must be at least 1/);
    expect(() => conv2d(empty([1, 4, 5, 5]), empty([2, 4, 0, 3]))).toThrow(/weight\.shape\[2\] must be at least 1/);
  });
  it('pooling: C, H or W = 0 → RangeError (the batch may be 0)', () => {
    for (const pool of [new MaxPool2d(2), new AvgPool2d(2), new LPPool2d(2, 2), new AdaptiveAvgPool2d(1), new AdaptiveMaxPool2d(1)]) {
      expect(() => pool.forward(empty([1, 0, 4, 4]))).toThrow(/input\.shape\[1\] must be at least 1 \(only the batch may be 0\)/);
      expect(() => pool.forward(empty([1, 2, 0, 4]))).toThrow(RangeError);
      expect(pool.forward(empty([0, 2, 4, 4])).shape[0]).toBe(0);
    }
  });
});

describe('an empty batch through layers, containers, compiled models and analysis', () => {
  const model = () =>
    new Sequential(
      new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1, seed: 1 }),
      new BatchNorm2d(8),
      new ReLU(),
      new MaxPool2d({ kernelSize: 3, stride: 2, ceilMode: true }),
      new depthwise_separable_conv(8, 2, 8, { seed: 2 }),
      new BatchNorm2d(8, { trackRunningStats: false }),
      new LPPool2d(2, 2),
      new AvgPool2d(2),
      new AdaptiveAvgPool2d([null, 1]),
      new Flatten(),
      new Linear(16, 5, { seed: 3 }),
    );

  it('forward, compile, forwardAsync: [0, 3, 16, 16] → [0, 5]', async () => {
    const x = empty([0, 3, 16, 16]);
    const net = model();
    expect(net.outputShape(x.shape)).toEqual([0, 5]);
    expect(net.forward(x).shape).toEqual([0, 5]);
    expect(net.compile(x.shape).run(x).shape).toEqual([0, 5]);
    expect((await net.forwardAsync(x)).shape).toEqual([0, 5]);
  });

  it('pooling with indices and unpooling an empty batch', () => {
    const [y, indices] = new MaxPool2d({ kernelSize: 2, returnIndices: true }).forwardWithIndices(empty([0, 2, 4, 4]));
    expect(y.shape).toEqual([0, 2, 2, 2]);
    expect(new MaxUnpool2d(2).forward(y, indices).shape).toEqual([0, 2, 4, 4]);
    expect(new AdaptiveMaxPool2d(3, { returnIndices: true }).forwardWithIndices(empty([0, 1, 5, 5]))[1].shape).toEqual([0, 1, 3, 3]);
  });

  it('summary counts no work for an empty batch', () => {
    const s = summary(model(), [0, 3, 16, 16]);
    expect(s.totals.macs).toBe(0);
    expect(s.totals.params).toBe(model().numParameters());
  });

  it('zero-size tensors save and load through safetensors; an empty ndarray view is empty', () => {
    const dict = { e: { shape: [0, 3], data: new Float32Array(0) }, n: { shape: [2], data: new Float32Array([1, 2]) } };
    const loaded = loadSafetensors(saveSafetensors(dict));
    expect(loaded.e!.shape).toEqual([0, 3]);
    expect(loaded.e!.data.length).toBe(0);
    expect(Array.from(loaded.n!.data as Float32Array)).toEqual([1, 2]);
    const view = { data: new Float32Array(4), shape: [0, 2, 2, 2], stride: [-100, 4, 2, 1], offset: 0 };
    expect(conv2d(view, { shape: [1, 2, 1, 1], data: new Float32Array(2) }).shape).toEqual([0, 1, 2, 2]);
  });
});
