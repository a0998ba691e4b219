/**
 * Property-style battery of hostile values over every public function and constructor of
 * `src/index.ts` (and the main methods of what they return).
 *
 * Each entry gives a valid call and its parameter slots (a positional argument, or one option of an
 * options argument), each with the kind of value it accepts. Every hostile value is put into every
 * slot in turn, and the call must be handled cleanly:
 *   - a value that cannot be valid for the slot's kind must be rejected;
 *   - whatever is thrown is a RangeError or TypeError (or the hostile value's own trap error) with
 *     a message under 300 characters that names the parameter;
 *   - no typed array or buffer of more than 1 MiB is allocated before an error (64 MiB for a call
 *     that succeeds), and no case takes more than a second of work.
 * Every runtime export must be listed here or in NOT_FUZZED with a reason, so new exports get the
 * same treatment. The counts of cases tried and handled cleanly are printed at the end.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { appendFileSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import * as sepconv from '../../src/index.js';
import {
  AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, CompiledModel, compareSeparable, Conv2d, conv2d, conv2dGeometry, createWorkerPool,
  DepthwiseConv2d, DepthwiseSeparableConv2d, Flatten, Generator, Identity, LeakyReLU, Linear, MaxPool2d, MobileNetV1, Module,
  PointwiseConv2d, prepareConv2d, ReLU, ReLU6, saveSafetensors, Sequential, summary, profile, zeros, type Tensor,
} from '../../src/index.js';
import { MAX_DIMENSION, MAX_ELEMENTS } from '../../src/kernels/validate.js';
import { encodePng } from '../image/png-encoder.js';
import { encodeModel } from '../../src/onnx/encode.js';

/** A one-node ONNX model (Relu on [1, 4]). */
const onnxBytes = (): Uint8Array => encodeModel({
  opset: 13, nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y', shape: [1, 4] }],
});

// ---------------------------------------------------------------------------------------------
// Hostile values

/** What a hostile proxy throws: the caller's own error, allowed to surface as it is. */
class TrapError extends Error {}

function cyclicArray(): unknown[] {
  const s: unknown[] = [1, 4, 8];
  s.push(s);
  return s;
}

function deepArray(levels: number): unknown {
  let deep: unknown = 1;
  for (let i = 0; i < levels; i++) deep = [deep];
  return deep;
}

const trapHandler: ProxyHandler<object> = {
  get() { throw new TrapError('trap: get'); },
  has() { throw new TrapError('trap: has'); },
  ownKeys() { throw new TrapError('trap: ownKeys'); },
  getOwnPropertyDescriptor() { throw new TrapError('trap: descriptor'); },
  getPrototypeOf() { throw new TrapError('trap: prototype'); },
};

/** Name and factory of each hostile value (a fresh value per case). */
const HOSTILE: readonly [string, () => unknown][] = [
  ['null', () => null],
  ['true', () => true],
  ["'no'", () => 'no'],
  ["''", () => ''],
  ['a 100,000-character string', () => 'x'.repeat(100_000)],
  ['a symbol', () => Symbol('hostile')],
  ['a bigint', () => 10n ** 30n],
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['-Infinity', () => -Infinity],
  ['-1', () => -1],
  ['0', () => 0],
  ['-0', () => -0],
  ['0.5', () => 0.5],
  ['1e9', () => 1e9],
  ['2^53 + 2', () => 2 ** 53 + 2],
  ['1e300', () => 1e300],
  ['[]', () => []],
  ['[1e9, 1e9]', () => [1e9, 1e9]],
  ['[2^53, 1]', () => [2 ** 53, 1]],
  ['a cyclic array', cyclicArray],
  ['an array nested 5,000 deep', () => deepArray(5000)],
  ['a sparse array of length 2^32 - 1', () => new Array(2 ** 32 - 1)],
  ['an array with a hole', () => [, 1]], // eslint-disable-line no-sparse-arrays
  ["['a', 'b']", () => ['a', 'b']],
  ['a 1,000,000-element array', () => new Array<number>(1_000_000).fill(1)],
  ['{}', () => ({})],
  ['Object.create(null)', () => Object.create(null) as object],
  ['Object.create({ padding: 1 })', () => Object.create({ padding: 1 }) as object],
  ['{ __proto__: { padd: 1 } }', () => ({ __proto__: { padd: 1 } })],
  ['{ unknownName: 1 }', () => ({ unknownName: 1 })],
  ['a throwing proxy', () => new Proxy({}, trapHandler)],
  ['a throwing array proxy', () => new Proxy([1, 2], trapHandler)],
  ['a function', () => () => 1],
  ['a Map', () => new Map([[1, 2]])],
  ['Float32Array(3)', () => new Float32Array(3)],
  ['a [2, 2] tensor', () => ({ shape: [2, 2], data: new Float32Array(4) })],
  ['a tensor with a cyclic shape', () => ({ shape: cyclicArray(), data: new Float32Array(32) })],
  ['a [1e5, 1e5] tensor over 1 float', () => ({ shape: [1e5, 1e5], data: new Float32Array(1) })],
  ['a stride-0 view [1, 4, 20000, 20000] of 1 float', () => ({ data: new Float32Array(1), shape: [1, 4, 20000, 20000], stride: [0, 0, 0, 0], offset: 0 })],
  ['a view with string strides', () => ({ data: new Float32Array(4), shape: [2, 2], stride: '2,1', offset: 0 })],
  ['a tensor with plain-array data', () => ({ shape: [2], data: [1, 2] })],
  ['a tensor with NaN in its shape', () => ({ shape: [NaN, 2], data: new Float32Array(2) })],
];

// ---------------------------------------------------------------------------------------------
// Kinds: which values could be valid for a slot (anything else must be rejected)

type Kind =
  | 'tensor' | 'tensorOrNull' | 'shape' | 'shapeOnly' | 'int' | 'int0' | 'smallSignedInt' | 'pair' | 'pair0' | 'padding' | 'bool'
  | 'number' | 'options' | 'enum' | 'string' | 'module' | 'function' | 'object' | 'array' | 'bytes' | 'generator' | 'null' | 'any' | 'float32array' | 'count' | 'count0' | 'ms' | 'none' | 'probability' | 'positive' | 'nonNegative' | 'classes' | 'labels' | 'parameters' | 'betas' | 'optimizer' | 'shuffleWidth' | 'mnasAlpha';

const isInt = (v: unknown, min: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= MAX_DIMENSION;
const ownItems = (v: unknown[]): unknown[] | null => {
  const items: unknown[] = [];
  for (let i = 0; i < v.length; i++) {
    if (!Object.prototype.hasOwnProperty.call(v, i)) return null;
    items.push(v[i]);
  }
  return items;
};
const isPair = (v: unknown, min: number): boolean =>
  isInt(v, min) || (Array.isArray(v) && v.length === 2 && (ownItems(v)?.every((d) => isInt(d, min)) ?? false));
function isShape(v: unknown, capped: boolean): boolean {
  if (!Array.isArray(v) || v.length > 64) return false;
  const items = ownItems(v);
  if (!items || !items.every((d) => isInt(d, 1))) return false;
  return !capped || items.reduce((a: number, d) => a * (d as number), 1) <= MAX_ELEMENTS;
}
function isTensor(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as { shape?: unknown; data?: unknown; stride?: unknown; offset?: unknown };
  if (!(t.data instanceof Float32Array) || !isShape(t.shape, true) || t.stride !== undefined || t.offset !== undefined) return false;
  return (t.shape as number[]).reduce((a, d) => a * d, 1) === t.data.length;
}
function isEmptyPlainObject(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  for (const _ in v) return false;
  return true;
}

function couldBeValid(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'tensor': return isTensor(v);
    case 'tensorOrNull': return v === null || isTensor(v);
    case 'shape': return isShape(v, true);
    case 'shapeOnly': return isShape(v, false);
    case 'int': return isInt(v, 1);
    case 'int0': return isInt(v, 0);
    case 'smallSignedInt': return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 64;
    case 'pair': return isPair(v, 1);
    case 'pair0': return isPair(v, 0);
    case 'padding': return isPair(v, 0);
    case 'bool': return typeof v === 'boolean';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'options': return isEmptyPlainObject(v);
    case 'enum': return false;
    case 'string': return typeof v === 'string';
    case 'module': return v instanceof Module;
    case 'function': return typeof v === 'function';
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array': return Array.isArray(v);
    case 'bytes': return v instanceof Uint8Array || v instanceof ArrayBuffer;
    case 'generator': return v instanceof Generator;
    case 'null': return v === null;
    case 'any': return true;
    case 'float32array': return v instanceof Float32Array;
    case 'count': return isInt(v, 1) && (v as number) <= 100_000;
    case 'count0': return isInt(v, 0) && (v as number) <= 100_000;
    case 'ms': return typeof v === 'number' && v >= 0 && v <= 60_000;
    case 'none': return false;
    case 'probability': return typeof v === 'number' && v >= 0 && v <= 1;
    case 'positive': return typeof v === 'number' && Number.isFinite(v) && v > 0;
    case 'nonNegative': return typeof v === 'number' && Number.isFinite(v) && v >= 0;
    case 'classes': return isInt(v, 1) && (v as number) <= 1_000_000;
    case 'labels': return Array.isArray(v) && v.length === 2 && (ownItems(v)?.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0 && d < 3) ?? false);
    case 'parameters': return false;
    case 'betas': return Array.isArray(v) && v.length === 2 && (ownItems(v)?.every((d) => typeof d === 'number' && d >= 0 && d < 1) ?? false);
    case 'optimizer': return v instanceof sepconv.Optimizer;
    case 'shuffleWidth': return v === 0.5 || v === 1 || v === 1.5 || v === 2;
    case 'mnasAlpha': return v === 0.5 || v === 0.75 || v === 1 || v === 1.3;
  }
}

// ---------------------------------------------------------------------------------------------
// Entries

/**
 * A slot: `path` is the argument index, or `index.option` for one option of an options argument;
 * `label` is what the error message must contain (the parameter's name; `a|b` for either).
 */
interface Slot {
  readonly path: string;
  readonly kind: Kind | readonly Kind[];
  readonly label: string;
}

interface Entry {
  /** The export (or `Export#method`) the entry exercises. */
  readonly name: string;
  /** Fresh valid arguments. */
  readonly args: () => unknown[];
  readonly call: (args: unknown[]) => unknown;
  readonly slots: readonly Slot[];
  /** Skip the values that could be valid (a valid call would start workers, say). */
  readonly rejectedOnly?: boolean;
}

const slot = (path: string, kind: Kind | readonly Kind[], label?: string): Slot => ({ path, kind, label: label ?? path.split('.').pop()! });

const x4 = (): Tensor => zeros([1, 4, 8, 8]);
const w4 = (): Tensor => zeros([4, 2, 3, 3]);

const CONV_OPTION_SLOTS = (i: number): Slot[] => [
  slot(`${i}.stride`, 'pair'), slot(`${i}.padding`, ['padding', 'string'], 'padding'), slot(`${i}.dilation`, 'pair'),
  slot(`${i}.groups`, 'int'), slot(`${i}.paddingMode`, 'enum'), slot(`${i}.activation`, 'enum'),
  slot(`${i}.bias`, 'tensorOrNull'), slot(`${i}.out`, 'tensorOrNull'),
];

/** A zlib stream of 16 bytes and a 2×2 RGB PNG, both compressed by node:zlib. */
const zlibBytes = (): Uint8Array => new Uint8Array(deflateSync(new Uint8Array(16).fill(7)));
const tinyPng = (): Uint8Array => encodePng({ width: 2, height: 2, colorType: 2, bitDepth: 8, samples: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] });

const smallModel = (): Sequential => new Sequential(new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1, seed: 0 }), new ReLU());

const ENTRIES: Entry[] = [
  // Tensors
  { name: 'tensor', args: () => [[1, 2, 3, 4], [2, 2]], call: ([d, s]) => sepconv.tensor(d as never, s as never), slots: [slot('0', 'any', 'data'), slot('1', 'shape', 'tensor')] },
  { name: 'zeros', args: () => [[2, 2], {}], call: ([s, o]) => sepconv.zeros(s as never, o as never), slots: [slot('0', 'shape', 'zeros'), slot('1', 'options', 'zeros'), slot('1.shared', 'bool')] },
  { name: 'shapeSize', args: () => [[2, 3]], call: ([s]) => sepconv.shapeSize(s as never), slots: [slot('0', 'shapeOnly', 'shape')] },
  { name: 'asTensor', args: () => [x4(), 'input'], call: ([t, n]) => sepconv.asTensor(t, n as never), slots: [slot('0', 'tensor', 'input'), slot('1', 'any', '')] },
  { name: 'isNdArrayView', args: () => [x4()], call: ([t]) => sepconv.isNdArrayView(t), slots: [slot('0', 'any', '')] },
  // Geometry
  {
    name: 'conv2dGeometry', args: () => [[1, 4, 8, 8], [4, 2, 3, 3], { groups: 2 }], call: ([a, b, o]) => conv2dGeometry(a as never, b as never, o as never),
    slots: [slot('0', 'shapeOnly', 'input'), slot('1', 'shapeOnly', 'weight'), slot('2', 'object', 'options'), ...CONV_OPTION_SLOTS(2).slice(0, 5)],
  },
  {
    name: 'convOutputSize', args: () => [8, 1, 1, 3, 1, 1], call: (a) => sepconv.convOutputSize(...(a as [number, number, number, number, number, number])),
    slots: [slot('0', 'int', 'size'), slot('1', 'int0', 'padBefore'), slot('2', 'int0', 'padAfter'), slot('3', 'int', 'kernel'), slot('4', 'int', 'stride'), slot('5', 'int', 'dilation')],
  },
  {
    name: 'resolvePadding', args: () => ['same', [3, 3], [1, 1], [1, 1]], call: (a) => sepconv.resolvePadding(a[0], a[1] as never, a[2] as never, a[3] as never),
    slots: [slot('0', ['padding', 'string'], 'padding'), slot('1', 'pair', 'kernel'), slot('2', 'pair', 'stride'), slot('3', 'pair', 'dilation')],
  },
  {
    name: 'resolvePair', args: () => [[1, 2], 'stride', 1, 1], call: (a) => sepconv.resolvePair(a[0], a[1] as never, a[2] as never, a[3] as never),
    slots: [slot('0', 'pair', 'stride'), slot('2', 'int0', 'fallback'), slot('3', 'int0', 'min')],
  },
  // Convolutions
  ...(['conv2d', 'referenceConv2d'] as const).map((name): Entry => ({
    name, args: () => [x4(), w4(), { groups: 2 }], call: ([x, w, o]) => sepconv[name](x as never, w as never, o as never),
    slots: [slot('0', 'tensor', 'input'), slot('1', 'tensor', 'weight'), slot('2', 'options', name), ...CONV_OPTION_SLOTS(2)],
  })),
  {
    name: 'depthwiseConv2d', args: () => [x4(), zeros([4, 1, 3, 3]), {}], call: ([x, w, o]) => sepconv.depthwiseConv2d(x as never, w as never, o as never),
    slots: [slot('0', 'tensor', 'input'), slot('1', 'tensor', 'weight'), slot('2', 'options', 'depthwiseConv2d'), ...CONV_OPTION_SLOTS(2).filter((s) => !s.path.endsWith('groups'))],
  },
  {
    name: 'pointwiseConv2d', args: () => [x4(), zeros([4, 4]), {}], call: ([x, w, o]) => sepconv.pointwiseConv2d(x as never, w as never, o as never),
    slots: [slot('0', 'tensor', 'input'), slot('1', 'tensor', 'weight'), slot('2', 'options', 'pointwiseConv2d'), slot('2.stride', 'pair'), slot('2.groups', 'int'), slot('2.activation', 'enum'), slot('2.bias', 'tensorOrNull')],
  },
  { name: 'selectKernelPath', args: () => [conv2dGeometry([1, 4, 8, 8], [4, 2, 3, 3], { groups: 2 })], call: ([g]) => sepconv.selectKernelPath(g as never), slots: [slot('0', 'object', 'geometry')] },
  { name: 'selectBackwardPath', args: () => [conv2dGeometry([1, 4, 8, 8], [4, 2, 3, 3], { groups: 2 })], call: ([g]) => sepconv.selectBackwardPath(g as never), slots: [slot('0', 'object', 'geometry')] },
  {
    name: 'prepareConv2d', args: () => [w4(), { groups: 2 }], call: ([w, o]) => prepareConv2d(w as never, o as never),
    slots: [slot('0', 'tensor', 'weight'), slot('1', 'options', 'prepareConv2d'), ...CONV_OPTION_SLOTS(1).filter((s) => !s.path.endsWith('out'))],
  },
  { name: 'Conv2dPlan#run', args: () => [x4(), null], call: ([x, out]) => prepareConv2d(w4(), { groups: 2 }).run(x as never, out as never), slots: [slot('0', 'tensor', 'input'), slot('1', 'tensorOrNull', 'out')] },
  { name: 'Conv2dPlan#outputShape', args: () => [[1, 4, 8, 8]], call: ([s]) => prepareConv2d(w4(), { groups: 2 }).outputShape(s as never), slots: [slot('0', 'shapeOnly', 'input')] },
  { name: 'Conv2dPlan#setWeights', args: () => [w4(), null], call: ([w, b]) => prepareConv2d(w4(), { groups: 2 }).setWeights(w as never, b as never), slots: [slot('0', 'tensor', 'weight'), slot('1', 'tensorOrNull', 'bias')] },
  ...(['conv2dBackward', 'referenceConv2dBackward'] as const).map((name): Entry => ({
    name, args: () => [zeros([1, 4, 6, 6]), x4(), w4(), { groups: 2 }], call: ([d, x, w, o]) => sepconv[name](d as never, x as never, w as never, o as never),
    slots: [
      slot('0', 'tensor', 'gradOutput'), slot('1', 'tensor', 'input'), slot('2', 'tensor', 'weight'), slot('3', 'options', name),
      ...CONV_OPTION_SLOTS(3).filter((s) => !s.path.endsWith('out') && !s.path.endsWith('activation')),
      ...(name === 'conv2dBackward' ? [slot('3.needs', 'options', 'needs'), slot('3.accumulate', 'bool'), slot('3.gradInputOut', 'tensorOrNull', 'gradInputOut')] : []),
    ],
  })),
  // Worker pool: only values that must be rejected (a valid call would start workers).
  {
    name: 'createWorkerPool', args: () => [{ threads: 1 }], call: ([o]) => createWorkerPool(o as never), rejectedOnly: true,
    slots: [slot('0', 'options', 'createWorkerPool'), slot('0.threads', 'int'), slot('0.steal', 'bool'), slot('0.minSliceMacs', 'number'), slot('0.workerUrl', 'string')],
  },
  // Layers
  {
    name: 'Conv2d', args: () => [{ inChannels: 4, outChannels: 4, kernelSize: 3, groups: 2, seed: 0 }], call: ([o]) => new Conv2d(o as never),
    slots: [
      slot('0', 'options', 'Conv2d'), slot('0.inChannels', 'int'), slot('0.outChannels', 'int'), slot('0.kernelSize', 'pair'), slot('0.stride', 'pair'),
      slot('0.padding', ['padding', 'string'], 'padding'), slot('0.dilation', 'pair'), slot('0.groups', 'int'), slot('0.bias', 'bool'),
      slot('0.paddingMode', 'enum'), slot('0.seed', 'number'), slot('0.generator', 'generator'),
    ],
  },
  {
    name: 'DepthwiseConv2d', args: () => [{ inChannels: 4, kernelSize: 3, seed: 0 }], call: ([o]) => new DepthwiseConv2d(o as never),
    slots: [slot('0', 'options', 'DepthwiseConv2d'), slot('0.inChannels', 'int'), slot('0.kernelsPerLayer', 'int'), slot('0.kernelSize', 'pair'), slot('0.stride', 'pair'), slot('0.bias', 'bool')],
  },
  {
    name: 'PointwiseConv2d', args: () => [{ inChannels: 4, outChannels: 8, seed: 0 }], call: ([o]) => new PointwiseConv2d(o as never),
    slots: [slot('0', 'options', 'PointwiseConv2d'), slot('0.inChannels', 'int'), slot('0.outChannels', 'int'), slot('0.groups', 'int'), slot('0.bias', 'bool')],
  },
  {
    name: 'DepthwiseSeparableConv2d', args: () => [{ inChannels: 4, outChannels: 8, seed: 0 }], call: ([o]) => new DepthwiseSeparableConv2d(o as never),
    slots: [slot('0', 'options', 'DepthwiseSeparableConv2d'), slot('0.inChannels', 'int'), slot('0.outChannels', 'int'), slot('0.kernelsPerLayer', 'int'), slot('0.kernelSize', 'pair'), slot('0.paddingMode', 'enum')],
  },
  {
    name: 'BatchNorm2d', args: () => [4, {}], call: ([c, o]) => new BatchNorm2d(c as never, o as never),
    slots: [slot('0', 'int', 'numFeatures'), slot('1', 'options', 'BatchNorm2d'), slot('1.eps', 'number'), slot('1.momentum', ['number', 'null'], 'momentum'), slot('1.affine', 'bool')],
  },
  { name: 'LeakyReLU', args: () => [0.1], call: ([s]) => new LeakyReLU(s as never), slots: [slot('0', ['number', 'options'], 'LeakyReLU')] },
  { name: 'LeakyReLU({ negativeSlope })', args: () => [{ negativeSlope: 0.1 }], call: ([s]) => new LeakyReLU(s as never), slots: [slot('0.negativeSlope', 'number')] },
  {
    name: 'MaxPool2d', args: () => [{ kernelSize: 2 }], call: ([o]) => new MaxPool2d(o as never),
    slots: [slot('0', ['pair', 'options'], 'kernelSize|MaxPool2d'), slot('0.kernelSize', 'pair'), slot('0.stride', ['pair', 'null'], 'stride'), slot('0.padding', 'padding'), slot('0.dilation', 'pair'), slot('0.ceilMode', 'bool')],
  },
  {
    name: 'AvgPool2d', args: () => [{ kernelSize: 2 }], call: ([o]) => new AvgPool2d(o as never),
    slots: [
      slot('0', ['pair', 'options'], 'kernelSize|AvgPool2d'), slot('0.kernelSize', 'pair'), slot('0.stride', ['pair', 'null'], 'stride'), slot('0.padding', 'padding'),
      slot('0.ceilMode', 'bool'), slot('0.countIncludePad', 'bool'), slot('0.divisorOverride', ['int', 'null'], 'divisorOverride'),
    ],
  },
  { name: 'AdaptiveAvgPool2d', args: () => [2], call: ([s]) => new AdaptiveAvgPool2d(s as never), slots: [slot('0', ['pair', 'null'], 'outputSize')] },
  { name: 'Linear', args: () => [4, 2, {}], call: ([i, o, p]) => new Linear(i as never, o as never, p as never), slots: [slot('0', 'int', 'inFeatures'), slot('1', 'int', 'outFeatures'), slot('2', 'options', 'Linear'), slot('2.bias', 'bool'), slot('2.generator', 'generator')] },
  { name: 'Flatten', args: () => [1, -1], call: ([s, e]) => new Flatten(s as never, e as never), slots: [slot('0', 'smallSignedInt', 'startDim'), slot('1', 'smallSignedInt', 'endDim')] },
  { name: 'Sequential', args: () => [new ReLU()], call: (a) => new Sequential(...(a as never[])), slots: [slot('0', ['module', 'object'], 'Sequential')] },
  {
    name: 'mobilenetV1', args: () => [{ widthMultiplier: 0.25, numClasses: 10, seed: 0 }], call: ([o]) => sepconv.mobilenetV1(o as never),
    slots: [slot('0', 'options', 'mobilenetV1'), slot('0.widthMultiplier', 'number'), slot('0.numClasses', 'int'), slot('0.inChannels', 'int')],
  },
  { name: 'MobileNetV1', args: () => [{ widthMultiplier: 0.25, numClasses: 10, seed: 0 }], call: ([o]) => new MobileNetV1(o as never), slots: [slot('0', 'options', 'mobilenetV1')] },
  { name: 'tinyFaceDetector', args: () => [{ seed: 0 }], call: ([o]) => sepconv.tinyFaceDetector(o as never), slots: [slot('0', 'options', 'tinyFaceDetector'), slot('0.outChannels', 'int'), slot('0.seed', 'number')] },
  { name: 'foldBatchNorm', args: () => [smallModel()], call: ([m]) => sepconv.foldBatchNorm(m as never), slots: [slot('0', 'module', 'model')] },
  { name: 'Generator', args: () => [1], call: ([s]) => new Generator(s as never), slots: [slot('0', 'number', 'seed')] },
  { name: 'manualSeed', args: () => [0], call: ([s]) => sepconv.manualSeed(s as never), slots: [slot('0', 'number', 'seed')] },
  { name: 'Generator#uniform', args: () => [new Float32Array(4), -1, 1], call: ([o, l, h]) => new Generator(0).uniform(o as never, l as never, h as never), slots: [slot('0', 'float32array', 'out'), slot('1', 'number', 'low'), slot('2', 'number', 'high')] },
  // Module methods, on every kind of leaf and on a container
  ...([
    ['Conv2d', () => new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, groups: 2, seed: 0 })],
    ['BatchNorm2d', () => new BatchNorm2d(4)],
    ['ReLU', () => new ReLU()],
    ['ReLU6', () => new ReLU6()],
    ['LeakyReLU', () => new LeakyReLU()],
    ['Identity', () => new Identity()],
    ['MaxPool2d', () => new MaxPool2d(2)],
    ['AvgPool2d', () => new AvgPool2d(2)],
    ['AdaptiveAvgPool2d', () => new AdaptiveAvgPool2d(2)],
    ['Flatten', () => new Flatten()],
    ['Linear', () => new Linear(8, 2, { seed: 0 })],
    ['Sequential', smallModel],
  ] as [string, () => Module][]).flatMap(([name, make]): Entry[] => {
    const input = name === 'Linear' ? (): Tensor => zeros([1, 8]) : x4;
    const shape = name === 'Linear' ? [1, 8] : [1, 4, 8, 8];
    return [
      { name: `${name}#forward`, args: () => [input()], call: ([x]) => make().forward(x as never), slots: [slot('0', 'tensor', 'input')] },
      { name: `${name}#outputShape`, args: () => [shape], call: ([s]) => make().outputShape(s as never), slots: [slot('0', 'shapeOnly', 'input')] },
      { name: `${name}#compile`, args: () => [shape], call: ([s]) => make().compile(s as never), slots: [slot('0', 'shape', 'input')] },
    ];
  }),
  { name: 'Module#loadStateDict', args: () => [smallModel().stateDict(), {}], call: ([d, o]) => smallModel().loadStateDict(d as never, o as never), slots: [slot('0', 'object', 'dict'), slot('1', 'options', 'loadStateDict'), slot('1.strict', 'bool')] },
  { name: 'Module#forwardAsync', args: () => [x4(), {}], call: ([x, o]) => smallModel().forwardAsync(x as never, o as never), slots: [slot('0', 'tensor', 'input'), slot('1', 'options', 'forwardAsync')] },
  { name: 'CompiledModel', args: () => [smallModel(), [1, 4, 8, 8]], call: ([m, s]) => new CompiledModel(m as never, s as never), slots: [slot('0', 'module', 'module'), slot('1', 'shape', 'input')] },
  { name: 'CompiledModel#run', args: () => [x4()], call: ([x]) => smallModel().compile([1, 4, 8, 8]).run(x as never), slots: [slot('0', 'tensor', 'input')] },
  // Weight files and layouts
  { name: 'parseSafetensors', args: () => [saveSafetensors({ w: zeros([2]) }), {}], call: ([b, o]) => sepconv.parseSafetensors(b as never, o as never), slots: [slot('0', 'bytes', 'bytes'), slot('1', 'options', 'parseSafetensors')] },
  { name: 'loadSafetensors', args: () => [saveSafetensors({ w: zeros([2]) }), {}], call: ([b, o]) => sepconv.loadSafetensors(b as never, o as never), slots: [slot('0', 'bytes', 'bytes'), slot('1', 'options', 'loadSafetensors'), slot('1.skipUnsupported', 'bool')] },
  {
    name: 'exportOnnx', args: () => [smallModel(), [1, 4, 8, 8], {}], call: ([m, s, o]) => sepconv.exportOnnx(m as never, s as never, o as never),
    slots: [slot('0', 'module', 'model'), slot('1', 'shape', 'inputShape|input'), slot('2', 'options', 'exportOnnx'), slot('2.dynamicBatch', 'bool'), slot('2.opset', 'int')],
  },
  {
    name: 'loadOnnx', args: () => [onnxBytes(), {}], call: ([b, o]) => sepconv.loadOnnx(b as never, o as never),
    slots: [slot('0', 'bytes', 'bytes'), slot('1', 'options', 'loadOnnx'), slot('1.backend', 'enum', 'backend'), slot('1.externalData', 'object', 'externalData')],
  },
  { name: 'saveSafetensors', args: () => [{ w: zeros([2]) }], call: ([d, m]) => saveSafetensors(d as never, m as never), slots: [slot('0', 'object', 'dict'), slot('1', 'object', 'metadata')] },
  // PyTorch checkpoints
  {
    name: 'loadTorchCheckpoint', args: () => [sepconv.saveTorchCheckpoint({ w: zeros([2]) }), {}], call: ([b, o]) => sepconv.loadTorchCheckpoint(b as never, o as never),
    slots: [
      slot('0', 'bytes', 'bytes'), slot('1', 'options', 'loadTorchCheckpoint'), slot('1.entry', ['string', 'array'], 'entry'),
      slot('1.stripPrefix', 'string'), slot('1.skipUnsupported', 'bool'), slot('1.maxTensorBytes', 'nonNegative'),
    ],
  },
  {
    name: 'readTorchCheckpoint', args: () => [sepconv.saveTorchCheckpoint({ w: zeros([2]) }), {}], call: ([b, o]) => sepconv.readTorchCheckpoint(b as never, o as never),
    slots: [slot('0', 'bytes', 'bytes'), slot('1', 'options', 'readTorchCheckpoint'), slot('1.maxTensorBytes', 'nonNegative')],
  },
  {
    name: 'torchStateDict', args: () => [sepconv.readTorchCheckpoint(sepconv.saveTorchCheckpoint({ model: { w: zeros([2]) } })), { entry: 'model' }],
    call: ([c, o]) => sepconv.torchStateDict(c as never, o as never),
    slots: [slot('0', 'any', 'checkpoint'), slot('1', 'object', 'torchStateDict'), slot('1.entry', ['string', 'array'], 'entry'), slot('1.stripPrefix', 'string'), slot('1.skipUnsupported', 'bool')],
  },
  { name: 'saveTorchCheckpoint', args: () => [{ w: zeros([2]) }], call: ([v]) => sepconv.saveTorchCheckpoint(v as never), slots: [slot('0', ['object', 'array'], 'value')] },
  {
    name: 'TorchTensor', args: () => [[2], new Float32Array(2), 'float32'], call: ([s, d, t]) => new sepconv.TorchTensor(s as never, d as never, t as never),
    slots: [slot('0', 'shapeOnly', 'shape'), slot('1', 'float32array', 'data'), slot('2', 'enum', 'dtype')],
  },
  ...(['conv2dFilterFromTfjs', 'conv2dFilterToTfjs', 'depthwiseFilterFromTfjs', 'nhwcToNchw', 'nchwToNhwc'] as const).map((name): Entry => ({
    name, args: () => [zeros(name === 'depthwiseFilterFromTfjs' ? [3, 3, 4, 1] : [3, 3, 4, 2])], call: ([t]) => sepconv[name](t as never), slots: [slot('0', 'tensor', '')],
  })),
  { name: 'depthwiseFilterToTfjs', args: () => [zeros([4, 1, 3, 3]), 4], call: ([t, c]) => sepconv.depthwiseFilterToTfjs(t as never, c as never), slots: [slot('0', 'tensor', 'weight'), slot('1', 'int', 'inChannels')] },
  { name: 'isInt64Tensor', args: () => [zeros([2])], call: ([t]) => sepconv.isInt64Tensor(t), slots: [slot('0', 'any', '')] },
  // Analysis
  {
    name: 'conv2dCost', args: () => [{ inputShape: [1, 4, 8, 8], outChannels: 4, kernelSize: 3, groups: 2 }], call: ([s]) => sepconv.conv2dCost(s as never),
    slots: [slot('0', 'options', 'conv2dCost'), slot('0.inputShape', 'shapeOnly', 'inputShape'), slot('0.outChannels', 'int'), slot('0.kernelSize', 'pair'), slot('0.stride', 'pair'), slot('0.groups', 'int'), slot('0.bias', 'bool'), slot('0.bytesPerElement', 'int')],
  },
  { name: 'linearCost', args: () => [{ inputShape: [1, 8], outFeatures: 2 }], call: ([s]) => sepconv.linearCost(s as never), slots: [slot('0', 'options', 'linearCost'), slot('0.inputShape', 'shapeOnly', 'inputShape'), slot('0.outFeatures', 'int'), slot('0.bias', 'bool')] },
  { name: 'batchNorm2dCost', args: () => [{ inputShape: [1, 4, 8, 8] }], call: ([s]) => sepconv.batchNorm2dCost(s as never), slots: [slot('0', 'options', 'batchNorm2dCost'), slot('0.inputShape', 'shapeOnly', 'inputShape'), slot('0.affine', 'bool')] },
  { name: 'activationCost', args: () => [[1, 4, 8, 8]], call: ([s]) => sepconv.activationCost(s as never), slots: [slot('0', 'shapeOnly', 'inputShape')] },
  { name: 'reshapeCost', args: () => [[1, 4]], call: ([s]) => sepconv.reshapeCost(s as never), slots: [slot('0', 'shapeOnly', 'outputShape')] },
  { name: 'pool2dCost', args: () => [{ inputShape: [1, 4, 8, 8], kernelSize: 2 }], call: ([s]) => sepconv.pool2dCost(s as never), slots: [slot('0', 'options', 'pool2dCost'), slot('0.inputShape', 'shapeOnly', 'inputShape'), slot('0.kernelSize', 'pair'), slot('0.ceilMode', 'bool')] },
  { name: 'adaptiveAvgPool2dCost', args: () => [[1, 4, 8, 8], 2], call: ([s, o]) => sepconv.adaptiveAvgPool2dCost(s as never, o as never), slots: [slot('0', 'shapeOnly', 'inputShape'), slot('1', 'pair', 'outputSize')] },
  { name: 'addCosts', args: () => [[sepconv.activationCost([1, 4])]], call: ([c]) => sepconv.addCosts(c as never), slots: [slot('0', 'array', 'costs')] },
  {
    name: 'compareSeparable', args: () => [{ inChannels: 4, outChannels: 8, kernelSize: 3, height: 8, width: 8 }], call: ([s]) => compareSeparable(s as never),
    slots: [slot('0', 'options', 'compareSeparable'), slot('0.inChannels', 'int'), slot('0.outChannels', 'int'), slot('0.kernelSize', 'pair'), slot('0.height', 'int'), slot('0.width', 'int'), slot('0.batch', 'int')],
  },
  {
    name: 'timeSeparable', args: () => [compareSeparable({ inChannels: 2, outChannels: 2, kernelSize: 3, height: 4, width: 4 }), { repeats: 1, warmup: 0 }],
    call: ([c, o]) => sepconv.timeSeparable(c as never, o as never),
    slots: [slot('0', 'object', 'comparison'), slot('1', 'options', 'timeSeparable'), slot('1.repeats', 'count'), slot('1.warmup', 'count0'), slot('1.minTimeMs', 'ms')],
  },
  { name: 'summary', args: () => [smallModel(), [1, 4, 8, 8]], call: ([m, s]) => summary(m as never, s as never), slots: [slot('0', 'module', 'model'), slot('1', 'shapeOnly', 'inputShape')] },
  { name: 'traceLeaves', args: () => [smallModel(), [1, 4, 8, 8]], call: ([m, s]) => sepconv.traceLeaves(m as never, s as never), slots: [slot('0', 'module', 'model'), slot('1', 'shapeOnly', 'inputShape')] },
  { name: 'leafCost', args: () => [new ReLU(), [1, 4], [1, 4]], call: ([m, a, b]) => sepconv.leafCost(m as never, a as never, b as never), slots: [slot('0', 'module', 'module'), slot('1', 'shapeOnly', 'inputShape')] },
  {
    name: 'profile', args: () => [smallModel(), x4(), { repeats: 1, warmup: 0 }], call: ([m, x, o]) => profile(m as never, x as never, o as never),
    slots: [slot('0', 'module', 'model'), slot('1', 'tensor', 'input'), slot('2', 'options', 'profile'), slot('2.repeats', 'count'), slot('2.skipForward', 'bool')],
  },
  { name: 'measure', args: () => [() => {}, { repeats: 1 }], call: ([f, o]) => sepconv.measure(f as never, o as never), slots: [slot('0', 'function', 'run'), slot('1', 'options', 'timing'), slot('1.repeats', 'count'), slot('1.warmup', 'count0'), slot('1.minTimeMs', 'ms')] },
  { name: 'formatSummary', args: () => [summary(smallModel(), [1, 4, 8, 8])], call: ([s]) => sepconv.formatSummary(s as never), slots: [slot('0', 'object', 'summary')] },
  { name: 'formatProfile', args: () => [profile(smallModel(), x4(), { repeats: 1, warmup: 0 })], call: ([p]) => sepconv.formatProfile(p as never), slots: [slot('0', 'object', 'profile')] },
  { name: 'formatComparison', args: () => [compareSeparable({ inChannels: 2, outChannels: 2, kernelSize: 3, height: 4, width: 4 })], call: ([c, t]) => sepconv.formatComparison(c as never, t as never), slots: [slot('0', 'object', 'comparison'), slot('1', 'object', 'timings')] },
  { name: 'htmlReport', args: () => [{ title: 't' }], call: ([r]) => sepconv.htmlReport(r as never), slots: [slot('0', 'object', 'htmlReport'), slot('0.title', 'string'), slot('0.summary', 'object', 'summary')] },
  // Backends
  { name: 'setBackend', args: () => ['auto', {}], call: ([c, o]) => sepconv.setBackend(c as never, o as never), slots: [slot('0', 'enum', 'backend'), slot('1', 'options', 'setBackend'), slot('1.relaxedSimd', 'bool')] },
  { name: 'wasmZeros', args: () => [[2, 2]], call: ([s]) => sepconv.wasmZeros(s as never), slots: [slot('0', 'shape', 'shape')] },
  { name: 'releaseWasmTensor', args: () => [sepconv.wasmZeros([2])], call: ([t]) => sepconv.releaseWasmTensor(t as never), slots: [slot('0', 'none', 'releaseWasmTensor')] },
  // Transposed convolutions
  {
    name: 'convTranspose2d', args: () => [zeros([1, 4, 5, 5]), zeros([4, 2, 3, 3]), { groups: 2 }], call: ([x, w, o]) => sepconv.convTranspose2d(x as never, w as never, o as never),
    slots: [slot('0', 'tensor', 'input'), slot('1', 'tensor', 'weight'), slot('2', 'options', 'convTranspose2d'), slot('2.stride', 'pair'), slot('2.padding', 'pair0', 'padding'), slot('2.outputPadding', 'pair0', 'outputPadding'), slot('2.dilation', 'pair'), slot('2.groups', 'int'), slot('2.bias', 'tensorOrNull'), slot('2.out', 'tensorOrNull')],
  },
  {
    name: 'convTranspose2dBackward', args: () => [zeros([1, 4, 7, 7]), zeros([1, 4, 5, 5]), zeros([4, 2, 3, 3]), { groups: 2 }],
    call: ([d, x, w, o]) => sepconv.convTranspose2dBackward(d as never, x as never, w as never, o as never),
    slots: [slot('0', 'tensor', 'gradOutput'), slot('1', 'tensor', 'input'), slot('2', 'tensor', 'weight'), slot('3', 'options', 'convTranspose2dBackward'), slot('3.stride', 'pair'), slot('3.groups', 'int')],
  },
  {
    name: 'convTranspose2dGeometry', args: () => [[1, 4, 5, 5], [4, 2, 3, 3], { groups: 2 }], call: ([a, b, o]) => sepconv.convTranspose2dGeometry(a as never, b as never, o as never),
    slots: [slot('0', 'shapeOnly', 'input'), slot('1', 'shapeOnly', 'weight'), slot('2', 'object', 'convTranspose2dGeometry'), slot('2.stride', 'pair'), slot('2.outputPadding', 'pair0', 'outputPadding')],
  },
  {
    name: 'convTransposeOutputSize', args: () => [5, 1, 0, 1, 3, 0], call: (a) => sepconv.convTransposeOutputSize(...(a as [number, number, number, number, number, number])),
    slots: [slot('0', 'int', 'size'), slot('1', 'int', 'stride'), slot('2', 'int0', 'padding'), slot('3', 'int', 'dilation'), slot('4', 'int', 'kernel'), slot('5', 'int0', 'outputPadding')],
  },
  {
    name: 'poolOutputSize', args: () => [8, 0, 0, 2, 2, 1, false], call: (a) => sepconv.poolOutputSize(...(a as [number, number, number, number, number, number, boolean])),
    slots: [slot('0', 'int', 'size'), slot('1', 'int0', 'padBefore'), slot('2', 'int0', 'padAfter'), slot('3', 'int', 'kernel'), slot('4', 'int', 'stride'), slot('5', 'int', 'dilation'), slot('6', 'bool', 'ceilMode')],
  },
  {
    name: 'ConvTranspose2d', args: () => [{ inChannels: 4, outChannels: 4, kernelSize: 3, groups: 2, seed: 0 }], call: ([o]) => new sepconv.ConvTranspose2d(o as never),
    slots: [slot('0', 'options', 'ConvTranspose2d'), slot('0.inChannels', 'int'), slot('0.outChannels', 'int'), slot('0.kernelSize', 'pair'), slot('0.stride', 'pair'), slot('0.padding', 'pair0', 'padding'), slot('0.outputPadding', 'pair0', 'outputPadding'), slot('0.groups', 'int'), slot('0.bias', 'bool')],
  },
  // The seed's modules, with the seed's positional arguments
  { name: 'depthwise_conv', args: () => [4, 2, { seed: 0 }], call: ([a, b, o]) => new sepconv.depthwise_conv(a as never, b as never, o as never), slots: [slot('0', 'int', 'nin'), slot('1', 'int', 'kernels_per_layer'), slot('2', 'options', 'depthwise_conv')] },
  { name: 'pointwise_conv', args: () => [4, 8, { seed: 0 }], call: ([a, b, o]) => new sepconv.pointwise_conv(a as never, b as never, o as never), slots: [slot('0', 'int', 'nin'), slot('1', 'int', 'nout'), slot('2', 'options', 'pointwise_conv')] },
  {
    name: 'depthwise_separable_conv', args: () => [4, 2, 8, { seed: 0 }], call: ([a, b, c, o]) => new sepconv.depthwise_separable_conv(a as never, b as never, c as never, o as never),
    slots: [slot('0', 'int', 'nin'), slot('1', 'int', 'kernels_per_layer'), slot('2', 'int', 'nout'), slot('3', 'options', 'depthwise_separable_conv')],
  },
  // Parameters, activations, dropout, pooling
  { name: 'Parameter', args: () => [[2], new Float32Array(2)], call: ([s, d]) => new sepconv.Parameter(s as never, d as never), slots: [slot('0', 'shape', 'shape'), slot('1', 'float32array', 'data')] },
  { name: 'parameter', args: () => [[2], new Float32Array(2)], call: ([s, d]) => sepconv.parameter(s as never, d as never), slots: [slot('0', 'shape', 'shape'), slot('1', 'float32array', 'data')] },
  ...(['Hardswish', 'Hardsigmoid', 'SiLU', 'Sigmoid'] as const).map((name): Entry => ({
    name, args: () => [x4()], call: ([x]) => new sepconv[name]().forward(x as never), slots: [slot('0', 'tensor', 'input')],
  })),
  { name: 'Dropout', args: () => [0.5], call: ([p]) => new sepconv.Dropout(p as never), slots: [slot('0', ['probability', 'options'], 'p|Dropout'), slot('0.p', 'probability', 'p')] },
  { name: 'StochasticDepth', args: () => [0.2, 'row', {}], call: ([p, m, o]) => new sepconv.StochasticDepth(p as never, m as never, o as never), slots: [slot('0', 'probability', 'p'), slot('1', 'enum', 'mode'), slot('2', 'options', 'StochasticDepth')] },
  { name: 'AdaptiveMaxPool2d', args: () => [2, {}], call: ([s, o]) => new sepconv.AdaptiveMaxPool2d(s as never, o as never), slots: [slot('0', ['pair', 'null'], 'outputSize'), slot('1', 'options', 'AdaptiveMaxPool2d'), slot('1.returnIndices', 'bool')] },
  { name: 'LPPool2d', args: () => [2, 2], call: ([p, k]) => new sepconv.LPPool2d(p as never, k as never), slots: [slot('0', 'positive', 'normType'), slot('1', ['pair', 'options'], 'kernelSize|LPPool2d')] },
  { name: 'MaxUnpool2d', args: () => [{ kernelSize: 2 }], call: ([k]) => new sepconv.MaxUnpool2d(k as never), slots: [slot('0', ['pair', 'options'], 'kernelSize|MaxUnpool2d'), slot('0.stride', ['pair', 'null'], 'stride')] },
  // The zoo
  ...([
    ['mobilenetV2', { widthMult: 0.25, numClasses: 10, seed: 0 }, ['widthMult', 'positive']],
    ['mobilenetV3Large', { numClasses: 10, seed: 0 }, ['widthMult', 'positive']],
    ['mobilenetV3Small', { numClasses: 10, seed: 0 }, ['widthMult', 'positive']],
    ['shufflenetV2', { width: 0.5, numClasses: 10, seed: 0 }, ['width', 'shuffleWidth']],
    ['mnasnet', { alpha: 0.5, numClasses: 10, seed: 0 }, ['alpha', 'mnasAlpha']],
    ['efficientnetB0', { numClasses: 10, seed: 0 }, ['stochasticDepthProb', 'probability']],
  ] as [keyof typeof sepconv, Record<string, number>, [string, Kind]][]).map(([name, options, [extra, kind]]): Entry => ({
    name, args: () => [{ ...options }], call: ([o]) => (sepconv[name] as (o: unknown) => unknown)(o),
    slots: [slot('0', 'options', name), slot('0.numClasses', 'classes', 'numClasses'), slot('0.dropout', 'probability', 'dropout'), slot(`0.${extra}`, kind, extra)],
  })),
  { name: 'makeDivisible', args: () => [30, 8], call: ([v, d]) => sepconv.makeDivisible(v as never, d as never), slots: [slot('0', 'nonNegative', 'v'), slot('1', 'int', 'divisor')] },
  { name: 'channelShuffle', args: () => [zeros([1, 4, 2, 2]), 2], call: ([x, g]) => sepconv.channelShuffle(x as never, g as never), slots: [slot('0', 'tensor', 'input'), slot('1', 'int', 'groups')] },
  {
    name: 'Conv2dNormActivation', args: () => [{ inChannels: 4, outChannels: 8, kernelSize: 3, activation: null, generator: new Generator(0) }], call: ([o]) => new sepconv.Conv2dNormActivation(o as never),
    slots: [slot('0', 'options', 'Conv2dNormActivation'), slot('0.inChannels', 'int'), slot('0.outChannels', 'int'), slot('0.kernelSize', 'int'), slot('0.stride', 'int'), slot('0.groups', 'int'), slot('0.activation', ['module', 'null'], 'activation')],
  },
  {
    name: 'InvertedResidual', args: () => [8, 8, 1, 2, new Generator(0)], call: ([a, b, s, e, g]) => new sepconv.InvertedResidual(a as never, b as never, s as never, e as never, g as never),
    slots: [slot('0', 'int', 'inp'), slot('1', 'int', 'oup'), slot('2', 'int', 'stride'), slot('3', 'positive', 'expandRatio'), slot('4', 'generator', 'generator')],
  },
  {
    name: 'ShuffleInvertedResidual', args: () => [8, 8, 1, new Generator(0)], call: ([a, b, s, g]) => new sepconv.ShuffleInvertedResidual(a as never, b as never, s as never, g as never),
    slots: [slot('0', 'int', 'inp'), slot('1', 'int', 'oup'), slot('2', 'int', 'stride'), slot('3', 'generator', 'generator')],
  },
  {
    name: 'MnasInvertedResidual', args: () => [8, 8, 3, 1, 3, 0.01, new Generator(0)], call: (a) => new (sepconv.MnasInvertedResidual as unknown as new (...args: unknown[]) => unknown)(...a),
    slots: [slot('0', 'int', 'inCh'), slot('1', 'int', 'outCh'), slot('2', 'int', 'kernelSize'), slot('3', 'int', 'stride'), slot('4', 'positive', 'expansion'), slot('5', 'probability', 'bnMomentum'), slot('6', 'generator', 'generator')],
  },
  {
    name: 'InvertedResidualV3', args: () => [{ inputChannels: 8, kernel: 3, expandedChannels: 16, outChannels: 8, useSe: true, activation: 'HS', stride: 1, dilation: 1 }, {}, new Generator(0)],
    call: ([c, n, g]) => new sepconv.InvertedResidualV3(c as never, n as never, g as never),
    slots: [slot('0', 'object', 'config'), slot('0.inputChannels', 'int'), slot('0.kernel', 'int'), slot('0.stride', 'int'), slot('0.useSe', 'bool'), slot('0.activation', 'enum'), slot('1', 'options', 'norm'), slot('2', 'generator', 'generator')],
  },
  {
    name: 'MBConv', args: () => [{ expandRatio: 4, kernel: 3, stride: 1, inputChannels: 8, outChannels: 8 }, 0.1, {}, new Generator(0)],
    call: ([c, p, n, g]) => new sepconv.MBConv(c as never, p as never, n as never, g as never),
    slots: [slot('0', 'object', 'config'), slot('0.expandRatio', 'positive'), slot('0.kernel', 'int'), slot('0.stride', 'int'), slot('1', 'probability', 'stochasticDepthProb'), slot('2', 'options', 'norm'), slot('3', 'generator', 'generator')],
  },
  {
    name: 'SqueezeExcitation', args: () => [8, 4, { activation: new ReLU(), scaleActivation: new sepconv.Hardsigmoid(), generator: new Generator(0) }],
    call: ([a, b, o]) => new sepconv.SqueezeExcitation(a as never, b as never, o as never),
    slots: [slot('0', 'int', 'inputChannels'), slot('1', 'int', 'squeezeChannels'), slot('2', 'object', 'SqueezeExcitation'), slot('2.activation', 'module', 'activation'), slot('2.scaleActivation', 'module', 'scaleActivation')],
  },
  // Training
  {
    name: 'crossEntropy', args: () => [zeros([2, 3]), [0, 2], {}], call: ([l, t, o]) => sepconv.crossEntropy(l as never, t as never, o as never),
    slots: [slot('0', 'tensor', 'logits'), slot('1', 'labels', 'target'), slot('2', 'options', 'crossEntropy'), slot('2.reduction', 'enum'), slot('2.labelSmoothing', 'probability', 'labelSmoothing')],
  },
  {
    name: 'mseLoss', args: () => [zeros([2, 3]), zeros([2, 3]), {}], call: ([a, b, o]) => sepconv.mseLoss(a as never, b as never, o as never),
    slots: [slot('0', 'tensor', 'input'), slot('1', 'tensor', 'target'), slot('2', 'options', 'mseLoss'), slot('2.reduction', 'enum')],
  },
  {
    name: 'SGD', args: () => [new Linear(2, 2, { seed: 0 }).parameters(), { lr: 0.1 }], call: ([p, o]) => new sepconv.SGD(p as never, o as never),
    slots: [slot('0', 'parameters', 'params'), slot('1', 'object', 'SGD'), slot('1.lr', 'nonNegative', 'lr'), slot('1.momentum', 'nonNegative', 'momentum'), slot('1.weightDecay', 'nonNegative', 'weightDecay'), slot('1.nesterov', 'bool')],
  },
  ...(['Adam', 'AdamW'] as const).map((name): Entry => ({
    name, args: () => [new Linear(2, 2, { seed: 0 }).parameters(), {}], call: ([p, o]) => new sepconv[name](p as never, o as never),
    slots: [slot('0', 'parameters', 'params'), slot('1', 'options', name), slot('1.lr', 'nonNegative', 'lr'), slot('1.betas', 'betas', 'betas'), slot('1.eps', 'nonNegative', 'eps'), slot('1.weightDecay', 'nonNegative', 'weightDecay'), slot('1.amsgrad', 'bool')],
  })),
  {
    name: 'StepLR', args: () => [new sepconv.SGD(new Linear(2, 2, { seed: 0 }).parameters(), { lr: 0.1 }), { stepSize: 2 }], call: ([o, s]) => new sepconv.StepLR(o as never, s as never),
    slots: [slot('0', 'optimizer', 'optimizer'), slot('1', 'object', 'StepLR'), slot('1.stepSize', 'int', 'stepSize'), slot('1.gamma', 'nonNegative', 'gamma')],
  },
  {
    name: 'CosineAnnealingLR', args: () => [new sepconv.SGD(new Linear(2, 2, { seed: 0 }).parameters(), { lr: 0.1 }), { tMax: 4 }], call: ([o, s]) => new sepconv.CosineAnnealingLR(o as never, s as never),
    slots: [slot('0', 'optimizer', 'optimizer'), slot('1', 'object', 'CosineAnnealingLR'), slot('1.tMax', 'int', 'tMax'), slot('1.etaMin', 'nonNegative', 'etaMin')],
  },
  {
    name: 'Optimizer#loadStateDict', args: () => [new sepconv.SGD(new Linear(2, 2, { seed: 0 }).parameters(), { lr: 0.1 }).stateDict()],
    call: ([d]) => new sepconv.SGD(new Linear(2, 2, { seed: 0 }).parameters(), { lr: 0.1 }).loadStateDict(d as never), slots: [slot('0', 'object', 'dict')],
  },
  ...([
    ['Conv2d', () => new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, groups: 2, seed: 0 }), [1, 4, 6, 6]],
    ['BatchNorm2d', () => new BatchNorm2d(4).train(), [1, 4, 8, 8]],
    ['ReLU', () => new ReLU().train(), [1, 4, 8, 8]],
    ['Sequential', () => smallModel().train(), [1, 4, 8, 8]],
  ] as [string, () => Module, number[]][]).map(([name, make, shape]): Entry => ({
    name: `${name}#backward`, args: () => [zeros(shape)], call: ([g]) => {
      const m = make().train();
      m.forward(name === 'Conv2d' ? x4() : zeros([1, 4, 8, 8]));
      return m.backward(g as never);
    },
    slots: [slot('0', 'tensor', 'gradOutput')],
  })),
  // Images: inflate, decoding, preprocessing, classification.
  ...(['inflate', 'inflateWithInfo'] as const).map((name): Entry => ({
    name, args: () => [zlibBytes(), { maxLength: 16 }], call: ([b, o]) => sepconv[name](b as never, o as never),
    slots: [slot('0', 'bytes', 'bytes'), slot('1', 'options', name), slot('1.maxLength', 'int0', 'maxLength'), slot('1.format', 'enum', 'format')],
  })),
  ...(['inflateRaw', 'inflateZlib'] as const).map((name): Entry => ({
    name, args: () => [name === 'inflateRaw' ? zlibBytes().subarray(2, -4) : zlibBytes(), 16], call: ([b, n]) => sepconv[name](b as never, n as never),
    slots: [slot('0', 'bytes', 'bytes'), slot('1', 'int0', 'maxLength')],
  })),
  { name: 'adler32', args: () => [new Uint8Array(3)], call: ([b]) => sepconv.adler32(b as never), slots: [slot('0', 'bytes', 'bytes')] },
  ...(['decodeImage', 'decodeImageSync'] as const).map((name): Entry => ({
    name, args: () => [tinyPng(), {}], call: ([b, o]) => sepconv[name](b as never, o as never),
    slots: [slot('0', ['bytes', 'object'], 'image'), slot('1', 'options', name), slot('1.maxPixels', 'int', 'maxPixels')],
  })),
  {
    name: 'imageToTensor', args: () => [tinyPng(), {}], call: ([b, o]) => sepconv.imageToTensor(b as never, o as never),
    slots: [
      slot('0', ['bytes', 'object'], 'image'), slot('1', 'options', 'imageToTensor'), slot('1.resize', ['int', 'pair', 'null'], 'resize'),
      slot('1.centerCrop', ['int', 'pair', 'null'], 'centerCrop'), slot('1.mean', 'null', 'mean'), slot('1.std', 'null', 'std'), slot('1.layout', 'enum', 'layout'),
      slot('1.interpolation', 'enum', 'interpolation'),
    ],
  },
  { name: 'softmax', args: () => [zeros([2, 3]), 1], call: ([t, d]) => sepconv.softmax(t as never, d as never), slots: [slot('0', 'tensor', 'softmax'), slot('1', 'smallSignedInt', 'dim')] },
  ...(['topk', 'topkPerRow'] as const).map((name): Entry => ({
    name, args: () => [zeros([name === 'topk' ? 1 : 2, 5]), 2], call: ([t, k]) => sepconv[name](t as never, k as never), slots: [slot('0', 'tensor', name), slot('1', 'int0', 'k')],
  })),
  {
    name: 'topClasses', args: () => [zeros([1, 10]), { k: 3 }], call: ([t, o]) => sepconv.topClasses(t as never, o as never),
    slots: [slot('0', 'tensor', 'topClasses|topk'), slot('1', 'options', 'topClasses'), slot('1.k', 'int0', 'k'), slot('1.labels', 'array', 'labels')],
  },
  // Pretrained weights (src/hub): arguments are checked before any request; a valid call would download, so only rejected values are tried.
  ...(['loadPretrained', 'pretrainedModel', 'fetchPretrainedFile'] as const).map((name): Entry => ({
    name, rejectedOnly: true,
    args: () => [
      name === 'loadPretrained' ? smallModel() : name === 'pretrainedModel' ? 'mobilenet_v2' : 'http://127.0.0.1:9/w-0123abcd.pth',
      name === 'fetchPretrainedFile' ? undefined : 'http://127.0.0.1:9/w-0123abcd.pth',
      { cache: false, fetch: () => Promise.reject(new TrapError('no network in this test')) },
    ],
    call: ([a, b, o]) => (sepconv[name] as (...args: unknown[]) => unknown)(a, b, o),
    slots: [
      name === 'loadPretrained' ? slot('0', 'module', 'model') : slot('0', 'string', name === 'pretrainedModel' ? 'arch' : name),
      name === 'fetchPretrainedFile' ? slot('1', 'none', 'weightSet') : slot('1', 'string', 'weights'),
      slot('2', 'options', name), slot('2.cacheDir', 'string', 'cacheDir'), slot('2.cache', 'bool', 'cache'), slot('2.onProgress', 'function', 'onProgress'),
      slot('2.fetch', 'function', 'fetch'), slot('2.signal', 'none', 'signal'), slot('2.maxBytes', 'int', 'maxBytes'),
      slot('2.entry', ['string', 'array'], 'entry'), slot('2.stripPrefix', 'string', 'stripPrefix'),
    ],
  })),
  { name: 'pretrainedWeights', args: () => ['mobilenet_v2', 'IMAGENET1K_V1'], call: ([a, n]) => sepconv.pretrainedWeights(a as never, n as never), slots: [slot('0', 'string', 'arch'), slot('1', 'string', 'weight sets')] },
  { name: 'weightSetsOf', args: () => ['mobilenet_v2'], call: ([a]) => sepconv.weightSetsOf(a as never), slots: [slot('0', 'string', 'arch')] },
  { name: 'sha256PrefixOfFileName', args: () => ['m-0123abcd.pth'], call: ([f]) => sepconv.sha256PrefixOfFileName(f as never), slots: [slot('0', 'string', 'fileName')] },
  { name: 'archOf', args: () => [smallModel()], call: ([m]) => sepconv.archOf(m as never), slots: [slot('0', 'module', 'model')] },
  {
    name: 'buildArch', args: () => ['mobilenet_v3_small', {}], call: ([a, o]) => sepconv.buildArch(a as never, o as never),
    slots: [slot('0', 'string', 'arch'), slot('1', 'options', 'buildArch'), slot('1.numClasses', 'classes', 'numClasses'), slot('1.seed', 'any')],
  },
];

/** Exports not fuzzed, each with the reason. */
const NOT_FUZZED: Record<string, string> = {
  Module: 'abstract base class; every concrete layer above exercises its methods',
  WorkerPool: 'constructed by createWorkerPool (fuzzed); a valid call starts workers, covered by test/parallel',
  getDefaultGenerator: 'takes no arguments',
  ReLU: 'takes no arguments; its methods are fuzzed above', ReLU6: 'takes no arguments; its methods are fuzzed above',
  Identity: 'takes no arguments; its methods are fuzzed above', Conv2dPlan: 'constructed by prepareConv2d (fuzzed, with its methods)',
  StateDictError: 'an error class the library throws (message built by loadStateDict)',
  SafetensorsError: 'an error class the library throws', WorkerPoolError: 'an error class the library throws',
  TorchCheckpointError: 'an error class the library throws',
  LayerShapeError: 'an error class the library throws',
  getBackend: 'takes no arguments', backendInfo: 'takes no arguments', ready: 'takes no arguments',
  SeedBlock: 'abstract base of depthwise_conv, pointwise_conv, depthwise_separable_conv (fuzzed)',
  MobileNetV2: 'constructed by mobilenetV2 (fuzzed)', MobileNetV3: 'constructed by mobilenetV3Large/Small (fuzzed)',
  ShuffleNetV2: 'constructed by shufflenetV2 (fuzzed)', MNASNet: 'constructed by mnasnet (fuzzed)', EfficientNet: 'constructed by efficientnetB0 (fuzzed)',
  ResidualBlock: 'abstract base of the residual blocks (fuzzed)', Optimizer: 'abstract base of SGD, Adam, AdamW (fuzzed)',
  ImageDecodeError: 'an error class the library throws', InflateError: 'an error class the library throws',
  imagenetClasses: 'a constant (a frozen array of strings)', IMAGENET_MEAN: 'a constant', IMAGENET_STD: 'a constant',
  PRETRAINED_ARCHS: 'a constant', WEIGHT_SET_NAMES: 'a constant', PRETRAINED_WEIGHTS: 'a constant (frozen entries)', DEFAULT_WEIGHT_SETS: 'a constant',
  isPretrainedArch: 'a type guard: any value is a valid question', PretrainedError: 'an error class the library throws',
  OnnxModel: 'constructed by loadOnnx (fuzzed); its run/compile input checks are tested in test/onnx/module.test.ts',
  CompiledOnnxModel: 'constructed by OnnxModel.compile (test/onnx/module.test.ts)', OnnxNode: 'constructed by loadOnnx for each graph node',
  onnxSupportedOps: 'takes no arguments',
};

// ---------------------------------------------------------------------------------------------
// Runner

const TYPED_ARRAYS = [
  'Float32Array', 'Float64Array', 'Int32Array', 'Uint32Array', 'Int16Array', 'Uint16Array', 'Int8Array', 'Uint8Array', 'BigInt64Array',
] as const;

/** Runs `fn` counting the bytes requested from typed-array and buffer constructors. */
function countAllocatedBytes(fn: () => unknown): { bytes: number; result: unknown; error: unknown; threw: boolean } {
  let bytes = 0;
  const global = globalThis as unknown as Record<string, (new (...args: unknown[]) => object) & { BYTES_PER_ELEMENT?: number }>;
  const saved = new Map<string, (new (...args: unknown[]) => object) & { BYTES_PER_ELEMENT?: number }>();
  for (const name of [...TYPED_ARRAYS, 'ArrayBuffer', 'SharedArrayBuffer']) {
    const ctor = global[name]!;
    saved.set(name, ctor);
    const unit = ctor.BYTES_PER_ELEMENT ?? 1;
    global[name] = new Proxy(ctor, {
      construct(target, args: unknown[]) {
        if (typeof args[0] === 'number') bytes += unit * args[0];
        return Reflect.construct(target, args);
      },
    });
  }
  let result: unknown;
  let error: unknown;
  let threw = false;
  try {
    result = fn();
  } catch (e) {
    error = e;
    threw = true;
  } finally {
    for (const [name, ctor] of saved) global[name] = ctor;
  }
  return { bytes, result, error, threw };
}

function place(args: unknown[], path: string, value: unknown): unknown[] {
  const [index, option] = path.split('.') as [string, string | undefined];
  const i = Number(index);
  const copy = args.slice();
  if (option === undefined) copy[i] = value;
  else copy[i] = { ...(copy[i] as object), [option]: value };
  return copy;
}

let tried = 0;
let clean = 0;
const problems: string[] = [];

async function runCase(entry: Entry, s: Slot, valueName: string, make: () => unknown): Promise<string | null> {
  const value = make();
  const kinds = (Array.isArray(s.kind) ? s.kind : [s.kind]) as Kind[];
  let valid: boolean;
  try {
    valid = kinds.some((k) => couldBeValid(k, value));
  } catch {
    valid = false;
  }
  if (valid && entry.rejectedOnly) return 'skip';
  const args = place(entry.args(), s.path, value);
  if (process.env.HOSTILE_TRACE) appendFileSync(process.env.HOSTILE_TRACE, `${entry.name} ${s.path} ${valueName}\n`);
  const start = performance.now();
  const run = countAllocatedBytes(() => entry.call(args));
  let { threw, error } = run;
  const syncBytes = run.bytes;
  if (!threw && run.result instanceof Promise) {
    try {
      await run.result;
    } catch (e) {
      threw = true;
      error = e;
    }
  }
  const ms = performance.now() - start;
  if (ms > 1000) return `took ${Math.round(ms)} ms`;
  if (!threw) {
    if (!valid) return 'accepted a value it must reject';
    if (syncBytes > 64 * 2 ** 20) return `allocated ${syncBytes} bytes`;
    return null;
  }
  if (syncBytes > 2 ** 20) return `allocated ${syncBytes} bytes before throwing`;
  if (error instanceof TrapError) return null;
  // The library's own documented error classes (a state dict that does not fit the model, a
  // malformed file, a dead pool) are as clear as a RangeError: their messages are checked the same.
  const libraryError = error instanceof sepconv.StateDictError || error instanceof sepconv.SafetensorsError || error instanceof sepconv.WorkerPoolError
    || error instanceof sepconv.ImageDecodeError || error instanceof sepconv.InflateError || error instanceof sepconv.TorchCheckpointError;
  if (!(error instanceof RangeError || error instanceof TypeError || libraryError)) return `threw ${String((error as Error)?.name ?? error)}: ${String((error as Error)?.message ?? '').slice(0, 120)}`;
  const message = (error as Error).message;
  if (message.length >= 300) return `message of ${message.length} characters`;
  if (/Maximum call stack|Invalid typed array length|Array buffer allocation failed|Cannot read properties|is not a function|is not iterable|Cannot convert/.test(message)) {
    return `engine message: ${message.slice(0, 150)}`;
  }
  if (!valid && !libraryError && s.label !== '' && !s.label.split('|').some((label) => message.includes(label))) return `message does not name ${s.label}: ${message.slice(0, 150)}`;
  return null;
}

describe('hostile values across the public API', () => {
  it('every runtime export is fuzzed or listed in NOT_FUZZED with a reason', () => {
    const covered = new Set(ENTRIES.map((e) => e.name.split('#')[0]!.split('(')[0]!));
    const missing = Object.keys(sepconv).filter((name) => !covered.has(name) && !(name in NOT_FUZZED));
    expect(missing).toEqual([]);
  });

  for (const entry of ENTRIES) {
    it(entry.name, async () => {
      const failures: string[] = [];
      for (const s of entry.slots) {
        for (const [valueName, make] of HOSTILE) {
          const outcome = await runCase(entry, s, valueName, make);
          if (outcome === 'skip') continue;
          tried++;
          if (outcome === null) clean++;
          else failures.push(`${entry.name} ${s.path} = ${valueName}: ${outcome}`);
        }
      }
      problems.push(...failures);
      expect(failures.slice(0, 12).join('\n') + (failures.length > 12 ? `\n… ${failures.length - 12} more` : '')).toBe('');
    });
  }

  it('a polluted Object.prototype changes no valid call', async () => {
    const proto = Object.prototype as Record<string, unknown>;
    const names = [
      'out', 'padding', 'activation', 'groups', 'stride', 'dilation', 'paddingMode', 'bias', 'shared', 'strict', 'skipUnsupported', 'dtype',
      'stride', 'offset', 'kernelSize', 'ceilMode', 'countIncludePad', 'divisorOverride', 'momentum', 'eps', 'affine', 'negativeSlope',
      'threads', 'needs', 'accumulate', 'seed', 'generator', 'numClasses', 'widthMultiplier', 'repeats', 'warmup', 'minTimeMs', 'skipForward', 'title',
    ];
    const values: Record<string, unknown> = {
      out: { shape: [1], data: new Float32Array(1) }, padding: 1, activation: 'relu', groups: 3, stride: [0, 0], dilation: 2, paddingMode: 'reflect',
      bias: { shape: [1], data: new Float32Array(1) }, shared: true, strict: false, skipUnsupported: true, dtype: 'F32', offset: 0, kernelSize: 5,
      ceilMode: true, countIncludePad: false, divisorOverride: 3, momentum: 7, eps: -1, affine: false, negativeSlope: 9, threads: 1e9,
      needs: { input: false }, accumulate: true, seed: 'x', generator: 1, numClasses: 1e9, widthMultiplier: 1e9, repeats: 0, warmup: -1,
      minTimeMs: -1, skipForward: 'no', title: 5,
    };
    const reference = ENTRIES.filter((e) => !e.rejectedOnly).map((e) => {
      try {
        return JSON.stringify(summarise(e.call(e.args())));
      } catch (error) {
        return `threw ${(error as Error).message}`;
      }
    });
    const changed: string[] = [];
    try {
      for (const name of names) proto[name] = values[name];
      ENTRIES.filter((e) => !e.rejectedOnly).forEach((e, i) => {
        tried++;
        let now: string;
        try {
          now = JSON.stringify(summarise(e.call(e.args())));
        } catch (error) {
          now = `threw ${(error as Error).message}`;
        }
        if (now === reference[i] || e.name === 'profile' || e.name === 'formatProfile' || e.name === 'measure' || e.name === 'timeSeparable') clean++;
        else changed.push(`${e.name}: ${difference(reference[i]!, now)}`);
      });
    } finally {
      for (const name of names) delete proto[name];
    }
    problems.push(...changed);
    expect(changed).toEqual([]);
  });
});

/** A comparable digest of a call's result (shapes and a checksum, not whole arrays). */
function summarise(value: unknown, depth = 0): unknown {
  if (value instanceof Promise) return 'promise';
  if (ArrayBuffer.isView(value)) {
    const array = value as unknown as ArrayLike<number | bigint>;
    let sum = 0;
    for (let i = 0; i < array.length; i++) sum += Number(array[i]);
    return `${value.constructor.name}(${array.length}) sum ${sum}`;
  }
  if (typeof value === 'string') return value.length > 200 ? `string(${value.length})` : value;
  if (typeof value !== 'object' || value === null || depth > 3) return typeof value === 'object' ? 'object' : value;
  if (value instanceof Module) return value.toString();
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => summarise(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).slice(0, 30)) {
    if (/ms|Ms|time|Time|gflops/i.test(key)) continue;
    // Where in wasm memory a plan's buffers landed depends on what ran before, not on the options.
    if (/^(rt|runtime|arena|wasm|activations|address(es)?|blocks|top|usedBytes|peakBytes|f32View|i32View)$/.test(key)) continue;
    out[key] = summarise((value as Record<string, unknown>)[key], depth + 1);
  }
  return out;
}

it('tried every case and handled every one cleanly (counts)', () => {
  // Runs after the entries above (vitest runs a file's tests in order).
  expect(tried).toBeGreaterThan(20_000);
  expect(clean).toBe(tried);
});

afterAll(() => {
  if (process.env.HOSTILE_REPORT) writeFileSync(process.env.HOSTILE_REPORT, problems.join('\n'));
  console.info(`hostile battery: ${tried} cases tried, ${clean} handled cleanly, ${problems.length} problems`);
});

/** Where two digests first differ, with some context (for the failure message). */
function difference(before: string, after: string): string {
  let i = 0;
  while (i < before.length && before[i] === after[i]) i++;
  return `…${before.slice(Math.max(0, i - 40), i + 60)} → …${after.slice(Math.max(0, i - 40), i + 60)}`;
}
