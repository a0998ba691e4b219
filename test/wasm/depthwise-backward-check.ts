/** The 3×3 stride-2 depthwise gradInput check shared by depthwise-backward.test.ts and relaxed-paths.test.ts. */
import { expect } from 'vitest';
import { conv2dBackward, conv2dGeometry, referenceConv2dBackward } from '../../src/index.js';
import { expectClose, randomTensor, rng } from '../helpers.js';

export function checkDepthwiseS2GradInput(seed: number): void {
  const random = rng(seed);
  let cases = 0;
  const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 10, 15, 16, 17];
  for (let mask = 0; mask < 16; mask++) {
    const [top, bottom, left, right] = [mask & 1, (mask >> 1) & 1, (mask >> 2) & 1, (mask >> 3) & 1];
    for (const [H, W] of [[sizes[mask % 12]!, sizes[(mask * 5 + 3) % 12]!], [9, 17], [16, 10], [3 + mask, 2 * mask + 1]] as const) {
      for (const K of [1, 2]) {
        const C = 3;
        const options = { stride: 2, groups: C, padding: { top, bottom, left, right } };
        const x = randomTensor([2, C, H, W], random);
        const w = randomTensor([C * K, 1, 3, 3], random);
        let g;
        try {
          g = conv2dGeometry(x.shape, w.shape, options);
        } catch {
          continue; // too small for a 3×3 window with this padding
        }
        const dy = randomTensor(g.outputShape, random);
        const got = conv2dBackward(dy, x, w, { ...options, backend: 'wasm', needs: { input: true, weight: false, bias: false } });
        const want = referenceConv2dBackward(dy, x, w, options);
        expectClose(got.gradInput!, want.gradInput!, 1e-5, `H=${H} W=${W} K=${K} pads t${top} b${bottom} l${left} r${right}`);
        cases++;
      }
    }
  }
  expect(cases).toBeGreaterThan(100);
}
