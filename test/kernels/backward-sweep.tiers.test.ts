/**
 * Sweeps of every backward path against the reference backward: sizes below, at and above each
 * kernel's edges (1, 2, 3, odd and even, wider than the row loops' unrolling), every padding
 * combination the path takes, channel multipliers, batch > 1; each case asserts which path the
 * dispatcher picks, so every branch is covered on purpose. Also bitwise repeatability.
 */
import { describe, expect, it } from 'vitest';
import { conv2dBackward, conv2dGeometry, referenceConv2dBackward } from '../../src/index.js';
import type { BackwardPath, Conv2dBackwardOptions } from '../../src/index.js';
import { backwardSetup } from '../../src/kernels/dispatch-backward.js';
import { gradInputIsForwardConvolution } from '../../src/kernels/grouped-backward.js';
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

describe('pointwise backward sweep (GEMM tile edges: rows 16/8/4/2/1, panel columns, reduction chunks)', () => {
  const cases: SweepCase[] = [];
  // [batch, cin, cout, h, w, stride, groups]: Cout/groups around the 16-row blocks, Cin/groups
  // around the 64-column panels, pixels around the 256-pixel chunks and the 8-step blocks.
  const shapes: [number, number, number, number, number, number, number][] = [
    [1, 2, 1, 1, 1, 1, 1], [2, 3, 5, 4, 4, 1, 1], [1, 8, 16, 16, 16, 1, 1], [2, 9, 17, 17, 15, 1, 1],
    [1, 64, 15, 8, 8, 1, 1], [1, 65, 33, 3, 3, 1, 1], [2, 63, 7, 16, 17, 1, 1], [1, 16, 31, 1, 257, 1, 1],
    [3, 12, 24, 5, 7, 1, 4], [2, 130, 10, 4, 4, 1, 2], [2, 8, 16, 9, 9, 2, 1], [1, 6, 4, 7, 10, 3, 2],
    [2, 4, 8, 9, 8, 1, 1], [1, 2, 3, 5, 5, 2, 1],
  ];
  for (const [batch, cin, cout, h, w, stride, groups] of shapes) {
    cases.push({ x: [batch, cin, h, w], w: [cout, cin / groups, 1, 1], options: { stride, groups }, path: 'pointwise' });
  }
  // Each case on both tiers explicitly (stride 1 runs the wasm GEMMs on the wasm tier).
  for (const backend of ['wasm', 'js'] as const) {
    cases.forEach((c, i) => it(`${backend}: x=[${c.x}] w=[${c.w}] ${JSON.stringify(c.options)}`, () => check({ ...c, options: { ...c.options, backend } }, 4000 + i)));
  }
  it('the two tiers compute the 1×1 stride-1 gradients with different kernels (float32 vs float64 sums)', () => {
    const random = rng(8);
    const x = randomTensor([1, 64, 9, 9], random);
    const w = randomTensor([48, 64, 1, 1], random);
    const dy = randomTensor([1, 48, 9, 9], random);
    const onWasm = conv2dBackward(dy, x, w, { backend: 'wasm' });
    const onJs = conv2dBackward(dy, x, w, { backend: 'js' });
    expectClose(onWasm.gradWeight!, onJs.gradWeight!, 1e-5, 'gradWeight');
    expect(onWasm.gradWeight!.data.some((v, k) => v !== onJs.gradWeight!.data[k])).toBe(true);
    expect(onWasm.gradInput!.data.some((v, k) => v !== onJs.gradInput!.data[k])).toBe(true);
  });
});

describe('generic (grouped) backward sweep: the dual forward convolution and col2im routes', () => {
  const cases: (SweepCase & { dual: boolean })[] = [];
  const shapes: [number[], number[], Conv2dBackwardOptions][] = [
    [[1, 3, 9, 9], [4, 3, 3, 3], { padding: 1 }],
    [[2, 4, 8, 7], [18, 2, 3, 3], { padding: 1, groups: 2 }],
    [[1, 3, 17, 16], [8, 3, 3, 3], { padding: 1, stride: 2 }],
    [[2, 6, 7, 9], [6, 3, 2, 4], { padding: { top: 1, bottom: 0, left: 3, right: 2 }, groups: 2 }],
    [[1, 2, 8, 8], [3, 2, 3, 3], { padding: 2, dilation: 2 }],
    [[1, 2, 8, 8], [3, 2, 3, 3], { padding: 3 }],
    [[2, 9, 11, 6], [6, 3, 5, 1], { stride: [2, 1], padding: [2, 0], groups: 3 }],
    [[1, 16, 12, 12], [16, 16, 3, 3], { padding: 'same' }],
    [[1, 70, 6, 6], [20, 70, 3, 3], { padding: 1 }],
    [[1, 3, 23, 25], [5, 3, 3, 3], { stride: 2, padding: 1 }],
    [[2, 4, 6, 6], [4, 2, 1, 1], { padding: 1, groups: 2 }],
    [[1, 2, 5, 5], [3, 2, 2, 2], { stride: 3, dilation: 2, padding: [2, 1] }],
  ];
  for (const [x, w, options] of shapes) {
    const g = conv2dGeometry(x, w, options);
    cases.push({ x, w, options, path: 'grouped', dual: gradInputIsForwardConvolution(g) });
  }
  it('covers both gradInput routes', () => {
    expect(cases.some((c) => c.dual)).toBe(true);
    expect(cases.some((c) => !c.dual)).toBe(true);
  });
  cases.forEach((c, i) => it(`x=[${c.x}] w=[${c.w}] ${JSON.stringify(c.options)} ${c.dual ? 'dual forward' : 'col2im'}`, () => check(c, 5000 + i)));
});
