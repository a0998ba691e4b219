/**
 * What a new user hit in the first ten minutes (issue 17), one regression test per item; each
 * failed on the main these fixes started from. The first describe must run first: it needs the
 * wasm tier not yet loaded in this file's module graph.
 */
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Conv2d, conv2d, ConvTranspose2d, convTranspose2d, createWorkerPool, mobilenetV1, mobilenetV2, prepareConv2d,
  referenceConv2d, setBackend, tensor, zeros,
} from '../../src/index.js';
import { expectClose, loadGoldenEntry, loadGoldenSet, randomTensor, rng, SHARED_DIR, type GoldenEntry } from '../helpers.js';
import { ensureWorkerBuilt } from '../parallel/ensure-worker-built.js';
import { WORKER_URL } from '../parallel/pool-helpers.js';

beforeAll(ensureWorkerBuilt);

describe('§1 a worker pool (or any unawaited load) never breaks the synchronous API in Node', () => {
  it('conv2d, prepareConv2d and model.forward right after createWorkerPool(), before ready()', async () => {
    const pool = createWorkerPool({ threads: 2, workerUrl: WORKER_URL });
    try {
      expect(pool.threads).toBe(2); // the requested count, before ready()
      const random = rng(1);
      const x = randomTensor([1, 3, 9, 9], random);
      const w = randomTensor([4, 3, 3, 3], random);
      expectClose(conv2d(x, w, { padding: 1 }), referenceConv2d(x, w, { padding: 1 }));
      expectClose(prepareConv2d(w, { stride: 2 }).run(x), referenceConv2d(x, w, { stride: 2 }));
      expect(mobilenetV1({ widthMultiplier: 0.25, numClasses: 3, seed: 0 }).forward(randomTensor([1, 3, 32, 32], random)).shape).toEqual([1, 3]);
      await pool.ready();
      expect(pool.threads).toBe(2);
      expectClose(await pool.conv2d(x, w, { padding: 1 }), referenceConv2d(x, w, { padding: 1 }));
    } finally {
      await pool.dispose();
    }
  });

  it('an unawaited setBackend(…, { relaxedSimd: true }) leaves later synchronous calls working', async () => {
    const loading = setBackend('auto', { relaxedSimd: true });
    const random = rng(2);
    const x = randomTensor([2, 5, 7, 6], random);
    const w = randomTensor([5, 1, 3, 3], random);
    expectClose(conv2d(x, w, { groups: 5, padding: 1 }), referenceConv2d(x, w, { groups: 5, padding: 1 }));
    await loading;
    expectClose(conv2d(x, w, { groups: 5 }), referenceConv2d(x, w, { groups: 5 }));
    await setBackend('auto');
  });

  it('createWorkerPool() without threads says the core count before ready()', async () => {
    const pool = createWorkerPool({ workerUrl: WORKER_URL });
    try {
      const before = pool.threads;
      await pool.ready();
      expect(before).toBe(pool.threads);
    } finally {
      await pool.dispose();
    }
  });
});

describe('§4 ConvTranspose2d takes every padding PyTorch accepts', () => {
  it('padding 0, [0, 1], outputPadding 0 and [1, 0]', () => {
    for (const options of [{ padding: 0 }, { padding: [0, 1] as [number, number] }, { outputPadding: 0 }, { stride: 2, outputPadding: [1, 0] as [number, number] }]) {
      const layer = new ConvTranspose2d({ inChannels: 2, outChannels: 3, kernelSize: 3, ...options });
      const x = randomTensor([1, 2, 4, 5], rng(3));
      const y = layer.forward(x);
      const ref = convTranspose2d(x, layer.weight, { bias: layer.bias ?? undefined, ...options });
      expectClose(y, ref);
    }
  });

  it.skipIf(!existsSync(`${SHARED_DIR}/golden/conv-transpose2d/manifest.json`))('every PyTorch ConvTranspose2d configuration of the golden set builds as a module and matches', () => {
    interface Case {
      name: string; input: GoldenEntry; weight: GoldenEntry; bias?: GoldenEntry | null; output: GoldenEntry;
      stride: [number, number]; padding: [number, number]; outputPadding: [number, number]; dilation: [number, number]; groups: number;
    }
    const { dir, cases } = loadGoldenSet<Case>('conv-transpose2d');
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      const weight = loadGoldenEntry(dir, c.weight);
      const layer = new ConvTranspose2d({
        inChannels: weight.shape[0]!, outChannels: weight.shape[1]! * c.groups, kernelSize: [weight.shape[2]!, weight.shape[3]!],
        stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, dilation: c.dilation, groups: c.groups, bias: c.bias != null,
      });
      layer.loadStateDict(c.bias == null ? { weight } : { weight, bias: loadGoldenEntry(dir, c.bias) });
      expectClose(layer.forward(loadGoldenEntry(dir, c.input)), loadGoldenEntry(dir, c.output), 1e-4, c.name);
    }
  });
});

describe('§5 zero-size and extreme shapes on both tiers', () => {
  for (const backend of ['js', 'wasm'] as const) {
    it(`${backend}: zero input channels give the bias (PyTorch accepts them)`, () => {
      const bias = tensor([1.5, -2], [2]);
      for (const options of [{}, { padding: 1 }, { stride: 2 }, { bias }, { bias, stride: 2, padding: 1, activation: 'relu' as const }]) {
        const y = conv2d(zeros([2, 0, 5, 5]), zeros([2, 0, 3, 3]), { ...options, backend });
        expectClose(y, referenceConv2d(zeros([2, 0, 5, 5]), zeros([2, 0, 3, 3]), options));
      }
      expect(prepareConv2d(zeros([2, 0, 1, 1]), { backend }).run(zeros([1, 0, 4, 4])).shape).toEqual([1, 2, 4, 4]);
    });

    it(`${backend}: a stride far larger than the input is exact, instant and allocates nothing huge`, () => {
      const random = rng(4);
      const cases: [number[], number[], Record<string, unknown>][] = [
        [[1, 2, 8, 8], [3, 2, 3, 3], { stride: 1e9 }],
        [[1, 2, 8, 8], [2, 1, 3, 3], { stride: 1e9, groups: 2 }],
        [[1, 2, 8, 8], [4, 1, 3, 3], { stride: [1e9, 3], groups: 2, padding: 1 }],
        [[1, 2, 8, 8], [3, 2, 1, 1], { stride: 1e9 }],
        [[1, 4, 8, 8], [4, 2, 5, 5], { stride: [4096, 8192], groups: 2, dilation: 2, padding: 3 }],
        [[2, 2, 8, 8], [2, 1, 5, 5], { stride: 8192, groups: 2, padding: 2 }],
        [[1, 3, 9, 9], [6, 3, 3, 3], { stride: 8192 }],
      ];
      for (const [xs, ws, options] of cases) {
        const x = randomTensor(xs, random);
        const w = randomTensor(ws, random);
        const started = Date.now();
        expectClose(conv2d(x, w, { ...options, backend }), referenceConv2d(x, w, options), 1e-4, JSON.stringify(options));
        expect(Date.now() - started, JSON.stringify(options)).toBeLessThan(5_000); // was 13-22 s for stride 8192: a hang guard, not a benchmark
      }
    });
  }
});

describe('§6 options that are not plain objects are refused, not read as {}', () => {
  class PaddingOptions {
    get padding(): number {
      return 1;
    }
  }
  const x = zeros([1, 2, 5, 5]);
  const w = zeros([2, 2, 3, 3]);
  it('a class instance with a getter, a boxed number, a Map, a Date', () => {
    for (const value of [new PaddingOptions(), new Number(3), new Map([['padding', 1]]), new Date(0)]) {
      expect(() => conv2d(x, w, value as never)).toThrow(/options must be a plain object/);
      expect(() => mobilenetV2(value as never)).toThrow(TypeError);
      expect(() => new Conv2d(value as never)).toThrow(TypeError);
    }
    expect(() => mobilenetV2(new Number(3) as never)).toThrow(/must be a plain object/);
  });

  it('object literals, null-prototype objects and objects from another realm are read', async () => {
    expect(conv2d(x, w, { padding: 1 }).shape).toEqual([1, 2, 5, 5]);
    expect(conv2d(x, w, Object.assign(Object.create(null), { padding: 1 })).shape).toEqual([1, 2, 5, 5]);
    const { runInNewContext } = await import('node:vm');
    expect(conv2d(x, w, runInNewContext('({ padding: 1 })')).shape).toEqual([1, 2, 5, 5]);
  });
});

