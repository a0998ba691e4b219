import { describe, it } from 'vitest';
import { ACT_NONE, ACT_RELU, ACT_RELU6, type Activation } from '../../src/epilogue.js';
import { panelColumns } from '../../src/kernels/gemm.js';
import { groupedConv } from '../../src/kernels/grouped.js';
import {
  ACTS, checkChannelSplits, checkKernel, checkOnlyRequestedChannels, kernelCaseName, type KernelCase,
} from '../helpers.js';

/** The grouped kernel is general: it runs directly on every case, whatever the dispatcher would pick. */
const check = (c: KernelCase, act: Activation, code: number, withBias: boolean, seed: number): void =>
  checkKernel(groupedConv, c, act, code, withBias, seed);

const cases: KernelCase[] = [
  // 3x3 same padding, odd sizes, rows not multiples of anything
  { x: [1, 3, 7, 9], w: [5, 3, 3, 3], options: { padding: 1 } },
  { x: [2, 4, 6, 5], w: [17, 4, 3, 3], options: { padding: 1 } },
  { x: [1, 8, 5, 5], w: [33, 8, 3, 3], options: { padding: 1, stride: 2 } },
  { x: [1, 3, 11, 10], w: [16, 3, 3, 3], options: { padding: 1, stride: 2 } },
  // conv3x3_first-like with a small image
  { x: [1, 3, 17, 15], w: [32, 3, 3, 3], options: { stride: 2, padding: 1 } },
  // asymmetric kernels, stride, dilation, explicit padding
  { x: [1, 5, 9, 8], w: [6, 5, 2, 3], options: { padding: { top: 0, bottom: 2, left: 3, right: 1 } } },
  { x: [1, 2, 12, 11], w: [7, 2, 3, 3], options: { dilation: [2, 3], padding: [2, 3] } },
  { x: [1, 2, 10, 13], w: [4, 2, 5, 1], options: { stride: [3, 2], padding: [2, 0] } },
  { x: [1, 3, 8, 8], w: [4, 3, 4, 4], options: { stride: 4 } },
  { x: [1, 4, 4, 4], w: [3, 4, 5, 5], options: { padding: 3 } },
  // padding larger than kernel reach: whole rows/columns of zeros
  { x: [1, 1, 3, 3], w: [2, 1, 2, 2], options: { padding: 4 } },
  { x: [1, 2, 1, 1], w: [3, 2, 3, 3], options: { padding: 1 } },
  // groups (not depthwise)
  { x: [1, 8, 6, 7], w: [8, 2, 3, 3], options: { padding: 1, groups: 4 } },
  { x: [2, 6, 5, 6], w: [9, 2, 3, 3], options: { padding: 1, groups: 3, stride: 2 } },
  { x: [1, 4, 7, 7], w: [6, 2, 1, 3], options: { padding: [0, 1], groups: 2 } },
  // depth > 8 leftovers: depth = Cin*kH*kW = 2*2*2 = 8, 3*3*3 = 27, 5*3*3 = 45, 1*3*3 = 9
  { x: [1, 2, 6, 6], w: [19, 2, 2, 2], options: { padding: 1 } },
  { x: [1, 5, 6, 6], w: [18, 5, 3, 3], options: { padding: 1 } },
  { x: [1, 1, 6, 6], w: [15, 1, 3, 3], options: { padding: 'same' } },
  { x: [1, 2, 6, 7], w: [3, 2, 2, 4], options: { padding: 'same', dilation: 2 } },
  // 1x1 with padding goes through the grouped path
  { x: [1, 3, 4, 5], w: [4, 3, 1, 1], options: { padding: 1 } },
];

describe('groupedConv (implicit GEMM) against the reference', () => {
  let seed = 100;
  for (const c of cases) {
    for (const [act, code] of ACTS) {
      for (const withBias of [false, true]) {
        const s = seed++;
        it(kernelCaseName(c, act, withBias), () => check(c, act, code, withBias, s));
      }
    }
  }
  // Output-pixel panels: the number of pixels just below, at and above the panel width.
  for (const depthChannels of [2, 64]) {
    const depth = depthChannels * 9;
    const columns = panelColumns(depth);
    for (const pixels of [columns - 1, columns, columns + 1, 2 * columns + 1]) {
      // An image of 1 row of `pixels` columns, padded 1 so every edge case shows up.
      const c: KernelCase = { x: [1, depthChannels, 1, pixels], w: [18, depthChannels, 3, 3], options: { padding: 1 } };
      const s = seed++;
      it(`panel edge: depth=${depth} columns=${columns} pixels=${pixels}`, () => check(c, 'relu', ACT_RELU, true, s));
    }
    // Panels that start in the middle of an output row and span several rows.
    const wide: KernelCase = { x: [1, depthChannels, 9, Math.ceil(columns / 4) + 3], w: [5, depthChannels, 3, 3], options: { padding: 1, stride: [1, 1] } };
    const s = seed++;
    it(`panels across rows: x=[${wide.x}]`, () => check(wide, 'none', ACT_NONE, false, s));
  }
});

describe('groupedConv channel ranges', () => {
  for (const c of [
    { x: [2, 8, 9, 10], w: [37, 8, 3, 3], options: { padding: 1 } },
    { x: [1, 8, 9, 10], w: [36, 2, 3, 3], options: { padding: 1, groups: 4, stride: 2 } },
  ] as KernelCase[]) {
    it(`every split of x=[${c.x}] w=[${c.w}] gives bitwise the full result`, () => checkChannelSplits(groupedConv, c, ACT_RELU6, 5));
  }
  it('computes only the requested channels', () => checkOnlyRequestedChannels(groupedConv, [10, 4, 3, 3], { padding: 1 }, 3, 7, 6));
});
