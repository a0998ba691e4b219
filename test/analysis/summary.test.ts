import { describe, expect, it } from 'vitest';
import { summary, traceLeaves } from '../../src/analysis/summary.js';
import { compareSeparable } from '../../src/analysis/compare.js';
import { formatSummary } from '../../src/analysis/format.js';
import { mobilenetV1 } from '../../src/layers/models/mobilenet.js';
import { Module } from '../../src/layers/module.js';
import { Parameter } from '../../src/layers/parameter.js';
import { Sequential } from '../../src/layers/sequential.js';
import { Conv2d, DepthwiseSeparableConv2d } from '../../src/layers/conv.js';
import { BatchNorm2d } from '../../src/layers/batchnorm.js';
import { ReLU, ReLU6 } from '../../src/layers/activation.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from '../../src/layers/pooling.js';
import { Flatten, Linear } from '../../src/layers/linear.js';
import type { Tensor, TensorLike } from '../../src/tensor.js';

/** MobileNetV1's 27 convolutions and its classifier, counted independently from the paper's table. */
function mobilenetByHand(alpha: number, size: number, classes: number): { params: number; convMacs: number; fcMacs: number } {
  const c = (n: number): number => Math.max(1, Math.floor(n * alpha));
  const out = (n: number, stride: number): number => Math.floor((n + 2 - 3) / stride) + 1;
  let hw = out(size, 2);
  let channels = c(32);
  let convMacs = hw * hw * 3 * 9 * channels;
  let params = 3 * 9 * channels + 2 * channels;
  const blocks: [number, number][] = [
    [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2], [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
  ];
  for (const [n, stride] of blocks) {
    hw = out(hw, stride);
    const next = c(n);
    convMacs += hw * hw * channels * 9 + hw * hw * channels * next;
    params += channels * 9 + 2 * channels + channels * next + 2 * next;
    channels = next;
  }
  params += channels * classes + classes;
  return { params, convMacs, fcMacs: channels * classes };
}

describe('summary: MobileNetV1', () => {
  const model = mobilenetV1({ seed: 0 });
  const s = summary(model, [1, 3, 224, 224]);

  it('width 1.0, 224x224, 1000 classes: 4,231,976 params and 568,740,352 MACs exactly', () => {
    expect(s.totals.params).toBe(4_231_976);
    expect(s.totals.macs).toBe(568_740_352);
    expect(s.totals.flops).toBe(2 * 568_740_352);
    expect(s.totals.byKind.conv).toEqual({ layers: 27, macs: 567_716_352 });
    expect(s.totals.byKind.linear).toEqual({ layers: 1, macs: 1_024_000 });
    expect(s.totals.biasAdds).toBe(1000);
    expect(s.totals.params).toBe(model.numParameters());
    expect(s.outputShape).toEqual([1, 1000]);
  });

  it('totals equal the sum of the rows, shares sum to 1', () => {
    const sum = (f: (r: (typeof s.rows)[number]) => number): number => s.rows.reduce((a, r) => a + f(r), 0);
    expect(sum((r) => r.params)).toBe(s.totals.params);
    expect(sum((r) => r.macs)).toBe(s.totals.macs);
    expect(sum((r) => r.biasAdds)).toBe(s.totals.biasAdds);
    expect(sum((r) => r.elementwiseOps)).toBe(s.totals.elementwiseOps);
    expect(sum((r) => r.bufferCount)).toBe(s.totals.bufferCount);
    expect(sum((r) => r.outputBytes)).toBe(s.totals.activationBytes);
    expect(sum((r) => r.macShare)).toBeCloseTo(1, 12);
    expect(s.totals.parameterBytes).toBe(4 * s.totals.params);
    // 27 BatchNorms: running_mean + running_var per channel, plus one num_batches_tracked each.
    expect(s.totals.bufferCount).toBe(2 * 10944 + 27);
  });

  it('one row per leaf, named as in the state dict', () => {
    expect(s.rows).toHaveLength(3 + 13 * 6 + 1 + 2);
    expect(s.rows[0]).toMatchObject({ name: 'model.0.0', type: 'Conv2d', kind: 'conv', outputShape: [1, 32, 112, 112], params: 864, macs: 10_838_016 });
    expect(s.rows.at(-1)).toMatchObject({ name: 'fc', type: 'Linear', params: 1_025_000, macs: 1_024_000 });
    const keys = new Set(model.namedParameters().map(([k]) => k.slice(0, k.lastIndexOf('.'))));
    for (const row of s.rows) if (row.params > 0) expect(keys.has(row.name)).toBe(true);
    expect(s.uncosted).toEqual([]);
  });

  for (const [alpha, size, classes] of [[0.75, 224, 1000], [1, 192, 1000], [0.5, 160, 10], [0.25, 128, 7]] as const) {
    it(`width ${alpha}, ${size}x${size}, ${classes} classes matches a hand count`, () => {
      const m = mobilenetV1({ widthMultiplier: alpha, numClasses: classes, seed: 1 });
      const t = summary(m, [2, 3, size, size]).totals;
      const hand = mobilenetByHand(alpha, size, classes);
      expect(t.params).toBe(hand.params);
      expect(t.params).toBe(m.numParameters());
      expect(t.byKind.conv.macs).toBe(2 * hand.convMacs);
      expect(t.byKind.linear.macs).toBe(2 * hand.fcMacs);
    });
  }

  it('formatSummary prints every row and the exact totals', () => {
    const text = formatSummary(s);
    for (const row of s.rows) expect(text).toContain(row.name);
    expect(text).toContain('4,231,976');
    expect(text).toContain('568,740,352');
    expect(text).toContain('567,716,352 in 27 convolution layers');
    expect(text).toContain('1,024,000 in 1 linear layer');
    expect(text).toContain('1,137,480,704');
  });
});

describe('summary: other models', () => {
  it('DepthwiseSeparableConv2d: its two leaves cost what compareSeparable says, biases as bias adds', () => {
    const block = new DepthwiseSeparableConv2d({ inChannels: 16, kernelsPerLayer: 2, outChannels: 24, seed: 3 });
    const s = summary(block, [1, 16, 10, 10]);
    expect(s.rows.map((r) => r.name)).toEqual(['depthwise', 'pointwise']);
    const c = compareSeparable({ inChannels: 16, outChannels: 24, kernelSize: 3, height: 10, width: 10, kernelsPerLayer: 2 });
    expect(s.totals.macs).toBe(c.separable.macs);
    expect(s.totals.params).toBe(c.separable.params + 32 + 24);
    expect(s.totals.biasAdds).toBe(32 * 100 + 24 * 100);
    expect(s.totals.params).toBe(block.numParameters());
  });

  it('pooling layers (ceil mode, padding) agree with the layers on output shapes', () => {
    const model = new Sequential(
      new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, seed: 1 }),
      new MaxPool2d({ kernelSize: 3, stride: 2, ceilMode: true }),
      new AvgPool2d({ kernelSize: 3, stride: 2, padding: 1, ceilMode: true }),
      new AdaptiveAvgPool2d([2, 3]),
      new Flatten(),
      new Linear(48, 5, { seed: 2 }),
    );
    const s = summary(model, [2, 3, 17, 17]);
    // conv 17 -> 15; max ceil((15-3)/2)+1 = 7; avg ceil((7+2-3)/2)+1 = 4
    expect(s.rows.map((r) => r.outputShape)).toEqual([[2, 8, 15, 15], [2, 8, 7, 7], [2, 8, 4, 4], [2, 8, 2, 3], [2, 48], [2, 5]]);
    expect(s.rows[1]!.elementwiseOps).toBe(2 * 8 * 49 * 9);
    expect(s.totals.macs).toBe(2 * 8 * 225 * 27 + 2 * 48 * 5);
    expect(s.totals.params).toBe(model.numParameters());
  });

  it('a shared module: parameters counted once, MACs at every use', () => {
    const conv = new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1, seed: 5 });
    const model = new Sequential(conv, new ReLU(), conv, new BatchNorm2d(4));
    const s = summary(model, [1, 4, 6, 6]);
    expect(s.rows.map((r) => r.shared)).toEqual([false, false, true, false]);
    expect(s.rows[2]!.params).toBe(0);
    expect(s.rows[2]!.macs).toBe(s.rows[0]!.macs);
    expect(s.totals.params).toBe(4 * 4 * 9 + 4 + 8);
    expect(s.totals.macs).toBe(2 * 4 * 36 * 4 * 9);
    expect(formatSummary(s)).toContain('(shared)');
  });

  it('a leaf without a cost rule keeps its parameters and is named', () => {
    class Scale extends Module {
      readonly weight = new Parameter([3], new Float32Array(3).fill(2));
      protected override ownParameters(): [string, Parameter | null][] {
        return [['weight', this.weight]];
      }
      forward(x: TensorLike): Tensor {
        return x as Tensor;
      }
      outputShape(inputShape: readonly number[]): number[] {
        return inputShape.slice();
      }
    }
    const s = summary(new Sequential(new Scale(), new ReLU6()), [1, 3, 4, 4]);
    expect(s.rows[0]).toMatchObject({ type: 'Scale', kind: 'other', costed: false, params: 3, macs: 0 });
    expect(s.uncosted).toEqual(['Scale']);
    expect(formatSummary(s)).toContain('No cost rule');
  });

  it('refuses a container whose forward is not its children in order', () => {
    class Swapped extends Module {
      constructor() {
        super();
        this.registerModule('second', new Conv2d({ inChannels: 8, outChannels: 2, kernelSize: 1, seed: 1 }));
        this.registerModule('first', new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 1, seed: 1 }));
      }
      forward(x: TensorLike): Tensor {
        const [second, first] = this.children();
        return second!.forward(first!.forward(x));
      }
      outputShape(inputShape: readonly number[]): number[] {
        const [second, first] = this.children();
        return second!.outputShape(first!.outputShape(inputShape));
      }
    }
    expect(() => summary(new Swapped(), [1, 3, 4, 4])).toThrow(/expected input with 8 channels/);
    class SkipsPool extends Module {
      constructor() {
        super();
        this.registerModule('conv', new Conv2d({ inChannels: 3, outChannels: 3, kernelSize: 1, seed: 1 }));
        this.registerModule('pool', new MaxPool2d(2));
      }
      forward(x: TensorLike): Tensor {
        return this.children()[0]!.forward(x);
      }
      outputShape(inputShape: readonly number[]): number[] {
        return this.children()[0]!.outputShape(inputShape);
      }
    }
    expect(() => summary(new Sequential(new SkipsPool()), [1, 3, 4, 4])).toThrow(
      /cannot follow "0" \(SkipsPool\): its children chained in registration order give \[1, 3, 2, 2\], but its outputShape is \[1, 3, 4, 4\]/,
    );
  });

  it('rejects a bad input shape with the module’s own message', () => {
    expect(() => summary(mobilenetV1({ seed: 0 }), [1, 4, 224, 224])).toThrow(/expected input with 3 channels/);
    // An empty batch is costed (PyTorch runs it); an empty height is the first conv's error.
    expect(() => summary(mobilenetV1({ seed: 0 }), [1, 3, 0, 224] as number[])).toThrow(/input\.shape\[2\] must be at least 1/);
    expect(() => summary(mobilenetV1({ seed: 0 }), [1, 3, -1, 224] as number[])).toThrow(/inputShape\[2\] must be an integer from 0/);
    expect(() => traceLeaves({} as Module, [1, 3, 8, 8])).toThrow(/model must be a sepconv Module/);
  });
});
