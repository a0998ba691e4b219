/**
 * One test per validation rule: the error class, and a message that names the parameter and the
 * value received. Every bad call is also made with a sentinel-filled `out`, which must come back
 * untouched (validation happens before any work).
 */
import { describe, it, expect } from 'vitest';
import ndarray from 'ndarray';
import {
  conv2d,
  conv2dGeometry,
  depthwiseConv2d,
  pointwiseConv2d,
  referenceConv2d,
  tensor,
  zeros,
  type Conv2dOptions,
  type Tensor,
} from '../../src/index.js';
import { randomTensor, rng } from '../helpers.js';

const random = rng(2);
/** x: [1, 4, 5, 5], w: [6, 4, 3, 3] (groups 1) → y: [1, 6, 3, 3] without padding. */
const x = randomTensor([1, 4, 5, 5], random);
const w = randomTensor([6, 4, 3, 3], random);
const goodOut = (): Tensor => ({ shape: [1, 6, 3, 3], data: new Float32Array(54).fill(-7777) });

type ErrorClass = typeof TypeError | typeof RangeError;

function expectError(call: () => unknown, type: ErrorClass, message: RegExp): void {
  let caught: unknown;
  try {
    call();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected the call to throw').toBeInstanceOf(type);
  // RangeError and TypeError are both Errors; make sure it is not the other class.
  expect((caught as Error).constructor).toBe(type);
  expect((caught as Error).message).toMatch(message);
}

/** A bad options object must throw from every entry point that takes it, leaving `out` untouched. */
function expectOptionError(options: Conv2dOptions | Record<string, unknown>, type: ErrorClass, message: RegExp): void {
  for (const fn of [conv2d, referenceConv2d]) {
    const out = goodOut();
    expectError(() => fn(x, w, { ...(options as Conv2dOptions), out }), type, message);
    expect(out.data.every((v) => v === -7777), `${fn.name} wrote to out before failing`).toBe(true);
  }
}

describe('validation: tensors and shapes', () => {
  it('input of rank 2 → RangeError naming input and the shape', () => {
    expectError(() => conv2d(randomTensor([4, 5], random), w), RangeError, /input.*\[4, 5\].*rank 2/);
  });
  it('input of rank 5 → RangeError', () => {
    expectError(() => conv2d(randomTensor([1, 1, 4, 5, 5], random), w), RangeError, /input.*rank 5/);
  });
  it('weight of rank 3 → RangeError naming weight', () => {
    expectError(() => conv2d(x, randomTensor([6, 4, 3], random)), RangeError, /weight.*\[6, 4, 3\].*rank 3/);
  });
  it('non-integer size → RangeError naming input.shape[i] and the value', () => {
    expectError(() => conv2d({ shape: [1, 4, 2.5, 5], data: new Float32Array(50) }, w), RangeError, /input\.shape\[2\].*2\.5/);
  });
  it('zero size: an empty batch is accepted (as in PyTorch), an empty height or kernel → RangeError', () => {
    expect(conv2d({ shape: [0, 4, 5, 5], data: new Float32Array(0) }, w).shape[0]).toBe(0);
    expectError(() => conv2d({ shape: [1, 4, 0, 5], data: new Float32Array(0) }, w), RangeError, /input\.shape\[2\] must be at least 1/);
    expectError(() => conv2d(x, { shape: [6, 4, 0, 3], data: new Float32Array(0) }), RangeError, /weight\.shape\[2\] must be at least 1/);
  });
  it('negative size in weight → RangeError naming weight.shape[i]', () => {
    expectError(() => conv2d(x, { shape: [6, 4, -3, 3], data: new Float32Array(0) }), RangeError, /weight\.shape\[2\].*-3/);
  });
  it('NaN size → RangeError', () => {
    expectError(() => conv2d({ shape: [1, 4, NaN, 5], data: new Float32Array(0) }, w), RangeError, /input\.shape\[2\].*NaN/);
  });
  it('shape that is not an array → TypeError', () => {
    expectError(() => conv2d({ shape: '1,4,5,5' as unknown as number[], data: x.data }, w), TypeError, /input\.shape.*"1,4,5,5"/);
  });
  it('data.length ≠ product of shape → RangeError naming data.length, the product and the length', () => {
    expectError(() => conv2d({ shape: [1, 4, 5, 5], data: new Float32Array(99) }, w), RangeError, /input\.data\.length.*100.*got 99/);
    expectError(() => conv2d(x, { shape: [6, 4, 3, 3], data: new Float32Array(217) }), RangeError, /weight\.data\.length.*216.*got 217/);
  });
  it('input data not a Float32Array → TypeError naming input.data and its type', () => {
    expectError(() => conv2d({ shape: x.shape, data: new Float64Array(100) as unknown as Float32Array }, w), TypeError, /input\.data.*Float32Array.*Float64Array/);
    expectError(() => conv2d({ shape: x.shape, data: Array.from(x.data) as unknown as Float32Array }, w), TypeError, /input\.data.*Float32Array.*\[/);
  });
  it('weight data not a Float32Array → TypeError naming weight.data', () => {
    expectError(() => conv2d(x, { shape: w.shape, data: undefined as unknown as Float32Array }), TypeError, /weight\.data.*undefined/);
  });
  it('input that is not an object → TypeError naming input', () => {
    expectError(() => conv2d(null as unknown as Tensor, w), TypeError, /input must be.*got null/);
    expectError(() => conv2d(x, 3 as unknown as Tensor), TypeError, /weight must be.*got 3/);
  });
  it('ndarray view with a stride of the wrong rank or out of bounds → error naming the view', () => {
    expectError(() => conv2d({ shape: [1, 4, 5, 5], stride: [100, 25, 5], offset: 0, data: x.data }, w), TypeError, /input\.stride.*4 integers/);
    expectError(() => conv2d({ shape: [1, 4, 5, 5], stride: [100, 25, 5, 1], offset: 1, data: x.data }, w), RangeError, /input.*outside data of length 100/);
  });
  it('tensor(): bad shape, length mismatch, bad data → errors naming the problem', () => {
    expect(tensor(new Float32Array(0), [2, 0]).shape).toEqual([2, 0]); // zero-size tensors exist, as in PyTorch
    expectError(() => tensor(new Float32Array(4), [2, 0]), RangeError, /data\.length.*= 0, got 4/);
    expectError(() => tensor(new Float32Array(5), [2, 2]), RangeError, /data\.length.*4.*got 5/);
    expectError(() => tensor(null as unknown as Float32Array, [2, 2]), TypeError, /data.*got null/);
  });
  it('zeros(): bad shape or options → errors', () => {
    expectError(() => zeros([2, 1.5]), RangeError, /shape\[1\].*1\.5/);
    expectError(() => zeros([2, 2], null as unknown as { shared: boolean }), TypeError, /options.*null/);
  });
  it('conv2dGeometry(): unchecked shapes and options are validated too', () => {
    expectError(() => conv2dGeometry([1, 4, 5.5, 5], [6, 4, 3, 3], {}), RangeError, /input\.shape\[2\].*5\.5/);
    expectError(() => conv2dGeometry([1, 4, 5, 5], [6, 4, 3, -3], {}), RangeError, /weight\.shape\[3\].*-3/);
    expectError(() => conv2dGeometry([1, 4, 5, 5], [6, 4, 3, 3], null as unknown as Conv2dOptions), TypeError, /options.*null/);
  });
});

describe('validation: channels and groups', () => {
  it("weight's Cin/groups · groups ≠ Cin → RangeError naming weight.shape[1]", () => {
    expectError(() => conv2d(x, randomTensor([6, 3, 3, 3], random)), RangeError, /weight\.shape\[1\].*4\/1.*got 3/);
    expectError(() => conv2d(x, randomTensor([6, 4, 3, 3], random), { groups: 2 }), RangeError, /weight\.shape\[1\].*4\/2 = 2, got 4/);
  });
  it('Cin not divisible by groups → RangeError naming in_channels and groups', () => {
    expectError(() => conv2d(x, randomTensor([6, 1, 3, 3], random), { groups: 3 }), RangeError, /in_channels.*divisible by groups.*4 channels.*groups=3/);
  });
  it('Cout not divisible by groups → RangeError naming out_channels and groups', () => {
    expectError(() => conv2d(x, randomTensor([6, 1, 3, 3], random), { groups: 4 }), RangeError, /out_channels.*divisible by groups.*6.*groups=4/);
  });
  it('groups zero, negative, non-integer or not a number → RangeError naming groups', () => {
    for (const groups of [0, -2, 1.5, '2', NaN]) {
      expectOptionError({ groups }, RangeError, /groups must be a positive integer, got/);
    }
  });
});

describe('validation: geometry options', () => {
  it('output size < 1 → RangeError giving the output size and the inputs of the formula', () => {
    expectError(() => conv2d(x, randomTensor([6, 4, 7, 3], random)), RangeError, /output size must be at least 1x1, got -1x3.*input 5x5.*kernel 7x3/);
    expectError(() => conv2d(x, w, { dilation: 3 }), RangeError, /output size.*-1x-1.*dilation 3x3/);
  });
  it("'same' with stride > 1 → RangeError naming padding='same' and the stride", () => {
    expectOptionError({ padding: 'same', stride: [1, 2] }, RangeError, /padding='same'.*strided.*\[1, 2\]/);
  });
  it('reflect padding ≥ the input size → RangeError naming paddingMode, the padding and the input size', () => {
    expectOptionError({ padding: { top: 0, bottom: 5, left: 0, right: 0 }, paddingMode: 'reflect' }, RangeError, /'reflect'.*padding.*bottom: 5.*H=5/);
    // One below the size is allowed (PyTorch: pad < dim).
    expect(conv2d(x, w, { padding: 4, paddingMode: 'reflect' }).shape).toEqual([1, 6, 11, 11]);
  });
  it('circular padding > the input size → RangeError; = the size is allowed', () => {
    expectOptionError({ padding: [0, 6], paddingMode: 'circular' }, RangeError, /'circular'.*padding.*left: 6.*W=5/);
    expect(conv2d(x, w, { padding: 5, paddingMode: 'circular' }).shape).toEqual([1, 6, 13, 13]);
  });
  it('stride 0, negative, non-integer → RangeError naming stride and the value', () => {
    expectOptionError({ stride: 0 }, RangeError, /stride must be a positive integer, got 0/);
    expectOptionError({ stride: -1 }, RangeError, /stride must be a positive integer, got -1/);
    expectOptionError({ stride: 1.5 }, RangeError, /stride must be a positive integer, got 1\.5/);
    expectOptionError({ stride: [1, 0] }, RangeError, /stride\[1\] must be a positive integer, got 0/);
  });
  it('stride that is neither an int nor a pair → TypeError naming stride', () => {
    expectOptionError({ stride: [1, 1, 1] }, TypeError, /stride must be an integer or a pair \[h, w\], got \[1, 1, 1\]/);
    expectOptionError({ stride: '2' }, TypeError, /stride must be an integer or a pair.*"2"/);
  });
  it('dilation 0 or non-integer → RangeError naming dilation', () => {
    expectOptionError({ dilation: 0 }, RangeError, /dilation must be a positive integer, got 0/);
    expectOptionError({ dilation: [2, 0.5] }, RangeError, /dilation\[1\] must be a positive integer, got 0\.5/);
  });
  it('negative or non-integer padding → RangeError naming padding', () => {
    expectOptionError({ padding: -1 }, RangeError, /padding must be a non-negative integer, got -1/);
    expectOptionError({ padding: [1, -2] }, RangeError, /padding\[1\] must be a non-negative integer, got -2/);
    expectOptionError({ padding: 0.5 }, RangeError, /padding must be a non-negative integer, got 0\.5/);
  });
  it('padding object with a missing, negative or unknown key → error naming the key', () => {
    expectOptionError({ padding: { top: 1, left: 1, right: 1 } }, RangeError, /padding\.bottom must be a non-negative integer, got undefined/);
    expectOptionError({ padding: { top: 1, bottom: 1, left: -1, right: 1 } }, RangeError, /padding\.left.*got -1/);
    expectOptionError({ padding: { top: 1, bottom: 1, left: 1, right: 1, up: 1 } }, TypeError, /padding has an unknown key "up"/);
  });
  it('padding string other than same/valid → TypeError naming padding and the value', () => {
    expectOptionError({ padding: 'SAME' }, TypeError, /padding must be.*'same'.*got "SAME"/);
    expectOptionError({ padding: null }, TypeError, /padding must be.*got null/);
  });
  it('unknown paddingMode → RangeError naming paddingMode, the value and the choices', () => {
    expectOptionError({ paddingMode: 'reflection' }, RangeError, /paddingMode must be one of 'zeros', 'reflect', 'replicate', 'circular', got "reflection"/);
    expectOptionError({ paddingMode: 0 }, RangeError, /paddingMode.*got 0/);
  });
  it('unknown activation → RangeError naming activation, the value and the choices', () => {
    expectOptionError({ activation: 'gelu' }, RangeError, /activation must be one of 'none', 'relu', 'relu6', got "gelu"/);
    expectOptionError({ activation: 'ReLU' }, RangeError, /activation.*"ReLU"/);
  });
});

describe('validation: bias', () => {
  it('bias length ≠ Cout → RangeError naming bias, Cout and the length', () => {
    expectOptionError({ bias: new Float32Array(5) }, RangeError, /bias length must equal out_channels = 6, got 5/);
    expectOptionError({ bias: { shape: [7], data: new Float32Array(7) } }, RangeError, /bias length.*6, got 7/);
  });
  it('bias of rank ≠ 1 → RangeError naming bias and its shape', () => {
    expectOptionError({ bias: { shape: [2, 3], data: new Float32Array(6) } }, RangeError, /bias must be 1-D.*\[2, 3\]/);
  });
  it('bias that is not a Float32Array or a Tensor → TypeError naming bias', () => {
    expectOptionError({ bias: [1, 2, 3, 4, 5, 6] }, TypeError, /bias must be a Float32Array.*got \[1, 2/);
    expectOptionError({ bias: new Float64Array(6) }, TypeError, /bias must be a Float32Array.*Float64Array/);
    expectOptionError({ bias: { shape: [6], data: new Float64Array(6) } }, TypeError, /bias\.data must be a Float32Array.*Float64Array/);
  });
});

describe('validation: out', () => {
  it('out of the wrong shape → RangeError naming out.shape, expected and received', () => {
    expectError(() => conv2d(x, w, { out: zeros([1, 6, 3, 4]) }), RangeError, /out\.shape must be \[1, 6, 3, 3\], got \[1, 6, 3, 4\]/);
    // Batched vs unbatched matters.
    expectError(() => conv2d(x, w, { out: zeros([6, 3, 3]) }), RangeError, /out\.shape.*got \[6, 3, 3\]/);
  });
  it('out with data.length ≠ the product of its shape, or non-Float32Array data → error naming out', () => {
    expectError(() => conv2d(x, w, { out: { shape: [1, 6, 3, 3], data: new Float32Array(55) } }), RangeError, /out\.data\.length.*54.*got 55/);
    expectError(() => conv2d(x, w, { out: { shape: [1, 6, 3, 3], data: new Float64Array(54) as unknown as Float32Array } }), TypeError, /out\.data must be a Float32Array/);
  });
  it('out sharing memory with the input → RangeError naming out and input', () => {
    const buffer = new Float32Array(100);
    const input = { shape: [1, 4, 5, 5], data: buffer };
    expectError(() => conv2d(input, w, { out: { shape: [1, 6, 3, 3], data: buffer.subarray(10, 64) } }), RangeError, /out must not share memory with input/);
  });
  it('out sharing memory with the weight → RangeError naming weight', () => {
    const out = { shape: [1, 6, 3, 3], data: w.data.subarray(100, 154) };
    expectError(() => conv2d(x, w, { out }), RangeError, /out must not share memory with weight/);
  });
  it('out sharing memory with the bias → RangeError naming bias', () => {
    const backing = new Float32Array(60);
    const bias = backing.subarray(50, 56);
    expectError(() => conv2d(x, w, { bias, out: { shape: [1, 6, 3, 3], data: backing.subarray(0, 54) } }), RangeError, /out must not share memory with bias/);
    // A bias given as a tensor is checked the same way.
    expectError(() => conv2d(x, w, { bias: { shape: [6], data: bias }, out: { shape: [1, 6, 3, 3], data: backing.subarray(2, 56) } }), RangeError, /share memory with bias/);
  });
  it('out aliasing the data behind a non-contiguous input view → RangeError (checked on the caller\'s memory, not the gathered copy)', () => {
    const backing = new Float32Array(200);
    backing.set(x.data);
    const view = ndarray(backing, [1, 5, 5, 4]).transpose(0, 3, 1, 2); // [1, 4, 5, 5], not contiguous
    expectError(() => conv2d(view, w, { out: { shape: [1, 6, 3, 3], data: backing.subarray(100, 154) } }), RangeError, /share memory with input/);
  });
  it('out in the same buffer but not overlapping → accepted', () => {
    const backing = new Float32Array(154);
    backing.set(x.data);
    const input = { shape: [1, 4, 5, 5], data: backing.subarray(0, 100) };
    const out = { shape: [1, 6, 3, 3], data: backing.subarray(100, 154) };
    expect(conv2d(input, w, { out })).toBe(out);
  });
  it('out that is a strided or offset view → TypeError naming out', () => {
    const strided = ndarray(new Float32Array(108), [1, 6, 3, 6]).hi(1, 6, 3, 3);
    expectError(() => conv2d(x, w, { out: strided }), TypeError, /out must be a contiguous Tensor/);
  });
  it('out that is a contiguous ndarray covering its data → accepted and returned as is', () => {
    const out = ndarray(new Float32Array(54), [1, 6, 3, 3]);
    expect(conv2d(x, w, { out })).toBe(out);
  });
});

describe('validation: option names and the options object', () => {
  it('unknown option name → TypeError naming the function, the option and the choices (conv2d, referenceConv2d)', () => {
    expectError(() => conv2d(x, w, { padd: 1 } as Conv2dOptions), TypeError, /conv2d: unknown option "padd"; expected one of bias, stride/);
    expectError(() => referenceConv2d(x, w, { kernelSize: 3 } as Conv2dOptions), TypeError, /referenceConv2d: unknown option "kernelSize"/);
  });
  it('unknown option name in depthwiseConv2d → TypeError', () => {
    const dw = randomTensor([8, 1, 3, 3], random);
    expectError(() => depthwiseConv2d(x, dw, { strides: 2 } as Conv2dOptions), TypeError, /depthwiseConv2d: unknown option "strides"/);
  });
  it('depthwiseConv2d rejects groups (implied) and a weight that is not [Cin·K, 1, kH, kW]', () => {
    const dw = randomTensor([8, 1, 3, 3], random);
    expectError(() => depthwiseConv2d(x, dw, { groups: 4 } as Conv2dOptions), TypeError, /groups/);
    expectError(() => depthwiseConv2d(x, randomTensor([8, 2, 3, 3], random)), RangeError, /weight must be \[Cin\*K, 1, kH, kW\].*\[8, 2, 3, 3\]/);
    expectError(() => depthwiseConv2d(x, randomTensor([6, 1, 3, 3], random)), RangeError, /out_channels.*divisible by groups.*6.*groups=4/);
  });
  it('pointwiseConv2d rejects options it does not take and a weight that is not 1×1', () => {
    const pw = randomTensor([6, 4], random);
    expectError(() => pointwiseConv2d(x, pw, { padding: 1 } as Conv2dOptions), TypeError, /pointwiseConv2d: unknown option "padding"/);
    expectError(() => pointwiseConv2d(x, pw, { dilation: 2 } as Conv2dOptions), TypeError, /pointwiseConv2d: unknown option "dilation"/);
    expectError(() => pointwiseConv2d(x, w), RangeError, /weight must be \[Cout, Cin\/groups, 1, 1\].*\[6, 4, 3, 3\]/);
  });
  it('options that are not an object → TypeError naming options (conv2d, referenceConv2d, pointwiseConv2d)', () => {
    for (const bad of [null, 3, 'same', [1]]) {
      expectError(() => conv2d(x, w, bad as unknown as Conv2dOptions), TypeError, /conv2d: options must be an object/);
      expectError(() => referenceConv2d(x, w, bad as unknown as Conv2dOptions), TypeError, /referenceConv2d: options must be an object/);
      expectError(() => pointwiseConv2d(x, randomTensor([6, 4], random), bad as unknown as Conv2dOptions), TypeError, /options must be an object/);
    }
  });
  it('options that are not an object → TypeError naming options (depthwiseConv2d)', () => {
    const dw = randomTensor([8, 1, 3, 3], random);
    for (const bad of [null, 3, 'same', [1]]) {
      expectError(() => depthwiseConv2d(x, dw, bad as unknown as Conv2dOptions), TypeError, /depthwiseConv2d: options must be an object/);
    }
  });
  it('bad option values are rejected by depthwiseConv2d and pointwiseConv2d too, before writing out', () => {
    const dw = randomTensor([8, 1, 3, 3], random);
    const pw = randomTensor([6, 4], random);
    const cases: [Record<string, unknown>, ErrorClass, RegExp][] = [
      [{ activation: 'gelu' }, RangeError, /activation.*"gelu"/],
      [{ stride: 0 }, RangeError, /stride must be a positive integer, got 0/],
      [{ stride: [1, 2, 3] }, TypeError, /stride must be an integer or a pair/],
      [{ bias: new Float32Array(3) }, RangeError, /bias length must equal out_channels/],
      [{ bias: 'none' }, TypeError, /bias must be a Float32Array/],
    ];
    for (const [options, type, message] of cases) {
      const dwOut = { shape: [1, 8, 3, 3], data: new Float32Array(72).fill(-7777) };
      expectError(() => depthwiseConv2d(x, dw, { ...(options as Conv2dOptions), out: dwOut }), type, message);
      expect(dwOut.data.every((v) => v === -7777)).toBe(true);
      const pwOut = { shape: [1, 6, 5, 5], data: new Float32Array(150).fill(-7777) };
      expectError(() => pointwiseConv2d(x, pw, { ...(options as Conv2dOptions), out: pwOut }), type, message);
      expect(pwOut.data.every((v) => v === -7777)).toBe(true);
    }
    expectError(() => depthwiseConv2d(x, dw, { paddingMode: 'mirror' as 'reflect', padding: 1 }), RangeError, /paddingMode.*"mirror"/);
    expectError(() => depthwiseConv2d(x, dw, { padding: 'same', stride: 2 }), RangeError, /padding='same'/);
  });
  it('an option explicitly set to undefined is the default, not an unknown name', () => {
    expect(conv2d(x, w, { stride: undefined, bias: undefined } as Conv2dOptions).shape).toEqual([1, 6, 3, 3]);
  });
});
