import { describe, it } from 'vitest';
import { pointwiseConv2d } from '../../src/ops/conv2d.js';
import { ACT_NONE, ACT_RELU, ACT_RELU6, type Activation } from '../../src/epilogue.js';
import { panelColumns } from '../../src/kernels/gemm.js';
import { pointwiseConv } from '../../src/kernels/pointwise.js';
import { referenceConv2d } from '../../src/kernels/reference.js';
import {
  ACTS, checkChannelSplits, checkKernel, checkOnlyRequestedChannels, expectClose, kernelCaseName, randomTensor, rng,
  type KernelCase,
} from '../helpers.js';

const check = (c: KernelCase, act: Activation, code: number, withBias: boolean, seed: number): void =>
  checkKernel(pointwiseConv, c, act, code, withBias, seed);

const cases: KernelCase[] = [
  { x: [1, 1, 1, 1], w: [1, 1, 1, 1], options: {} },
  { x: [1, 3, 5, 7], w: [4, 3, 1, 1], options: {} },
  // row leftovers (Cout = 1..17, 31..33) and reduction leftovers (Cin = 1..9, 15..17)
  { x: [2, 9, 3, 4], w: [17, 9, 1, 1], options: {} },
  { x: [1, 15, 4, 4], w: [31, 15, 1, 1], options: {} },
  { x: [1, 16, 4, 4], w: [32, 16, 1, 1], options: {} },
  { x: [1, 17, 4, 4], w: [33, 17, 1, 1], options: {} },
  { x: [1, 7, 6, 5], w: [15, 7, 1, 1], options: {} },
  { x: [1, 8, 6, 5], w: [8, 8, 1, 1], options: {} },
  // strides (packed straight from the strided input)
  { x: [1, 8, 9, 9], w: [12, 8, 1, 1], options: { stride: 2 } },
  { x: [2, 5, 10, 7], w: [9, 5, 1, 1], options: { stride: [3, 2] } },
  { x: [1, 4, 5, 11], w: [6, 4, 1, 1], options: { stride: [1, 4] } },
  // groups
  { x: [1, 8, 5, 5], w: [12, 2, 1, 1], options: { groups: 4 } },
  { x: [2, 6, 6, 5], w: [9, 2, 1, 1], options: { groups: 3, stride: 2 } },
  { x: [1, 32, 3, 3], w: [48, 16, 1, 1], options: { groups: 2 } },
];

describe('pointwiseConv against the reference', () => {
  let seed = 300;
  for (const c of cases) {
    for (const [act, code] of ACTS) {
      for (const withBias of [false, true]) {
        const s = seed++;
        it(kernelCaseName(c, act, withBias), () => check(c, act, code, withBias, s));
      }
    }
  }
  // Pixel panels: Hout*Wout just below, at and above the panel width, stride 1 and 2.
  for (const cin of [8, 200]) {
    const columns = panelColumns(cin);
    for (const pixels of [columns - 1, columns, columns + 1, 2 * columns + 5]) {
      const s1 = seed++;
      it(`panel edge: Cin=${cin} columns=${columns} pixels=${pixels}`, () =>
        check({ x: [1, cin, 1, pixels], w: [18, cin, 1, 1], options: {} }, 'relu6', ACT_RELU6, true, s1));
      const s2 = seed++;
      it(`panel edge, stride 2: Cin=${cin} columns=${columns} pixels=${pixels}`, () =>
        check({ x: [1, cin, 3, 2 * pixels - 1], w: [5, cin, 1, 1], options: { stride: 2 } }, 'none', ACT_NONE, false, s2));
    }
  }
  it('pointwiseConv2d accepts a [Cout, Cin] weight', () => {
    const random = rng(7);
    const x = randomTensor([1, 6, 4, 4], random);
    const w = randomTensor([5, 6], random);
    const y = pointwiseConv2d(x, w, { activation: 'relu' });
    expectClose(y, referenceConv2d(x, { shape: [5, 6, 1, 1], data: w.data }, { activation: 'relu' }), 1e-5, '2-D weight');
  });
});

describe('pointwiseConv channel ranges', () => {
  for (const c of [
    { x: [2, 24, 7, 9], w: [37, 24, 1, 1], options: {} },
    { x: [1, 24, 7, 9], w: [36, 6, 1, 1], options: { groups: 4, stride: 2 } },
  ] as KernelCase[]) {
    it(`every split of x=[${c.x}] w=[${c.w}] gives bitwise the full result`, () => checkChannelSplits(pointwiseConv, c, ACT_RELU, 8));
  }
  it('computes only the requested channels', () => checkOnlyRequestedChannels(pointwiseConv, [10, 4, 1, 1], {}, 2, 9, 9));
});
