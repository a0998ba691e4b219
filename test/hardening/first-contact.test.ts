/**
 * What a new user hit in the first ten minutes (issue 17), one regression test per item; each
 * failed on the main these fixes started from. The first describe must run first: it needs the
 * wasm tier not yet loaded in this file's module graph.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BatchNorm2d, compareSeparable, Conv2d, conv2d, ConvTranspose2d, convTranspose2d, createWorkerPool, crossEntropy, DepthwiseConv2d, Dropout,
  mobilenetV1, mobilenetV2, Module, mseLoss, Parameter, parseSafetensors, prepareConv2d, referenceConv2d, ReLU, SafetensorsError, Sequential, setBackend,
  SGD, type StateDictError, StochasticDepth, summary, tensor, timeSeparable, zeros, type Tensor, type TensorLike,
} from '../../src/index.js';
import { main } from '../../src/cli/cli.js';
import { expectClose, loadGoldenEntry, loadGoldenSet, randomTensor, rng, type GoldenEntry } from '../helpers.js';
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

  it('every PyTorch ConvTranspose2d configuration of the golden set builds as a module and matches', () => {
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


describe('bad input that escaped the hostile battery', () => {
  it('parseSafetensors: a header shape of more than 64 dimensions is a SafetensorsError naming the tensor', () => {
    const header = new TextEncoder().encode(JSON.stringify({ deep: { dtype: 'F32', shape: new Array(65).fill(1), data_offsets: [0, 4] } }));
    const bytes = new Uint8Array(8 + header.length + 4);
    new DataView(bytes.buffer).setUint32(0, header.length, true);
    bytes.set(header, 8);
    expect(() => parseSafetensors(bytes)).toThrow(SafetensorsError);
    expect(() => parseSafetensors(bytes)).toThrow(/"deep": shape has 65 dimensions.*limit of 64/);
  });

  it('DepthwiseConv2d names what the caller passed when the channel count overflows', () => {
    expect(() => new DepthwiseConv2d({ inChannels: 4, kernelsPerLayer: 2 ** 31 })).toThrow(/inChannels × kernelsPerLayer = 4 × 2147483648/);
  });

  it('timeSeparable of a comparison too large to allocate says so before allocating', () => {
    const big = compareSeparable({ inChannels: 65536, outChannels: 65536, kernelSize: 3, height: 1, width: 1 });
    expect(() => timeSeparable(big)).toThrow(RangeError);
    expect(() => timeSeparable(big)).toThrow(/timeSeparable/);
  });

  it('the CLI refuses sizes past the caps before allocating, and never prints inexact counts as exact digits', async () => {
    const run = async (argv: string[]): Promise<{ code: number; text: string }> => {
      const lines: string[] = [];
      const io = { stdout: (t: string) => lines.push(t), stderr: (t: string) => lines.push(t), writeFile: () => {} };
      const code = await main(argv, io);
      return { code, text: lines.join('') };
    };
    const compare = await run(['compare', '--in-channels', '4096', '--out-channels', '1', '--size', '1024']);
    expect(compare.code).not.toBe(0);
    expect(compare.text).toMatch(/over sepconv's limit/);
    const profiled = await run(['summary', '--input-size', '20000', '--profile']);
    expect(profiled.code).not.toBe(0);
    expect(profiled.text).toMatch(/over sepconv's limit/);
    const huge = await run(['summary', '--input-size', '4294967295']);
    expect(huge.code).toBe(0);
    expect(huge.text).toMatch(/MACs: +≈2\.087e\+23/);
    expect(huge.text).not.toMatch(/\d,\d{3},\d{3}e\+/);
  });

  it('losses with reduction none refuse a non-finite per-sample gradLoss', () => {
    const logits = tensor([0.1, 0.2, 0.3, 0.4], [2, 2]);
    expect(() => crossEntropy(logits, [0, 1], { reduction: 'none', gradLoss: [1, Number.NaN] })).toThrow(/gradLoss\[1\] must be a finite number/);
    expect(() => mseLoss(logits, tensor([0, 0, 0, 0], [2, 2]), { reduction: 'none', gradLoss: [1, 1, Infinity, 1] })).toThrow(/gradLoss\[2\]/);
  });

  it('optimizer loadStateDict refuses a negative learning rate and a state with holes', () => {
    const params = [new Parameter([2], Float32Array.of(1, 2)), new Parameter([1], Float32Array.of(3))];
    const sgd = new SGD(params, { lr: 0.1, momentum: 0.9 });
    const saved = sgd.stateDict();
    expect(() => sgd.loadStateDict({ ...saved, hyperparameters: { ...saved.hyperparameters, lr: -1 } })).toThrow(/lr must be non-negative/);
    const holey = { ...saved, state: new Array(2) };
    holey.state[1] = null;
    expect(() => sgd.loadStateDict(holey)).toThrow(/state\[0\] is missing/);
  });

  it('compiled models: memory() after dispose() is zero, train mode is refused, Dropout and StochasticDepth take a batch of 0', () => {
    const model = new Sequential({ conv: new Conv2d(3, 4, 3, { padding: 1 }), drop: new Dropout({ p: 0.2 }), depth: new StochasticDepth(0.1, 'row') }).eval();
    const compiled = model.compile([1, 3, 8, 8]);
    compiled.run(zeros([1, 3, 8, 8]));
    expect(compiled.memory().activationBytes).toBeGreaterThan(0);
    compiled.dispose();
    expect(compiled.memory()).toMatchObject({ activationBytes: 0, planBytes: 0 });
    expect(() => model.train().compile([1, 3, 8, 8])).toThrow(/train mode.*eval\(\)/);
    model.eval();
    const empty = model.compile([0, 3, 8, 8]);
    expect(empty.run(zeros([0, 3, 8, 8])).shape).toEqual(model.forward(zeros([0, 3, 8, 8])).shape);
  });
});

describe('PyTorch habits', () => {
  class Plain extends Module {
    conv = new Conv2d(3, 4, 3, { padding: 1, seed: 1 });
    bn = new BatchNorm2d(4);
    head = new Sequential(new ReLU(), new Conv2d(4, 2, 1, { seed: 2 }));
    override forward(x: TensorLike): Tensor {
      return this.head.forward(this.bn.forward(this.conv.forward(x)));
    }
    override outputShape(shape: readonly number[]): number[] {
      return this.head.outputShape(this.bn.outputShape(this.conv.outputShape(shape)));
    }
  }
  class Net extends Plain {
    scale = new Parameter([1], Float32Array.of(2));
  }

  it('child modules and Parameters assigned as properties are registered, in assignment order', () => {
    const net = new Net();
    expect(Object.keys(net.stateDict())).toEqual([
      'scale', 'conv.weight', 'conv.bias', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked', 'head.1.weight', 'head.1.bias',
    ]);
    expect(net.numParameters()).toBe(1 + 4 * 27 + 4 + 8 + 2 * 4 + 2);
    expect(net.namedChildren().map(([name]) => name)).toEqual(['conv', 'bn', 'head']);
    net.train();
    expect(net.bn.training).toBe(true);
    net.eval();
    expect(net.bn.training).toBe(false);
    expect(summary(new Plain(), [1, 3, 8, 8]).totals.macs).toBe(4 * 27 * 64 + 2 * 4 * 64);
    const reloaded = new Net();
    reloaded.loadStateDict(net.stateDict());
    expect(Array.from(reloaded.forward(zeros([1, 3, 8, 8])).data)).toEqual(Array.from(net.forward(zeros([1, 3, 8, 8])).data));
  });

  it('a back reference or a second name for a registered module is not a second child', () => {
    const net = new Net();
    (net as unknown as { alias: Module }).alias = net.conv;
    (net.conv as unknown as { owner: Module }).owner = net;
    expect(net.namedModules().map(([name]) => name)).toEqual(['', 'conv', 'bn', 'head', 'head.0', 'head.1']);
  });

  it('Conv2d and ConvTranspose2d take PyTorch\'s positional form', () => {
    const conv = new Conv2d(3, 16, 3, { stride: 2 });
    expect([conv.inChannels, conv.outChannels, conv.kernelSize, conv.stride]).toEqual([3, 16, [3, 3], [2, 2]]);
    expect(new Conv2d(3, 16, [1, 3]).kernelSize).toEqual([1, 3]);
    expect(new ConvTranspose2d(4, 2, 2, { stride: 2 }).forward(zeros([1, 4, 3, 3])).shape).toEqual([1, 2, 6, 6]);
    expect(() => new (Conv2d as unknown as new (...args: unknown[]) => Conv2d)(3, 16)).toThrow(/expected 3 or 4 arguments, got 2/);
    expect(() => new Conv2d(3, 16, 3, { inChannels: 4 } as never)).toThrow(/unknown option "?inChannels/);
    expect(() => new (Conv2d as unknown as new (...args: unknown[]) => Conv2d)({ inChannels: 3, outChannels: 4, kernelSize: 3 }, 5)).toThrow(/one options object or/);
  });

  it('loadStateDict on the bytes of a file says to parse them first, and long key lists are cut short', () => {
    const model = mobilenetV1({ widthMultiplier: 0.25, numClasses: 3, seed: 0 });
    expect(() => model.loadStateDict(new Uint8Array(10_000) as never)).toThrow(/bytes of a file; parse it first/);
    const zipLike = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]);
    expect(() => model.loadStateDict(zipLike as never)).toThrow(/loadTorchCheckpoint/);
    const junk = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`junk.${i}`, zeros([1])]));
    let message = '';
    try {
      model.loadStateDict(junk);
    } catch (error) {
      message = (error as Error).message;
      expect((error as StateDictError).unexpectedKeys).toHaveLength(400);
    }
    expect(message).toMatch(/… and 380 more/);
    expect(message.length).toBeLessThan(4_000);
  });

  it('summary names a module without outputShape', () => {
    const bare = new Sequential(new ReLU());
    const broken = new ReLU();
    Object.defineProperty(broken, 'outputShape', { value: undefined });
    expect(() => summary(broken, [1, 3, 4, 4])).toThrow(/\(ReLU\) has no outputShape\(inputShape\) method/);
    expect(summary(bare, [1, 3, 4, 4]).rows.length).toBe(1);
  });

  it('the CLI has --version; injectFault is not in the published types', async () => {
    const lines: string[] = [];
    const io = { stdout: (t: string) => lines.push(t), stderr: (t: string) => lines.push(t), writeFile: () => {} };
    expect(await main(['--version'], io)).toBe(0);
    expect(lines.join('')).toMatch(/^sepconv \d+\.\d+\.\d+/);
    const build = JSON.parse(readFileSync(new URL('../../tsconfig.build.json', import.meta.url), 'utf8')) as { compilerOptions: { stripInternal?: boolean } };
    expect(build.compilerOptions.stripInternal).toBe(true);
    expect(readFileSync(new URL('../../src/parallel/pool.ts', import.meta.url), 'utf8')).toMatch(/@internal\n\s*\* Test hook[\s\S]*?injectFault\(/);
  });
});
