/**
 * The general path's wasm gradients (gradWeight on gdot; gradInput by columns and col2im or as the
 * dual forward convolution, src/wasm/grouped-backward.ts gradInputMethod), shared by
 * grouped-backward.test.ts and relaxed-paths.test.ts.
 */
import { expect } from 'vitest';
import { conv2dBackward, conv2dGeometry, referenceConv2dBackward, selectBackwardPath, type Conv2dOptions } from '../../src/index.js';
import { gradInputMethod } from '../../src/wasm/grouped-backward.js';
import { expectBitwiseEqual, expectClose, randomTensor, rng } from '../helpers.js';

/** [input shape, weight shape, options]: kernel sizes, strides, dilations, asymmetric pads, groups, Wo tails, Cout/groups around 4, odd depths, chunked pixels. */
export const GROUPED_GRADIENT_CASES: [number[], number[], Conv2dOptions][] = [
  [[1, 3, 9, 9], [4, 3, 3, 3], { padding: 1 }],
  [[2, 3, 17, 16], [8, 3, 3, 3], { padding: 1, stride: 2 }],
  [[1, 3, 33, 31], [5, 3, 3, 3], { padding: 1, stride: 2 }],
  [[2, 4, 8, 7], [18, 2, 3, 3], { padding: 1, groups: 2 }],
  [[2, 6, 7, 9], [6, 3, 2, 4], { padding: { top: 1, bottom: 0, left: 3, right: 2 }, groups: 2 }],
  [[1, 2, 8, 8], [3, 2, 3, 3], { padding: 2, dilation: 2 }],
  [[1, 2, 8, 8], [3, 2, 3, 3], { padding: 3 }],
  [[3, 9, 11, 6], [6, 3, 5, 1], { stride: [2, 1], padding: [2, 0], groups: 3 }],
  [[1, 5, 10, 10], [7, 5, 1, 1], { stride: 3 }],
  [[1, 1, 6, 5], [1, 1, 2, 2], {}],
  [[1, 4, 12, 11], [9, 4, 5, 5], { padding: 2, stride: [1, 2] }],
  [[2, 8, 9, 9], [8, 2, 3, 3], { padding: 1, groups: 4, dilation: [1, 2] }],
  [[1, 3, 70, 70], [6, 3, 3, 3], { padding: 1 }], // 4900 output pixels: several chunks
  [[1, 3, 7, 7], [32, 3, 7, 7], { stride: 2, padding: 3 }],
  [[2, 12, 10, 9], [9, 4, 3, 3], { padding: [1, 2], groups: 3, dilation: [1, 2] }],
  // strided gradInput by phases: asymmetric pads, stride 3 with a 5×5 kernel, groups, sizes not a multiple of the stride
  [[2, 4, 11, 13], [6, 2, 3, 3], { stride: 2, padding: { top: 0, bottom: 1, left: 1, right: 0 }, groups: 2 }],
  [[1, 3, 16, 14], [5, 3, 5, 5], { stride: 3, padding: 2 }],
  [[1, 2, 9, 10], [4, 2, 4, 2], { stride: [2, 3], padding: [1, 0] }],
  [[1, 2, 9, 9], [3, 2, 1, 1], { stride: 2, padding: 1 }], // padding beyond a 1×1 kernel's reach
  [[1, 3, 12, 12], [4, 3, 2, 2], { stride: 2 }],
  [[1, 6, 5, 13], [10, 6, 3, 5], { padding: { top: 0, bottom: 2, left: 4, right: 1 } }],
];

export function checkGroupedGradWeight(seed: number): void {
  const random = rng(seed);
  let grouped = 0;
  for (const [xs, ws, options] of GROUPED_GRADIENT_CASES) {
    const x = randomTensor(xs, random);
    const w = randomTensor(ws, random);
    const g = conv2dGeometry(xs, ws, options);
    if (selectBackwardPath(g) === 'grouped') grouped++;
    const dy = randomTensor(g.outputShape, random);
    const got = conv2dBackward(dy, x, w, { ...options, backend: 'wasm', needs: { input: true, weight: true, bias: false } });
    const want = referenceConv2dBackward(dy, x, w, options);
    const label = `x=${JSON.stringify(xs)} w=${JSON.stringify(ws)} ${JSON.stringify(options)}`;
    expectClose(got.gradWeight!, want.gradWeight!, 2e-5, `gradWeight ${label}`);
    expectClose(got.gradInput!, want.gradInput!, 2e-5, `gradInput ${label}`);
  }
  expect(grouped).toBeGreaterThanOrEqual(GROUPED_GRADIENT_CASES.length - 2);
}

/**
 * gradInput's two methods (gradInputMethod): columns below 16 input channels per group or with
 * any stride, pad beyond the kernel's reach; the dual convolution at stride 1 from 16 up. Input
 * channels per group 2, 3, 4, 16, 20 (one per group is a depthwise path's, never this one's); strides 1, 2, 3 (col2im's three kernels) and mixed;
 * dilation 2 with and without a stride; asymmetric and zero padding; kernels 1×1, 3×3, 5×5, 7×7;
 * groups 1 and 2; batch 1 and 3; odd sizes (col2im's vector loops and their tails); several
 * column chunks per image (stride 1 and 2).
 */
export const GRAD_INPUT_METHOD_CASES: [number[], number[], Conv2dOptions][] = [
  [[1, 2, 13, 11], [5, 2, 3, 3], { stride: 2 }],
  [[3, 2, 7, 9], [6, 2, 3, 3], { stride: 3, padding: { top: 1, bottom: 0, left: 2, right: 1 } }],
  [[1, 3, 29, 31], [8, 3, 3, 3], { stride: 2, padding: 1 }], // MobileNetV1's conv1, smaller
  [[1, 3, 23, 21], [16, 3, 7, 7], { stride: 2, padding: 3 }],
  [[3, 3, 13, 11], [4, 3, 3, 3], { stride: 2, padding: 1 }],
  [[1, 3, 7, 9], [5, 3, 3, 3], {}],
  [[2, 4, 13, 11], [6, 4, 5, 5], { padding: 2 }],
  [[1, 4, 13, 11], [6, 4, 1, 1], { stride: 2, padding: { top: 0, bottom: 1, left: 1, right: 0 } }],
  [[1, 4, 13, 11], [7, 4, 1, 1], { stride: 3, padding: [1, 2] }],
  [[1, 3, 13, 11], [4, 3, 3, 3], { dilation: 2, padding: 2 }],
  [[3, 2, 13, 11], [5, 2, 3, 3], { dilation: 2, stride: 2, padding: 1 }],
  [[1, 2, 13, 17], [3, 2, 3, 3], { dilation: [1, 2], stride: [1, 2], padding: { top: 0, bottom: 2, left: 3, right: 0 } }],
  [[1, 4, 13, 11], [6, 2, 3, 3], { groups: 2, stride: 2, padding: 1 }],
  [[3, 6, 7, 9], [4, 3, 5, 5], { groups: 2, padding: 2 }],
  [[1, 3, 9, 8], [4, 3, 3, 3], { padding: 3 }], // stride 1, pad beyond the reach: columns
  [[1, 16, 9, 7], [4, 16, 3, 3], { padding: 1 }], // dual
  [[2, 40, 7, 9], [6, 20, 3, 3], { groups: 2, padding: 1 }], // dual, groups 2
  [[3, 16, 13, 11], [5, 16, 5, 5], { padding: { top: 4, bottom: 0, left: 1, right: 3 } }], // dual, asymmetric
  [[1, 16, 7, 9], [4, 16, 3, 3], { padding: 3 }], // stride 1, pad beyond the reach: columns
  [[1, 20, 13, 11], [8, 20, 3, 3], { stride: 2, padding: 1 }],
  [[1, 20, 41, 37], [4, 20, 5, 5], { stride: 2, padding: 2 }], // 500·19 floats a row: 4 chunks
  [[1, 3, 150, 60], [4, 3, 3, 3], { padding: 1 }], // 27·60 floats a row: 4 chunks at stride 1
];

/** gradInput of GRAD_INPUT_METHOD_CASES against the float64 reference, both methods taken, bitwise repeatable. */
export function checkGroupedGradInput(seed: number): void {
  const random = rng(seed);
  const methods = { columns: 0, dual: 0 };
  for (const [xs, ws, options] of GRAD_INPUT_METHOD_CASES) {
    const x = randomTensor(xs, random);
    const w = randomTensor(ws, random);
    const g = conv2dGeometry(xs, ws, options);
    const label = `x=${JSON.stringify(xs)} w=${JSON.stringify(ws)} ${JSON.stringify(options)}`;
    expect(selectBackwardPath(g), label).toBe('grouped');
    methods[gradInputMethod(g)]++;
    const dy = randomTensor(g.outputShape, random);
    const needs = { input: true, weight: false, bias: false };
    const got = conv2dBackward(dy, x, w, { ...options, backend: 'wasm', needs }).gradInput!;
    const want = referenceConv2dBackward(dy, x, w, options).gradInput!;
    expectClose(got, want, 2e-5, `gradInput ${label}`);
    const again = conv2dBackward(dy, x, w, { ...options, backend: 'wasm', needs }).gradInput!;
    expectBitwiseEqual(again.data, got.data, `gradInput repeated ${label}`);
  }
  expect(methods.columns).toBeGreaterThanOrEqual(15);
  expect(methods.dual).toBe(3);
}
