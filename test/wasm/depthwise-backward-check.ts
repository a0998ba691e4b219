/**
 * The 3×3 stride-2 depthwise gradient checks (gradInput: the gather kernel; gradWeight: the
 * nine-tap kernel for multiplier 1, the general one for K = 2), shared by depthwise-backward.test.ts
 * and relaxed-paths.test.ts.
 */
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
        let g: ReturnType<typeof conv2dGeometry>;
        try {
          g = conv2dGeometry(x.shape, w.shape, options);
        } catch {
          continue; // too small for a 3×3 window with this padding
        }
        const dy = randomTensor(g.outputShape, random);
        const got = conv2dBackward(dy, x, w, { ...options, backend: 'wasm', needs: { input: true, weight: true, bias: false } });
        const want = referenceConv2dBackward(dy, x, w, options);
        expectClose(got.gradInput!, want.gradInput!, 1e-5, `gradInput H=${H} W=${W} K=${K} pads t${top} b${bottom} l${left} r${right}`);
        expectClose(got.gradWeight!, want.gradWeight!, 1e-5, `gradWeight H=${H} W=${W} K=${K} pads t${top} b${bottom} l${left} r${right}`);
        cases++;
      }
    }
  }
  expect(cases).toBeGreaterThan(100);
}

/**
 * Both gradients of 3×3 stride-1 depthwise convolutions (gradWeight: the one-pass nine-tap kernel;
 * gradInput: the forward's 3×3 kernel over dY with rotated filters): every padding side 0/1,
 * sizes around the 4-column steps, batch 2; and an infinite input value in a column that some
 * taps never read, which must not reach those taps' sums through the masked last step.
 */
export function checkDepthwiseS1Gradients(seed: number): void {
  const random = rng(seed);
  let cases = 0;
  const sizes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 17];
  for (let mask = 0; mask < 16; mask++) {
    const [top, bottom, left, right] = [mask & 1, (mask >> 1) & 1, (mask >> 2) & 1, (mask >> 3) & 1];
    for (const [H, W] of [[sizes[mask % 12]! + 2, sizes[(mask * 7 + 5) % 12]! + 2], [9, 14], [3 + mask, 2 * mask + 3]] as const) {
      const C = 5;
      const options = { groups: C, padding: { top, bottom, left, right } };
      const x = randomTensor([2, C, H, W], random);
      const w = randomTensor([C, 1, 3, 3], random);
      const g = conv2dGeometry(x.shape, w.shape, options);
      const dy = randomTensor(g.outputShape, random);
      const got = conv2dBackward(dy, x, w, { ...options, backend: 'wasm', needs: { input: true, weight: true, bias: false } });
      const want = referenceConv2dBackward(dy, x, w, options);
      expectClose(got.gradWeight!, want.gradWeight!, 1e-5, `gradWeight H=${H} W=${W} pads t${top} b${bottom} l${left} r${right}`);
      expectClose(got.gradInput!, want.gradInput!, 1e-5, `gradInput H=${H} W=${W} pads t${top} b${bottom} l${left} r${right}`);
      cases++;
    }
  }
  expect(cases).toBe(48);
  // Inf in the last input column without right padding: taps q = 0 and 1 never read it
  const x = randomTensor([1, 2, 6, 7], random);
  for (let c = 0; c < 2; c++) for (let r = 0; r < 6; r++) x.data[(c * 6 + r) * 7 + 6] = Infinity;
  const w = randomTensor([2, 1, 3, 3], random);
  const dy = randomTensor([1, 2, 4, 5], random);
  const got = conv2dBackward(dy, x, w, { groups: 2, backend: 'wasm', needs: { input: false, weight: true, bias: false } }).gradWeight!.data;
  const want = referenceConv2dBackward(dy, x, w, { groups: 2 }).gradWeight!.data;
  for (let k = 0; k < want.length; k++) {
    if (Number.isFinite(want[k])) expect(Math.abs(got[k]! - want[k]!), `tap ${k}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[k]!)));
    else expect(Number.isFinite(got[k]), `tap ${k}`).toBe(false);
  }
}
