/** The 1×1 column-chunk check shared by pointwise-chunks.test.ts and relaxed-paths.test.ts (tolerance grows with √Cin: float32 sums). */
import { conv2d, prepareConv2d, referenceConv2d } from '../../src/index.js';
import { expectBitwiseEqual, expectClose, randomTensor, rng } from '../helpers.js';

export function checkPointwiseChunks(seed: number): void {
  const random = rng(seed);
  // 768 × 768 weights = 2.25 MiB packed (one chunk of 37 pixels); 96 → 200 at 9 × 23 (chunks of 8-wide tiles)
  for (const [cin, cout, h, w] of [[768, 768, 6, 6], [96, 200, 9, 23]] as const) {
    const x = randomTensor([1, cin, h, w], random);
    const weight = randomTensor([cout, cin, 1, 1], random);
    const bias = randomTensor([cout], random).data;
    const options = { bias, activation: 'relu6' as const };
    const got = conv2d(x, weight, { ...options, backend: 'wasm' });
    expectClose(got, referenceConv2d(x, weight, options), 4e-5 * Math.sqrt(cin / 16), `${cin}→${cout} at ${h}×${w}`);
    const plan = prepareConv2d(weight, { ...options, backend: 'wasm' });
    const part = new Float32Array(got.data.length);
    plan.runChannels(x, part, 5, cout - 7);
    expectBitwiseEqual(part.subarray(5 * h * w, (cout - 7) * h * w), got.data.subarray(5 * h * w, (cout - 7) * h * w), 'channel range');
    plan.dispose();
  }
}

