import { defineConfig } from 'vitest/config';

/**
 * Two projects: `default` runs every test with the default backend ('auto': the wasm tier where
 * WebAssembly SIMD is available, as in Node); `js-tier` runs again every `*.tiers.test.ts` (the
 * tests that compute convolutions, named so) with `setBackend('js')` first
 * (test/js-tier-setup.ts), so both tiers pass them.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'js-tier', include: ['test/**/*.tiers.test.ts'], setupFiles: ['test/js-tier-setup.ts'] } },
    ],
  },
});
