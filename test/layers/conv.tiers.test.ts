import { describe, expect, it } from 'vitest';
import {
  Conv2d, DepthwiseConv2d, DepthwiseSeparableConv2d, PointwiseConv2d, ReLU, ReLU6, Sequential, conv2d, referenceConv2d,
  type Conv2dLayerOptions, type Conv2dOptions, type ConvRunner, type Tensor,
} from '../../src/index.js';
import { expectBitwiseEqual, expectClose, randomTensor, rng } from '../helpers.js';

/** Applies ReLU/ReLU6 element-wise: an independent reference for the fused epilogue. */
function clamp(t: Tensor, high: number): Tensor {
  return { shape: t.shape, data: t.data.map((v) => Math.min(Math.max(v, 0), high)) };
}

const configs: [string, Conv2dLayerOptions, number[]][] = [
  ['3->8 k3 p1', { inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1 }, [2, 3, 9, 11]],
  ['4->6 k[3,2] s2 p[1,0] no bias', { inChannels: 4, outChannels: 6, kernelSize: [3, 2], stride: 2, padding: [1, 0], bias: false }, [1, 4, 10, 7]],
  ['6->6 g3 d2 same', { inChannels: 6, outChannels: 6, kernelSize: 3, dilation: 2, groups: 3, padding: 'same' }, [1, 6, 9, 9]],
  ['4->8 depthwise K2 s2 explicit TF SAME pad', { inChannels: 4, outChannels: 8, kernelSize: 3, stride: 2, groups: 4, padding: { top: 0, bottom: 1, left: 0, right: 1 } }, [1, 4, 8, 8]],
  ['5->7 1x1', { inChannels: 5, outChannels: 7, kernelSize: 1 }, [3, 5, 4, 6]],
  ['3->4 k3 p2 reflect', { inChannels: 3, outChannels: 4, kernelSize: 3, padding: 2, paddingMode: 'reflect' }, [1, 3, 6, 5]],
  ['3->4 k3 p1 circular unbatched', { inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, paddingMode: 'circular' }, [3, 5, 5]],
];

describe('Conv2d', () => {
  for (const [label, options, inputShape] of configs) {
    it(`${label}: forward = conv2d with its options, ≈ referenceConv2d; outputShape agrees`, () => {
      const layer = new Conv2d({ ...options, seed: 7 });
      const x = randomTensor(inputShape, rng(11));
      const y = layer.forward(x);
      const direct = conv2d(x, layer.weight, {
        stride: options.stride, padding: options.padding, dilation: options.dilation, groups: options.groups,
        paddingMode: options.paddingMode, bias: layer.bias,
      });
      expectBitwiseEqual(y.data, direct.data, label);
      expectClose(y, referenceConv2d(x, layer.weight, { ...layer.convOptions() }), 1e-5, label);
      expect(layer.outputShape(inputShape)).toEqual(y.shape);
      // Fused ReLU/ReLU6 in a Sequential = the activation applied afterwards.
      expectBitwiseEqual(new Sequential(layer, new ReLU()).forward(x).data, clamp(y, Infinity).data, `${label} relu`);
      expectBitwiseEqual(new Sequential(layer, new ReLU6()).forward(x).data, clamp(y, 6).data, `${label} relu6`);
      // A compiled plan gives bitwise the same values and reuses its output.
      const compiled = new Sequential(layer, new ReLU6()).compile(inputShape);
      const first = compiled.run(x);
      expectBitwiseEqual(first.data, clamp(y, 6).data, `${label} compiled`);
      expect(compiled.run(x)).toBe(first);
    });
  }

  it('seeded sweep: 40 valid random layer configs (groups, depthwise multipliers, stride, dilation, asymmetric padding, modes) vs referenceConv2d', () => {
    const random = rng(2024);
    const pick = <T,>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
    let checked = 0;
    for (let i = 0; i < 60 && checked < 40; i++) {
      const groups = pick([1, 1, 2, 3]);
      const depthwise = random() < 0.3;
      const inChannels = depthwise ? pick([1, 3, 4]) : groups * pick([1, 2, 3]);
      const outChannels = depthwise ? inChannels * pick([1, 2]) : groups * pick([1, 2, 4]);
      const kernelSize: [number, number] = [pick([1, 2, 3, 5]), pick([1, 3])];
      const stride = pick([1, 2, [2, 1] as [number, number]]);
      const dilation = pick([1, 1, 2]);
      const paddingMode = pick(['zeros', 'zeros', 'reflect', 'replicate', 'circular'] as const);
      const padding = pick([0, 1, [1, 0] as [number, number], { top: 0, bottom: 1, left: 1, right: 0 }]);
      const options: Conv2dLayerOptions = {
        inChannels, outChannels, kernelSize, stride, dilation, padding, paddingMode,
        groups: depthwise ? inChannels : groups, bias: random() < 0.7, seed: i,
      };
      const shape = [pick([1, 2]), inChannels, 5 + Math.floor(random() * 6), 5 + Math.floor(random() * 6)];
      const label = `#${i} ${JSON.stringify({ ...options, seed: undefined })} x=${JSON.stringify(shape)}`;
      const layer = new Conv2d(options);
      const x = randomTensor(shape, random);
      try {
        layer.outputShape(shape);
      } catch {
        // The kernel does not fit this input; the same call must then fail in forward too.
        expect(() => layer.forward(x), label).toThrow(RangeError);
        continue;
      }
      const y = layer.forward(x);
      expectClose(y, referenceConv2d(x, layer.weight, layer.convOptions()), 1e-5, label);
      expectBitwiseEqual(layer.compile(shape).run(x).data, y.data, `${label} compiled`);
      checked++;
    }
    expect(checked).toBe(40);
  });

  it('exposes resolved configuration for analysis code', () => {
    const layer = new Conv2d({ inChannels: 4, outChannels: 8, kernelSize: [3, 5], stride: [2, 1], padding: [1, 2], dilation: 1, groups: 2, bias: false });
    expect(layer.kernelSize).toEqual([3, 5]);
    expect(layer.stride).toEqual([2, 1]);
    expect(layer.padding).toEqual({ top: 1, bottom: 1, left: 2, right: 2 });
    expect(layer.dilation).toEqual([1, 1]);
    expect(layer.groups).toBe(2);
    expect(layer.hasBias).toBe(false);
    expect(layer.bias).toBeNull();
    expect(layer.weight.shape).toEqual([8, 2, 3, 5]);
    expect(new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 3, padding: 'same', dilation: 2 }).padding).toEqual({ top: 2, bottom: 2, left: 2, right: 2 });
    expect(new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 4, padding: 'same' }).padding).toEqual({ top: 1, bottom: 2, left: 1, right: 2 });
  });

  it('toString follows PyTorch', () => {
    expect(new Conv2d({ inChannels: 3, outChannels: 32, kernelSize: 3, stride: 2, padding: 1, bias: false }).toString()).toBe(
      'Conv2d(3, 32, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)',
    );
    expect(new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, groups: 4, padding: { top: 0, bottom: 1, left: 0, right: 1 }, paddingMode: 'zeros' }).toString()).toBe(
      'Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding={top: 0, bottom: 1, left: 0, right: 1}, groups=4)',
    );
  });

  it('rejects bad configuration with the parameter named', () => {
    expect(() => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, groups: 2 })).toThrow(/inChannels must be divisible by groups/);
    expect(() => new Conv2d({ inChannels: 4, outChannels: 6, kernelSize: 3, groups: 4 })).toThrow(/outChannels must be divisible by groups/);
    expect(() => new Conv2d({ inChannels: 0, outChannels: 4, kernelSize: 3 })).toThrow(/inChannels must be a positive integer, got 0/);
    expect(() => new Conv2d({ inChannels: 2, outChannels: 4, kernelSize: 3, stride: 2, padding: 'same' })).toThrow(/padding='same' is not supported for strided/);
    expect(() => new Conv2d({ inChannels: 2, outChannels: 4, kernelSize: 3, paddingMode: 'mirror' as never })).toThrow(/paddingMode/);
    expect(() => new Conv2d({ inChannels: 2, outChannels: 4, kernelSize: 3, kernel: 3 } as never)).toThrow(/unknown option "kernel"/);
    expect(() => new Conv2d({ inChannels: 2, outChannels: 4 } as never)).toThrow(/kernelSize is required/);
    const layer = new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3 });
    expect(() => layer.forward(randomTensor([1, 2, 5, 5], rng(1)))).toThrow(/expected input with 3 channels/);
    expect(() => layer.forward(randomTensor([3, 5], rng(1)))).toThrow(/input must be \[N, C, H, W\] or \[C, H, W\]/);
  });
});

describe("the seed's three classes", () => {
  it('depthwise_conv(nin=16, kernels_per_layer=2) = nn.Conv2d(16, 32, 3, padding=1, groups=16)', () => {
    const dw = new DepthwiseConv2d({ inChannels: 16, kernelsPerLayer: 2, seed: 1 });
    expect(dw.weight.shape).toEqual([32, 1, 3, 3]);
    expect(dw.bias!.shape).toEqual([32]);
    expect(dw.groups).toBe(16);
    expect(dw.padding).toEqual({ top: 1, bottom: 1, left: 1, right: 1 });
    expect(dw.namedParameters().map(([k]) => k)).toEqual(['weight', 'bias']);
    expect(dw.outputShape([1, 16, 20, 20])).toEqual([1, 32, 20, 20]);
    const x = randomTensor([2, 16, 7, 9], rng(2));
    expectClose(dw.forward(x), referenceConv2d(x, dw.weight, { padding: 1, groups: 16, bias: dw.bias }), 1e-5, 'dw');
  });

  it('pointwise_conv(nin=8, nout=12) = nn.Conv2d(8, 12, 1)', () => {
    const pw = new PointwiseConv2d({ inChannels: 8, outChannels: 12, seed: 1 });
    expect(pw.weight.shape).toEqual([12, 8, 1, 1]);
    expect(pw.bias!.shape).toEqual([12]);
    const x = randomTensor([2, 8, 5, 6], rng(3));
    expectClose(pw.forward(x), referenceConv2d(x, pw.weight, { bias: pw.bias }), 1e-5, 'pw');
  });

  it('depthwise_separable_conv(nin=8, kernels_per_layer=3, nout=10): keys and shapes as PyTorch, = two direct calls', () => {
    const sep = new DepthwiseSeparableConv2d({ inChannels: 8, kernelsPerLayer: 3, outChannels: 10, seed: 5 });
    const shapes = Object.fromEntries(sep.namedParameters().map(([k, p]) => [k, p.shape]));
    expect(shapes).toEqual({
      'depthwise.weight': [24, 1, 3, 3],
      'depthwise.bias': [24],
      'pointwise.weight': [10, 24, 1, 1],
      'pointwise.bias': [10],
    });
    expect(sep.numParameters()).toBe(24 * 9 + 24 + 10 * 24 + 10);
    const x = randomTensor([1, 8, 12, 10], rng(4));
    const direct = conv2d(
      conv2d(x, sep.depthwise.weight, { padding: 1, groups: 8, bias: sep.depthwise.bias }),
      sep.pointwise.weight, { bias: sep.pointwise.bias },
    );
    expectBitwiseEqual(sep.forward(x).data, direct.data, 'separable');
    const reference = referenceConv2d(referenceConv2d(x, sep.depthwise.weight, { padding: 1, groups: 8, bias: sep.depthwise.bias }), sep.pointwise.weight, { bias: sep.pointwise.bias });
    expectClose(sep.forward(x), reference, 1e-5, 'separable vs reference');
    expect(sep.toString()).toBe(
      [
        'DepthwiseSeparableConv2d(',
        '  (depthwise): DepthwiseConv2d(8, 24, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=8)',
        '  (pointwise): PointwiseConv2d(24, 10, kernel_size=(1, 1), stride=(1, 1))',
        ')',
      ].join('\n'),
    );
    // stride 2 and per-child bias, as trained separable blocks use.
    const strided = new DepthwiseSeparableConv2d({ inChannels: 4, outChannels: 6, stride: 2, bias: { depthwise: false, pointwise: true } });
    expect(strided.namedParameters().map(([k]) => k)).toEqual(['depthwise.weight', 'pointwise.weight', 'pointwise.bias']);
    expect(strided.outputShape([1, 4, 9, 9])).toEqual([1, 6, 5, 5]);
  });

  it('a seed network in a few lines, fused with ReLU, runs through forwardAsync on a pool', async () => {
    const net = new Sequential(
      new DepthwiseSeparableConv2d({ inChannels: 3, kernelsPerLayer: 2, outChannels: 16, seed: 1 }),
      new ReLU(),
      new DepthwiseSeparableConv2d({ inChannels: 16, outChannels: 8, stride: 2, seed: 2 }),
      new ReLU6(),
    );
    const calls: Conv2dOptions[] = [];
    const pool: ConvRunner = {
      conv2d: async (input, weight, options) => {
        calls.push(options);
        return conv2d(input, weight, options);
      },
    };
    const x = randomTensor([1, 3, 16, 16], rng(9));
    const sync = net.forward(x);
    const viaPool = await net.forwardAsync(x, { pool });
    expectBitwiseEqual(viaPool.data, sync.data, 'pool');
    expectBitwiseEqual((await net.forwardAsync(x)).data, sync.data, 'no pool');
    expect(calls.map((c) => c.activation ?? 'none')).toEqual(['none', 'relu', 'none', 'relu6']);
    expect(calls[2]!.stride).toEqual([2, 2]);
    expect(calls[2]!.groups).toBe(16);
  });
});
