/**
 * The compiled model's activation memory: buffers handed back by chains are reused by later
 * layers, which must never change a result. Every model compiles with reuse and must give
 * bitwise its own `forward` on two different inputs in a row (a buffer reused too early would
 * show up as a wrong value), while holding far fewer bytes than one buffer per layer.
 */
import { describe, expect, it } from 'vitest';
import {
  BatchNorm2d, Conv2d, efficientnetB0, foldBatchNorm, getBackend, mnasnet, mobilenetV1, mobilenetV2, mobilenetV3Large, mobilenetV3Small,
  ReLU, Sequential, shufflenetV2, tinyFaceDetector, type Module, type Tensor,
} from '../../src/index.js';
import { ActivationMemory, ChainBuffers, planOutput, withActivationMemory } from '../../src/layers/plan-memory.js';
import { expectBitwiseEqual, randomTensor, rng } from '../helpers.js';

const MODELS: [string, () => Module, number[]][] = [
  ['mobilenet_v1', () => mobilenetV1({ numClasses: 10 }), [2, 3, 64, 64]],
  ['mobilenet_v2', () => mobilenetV2({ widthMult: 0.5, numClasses: 10 }), [1, 3, 67, 61]],
  ['mobilenet_v3_small', () => mobilenetV3Small({ numClasses: 10 }), [2, 3, 48, 48]],
  ['mobilenet_v3_large', () => mobilenetV3Large({ numClasses: 10 }), [1, 3, 40, 40]],
  ['shufflenet_v2_x0_5 (batch 1: views of the input)', () => shufflenetV2({ width: 0.5, numClasses: 10 }), [1, 3, 64, 64]],
  ['shufflenet_v2_x0_5 (batch 2: gathered halves)', () => shufflenetV2({ width: 0.5, numClasses: 10 }), [2, 3, 64, 64]],
  ['mnasnet0_5', () => mnasnet({ alpha: 0.5, numClasses: 10 }), [1, 3, 48, 48]],
  ['efficientnet_b0', () => efficientnetB0({ numClasses: 10 }), [1, 3, 40, 40]],
  ['tiny face detector', () => tinyFaceDetector(), [1, 3, 64, 64]],
];

/** Random BatchNorm statistics, so that folding and in-place BatchNorm steps really compute. */
function randomizeBatchNorm(model: Module, next: () => number): void {
  for (const m of model.modules()) {
    if (!(m instanceof BatchNorm2d) || !m.trackRunningStats) continue;
    for (let i = 0; i < m.numFeatures; i++) {
      m.runningMean.data[i] = next() - 0.5;
      m.runningVar.data[i] = 0.5 + next();
      if (m.weight) m.weight.data[i] = 0.5 + next();
      if (m.bias) m.bias.data[i] = next() - 0.5;
    }
  }
}

describe(`compiled models reuse activation buffers (${getBackend()} tier)`, () => {
  for (const [name, make, shape] of MODELS) {
    it(`${name}: compiled, with and without folded BatchNorm, is bitwise forward on two inputs in a row`, () => {
      const next = rng(17);
      const model = make();
      randomizeBatchNorm(model, next);
      const inputs = [randomTensor(shape, next), randomTensor(shape, next)];
      for (const variant of [model, foldBatchNorm(model)]) {
        const expected = inputs.map((x) => variant.forward(x).data.slice());
        const compiled = variant.compile(shape, { foldBatchNorm: false });
        for (let round = 0; round < 2; round++) {
          for (let i = 0; i < inputs.length; i++) expectBitwiseEqual(compiled.run(inputs[i]!).data, expected[i]!, `${name} input ${i}, round ${round}`);
        }
        expect(compiled.activationsInWasmMemory).toBe(getBackend() === 'wasm');
      }
    });
  }

  it('MobileNetV1 at 224×224 holds exactly two activation buffers of the largest size', () => {
    const compiled = foldBatchNorm(mobilenetV1()).compile([1, 3, 224, 224]);
    // The largest activation is 64×112×112 (after conv_dw 1); a chain needs it and one more.
    expect(compiled.activationBytes).toBe(2 * 4 * 64 * 112 * 112);
  });

  it('MobileNetV2 at 224×224 holds about two largest activations, not one buffer per layer', () => {
    const compiled = foldBatchNorm(mobilenetV2()).compile([1, 3, 224, 224]);
    const largest = 4 * 96 * 112 * 112;
    // One buffer per planned step would be ~26.7 MB; the residual blocks keep their input alive.
    expect(compiled.activationBytes).toBeLessThanOrEqual(2.25 * largest);
    expect(compiled.activationBytes).toBeGreaterThanOrEqual(largest);
  });

  it('memory() counts the activations and the plans (packed weights and scratch on the wasm tier)', () => {
    const model = foldBatchNorm(mobilenetV1({ numClasses: 10 }));
    const compiled = model.compile([1, 3, 32, 32]);
    compiled.run(randomTensor([1, 3, 32, 32], rng(2)));
    const memory = compiled.memory();
    expect(memory.activationBytes).toBe(compiled.activationBytes);
    expect(memory.inWasmMemory).toBe(getBackend() === 'wasm');
    let convWeightBytes = 0;
    for (const [key, value] of Object.entries(model.stateDict())) if (key.startsWith('model.') && key.endsWith('weight')) convWeightBytes += value.data.byteLength;
    // The wasm tier packs every convolution's weights into its memory; the JS tier reads the layers'.
    if (getBackend() === 'wasm') expect(memory.planBytes).toBeGreaterThanOrEqual(convWeightBytes);
    else expect(memory.planBytes).toBeLessThan(convWeightBytes);
  });

  it('the result is the same tensor every run, outlives dispose(), and a disposed model refuses to run', () => {
    const model = new Sequential(new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, seed: 3 }), new ReLU());
    const x = randomTensor([1, 3, 9, 7], rng(5));
    const compiled = model.compile([1, 3, 9, 7]);
    const y = compiled.run(x);
    expect(compiled.run(x)).toBe(y);
    const kept = y.data.slice();
    compiled.dispose();
    // Another model taking over the released memory must not change the kept result.
    const other = model.compile([1, 3, 9, 7]);
    other.run(randomTensor([1, 3, 9, 7], rng(6)));
    expectBitwiseEqual(y.data, kept, 'result after dispose');
    expect(() => compiled.run(x)).toThrow(/dispose/);
  });
});

describe('compiled convolutions read the layer\'s own weights', () => {
  it('compile copies no weight array, and a loadStateDict afterwards is seen by the next run', () => {
    const conv = new Conv2d({ inChannels: 16, outChannels: 32, kernelSize: 3, padding: 1, seed: 4 });
    const weightSize = conv.weight.data.length; // 4,608 floats; the output below has 512
    const large: number[] = [];
    const saved = globalThis.Float32Array;
    globalThis.Float32Array = new Proxy(saved, {
      construct(target, args) {
        const array = Reflect.construct(target, args) as Float32Array;
        if (array.length >= weightSize) large.push(array.length);
        return array;
      },
    });
    let compiled: ReturnType<typeof conv.compile>;
    try {
      compiled = conv.compile([1, 16, 4, 4]);
    } finally {
      globalThis.Float32Array = saved;
    }
    expect(large).toEqual([]);
    const x = randomTensor([1, 16, 4, 4], rng(8));
    expectBitwiseEqual(compiled.run(x).data, conv.forward(x).data, 'before reload');
    const next = rng(9);
    const state = conv.stateDict();
    conv.loadStateDict({ ...state, weight: randomTensor(conv.weight.shape, next), bias: randomTensor([32], next) });
    expectBitwiseEqual(compiled.run(x).data, conv.forward(x).data, 'after reload');
  });
});

describe('ActivationMemory and ChainBuffers', () => {
  const shape = (n: number): number[] => [1, n];

  it('hands a released buffer out again (best fit), zero-filled, and a live one never twice', () => {
    const memory = new ActivationMemory(null);
    const a = memory.acquire(shape(100), 'a');
    const b = memory.acquire(shape(40), 'b');
    a.data.fill(7);
    memory.release(a.data);
    const c = memory.acquire(shape(30), 'c'); // best fit among free blocks: a's 100
    expect(c.data.buffer).toBe(a.data.buffer);
    expect(Array.from(c.data)).toEqual(new Array(30).fill(0));
    const d = memory.acquire(shape(50), 'd'); // nothing free: a new block
    expect(d.data.buffer).not.toBe(a.data.buffer);
    expect(d.data.buffer).not.toBe(b.data.buffer);
    expect(memory.bytes).toBe(4 * (100 + 40 + 50));
    expect(() => memory.release(a.data)).toThrow(/not a live buffer/);
  });

  it('a chain releases a step output once the next step is planned, unless that step passes it on or is unknown', () => {
    const memory = new ActivationMemory(null);
    withActivationMemory(memory, () => {
      const chain = new ChainBuffers();
      const first: Tensor = planOutput(shape(8), 'first');
      chain.after(first);
      expect(memory.owns(first.data)).toBe(true);
      chain.after('input'); // an in-place step: still the same buffer
      expect(memory.owns(first.data)).toBe(true);
      const view: Tensor = { shape: [8], data: first.data.subarray(2, 6) };
      chain.after(view); // a step returning a view of it
      expect(memory.owns(first.data)).toBe(true);
      const second = planOutput(shape(8), 'second');
      chain.after(second); // the view's buffer is not the planner's own array: kept
      expect(memory.owns(first.data)).toBe(true);
      const third = planOutput(shape(8), 'third');
      chain.after(third);
      expect(memory.owns(second.data)).toBe(false); // released: read only by the step that made `third`
      chain.after(null); // unknown: it might return `third`
      expect(memory.owns(third.data)).toBe(true);
      expect(chain.output).toBe(null);
    });
  });

  it('a chain never releases its input', () => {
    const memory = new ActivationMemory(null);
    withActivationMemory(memory, () => {
      const input = planOutput(shape(4), 'input');
      const chain = new ChainBuffers();
      chain.after(planOutput(shape(4), 'step'));
      expect(memory.owns(input.data)).toBe(true);
    });
  });

  it('outside compile, planOutput allocates a fresh array every time', () => {
    const a = planOutput(shape(4), 'a');
    const b = planOutput(shape(4), 'b');
    expect(a.data.buffer).not.toBe(b.data.buffer);
    expect(() => planOutput([2 ** 20, 2 ** 20], 'huge')).toThrow(RangeError);
  });
});
