/**
 * The wasm gradients of the general convolution path (src/wasm/grouped-backward.ts: gradWeight
 * on the gdot kernel, src/wasm/emit/gemm-dot.ts; stride-1 gradInput as the dual forward convolution)
 * against the float64 reference backward. Runs on the variant this engine loads;
 * relaxed-paths.test.ts runs the relaxed one.
 */
import { describe, it } from 'vitest';
import { checkGroupedGradWeight } from './grouped-backward-check.js';

describe('wasm general-path gradients', () => {
  it('matches referenceConv2dBackward over kernel sizes, strides, dilations, pads, groups and batch', () => {
    checkGroupedGradWeight(111);
  });
});
