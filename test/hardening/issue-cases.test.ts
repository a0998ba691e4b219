/**
 * The concrete hostile inputs behind the hardening work, one test each: every call must end in the
 * library's own RangeError/TypeError (short, naming the parameter), allocate nothing large first,
 * and never read an option through the prototype chain. The property-style battery over every
 * public function is in hostile.test.ts.
 */
import { describe, expect, it } from 'vitest';
import * as sepconv from '../../src/index.js';
import {
  AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, conv2d, conv2dGeometry, createWorkerPool, Flatten, LeakyReLU, Linear,
  MaxPool2d, mobilenetV1, prepareConv2d, Sequential, tensor, zeros, type Tensor,
} from '../../src/index.js';
import { describeValue, MAX_ELEMENTS, readOptions } from '../../src/kernels/validate.js';
import { countTypedArrays } from '../helpers.js';

type ErrorClass = typeof TypeError | typeof RangeError;

/** Runs `call`, which must throw exactly `type` with a short message matching `message`, allocating no typed array. */
function rejects(call: () => unknown, type: ErrorClass, message: RegExp): string {
  let caught: unknown;
  const allocations = countTypedArrays(() => {
    try {
      call();
    } catch (error) {
      caught = error;
    }
  }, ['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array']);
  expect(caught, 'expected the call to throw').toBeInstanceOf(type);
  expect((caught as Error).constructor).toBe(type);
  const text = (caught as Error).message;
  expect(text).toMatch(message);
  expect(text.length, text).toBeLessThan(300);
  expect(allocations, `allocated ${allocations} typed arrays before failing`).toBe(0);
  return text;
}

const x = zeros([1, 4, 8, 8]);
const w = zeros([4, 2, 3, 3]);

describe('§1 bounded value descriptions', () => {
  it('a cyclic shape ends in the shape error, not a stack overflow', () => {
    const s: unknown[] = [1, 4, 8];
    s.push(s);
    rejects(() => zeros(s as number[]), TypeError, /zeros\.shape\[3\] must be a non-negative integer, got \[1, 4, 8, \[circular\]\]/);
    const cyclic = { shape: s as number[], data: new Float32Array(32) };
    rejects(() => conv2d(cyclic, w), TypeError, /input\.shape\[3\]/);
  });

  it('a stride nested 5,000 levels deep is described in a few characters', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 5000; i++) deep = [deep];
    rejects(() => conv2d(x, w, { groups: 2, stride: deep as number }), TypeError, /stride must be an integer or a pair.*\[\[\[array of 1\]\]\]/);
  });

  it('a 5-million-element plain array is not echoed', () => {
    const big = new Array<number>(5_000_000).fill(0.5);
    rejects(() => tensor(big, [3, 4]), RangeError, /tensor: data\.length must equal .* = 12, got 5000000/);
    expect(describeValue(big)).toBe('[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, … (5000000 items)]');
  });

  it('strings, typed arrays, class instances, proxies and getters are described briefly and safely', () => {
    expect(describeValue('x'.repeat(1e6))).toMatch(/^"x{40}…" \(1000000 characters\)$/);
    expect(describeValue(new Float32Array(150528))).toBe('Float32Array(150528)');
    expect(describeValue(new Map())).toBe('Map');
    expect(describeValue(Object.create(null))).toBe('object (null prototype)');
    expect(describeValue(-0)).toBe('-0');
    expect(describeValue(10n ** 100n)).toBe('a bigint');
    const hostile = new Proxy([], { get() { throw new Error('trap'); } });
    expect(describeValue(hostile)).toBe('a value that cannot be inspected');
    const wide = Array.from({ length: 6 }, () => Array.from({ length: 6 }, () => 'y'.repeat(40)));
    expect(describeValue(wide).length).toBeLessThanOrEqual(121);
  });
});

describe('§2 sizes are capped before allocation', () => {
  const limit = new RegExp(`limit of ${MAX_ELEMENTS} elements`);
  it('conv2d padding 1e9 names the output and the limit', () => {
    rejects(() => conv2d(x, w, { groups: 2, padding: 1e9 }), RangeError, /conv2d output of shape \[1, 4, 2000000006, 2000000006\] would need 1\.600e\+19 elements/);
  });
  it('zeros, layers and models', () => {
    rejects(() => zeros([1e5, 1e5]), RangeError, limit);
    rejects(() => new AdaptiveAvgPool2d(1e6), RangeError, /outputSize.*limit/);
    rejects(() => mobilenetV1({ numClasses: 1e9 }), RangeError, /numClasses.*limit/);
    rejects(() => mobilenetV1({ widthMultiplier: 1e6 }), RangeError, /widthMultiplier.*limit/);
    rejects(() => new Linear(1e9, 4), RangeError, /Linear weight.*4000000000 elements.*limit/);
    rejects(() => new BatchNorm2d(1e9), RangeError, /numFeatures.*limit/);
    rejects(() => new Conv2d({ inChannels: 65536, outChannels: 65536, kernelSize: 1 }), RangeError, /weight of shape \[65536, 65536, 1, 1\].*limit/);
    const model = new Sequential(new Conv2d({ inChannels: 3, outChannels: 1, kernelSize: 1 }));
    rejects(() => model.compile([1, 3, 20000, 20000]), RangeError, /compile: inputShape.*limit/);
  });
  it('a stride-0 view of one float is not gathered into gigabytes', () => {
    const view = { data: new Float32Array(1), shape: [1, 4, 20000, 20000], stride: [0, 0, 0, 0], offset: 0 };
    const weight = zeros([1, 4, 1, 1]);
    rejects(() => conv2d(view, weight), RangeError, /input \(a strided view gathered into a contiguous copy\) would need 1600000000 elements/);
  });
  it('pooling with 3e8 rows of padding builds no index table', () => {
    const pool = new MaxPool2d({ kernelSize: 2, padding: { top: 0, bottom: 3e8, left: 0, right: 0 } });
    const input = zeros([1, 1, 4, 4]);
    rejects(() => pool.forward(input), RangeError, /pool over padding only|limit/);
    const avg = new AvgPool2d({ kernelSize: 2, stride: 1, padding: { top: 0, bottom: 1, left: 0, right: 3e8 } });
    rejects(() => avg.forward(input), RangeError, /pool over padding only|limit/);
  });
  it('dimensions above the limit (2^32 - 1) are rejected, and geometry stays exact below it', () => {
    rejects(() => conv2dGeometry([1, 1, 2 ** 53 + 2, 4], [1, 1, 1, 1]), RangeError, /input\.shape\[2\] must be an integer from 0 to 4294967295/);
    rejects(() => conv2d(x, w, { groups: 2, stride: 2 ** 60 }), RangeError, /stride must be at most 4294967295/);
    const g = conv2dGeometry([1, 1, 2 ** 32 - 1, 3], [1, 1, 1, 3], { stride: [2 ** 31, 1] });
    expect(g.outHeight).toBe(2);
  });
  it('pool threads are capped at 4 × hardware concurrency', () => {
    rejects(() => createWorkerPool({ threads: 1e9 }), RangeError, /threads must be at most \d+/);
  });
});

describe('§3 options are read through own properties only', () => {
  it('inherited option names are unknown, inherited values are never applied', () => {
    rejects(() => conv2d(x, w, Object.create({ padding: 1 }) as object), TypeError, /option "padding" is inherited/);
    rejects(() => conv2d(x, w, { __proto__: { padd: 1 } } as object), TypeError, /option "padd" is inherited/);
    rejects(() => conv2d(x, w, { groups: 2, padding: Object.create({ top: 1 }) as never }), TypeError, /padding\.top is inherited|unknown key/);
  });

  it('a polluted Object.prototype changes nothing', () => {
    const proto = Object.prototype as Record<string, unknown>;
    const spy: Tensor = { shape: [1, 4, 6, 6], data: new Float32Array(144) };
    const names = ['out', 'padding', 'activation', 'groups', 'shared', 'stride', 'offset', 'kernelSize', 'ceilMode', 'countIncludePad', 'bias', 'momentum', 'negativeSlope'];
    const values: unknown[] = [spy, 1, 'relu', 4, true, [0, 0], 0, 3, true, false, false, 7, 0.5];
    const expected = conv2d(x, w, { groups: 2 });
    try {
      names.forEach((name, i) => (proto[name] = values[i]));
      const y = conv2d(x, w, { groups: 2 });
      expect(y).not.toBe(spy);
      expect(y.shape).toEqual(expected.shape);
      expect(spy.data.every((v) => v === 0)).toBe(true);
      expect(zeros([2]).data.buffer).toBeInstanceOf(ArrayBuffer);
      expect(prepareConv2d(w, { groups: 2 }).outputShape([1, 4, 8, 8])).toEqual([1, 4, 6, 6]);
      expect(new AvgPool2d(2).countIncludePad).toBe(true);
      expect(new BatchNorm2d(2).momentum).toBe(0.1);
      expect(new LeakyReLU({}).negativeSlope).toBe(0.01);
      expect(new Linear(2, 2).bias).not.toBeNull();
    } finally {
      for (const name of names) delete proto[name];
    }
  });

  it('readOptions returns a null-prototype snapshot and accepts null-prototype options', () => {
    const options = Object.assign(Object.create(null) as object, { padding: 1 });
    const read = readOptions(options, ['padding'], 'f');
    expect(Object.getPrototypeOf(read)).toBeNull();
    expect(read.padding).toBe(1);
    expect(conv2d(x, w, Object.assign(Object.create(null) as object, { groups: 2 })).shape).toEqual([1, 4, 6, 6]);
  });
});

describe('§5 shape-only work is O(rank)', () => {
  it('MaxPool2d outputShape with a 1e9 kernel returns at once', () => {
    const start = performance.now();
    expect(new MaxPool2d({ kernelSize: 1e9, padding: 5e8 }).outputShape([1, 1, 4, 4])).toEqual([1, 1, 1, 1]);
    expect(performance.now() - start).toBeLessThan(100);
  });
});

describe('§6 smaller validation gaps', () => {
  it('booleans must be booleans, numbers numbers, unknown names unknown', () => {
    rejects(() => new AvgPool2d({ kernelSize: 2, countIncludePad: 'no' as never }), TypeError, /countIncludePad must be a boolean, got "no"/);
    rejects(() => new BatchNorm2d(4, { momentum: 5 }), RangeError, /momentum must be a finite number >= 0 and <= 1, got 5/);
    rejects(() => new BatchNorm2d(4, { momentum: NaN }), RangeError, /momentum/);
    rejects(() => new LeakyReLU({ slope: 0.2 } as never), TypeError, /LeakyReLU: unknown option "slope"/);
    rejects(() => zeros([2], { sharde: true } as never), TypeError, /zeros: unknown option "sharde"/);
    rejects(() => zeros([2], { shared: 'no' as never }), TypeError, /shared must be a boolean, got "no"/);
    rejects(() => tensor(['a', 'b'] as never, [2]), TypeError, /tensor: data\[0\] must be a number, got "a"/);
    const stringStrides = { data: new Float32Array(256), shape: [1, 4, 8, 8], stride: '1,1,1,1', offset: 0 };
    rejects(() => conv2d(stringStrides as never, w), TypeError, /input\.stride must be an array of 4 integers/);
    rejects(() => new Flatten(1e9), RangeError, /Flatten: startDim/);
  });
});

describe('§5 the CLI counts from shapes and reports non-usage failures with exit 1', () => {
  it('summary --classes 1000000 allocates no weights', async () => {
    const { main } = await import('../../src/cli/cli.js');
    let stdout = '';
    const io = { stdout: (t: string) => void (stdout += t), stderr: () => {}, writeFile: () => {} };
    let code = -1;
    let bytes = 0;
    const global = globalThis as unknown as Record<string, new (...args: never[]) => object>;
    const saved = global.Float32Array!;
    // Counts the floats every Float32Array construction asks for while the summary runs.
    global.Float32Array = new Proxy(saved, {
      construct(target, args: unknown[]) {
        if (typeof args[0] === 'number') bytes += 4 * args[0];
        return Reflect.construct(target, args);
      },
    });
    try {
      code = await main(['summary', '--classes', '1000000', '--json'], io);
    } finally {
      global.Float32Array = saved;
    }
    expect(code).toBe(0);
    expect(bytes).toBeLessThan(1 << 20);
    const parsed = JSON.parse(stdout) as { summary: { totals: { params: number } } };
    expect(parsed.summary.totals.params).toBe(3_206_976 + 1024 * 1_000_000 + 1_000_000); // the trunk (as at 1000 classes) + the classifier
  });

  it('a size limit during the work exits 1 with the library message', async () => {
    const { main } = await import('../../src/cli/cli.js');
    let stderr = '';
    const io = { stdout: () => {}, stderr: (t: string) => void (stderr += t), writeFile: () => {} };
    expect(await main(['summary', '--classes', '1000000', '--profile'], io)).toBe(1);
    expect(stderr).toMatch(/^sepconv summary: error: mobilenetV1: the classifier weight \(numClasses\) would need 1024000000 elements .*limit of 268435456/);
  });
});

describe('gaps found by a second, larger battery', () => {
  it('element-wise plans check the shape before copying it (a sparse 2^32 − 1 array fails at once)', () => {
    const started = performance.now();
    for (const m of [new sepconv.ReLU(), new sepconv.ReLU6(), new sepconv.Hardswish(), new sepconv.Identity()]) {
      expect(() => m.plan(new Array(2 ** 32 - 1) as number[])).toThrow(/input\.shape must have at most 64 dimensions/);
      expect(() => m.plan(undefined as never)).toThrow(/input\.shape must be an array/);
    }
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('forwardAsync checks its pool', async () => {
    const x = sepconv.zeros([1, 2, 4, 4]);
    for (const pool of [null, {}, 'no', -0]) {
      await expect(new sepconv.ReLU().forwardAsync(x, { pool } as never)).rejects.toThrow(/forwardAsync: pool must be a ConvRunner/);
      await expect(new sepconv.Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 1, seed: 0 }).forwardAsync(x, { pool } as never)).rejects.toThrow(/forwardAsync: pool/);
    }
  });

  it('MobileNetV3 checks arch; Sequential takes a plain object of modules only', () => {
    expect(() => new sepconv.MobileNetV3(NaN as never)).toThrow(/arch must be 'large' or 'small'/);
    for (const bad of [new Map(), Promise.resolve(), new Float32Array(0), Object.create({ a: 1 })]) {
      expect(() => new sepconv.Sequential(bad as never)).toThrow(/Sequential: argument 0/);
    }
  });
});
