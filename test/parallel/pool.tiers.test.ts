/**
 * Pooled results are bitwise equal to the synchronous API's, on the golden set and a seeded sweep,
 * with 1, 2 and 3 threads (3 is more than this machine's cores and must still be right).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2d, depthwiseConv2d, pointwiseConv2d } from '../../src/ops/conv2d.js';
import type { Conv2dOptions } from '../../src/kernels/validate.js';
import { zeros, type Tensor } from '../../src/tensor.js';
import type { WorkerPool } from '../../src/parallel/pool.js';
import { expectBitwiseEqual, loadGoldenCases, loadGoldenTensor, randomTensor, rng } from '../helpers.js';
import { sharedCopy, testPool } from './pool-helpers.js';
import { ensureWorkerBuilt } from './ensure-worker-built.js';
import { getBackend } from '../../src/ops/backend.js';

beforeAll(ensureWorkerBuilt, 300_000);

const manifest = { cases: loadGoldenCases() };
const load = loadGoldenTensor;

interface SweepCase {
  label: string;
  input: Tensor;
  weight: Tensor;
  options: Conv2dOptions;
}

/** Shapes chosen to cross the split boundaries: channel counts around multiples of 16, groups, batches, every path. */
function sweepCases(): SweepCase[] {
  const random = rng(7);
  const specs: [number[], number[], Conv2dOptions][] = [
    // 1×1 GEMM: Cout below, at and above multiples of 16; strided; grouped
    [[1, 8, 9, 7], [5, 8, 1, 1], {}],
    [[1, 16, 6, 6], [16, 16, 1, 1], { activation: 'relu' }],
    [[1, 20, 7, 5], [33, 20, 1, 1], { bias: true as never }],
    [[1, 24, 8, 8], [48, 24, 1, 1], { stride: 2, activation: 'relu6' }],
    [[1, 12, 5, 6], [36, 3, 1, 1], { groups: 4 }],
    [[2, 16, 5, 5], [40, 16, 1, 1], {}],
    [[3, 16, 5, 5], [17, 16, 1, 1], {}],
    // generic / im2col
    [[1, 3, 17, 15], [32, 3, 3, 3], { stride: 2, padding: 1 }],
    [[1, 8, 11, 10], [50, 8, 3, 3], { padding: 'same', dilation: 2 }],
    [[1, 16, 9, 9], [48, 4, 3, 3], { groups: 4, padding: 1, activation: 'relu' }],
    [[1, 6, 8, 9], [18, 6, 3, 2], { padding: [1, 0], paddingMode: 'reflect' }],
    [[1, 4, 7, 7], [35, 4, 5, 5], { padding: { top: 2, bottom: 1, left: 0, right: 3 } }],
    [[5, 4, 6, 6], [20, 4, 3, 3], { padding: 1, paddingMode: 'circular' }],
    [[4, 8, 6, 7], [16, 8, 3, 3], { padding: 1 }],
    // depthwise: 3×3 stride 1 and 2, multiplier 2, general
    [[1, 13, 12, 11], [13, 1, 3, 3], { groups: 13, padding: 1 }],
    [[1, 9, 13, 14], [9, 1, 3, 3], { groups: 9, stride: 2, padding: 1, activation: 'relu6' }],
    [[1, 7, 10, 10], [14, 1, 3, 3], { groups: 7, padding: 1 }],
    [[1, 5, 12, 12], [5, 1, 5, 5], { groups: 5, padding: 2, dilation: 2, paddingMode: 'replicate' }],
    [[2, 6, 9, 9], [6, 1, 3, 3], { groups: 6, padding: 1 }],
    // unbatched input
    [[12, 7, 7], [20, 12, 1, 1], {}],
    [[6, 9, 9], [6, 1, 3, 3], { groups: 6, padding: 1 }],
  ];
  return specs.map(([xs, ws, options]) => {
    const input = randomTensor(xs, random);
    const weight = randomTensor(ws, random);
    const resolved: Conv2dOptions = { ...options };
    if ((options as { bias?: unknown }).bias === true) resolved.bias = randomTensor([ws[0]!], random).data;
    const o = Object.entries(options).map(([k, v]) => `${k}=${JSON.stringify(k === 'bias' ? 'yes' : v)}`).join(' ');
    return { label: `x=[${xs}] w=[${ws}] ${o}`, input, weight, options: resolved };
  });
}

const sweep = sweepCases();

for (const threads of [1, 2, 3]) {
  describe(`pool threads=${threads}`, () => {
    let pool: WorkerPool;
    beforeAll(async () => {
      pool = testPool(threads);
      await pool.ready();
    });
    afterAll(async () => {
      await pool.dispose();
    });

    it('reports its thread count', () => {
      expect(pool.threads).toBe(threads);
    });

    it('golden set: bitwise equal to conv2d', async () => {
      expect(manifest.cases.length).toBeGreaterThanOrEqual(40);
      for (const c of manifest.cases) {
        const options: Conv2dOptions = {
          stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, paddingMode: c.paddingMode,
          bias: c.bias ? load(c.bias).data : null,
        };
        const input = load(c.input);
        const weight = load(c.weight);
        const expected = conv2d(input, weight, options);
        const actual = await pool.conv2d(input, weight, options);
        expect(actual.shape, c.name).toEqual(expected.shape);
        expectBitwiseEqual(actual.data, expected.data, `${c.name} threads=${threads}`);
      }
    });

    it('seeded sweep: bitwise equal to conv2d, every value written', async () => {
      for (const c of sweep) {
        const expected = conv2d(c.input, c.weight, c.options);
        const actual = await pool.conv2d(c.input, c.weight, c.options);
        expectBitwiseEqual(actual.data, expected.data, `${c.label} threads=${threads}`);
        // Into a NaN-filled shared out: a slice nobody computed would stay NaN.
        const out = zeros(expected.shape, { shared: true });
        out.data.fill(Number.NaN);
        const returned = await pool.conv2d(c.input, c.weight, { ...c.options, out });
        expect(returned).toBe(out);
        expectBitwiseEqual(out.data, expected.data, `${c.label} threads=${threads} shared out`);
      }
    });

    it('shared inputs are used in place and not modified; a plain out receives the result', async () => {
      const random = rng(11);
      const input = randomTensor([1, 32, 10, 10], random);
      const weight = randomTensor([48, 32, 3, 3], random);
      const bias = randomTensor([48], random).data;
      const sharedInput = { shape: input.shape, data: sharedCopy(input.data) };
      const sharedWeight = { shape: weight.shape, data: sharedCopy(weight.data) };
      const sharedBias = sharedCopy(bias);
      const options: Conv2dOptions = { padding: 1, bias: sharedBias, activation: 'relu' };
      const expected = conv2d(input, weight, { ...options, bias });
      const out = { shape: expected.shape, data: new Float32Array(expected.data.length).fill(Number.NaN) };
      const returned = await pool.conv2d(sharedInput, sharedWeight, { ...options, out });
      expect(returned).toBe(out);
      expectBitwiseEqual(out.data, expected.data, 'plain out');
      expectBitwiseEqual(sharedInput.data, input.data, 'input untouched');
      expectBitwiseEqual(sharedWeight.data, weight.data, 'weight untouched');
      expectBitwiseEqual(sharedBias, bias, 'bias untouched');
    });

    it('ndarray views are accepted as by conv2d', async () => {
      const random = rng(5);
      const base = randomTensor([2, 16, 6, 6], random);
      // Image 1 of the batch, as a strided view: shape [1, 16, 6, 6], offset one image in.
      const view = { data: base.data, shape: [1, 16, 6, 6], stride: [576, 36, 6, 1], offset: 576 };
      const weight = randomTensor([32, 16, 1, 1], random);
      expectBitwiseEqual((await pool.conv2d(view, weight)).data, conv2d(view, weight).data, 'view');
    });

    it('depthwiseConv2d and pointwiseConv2d match their synchronous versions', async () => {
      const random = rng(3);
      const x = randomTensor([1, 24, 14, 14], random);
      const dw = randomTensor([48, 1, 3, 3], random);
      const pw = randomTensor([40, 24], random);
      const dwOptions = { padding: 1, stride: 2, activation: 'relu6' as const };
      expectBitwiseEqual((await pool.depthwiseConv2d(x, dw, dwOptions)).data, depthwiseConv2d(x, dw, dwOptions).data, 'depthwise');
      expectBitwiseEqual((await pool.pointwiseConv2d(x, pw, { stride: 2 })).data, pointwiseConv2d(x, pw, { stride: 2 }).data, 'pointwise');
    });

    it('workers computed slices (the calls above were split)', () => {
      const stats = pool.stats();
      if (threads === 1) expect(stats.splitCalls).toBe(0);
      else {
        expect(stats.splitCalls).toBeGreaterThan(50);
        expect(stats.workerSlices).toBeGreaterThanOrEqual(stats.splitCalls);
        expect(stats.stolenSlices).toBe(0);
      }
    });

    it('concurrent calls are queued and each gets its own result', async () => {
      const random = rng(9);
      const calls = Array.from({ length: 6 }, (_, i) => ({
        input: randomTensor([1, 16 + i, 8, 8], random),
        weight: randomTensor([32, 16 + i, 3, 3], random),
      }));
      const results = await Promise.all(calls.map((c) => pool.conv2d(c.input, c.weight, { padding: 1 })));
      results.forEach((r, i) => expectBitwiseEqual(r.data, conv2d(calls[i]!.input, calls[i]!.weight, { padding: 1 }).data, `call ${i}`));
    });
  });
}

describe('pool with stealing (the default)', () => {
  it('is bitwise equal whoever computes each slice, and the workers stay in step', async () => {
    const pool = testPool(3, { steal: true });
    try {
      await pool.ready();
      for (let round = 0; round < 3; round++) {
        for (const c of sweep) {
          expectBitwiseEqual((await pool.conv2d(c.input, c.weight, c.options)).data, conv2d(c.input, c.weight, c.options).data, `${c.label} steal`);
        }
      }
      const stats = pool.stats();
      expect(stats.splitCalls).toBeGreaterThan(0);
      expect(stats.workerSlices + stats.stolenSlices).toBeGreaterThanOrEqual(stats.splitCalls);
    } finally {
      await pool.dispose();
    }
  });
});

describe('pool with the default work threshold', () => {
  it('splits large calls, keeps small ones and copy-bound ones (large non-shared input) on the calling thread', async () => {
    const pool = testPool(2, { minSliceMacs: undefined, steal: true });
    try {
      const random = rng(41);
      const calls: [string, Tensor, Tensor, Conv2dOptions, 'split' | 'unsplit'][] = [];
      const dwInput = randomTensor([1, 64, 112, 112], random);
      const dwWeight = randomTensor([64, 1, 3, 3], random);
      const dwOptions: Conv2dOptions = { groups: 64, stride: 2, padding: 1 };
      calls.push(['pointwise 128x28x28->128 (12.8M MACs)', randomTensor([1, 128, 28, 28], random), randomTensor([128, 128, 1, 1], random), {}, 'split']);
      calls.push(['pointwise 16x7x7->16 (12.5K MACs)', randomTensor([1, 16, 7, 7], random), randomTensor([16, 16, 1, 1], random), {}, 'unsplit']);
      // (JS tier: copying the input to shared memory outweighs the split; wasm tier: the input is
      // staged in wasm memory once either way, so the call splits)
      calls.push(['depthwise s2 on a 3.2 MB ordinary array', dwInput, dwWeight, dwOptions, getBackend() === 'wasm' ? 'split' : 'unsplit']);
      calls.push(['the same in shared memory', { shape: dwInput.shape, data: sharedCopy(dwInput.data) }, dwWeight, dwOptions, 'split']);
      for (const [label, x, w, options, expected] of calls) {
        const before = pool.stats();
        const y = await pool.conv2d(x, w, options);
        const after = pool.stats();
        expectBitwiseEqual(y.data, conv2d(x, w, options).data, label);
        expect(after.splitCalls - before.splitCalls, label).toBe(expected === 'split' ? 1 : 0);
      }
    } finally {
      await pool.dispose();
    }
  });
});

describe('pool validation', () => {
  let pool: WorkerPool;
  beforeAll(() => {
    pool = testPool(2);
  });
  afterAll(async () => {
    await pool.dispose();
  });

  /** The synchronous error, to compare the pool's rejection with. */
  function syncError(f: () => unknown): Error {
    try {
      f();
    } catch (error) {
      return error as Error;
    }
    throw new Error('expected the synchronous call to throw');
  }

  const x = { shape: [1, 4, 5, 5], data: new Float32Array(100) };
  const w = { shape: [8, 4, 3, 3], data: new Float32Array(288) };
  const bad: [string, () => unknown, (p: WorkerPool) => Promise<unknown>][] = [
    ['groups not dividing channels', () => conv2d(x, w, { groups: 3 }), (p) => p.conv2d(x, w, { groups: 3 })],
    ['unknown option', () => conv2d(x, w, { strides: 2 } as never), (p) => p.conv2d(x, w, { strides: 2 } as never)],
    ['input not a tensor', () => conv2d(null as never, w), (p) => p.conv2d(null as never, w)],
    ['output smaller than 1', () => conv2d(x, { shape: [8, 4, 7, 7], data: new Float32Array(8 * 4 * 49) }), (p) => p.conv2d(x, { shape: [8, 4, 7, 7], data: new Float32Array(8 * 4 * 49) })],
    ['out aliasing weight', () => conv2d(x, w, { padding: 1, out: { shape: [1, 8, 5, 5], data: new Float32Array(w.data.buffer, 0, 200) } }), (p) => p.conv2d(x, w, { padding: 1, out: { shape: [1, 8, 5, 5], data: new Float32Array(w.data.buffer, 0, 200) } })],
    ['depthwise with groups', () => depthwiseConv2d(x, w, { groups: 4 } as never), (p) => p.depthwiseConv2d(x, w, { groups: 4 } as never)],
    ['depthwise weight shape', () => depthwiseConv2d(x, w), (p) => p.depthwiseConv2d(x, w)],
    ['pointwise padding option', () => pointwiseConv2d(x, w, { padding: 1 } as never), (p) => p.pointwiseConv2d(x, w, { padding: 1 } as never)],
    ['pointwise weight shape', () => pointwiseConv2d(x, w), (p) => p.pointwiseConv2d(x, w)],
  ];
  for (const [label, sync, pooled] of bad) {
    it(`${label}: rejects with the synchronous API's error`, async () => {
      const expected = syncError(sync);
      const rejection = await pooled(pool).then(() => null, (error: unknown) => error as Error);
      expect(rejection).toBeInstanceOf(expected.constructor as ErrorConstructor);
      expect(rejection?.message).toBe(expected.message);
    });
  }

  it('rejects bad pool options before starting anything', async () => {
    const { createWorkerPool } = await import('../../src/parallel/pool.js');
    expect(() => createWorkerPool({ threads: 0 })).toThrow(/threads must be a positive integer, got 0/);
    expect(() => createWorkerPool({ threads: 1.5 })).toThrow(RangeError);
    expect(() => createWorkerPool({ thread: 2 } as never)).toThrow(/unknown option "thread"/);
    expect(() => createWorkerPool({ steal: 1 } as never)).toThrow(/steal must be a boolean, got 1/);
  });
});
