/**
 * The wasm weight gradient of the general convolution path (src/wasm/grouped-backward.ts on the
 * gdot kernel, src/wasm/gemm-dot.ts) against the float64 reference backward. Runs on the variant
 * this engine loads; relaxed-paths.test.ts runs the relaxed one.
 */
import { describe, it } from 'vitest';
import { checkGroupedGradWeight } from './grouped-backward-check.js';

describe('wasm general-path gradWeight', () => {
  it('matches referenceConv2dBackward over kernel sizes, strides, dilations, pads, groups and batch', () => {
    checkGroupedGradWeight(111);
  });
});
