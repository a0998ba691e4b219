import { describe, expect, it } from 'vitest';
import {
  activationCost,
  adaptiveAvgPool2dCost,
  addCosts,
  batchNorm2dCost,
  conv2dCost,
  linearCost,
  pool2dCost,
  reshapeCost,
  type Conv2dSpec,
} from '../../src/analysis/cost.js';
import { conv2d } from '../../src/ops/conv2d.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose, randomTensor, rng } from '../helpers.js';

interface HandCase {
  label: string;
  spec: Conv2dSpec;
  outputShape: number[];
  macs: number;
  params: number;
  biasAdds: number;
}

// Every figure below was worked out by hand from N·Cout·Hout·Wout·(Cin/groups)·kH·kW.
const HAND_CASES: HandCase[] = [
  {
    label: 'x=[1,3,8,8] Cout=4 k=3 p=1 bias',
    spec: { inputShape: [1, 3, 8, 8], outChannels: 4, kernelSize: 3, padding: 1 },
    outputShape: [1, 4, 8, 8], macs: 4 * 64 * 3 * 9, params: 4 * 3 * 9 + 4, biasAdds: 4 * 64,
  },
  {
    label: 'x=[2,8,15,15] Cout=16 k=3 s=2 p=1 no bias',
    spec: { inputShape: [2, 8, 15, 15], outChannels: 16, kernelSize: 3, stride: 2, padding: 1, bias: false },
    // Hout = floor((15 + 2 - 3) / 2) + 1 = 8
    outputShape: [2, 16, 8, 8], macs: 2 * 16 * 64 * 8 * 9, params: 16 * 8 * 9, biasAdds: 0,
  },
  {
    label: 'x=[1,8,10,10] Cout=12 k=3 g=4 p=0',
    spec: { inputShape: [1, 8, 10, 10], outChannels: 12, kernelSize: 3, groups: 4 },
    outputShape: [1, 12, 8, 8], macs: 12 * 64 * 2 * 9, params: 12 * 2 * 9 + 12, biasAdds: 12 * 64,
  },
  {
    label: 'x=[1,2,9,9] Cout=3 k=3 d=2 p=0',
    spec: { inputShape: [1, 2, 9, 9], outChannels: 3, kernelSize: 3, dilation: 2, bias: false },
    // Hout = floor(9 - 2·2 - 1) + 1 = 5
    outputShape: [1, 3, 5, 5], macs: 3 * 25 * 2 * 9, params: 3 * 2 * 9, biasAdds: 0,
  },
  {
    label: 'depthwise multiplier K=2: x=[1,4,6,6] Cout=8 k=3 g=4 p=1',
    spec: { inputShape: [1, 4, 6, 6], outChannels: 8, kernelSize: 3, groups: 4, padding: 1, bias: false },
    outputShape: [1, 8, 6, 6], macs: 8 * 36 * 1 * 9, params: 8 * 9, biasAdds: 0,
  },
  {
    label: 'asymmetric padding and 2x3 kernel: x=[1,1,5,5] pads t1 b0 l2 r1',
    spec: { inputShape: [1, 1, 5, 5], outChannels: 1, kernelSize: [2, 3], padding: { top: 1, bottom: 0, left: 2, right: 1 }, bias: false },
    // Hout = floor(5 + 1 - 1 - 1) + 1 = 5, Wout = floor(5 + 3 - 2 - 1) + 1 = 6
    outputShape: [1, 1, 5, 6], macs: 30 * 6, params: 6, biasAdds: 0,
  },
  {
    label: 'unbatched x=[3,7,7] Cout=5 k=[1,3] s=[1,2] p=[0,1]',
    spec: { inputShape: [3, 7, 7], outChannels: 5, kernelSize: [1, 3], stride: [1, 2], padding: [0, 1] },
    // Hout = 7, Wout = floor((7 + 2 - 3) / 2) + 1 = 4
    outputShape: [5, 7, 4], macs: 5 * 28 * 3 * 3, params: 5 * 3 * 3 + 5, biasAdds: 5 * 28,
  },
  {
    label: "padding='same' even kernel: x=[1,2,6,6] Cout=2 k=4",
    spec: { inputShape: [1, 2, 6, 6], outChannels: 2, kernelSize: 4, padding: 'same', bias: false },
    outputShape: [1, 2, 6, 6], macs: 2 * 36 * 2 * 16, params: 2 * 2 * 16, biasAdds: 0,
  },
  {
    label: "reflect padding mode does not change the count: x=[1,2,5,5] Cout=3 k=3 p=1",
    spec: { inputShape: [1, 2, 5, 5], outChannels: 3, kernelSize: 3, padding: 1, paddingMode: 'reflect' },
    outputShape: [1, 3, 5, 5], macs: 3 * 25 * 2 * 9, params: 3 * 2 * 9 + 3, biasAdds: 75,
  },
];

describe('conv2dCost: hand-computed configurations', () => {
  for (const c of HAND_CASES) {
    it(c.label, () => {
      const cost = conv2dCost(c.spec);
      expect(cost.outputShape).toEqual(c.outputShape);
      expect(cost.macs).toBe(c.macs);
      expect(cost.flops).toBe(2 * c.macs);
      expect(cost.params).toBe(c.params);
      expect(cost.biasAdds).toBe(c.biasAdds);
      expect(cost.elementwiseOps).toBe(0);
      const inputElements = c.spec.inputShape.reduce((a, b) => a * b, 1);
      const outputElements = c.outputShape.reduce((a, b) => a * b, 1);
      expect(cost.inputBytes).toBe(4 * inputElements);
      expect(cost.weightBytes).toBe(4 * c.params);
      expect(cost.outputBytes).toBe(4 * outputElements);
      expect(cost.arithmeticIntensity).toBeCloseTo((2 * c.macs) / (4 * (inputElements + c.params + outputElements)), 12);
    });
  }

  it('bytesPerElement scales every byte count and the intensity inversely', () => {
    const f32 = conv2dCost({ inputShape: [1, 3, 8, 8], outChannels: 4, kernelSize: 3 });
    const f16 = conv2dCost({ inputShape: [1, 3, 8, 8], outChannels: 4, kernelSize: 3, bytesPerElement: 2 });
    expect(f16.inputBytes * 2).toBe(f32.inputBytes);
    expect(f16.arithmeticIntensity).toBeCloseTo(2 * f32.arithmeticIntensity, 12);
  });

  it('the spatial factor is the output size only (not input x output)', () => {
    const cost = conv2dCost({ inputShape: [1, 32, 112, 112], outChannels: 64, kernelSize: 1, bias: false });
    expect(cost.macs).toBe(112 * 112 * 32 * 64);
  });

  it('rejects bad specs naming the field', () => {
    expect(() => conv2dCost({ inputShape: [1, 3, 8, 8], outChannels: 4 } as unknown as Conv2dSpec)).toThrow(/kernelSize is required/);
    expect(() => conv2dCost({ inputShape: [1, 3, 8, 8], outChannels: 4, kernelSize: 3, groups: 2 })).toThrow(/divisible by groups/);
    expect(() => conv2dCost({ inputShape: [1, 3, 8, 8], outChannels: 0, kernelSize: 3 })).toThrow(/outChannels must be a positive integer, got 0/);
    expect(() => conv2dCost({ inputShape: [1, 3, 2, 2], outChannels: 4, kernelSize: 3 })).toThrow(/output size must be at least 1x1/);
    expect(() => conv2dCost({ inputShape: [3, 8], outChannels: 4, kernelSize: 3 })).toThrow(/inputShape must be/);
    expect(() => conv2dCost({ inputShape: [1, 3, 8, 8], outChannels: 4, kernelSize: 3, strides: 2 } as unknown as Conv2dSpec)).toThrow(
      /unknown field "strides"/,
    );
    expect(() => conv2dCost({ inputShape: [1, 3, 8, 8], outChannels: 4, kernelSize: 3, bias: 1 } as unknown as Conv2dSpec)).toThrow(
      /bias must be a boolean/,
    );
    expect(() => conv2dCost({ inputShape: [1, 3, 8, 8], outChannels: 4, kernelSize: 3, stride: 2, padding: 'same' })).toThrow(/strided/);
  });
});

/**
 * A convolution written independently of the library that counts its multiply-adds: every kernel
 * tap of every output element is one MAC, a tap on zero padding multiplies by zero.
 */
function countingConv(x: Tensor, w: Tensor, spec: { stride: number; padding: number; dilation: number; groups: number }): { y: Tensor; macs: number; tapsInside: number } {
  const [n, cin, h, wd] = x.shape as [number, number, number, number];
  const [cout, cpg, kh, kw] = w.shape as [number, number, number, number];
  const { stride, padding, dilation, groups } = spec;
  const hout = Math.floor((h + 2 * padding - dilation * (kh - 1) - 1) / stride) + 1;
  const wout = Math.floor((wd + 2 * padding - dilation * (kw - 1) - 1) / stride) + 1;
  const y = new Float32Array(n * cout * hout * wout);
  let macs = 0;
  let tapsInside = 0;
  const coutPerGroup = cout / groups;
  for (let b = 0; b < n; b++)
    for (let o = 0; o < cout; o++)
      for (let i = 0; i < hout; i++)
        for (let j = 0; j < wout; j++) {
          let sum = 0;
          const g = Math.floor(o / coutPerGroup);
          for (let c = 0; c < cpg; c++)
            for (let p = 0; p < kh; p++)
              for (let q = 0; q < kw; q++) {
                const r = i * stride + p * dilation - padding;
                const s = j * stride + q * dilation - padding;
                const inside = r >= 0 && r < h && s >= 0 && s < wd;
                const xv = inside ? x.data[((b * cin + g * cpg + c) * h + r) * wd + s]! : 0;
                sum += xv * w.data[((o * cpg + c) * kh + p) * kw + q]!;
                macs++;
                if (inside) tapsInside++;
              }
          y[((b * cout + o) * hout + i) * wout + j] = sum;
        }
  return { y: { shape: [n, cout, hout, wout], data: y }, macs, tapsInside };
}

describe('conv2dCost: MACs equal the multiply-adds a counting convolution performs', () => {
  const configs = [
    { x: [1, 3, 7, 7], cout: 4, k: 3, stride: 1, padding: 1, dilation: 1, groups: 1 },
    { x: [2, 4, 9, 8], cout: 6, k: 3, stride: 2, padding: 1, dilation: 1, groups: 2 },
    { x: [1, 4, 10, 10], cout: 8, k: 3, stride: 1, padding: 2, dilation: 2, groups: 4 },
    { x: [1, 6, 5, 6], cout: 3, k: 1, stride: 1, padding: 0, dilation: 1, groups: 3 },
    { x: [1, 2, 8, 8], cout: 2, k: 5, stride: 3, padding: 2, dilation: 1, groups: 1 },
  ];
  for (const c of configs) {
    it(`x=[${c.x}] Cout=${c.cout} k=${c.k} s=${c.stride} p=${c.padding} d=${c.dilation} g=${c.groups}`, () => {
      const random = rng(7);
      const x = randomTensor(c.x, random);
      const w = randomTensor([c.cout, c.x[1]! / c.groups, c.k, c.k], random);
      const counted = countingConv(x, w, c);
      // The counting convolution must compute the same thing as the library, or its count means nothing.
      expectClose(conv2d(x, w, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups }), counted.y, 1e-4, 'conv2d vs counting');
      const cost = conv2dCost({
        inputShape: c.x, outChannels: c.cout, kernelSize: c.k, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, bias: false,
      });
      expect(cost.outputShape).toEqual(counted.y.shape);
      expect(cost.macs).toBe(counted.macs);
      if (c.padding > 0) expect(counted.tapsInside).toBeLessThan(cost.macs);
    });
  }
});

describe('cost rules of the other layers', () => {
  it('Linear: in·out MACs per row, bias adds apart', () => {
    const cost = linearCost({ inputShape: [2, 1024], outFeatures: 1000 });
    expect(cost.outputShape).toEqual([2, 1000]);
    expect(cost.macs).toBe(2 * 1024 * 1000);
    expect(cost.flops).toBe(4 * 1024 * 1000);
    expect(cost.params).toBe(1024 * 1000 + 1000);
    expect(cost.biasAdds).toBe(2000);
    expect(linearCost({ inputShape: [3, 5, 7], outFeatures: 2, bias: false })).toMatchObject({ macs: 3 * 5 * 7 * 2, params: 14, biasAdds: 0, outputShape: [3, 5, 2] });
  });

  it('BatchNorm2d: 2·C params, 2·C+1 buffers, 2 ops per element, no MACs', () => {
    const cost = batchNorm2dCost({ inputShape: [1, 32, 112, 112] });
    expect(cost).toMatchObject({ params: 64, bufferCount: 65, macs: 0, flops: 0, biasAdds: 0, elementwiseOps: 2 * 32 * 112 * 112 });
    expect(batchNorm2dCost({ inputShape: [32, 4, 4], affine: false, trackRunningStats: false })).toMatchObject({ params: 0, bufferCount: 0 });
  });

  it('activations: one op per element', () => {
    expect(activationCost([1, 8, 4, 4])).toMatchObject({ macs: 0, elementwiseOps: 128, params: 0, outputShape: [1, 8, 4, 4] });
  });

  it('pooling: one op per window element per output, floor mode', () => {
    const max = pool2dCost({ inputShape: [1, 3, 7, 7], kernelSize: 2 });
    expect(max.outputShape).toEqual([1, 3, 3, 3]);
    expect(max.elementwiseOps).toBe(27 * 4);
    const avg = pool2dCost({ inputShape: [2, 1, 8, 8], kernelSize: 3, stride: 2, padding: 1 });
    expect(avg.outputShape).toEqual([2, 1, 4, 4]);
    expect(avg.elementwiseOps).toBe(32 * 9);
    expect(avg.macs).toBe(0);
  });

  it('adaptive average pooling sums PyTorch windows exactly', () => {
    expect(adaptiveAvgPool2dCost([1, 1024, 7, 7])).toMatchObject({ outputShape: [1, 1024, 1, 1], elementwiseOps: 1024 * 49, macs: 0 });
    // 5 -> 3: windows [0,2), [1,4), [3,5) of sizes 2, 3, 2.
    expect(adaptiveAvgPool2dCost([1, 1, 5, 5], 3).elementwiseOps).toBe(7 * 7);
  });

  it('reshape operations are free and addCosts sums counts', () => {
    expect(reshapeCost([1, 1024])).toMatchObject({ params: 0, macs: 0, elementwiseOps: 0 });
    const sum = addCosts([linearCost({ inputShape: [1, 4], outFeatures: 3 }), activationCost([1, 3])]);
    expect(sum).toMatchObject({ params: 15, macs: 12, flops: 24, biasAdds: 3, elementwiseOps: 3, outputShape: [1, 3] });
  });
});
