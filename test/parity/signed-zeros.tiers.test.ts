/**
 * PyTorch parity for signed zeros. The rule (PyTorch's oneDNN convolutions and its linear layers):
 * an output is (+0 + Σ products) + bias, so all −0 products with a −0 bias (or none) give +0, on
 * every kernel path, planned or not, fused activation or not. Element-wise layers follow PyTorch's
 * formulas: ReLU/ReLU6 keep −0 (clamp), LeakyReLU is x > 0 ? x : slope·x (so a negative slope maps
 * −0 to +0 and +0 to −0). Expected values below are PyTorch 1.13's.
 */
import { describe, expect, it } from 'vitest';
import {
  AvgPool2d, BatchNorm2d, Conv2d, LeakyReLU, Linear, MaxPool2d, ReLU, ReLU6, Sequential,
  backendInfo, conv2d, conv2dGeometry, prepareConv2d, referenceConv2d, selectKernelPath, type Conv2dOptions, type KernelPath,
} from '../../src/index.js';

/** Both kernel tiers must follow the rule (wasm where this engine can run it). */
const BACKENDS = backendInfo().simd ? (['js', 'wasm'] as const) : (['js'] as const);

const isNegZero = (v: number): boolean => Object.is(v, -0);
const signs = (data: Float32Array): string[] => Array.from(data, (v) => (isNegZero(v) ? '-0' : String(v)));

/** One geometry per kernel path (and padding mode), each with all-−0 input. */
const GEOMETRIES: { path: KernelPath; input: number[]; weight: number[]; options: Conv2dOptions }[] = [
  { path: 'depthwise3x3s1', input: [2, 4, 7, 9], weight: [4, 1, 3, 3], options: { groups: 4, padding: 1 } },
  { path: 'depthwise3x3s1', input: [1, 2, 1, 5], weight: [2, 1, 3, 3], options: { groups: 2, padding: 1 } },
  { path: 'depthwise3x3s2', input: [2, 4, 7, 9], weight: [8, 1, 3, 3], options: { groups: 4, padding: 1, stride: 2 } },
  { path: 'depthwise', input: [2, 4, 7, 9], weight: [4, 1, 5, 5], options: { groups: 4, padding: 2 } },
  { path: 'depthwise', input: [1, 3, 6, 6], weight: [6, 1, 3, 3], options: { groups: 3, padding: 1, dilation: 2 } },
  { path: 'pointwise', input: [2, 4, 7, 9], weight: [6, 4, 1, 1], options: {} },
  { path: 'pointwise', input: [1, 40, 20, 20], weight: [36, 40, 1, 1], options: {} },
  { path: 'grouped', input: [2, 4, 7, 9], weight: [6, 2, 3, 3], options: { groups: 2, padding: 1 } },
  { path: 'grouped', input: [1, 40, 12, 12], weight: [20, 40, 3, 3], options: { padding: 1 } },
  { path: 'grouped', input: [2, 4, 7, 9], weight: [6, 4, 3, 3], options: { padding: 1, paddingMode: 'reflect' } },
  { path: 'grouped', input: [2, 4, 7, 9], weight: [6, 4, 3, 3], options: { padding: 2, paddingMode: 'circular', stride: 2 } },
];

describe('signed zeros: every conv path gives +0 for all −0 products, with a −0 bias or none', () => {
  for (const g of GEOMETRIES) {
    expect(selectKernelPath(conv2dGeometry(g.input, g.weight, g.options))).toBe(g.path);
    for (const weightSign of [1, -1]) {
      for (const bias of ['none', '-0', '+0'] as const) {
        for (const activation of [undefined, 'relu', 'relu6'] as const) {
          const label = `${g.path} ${JSON.stringify(g.options)} weight sign ${weightSign}, bias ${bias}, activation ${activation ?? 'none'}`;
          it(label, () => {
            const x = { shape: g.input, data: new Float32Array(g.input.reduce((a, b) => a * b, 1)).fill(-0) };
            const size = g.weight.reduce((a, b) => a * b, 1);
            // Positive weights make every product −0; negative ones make every product +0.
            const w = { shape: g.weight, data: Float32Array.from({ length: size }, (_, i) => weightSign * (0.5 + (i % 3))) };
            const b = bias === 'none' ? undefined : new Float32Array(g.weight[0]!).fill(bias === '-0' ? -0 : 0);
            const options = { ...g.options, bias: b, activation };
            const runs: [string, Float32Array][] = [['referenceConv2d', referenceConv2d(x, w, options).data]];
            for (const backend of BACKENDS) {
              runs.push([`conv2d (${backend})`, conv2d(x, w, { ...options, backend }).data]);
              runs.push([`prepareConv2d (${backend})`, prepareConv2d(w, { ...options, backend }).run(x).data]);
            }
            for (const [name, data] of runs) {
              const negative = data.findIndex(isNegZero);
              expect(negative, `${name}: output ${negative} is −0`).toBe(-1);
              expect(data.every((v) => v === 0)).toBe(true);
            }
          });
        }
      }
    }
  }
});

describe('signed zeros in layers (PyTorch 1.13 values)', () => {
  const pair = new Float32Array([-0, 0]);

  it('LeakyReLU(-0.5) maps [−0, +0] to [+0, −0]; LeakyReLU(0.01) keeps them', () => {
    expect(signs(new LeakyReLU(-0.5).forward({ shape: [2], data: pair }).data)).toEqual(['0', '-0']);
    expect(signs(new LeakyReLU(0.01).forward({ shape: [2], data: pair }).data)).toEqual(['-0', '0']);
    // In place (inside a Sequential, on a tensor the container made) too.
    const net = new Sequential(new ReLU6(), new LeakyReLU(-0.5));
    expect(signs(net.forward({ shape: [2], data: pair }).data)).toEqual(['0', '-0']);
    expect(signs(net.compile([2]).run({ shape: [2], data: pair }).data)).toEqual(['0', '-0']);
  });

  it('ReLU and ReLU6 keep −0 (PyTorch clamps: relu(−0) = −0)', () => {
    expect(signs(new ReLU().forward({ shape: [2], data: pair }).data)).toEqual(['-0', '0']);
    expect(signs(new ReLU6().forward({ shape: [2], data: pair }).data)).toEqual(['-0', '0']);
  });

  it('Conv2d (−0 bias) → ReLU: fused and unfused, forward and compiled, all +0', () => {
    const conv = new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1, seed: 1 });
    conv.weight.data.fill(0.25);
    conv.bias!.data.fill(-0);
    const x = { shape: [1, 2, 4, 4], data: new Float32Array(32).fill(-0) };
    const unfused = new ReLU().forward(conv.forward(x));
    const net = new Sequential(conv, new ReLU());
    for (const y of [unfused, net.forward(x), net.compile([1, 2, 4, 4]).run(x)]) {
      expect(y.data.every((v) => Object.is(v, 0))).toBe(true);
    }
  });

  it('Linear with all −0 input and a −0 bias gives +0 (torch: F.linear(full(-0.), ones, full(-0.)) = 0.)', () => {
    const linear = new Linear(3, 4, { seed: 1 });
    linear.weight.data.fill(1);
    linear.bias!.data.fill(-0);
    const y = linear.forward({ shape: [2, 3], data: new Float32Array(6).fill(-0) });
    expect(y.data.every((v) => Object.is(v, 0))).toBe(true);
  });

  it('average pooling of −0 is +0; max pooling keeps the first of equal zeros (torch: v > max)', () => {
    const x = { shape: [1, 1, 2, 2], data: new Float32Array(4).fill(-0) };
    expect(signs(new AvgPool2d(2).forward(x).data)).toEqual(['0']);
    expect(signs(new MaxPool2d([1, 2]).forward({ shape: [1, 1, 1, 2], data: new Float32Array([-0, 0]) }).data)).toEqual(['-0']);
    expect(signs(new MaxPool2d([1, 2]).forward({ shape: [1, 1, 1, 2], data: new Float32Array([0, -0]) }).data)).toEqual(['0']);
  });

  it('BatchNorm2d (eval): x·scale + shift with shift = bias − mean·scale = +0, so −0 input gives +0, as in PyTorch', () => {
    const bn = new BatchNorm2d(1);
    const y = bn.forward({ shape: [1, 1, 1, 2], data: new Float32Array([-0, 0]) });
    expect(signs(y.data)).toEqual(['0', '0']);
  });
});
