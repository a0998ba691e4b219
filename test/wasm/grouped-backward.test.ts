/**
 * The wasm gradients of the general convolution path (src/wasm/grouped-backward.ts: gradWeight
 * on the gdot kernel, src/wasm/emit/gemm-dot.ts; gradInput by columns and col2im,
 * grouped-backward-columns.ts and src/wasm/emit/col2im.ts, or as the dual forward convolution)
 * against the float64 reference backward. Runs on the variant this engine loads;
 * relaxed-paths.test.ts runs the relaxed one.
 */
import { describe, it } from 'vitest';
import { checkGroupedGradInput, checkGroupedGradWeight } from './grouped-backward-check.js';

describe('wasm general-path gradients', () => {
  it('matches referenceConv2dBackward over kernel sizes, strides, dilations, pads, groups and batch', () => {
    checkGroupedGradWeight(111);
  });
  it('gradInput by either method (columns, dual convolution) matches the reference and repeats bitwise', () => {
    checkGroupedGradInput(112);
  });
});
