import { defineConfig } from 'vitest/config';

/**
 * Two projects: `default` runs every test with the default backend ('auto': the wasm tier where
 * WebAssembly SIMD is available, as in Node); `js-tier` runs again every test file that computes
 * convolutions, with `setBackend('js')` first (test/js-tier-setup.ts), so both tiers pass them.
 */
const KERNEL_TESTS = [
  'test/golden.test.ts',
  'test/golden-backward.test.ts',
  'test/golden-conv-transpose.test.ts',
  'test/kernels/conv2d-backward.test.ts',
  'test/kernels/backward-sweep.test.ts',
  'test/kernels/conv-transpose.test.ts',
  'test/realmodel.test.ts',
  'test/kernels/aliasing.test.ts',
  'test/kernels/depthwise.test.ts',
  'test/kernels/grouped.test.ts',
  'test/kernels/plan.test.ts',
  'test/kernels/pointwise.test.ts',
  'test/kernels/sweep.test.ts',
  'test/layers/**/*.test.ts',
  'test/parallel/pool.test.ts',
  'test/parallel/layers.test.ts',
  'test/parity/**/*.test.ts',
  'test/wasm/conv2d.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'js-tier', include: KERNEL_TESTS, setupFiles: ['test/js-tier-setup.ts'] } },
    ],
  },
});
