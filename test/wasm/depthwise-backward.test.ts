/**
 * The wasm tier's depthwise backward kernels against the float64 reference backward: the 3×3
 * stride-2 gradInput gather kernel (src/wasm/emit/depthwise-3x3s2-gradinput.ts) and the 3×3 stride-1
 * gradWeight kernel (src/wasm/emit/depthwise-3x3s1-gradweight.ts), at every padding combination (0 or
 * 1 per side), sizes around their column blocks, batch 2. Runs on the variant this engine
 * loads; relaxed-paths.test.ts runs the relaxed one.
 */
import { describe, it } from 'vitest';
import { checkDepthwiseS1Gradients, checkDepthwiseS2GradInput } from './depthwise-backward-check.js';

describe('wasm depthwise 3×3 stride-2 gradients', () => {
  it('matches referenceConv2dBackward for every padding side 0/1, H and W in 1..10, 15..17, K 1 and 2', () => {
    checkDepthwiseS2GradInput(101);
  });
});

describe('wasm depthwise 3×3 stride-1 gradients', () => {
  it('matches referenceConv2dBackward for every padding side 0/1 and sizes around the 4-column steps; an unread Inf stays out', () => {
    checkDepthwiseS1Gradients(102);
  });
});
