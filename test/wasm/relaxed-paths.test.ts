/**
 * The relaxed-SIMD kernel module through the conv paths, against the float64 references: its
 * GEMM tile has another row count (MR) than the plain module's, so packing (1×1 and general
 * paths, the 1×1 backward GEMMs) is exercised at every tile edge with that MR.
 *
 * Where this engine validates relaxed SIMD (Node ≥ 22) the tests run here; where it needs a flag
 * (Node 20) one test runs this file again in a child process whose worker sets
 * --experimental-wasm-relaxed-simd first (relaxed-flag.ts), where they run.
 */
import './relaxed-flag.js';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backendInfo, conv2d, conv2dBackward, getBackend, prepareConv2d, referenceConv2d, referenceConv2dBackward, setBackend,
  type Conv2dOptions, type Tensor,
} from '../../src/index.js';
import { gemmTileRows } from '../../src/wasm/emit/gemm-tile.js';
import { compileKernelModuleSync, detectWasmFeatures, WasmRuntime } from '../../src/wasm/runtime.js';
import { expectBitwiseEqual, expectClose, randomTensor, rng } from '../helpers.js';
import { checkDepthwiseS1Gradients, checkDepthwiseS2GradInput } from './depthwise-backward-check.js';
import { checkGroupedGradInput, checkGroupedGradWeight } from './grouped-backward-check.js';
import { checkLinear } from './linear-check.js';
import { checkPointwiseChunks } from './pointwise-chunks-check.js';

const relaxedHere = detectWasmFeatures().relaxedSimd;
const SENTINEL = 12345.5;

function checkForward(x: Tensor, w: Tensor, options: Conv2dOptions, label: string): void {
  const expected = referenceConv2d(x, w, options);
  const out: Tensor = { shape: expected.shape.slice(), data: new Float32Array(expected.data.length).fill(SENTINEL) };
  conv2d(x, w, { ...options, out, backend: 'wasm' });
  const left = out.data.indexOf(SENTINEL);
  expect(left, `${label}: output ${left} never written`).toBe(-1);
  expectClose(out, expected, 1e-5, label);
}

describe.skipIf(!relaxedHere)('relaxed kernels through the conv paths', () => {
  const initial = getBackend();
  beforeAll(async () => {
    await setBackend('wasm', { relaxedSimd: true });
  });
  afterAll(async () => {
    await setBackend(initial);
  });

  it('the relaxed module is loaded, and its GEMM tile rows differ from the plain one', () => {
    expect(backendInfo().wasmVariant).toBe('relaxed');
    expect(gemmTileRows({ relaxed: true })).not.toBe(gemmTileRows({ relaxed: false }));
  });

  const mr = gemmTileRows({ relaxed: true });
  const channels = [1, mr - 1, mr, mr + 1, 2 * mr + 1, 3 * mr - 1];
  const random = rng(91);
  for (const cout of channels) {
    it(`1×1 Cout=${cout} (MR ± 1) at column tails W = 1..9, 17, with bias and activations`, () => {
      for (const [width, activation] of [[1, 'none'], [3, 'relu'], [4, 'relu6'], [5, 'none'], [7, 'relu'], [8, 'none'], [9, 'relu6'], [17, 'none']] as const) {
        const x = randomTensor([2, 5, 2, width], random);
        const w = randomTensor([cout, 5, 1, 1], random);
        checkForward(x, w, { bias: randomTensor([cout], random).data, activation }, `pointwise Cout=${cout} W=${width}`);
      }
    });
    it(`general 3×3 Cout=${cout}: stride 1 and 2, padding, groups`, () => {
      const x = randomTensor([1, 4, 7, 9], random);
      checkForward(x, randomTensor([cout, 4, 3, 3], random), { padding: 1 }, 'grouped s1');
      checkForward(x, randomTensor([cout, 4, 3, 3], random), { padding: 1, stride: 2, activation: 'relu' }, 'grouped s2');
      checkForward(x, randomTensor([2 * cout, 2, 3, 2], random), { groups: 2, padding: [1, 0], dilation: [2, 1] }, 'grouped g2');
    });
    it(`1×1 backward Cout=${cout}: gradInput and gradWeight against the float64 reference (small planes: GEMM; ≥ 128 pixels: dot products)`, () => {
      for (const [h, wd] of [[3, 5], [12, 13]]) {
        const x = randomTensor([2, 2 * mr + 1, h, wd], random);
        const w = randomTensor([cout, 2 * mr + 1, 1, 1], random);
        const dy = randomTensor([2, cout, h, wd], random);
        const got = conv2dBackward(dy, x, w, { backend: 'wasm' });
        const want = referenceConv2dBackward(dy, x, w);
        expectClose(got.gradInput!, want.gradInput!, 1e-5, `gradInput ${h}×${wd}`);
        expectClose(got.gradWeight!, want.gradWeight!, 1e-5, `gradWeight ${h}×${wd}`);
      }
    });
  }

  it('the general path\'s weight gradient (gdot kernel) against the float64 reference backward', () => {
    checkGroupedGradWeight(95);
  });

  it('the general path\'s gradInput (columns and col2im, dual convolution) against the float64 reference backward', () => {
    checkGroupedGradInput(98);
  });

  it('the 3×3 stride-2 depthwise gradInput kernel against the float64 reference backward', () => {
    checkDepthwiseS2GradInput(94);
  });

  it('the 3×3 stride-1 depthwise gradient kernels against the float64 reference backward', () => {
    checkDepthwiseS1Gradients(96);
  });

  it('the 1×1 path\'s column chunks (whole planes for weights beyond 2 MiB) against the reference', () => {
    checkPointwiseChunks(97);
  });

  it('the GEMV / Linear kernel of the relaxed module against the float64 reference', () => {
    const variant = { relaxed: true, shared: false };
    checkLinear(WasmRuntime.instantiate(compileKernelModuleSync(variant), variant), rng(92));
  });

  it('any channel range is bitwise what the whole call computes (row blocks start mid-tile)', () => {
    const x = randomTensor([1, 7, 6, 11], random);
    for (const [shape, options] of [[[3 * mr + 2, 7, 1, 1], {}], [[3 * mr + 2, 7, 3, 3], { padding: 1 }]] as const) {
      const plan = prepareConv2d(randomTensor(shape, random), { ...options, backend: 'wasm' });
      const whole = plan.run(x);
      const pixels = whole.data.length / shape[0];
      for (const [c0, c1] of [[0, 1], [1, mr + 1], [mr - 1, 2 * mr + 1], [mr + 2, shape[0]]]) {
        const part = new Float32Array(whole.data.length);
        plan.runChannels(x, part, c0, c1);
        expectBitwiseEqual(part.subarray(c0 * pixels, c1 * pixels), whole.data.subarray(c0 * pixels, c1 * pixels), `channels [${c0}, ${c1})`);
      }
      plan.dispose();
    }
  });
});

describe.skipIf(relaxedHere)('relaxed kernels on an engine that needs a flag', () => {
  it('this file passes in a child process with --experimental-wasm-relaxed-simd set', () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
    const vitest = resolve(root, 'node_modules/vitest/vitest.mjs');
    const result = spawnSync(process.execPath, [vitest, 'run', 'test/wasm/relaxed-paths.test.ts', '--project', 'default'], {
      encoding: 'utf8', cwd: root, env: { ...process.env, SEPCONV_RELAXED_CHILD: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.status, output).toBe(0);
    // the child ran the relaxed tests (skipped only where relaxed SIMD does not validate): all but this one
    const passed = /Tests\D*(\d+) passed/.exec(output);
    expect(Number(passed?.[1]), output).toBeGreaterThanOrEqual(3 * 6 + 2);
  }, 120_000);
});
