/**
 * The general path's wasm gradients (gradWeight on gdot, stride-1 gradInput as the dual forward
 * convolution; strided gradInput on the JS kernels), shared by grouped-backward.test.ts and
 * relaxed-paths.test.ts.
 */
import { expect } from 'vitest';
import { conv2dBackward, conv2dGeometry, referenceConv2dBackward, selectBackwardPath, type Conv2dOptions } from '../../src/index.js';
import { expectClose, randomTensor, rng } from '../helpers.js';

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
  [[1, 2, 9, 9], [3, 2, 1, 1], { stride: 2, padding: 1 }], // a phase would need dY cropped: JS
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
