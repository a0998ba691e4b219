/**
 * Sweeps of every backward path against the reference backward: sizes below, at and above each
 * kernel's edges (1, 2, 3, odd and even, wider than the row loops' unrolling), every padding
 * combination the path takes, channel multipliers, batch > 1; each case asserts which path the
 * dispatcher picks, so every branch is covered on purpose. Also bitwise repeatability.
 */
import { describe, expect, it } from 'vitest';
import { conv2dBackward, conv2dGeometry, referenceConv2dBackward } from '../../src/index.js';
import type { BackwardPath, Conv2dBackwardOptions } from '../../src/index.js';
import { backwardSetup } from '../../src/kernels/conv2d-backward.js';
import { expectBitwiseEqual, expectClose, randomTensor, rng } from '../helpers.js';

interface SweepCase {
  x: number[];
  w: number[];
  options: Conv2dBackwardOptions;
  path: BackwardPath;
}

function check(c: SweepCase, seed: number): void {
  const label = `x=[${c.x}] w=[${c.w}] ${JSON.stringify(c.options)}`;
  const g = conv2dGeometry(c.x, c.w, c.options);
  expect(backwardSetup(g).path, label).toBe(c.path);
  const random = rng(seed);
  const x = randomTensor(c.x, random);
  const w = randomTensor(c.w, random);
  const dy = randomTensor(g.outputShape, random);
  const got = conv2dBackward(dy, x, w, { ...c.options, needs: { bias: false } });
  const ref = referenceConv2dBackward(dy, x, w, { ...c.options, needs: { bias: false } });
  expectClose(got.gradInput!, ref.gradInput!, 1e-5, `${label} gradInput`);
  expectClose(got.gradWeight!, ref.gradWeight!, 1e-5, `${label} gradWeight`);
  const again = conv2dBackward(dy, x, w, { ...c.options, needs: { bias: false } });
  expectBitwiseEqual(again.gradInput!.data, got.gradInput!.data, `${label} gradInput repeatable`);
  expectBitwiseEqual(again.gradWeight!.data, got.gradWeight!.data, `${label} gradWeight repeatable`);
}

const SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17];
const PADS = [0, 1];

function depthwiseCases(stride: 1 | 2): SweepCase[] {
  const cases: SweepCase[] = [];
  for (const h of SIZES) {
    for (const w of [1, 2, 3, 4, 6, 9, 15, 16]) {
      for (const [top, bottom, left, right] of [[1, 1, 1, 1], [0, 0, 0, 0], [1, 0, 0, 1], [0, 1, 1, 0]]) {
        const padding = { top: top!, bottom: bottom!, left: left!, right: right! };
        if (h + top! + bottom! < 3 || w + left! + right! < 3) continue;
        const multiplier = (h + w) % 3 === 0 ? 2 : 1;
        const batch = (h * w) % 2 === 0 ? 2 : 1;
        cases.push({ x: [batch, 2, h, w], w: [2 * multiplier, 1, 3, 3], options: { padding, groups: 2, stride }, path: stride === 1 ? 'depthwise3x3s1' : 'depthwise3x3s2' });
      }
    }
  }
  return cases;
}

describe('depthwise 3×3 stride 1 backward sweep', () => {
  depthwiseCases(1).forEach((c, i) => it(`x=[${c.x}] w=[${c.w}] ${JSON.stringify(c.options.padding)}`, () => check(c, 1000 + i)));
});

describe('depthwise 3×3 stride 2 backward sweep', () => {
  depthwiseCases(2).forEach((c, i) => it(`x=[${c.x}] w=[${c.w}] ${JSON.stringify(c.options.padding)}`, () => check(c, 2000 + i)));
});

describe('general depthwise backward sweep', () => {
  const cases: SweepCase[] = [];
  for (const [kh, kw] of [[5, 5], [3, 3], [1, 3], [7, 2]]) {
    for (const stride of [1, 2, 3] as const) {
      for (const dilation of [1, 2] as const) {
        for (const pad of [0, 1, 2, 4]) {
          for (const [h, w] of [[9, 11], [6, 5], [13, 16]]) {
            const options: Conv2dBackwardOptions = { stride, dilation, padding: pad, groups: 3 };
            // 3×3 dilation 1 with stride 1 or 2 and pads ≤ 1 is a specialised path, not this one.
            if (kh === 3 && kw === 3 && dilation === 1 && pad <= 1 && stride <= 2) continue;
            try {
              conv2dGeometry([2, 3, h!, w!], [3, 1, kh!, kw!], options);
            } catch {
              continue;
            }
            const multiplier = (h! + pad) % 2 === 0 ? 2 : 1;
            cases.push({ x: [2, 3, h!, w!], w: [3 * multiplier, 1, kh!, kw!], options, path: 'depthwise' });
          }
        }
      }
    }
  }
  cases.forEach((c, i) => it(`x=[${c.x}] w=[${c.w}] ${JSON.stringify(c.options)}`, () => check(c, 3000 + i)));
});
