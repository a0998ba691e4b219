/**
 * Shared test utilities: a seeded PRNG, random tensors, element-wise comparison, PyTorch's padding
 * rules restated independently of the library, checks shared by the GEMM-based conv kernels, and
 * an allocation counter.
 */
import { expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACT_NONE, ACT_RELU, ACT_RELU6, type Activation } from '../src/epilogue.js';
import { conv2dGeometry, type Conv2dGeometry, type GeometryOptions, type Padding, type PaddingMode } from '../src/geometry.js';
import { referenceConv2d } from '../src/kernels/reference.js';
import { Scratch } from '../src/kernels/scratch.js';
import type { Conv2dOptions } from '../src/kernels/validate.js';
import type { Tensor } from '../src/tensor.js';

const TEST_DIR = dirname(fileURLToPath(import.meta.url));

/**
 * The shared oracle folder beside the repository (`../shared`). Only the large data is read from
 * there (golden/onnx, golden/models, realmodel): see sharedData. The small golden sets are in the
 * repository (goldenDir).
 */
export const SHARED_DIR = resolve(TEST_DIR, '../../shared');

/** The repository's copy of the small golden sets (copied from ../shared/golden by tools/copy-fixtures.mjs). */
export const FIXTURE_GOLDEN_DIR = resolve(TEST_DIR, 'fixtures', 'golden');

/** The folder of a small golden set in the repository (test/fixtures/golden/<set>). */
export function goldenDir(set: string): string {
  return resolve(FIXTURE_GOLDEN_DIR, set);
}

/**
 * Large oracle data that only `../shared` holds (`relative` is a path inside it, such as
 * 'golden/onnx'): its absolute path, whether it is present, and `needs`, the suffix for the title
 * of a test that reads it (`it.skipIf(!data.present)(`... ${data.needs}`)`), so a run without the
 * folder says which tests it skipped and why. CI has ../shared and runs them.
 */
export function sharedData(relative: string): { path: string; present: boolean; needs: string } {
  const path = resolve(SHARED_DIR, relative);
  return { path, present: existsSync(path), needs: `(needs ../shared/${relative}; skipped when it is absent)` };
}

/** mulberry32: a small deterministic PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A tensor with values uniform in [-1, 1). */
export function randomTensor(shape: readonly number[], random: () => number): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = random() * 2 - 1;
  return { shape: shape.slice(), data };
}

export function readFloat32(path: string): Float32Array {
  if (!existsSync(path)) throw new Error(`missing oracle file ${path}`);
  const bytes = readFileSync(path);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

/**
 * Asserts exact shape equality and |actual - expected| <= tol * (1 + |expected|) element-wise,
 * naming the first failing index.
 */
export function expectClose(actual: Tensor, expected: Tensor, tol = 1e-4, label = ''): void {
  expect(actual.shape, `${label} shape`).toEqual(expected.shape);
  const a = actual.data;
  const e = expected.data;
  expect(a.length, `${label} length`).toBe(e.length);
  for (let i = 0; i < e.length; i++) {
    const ref = e[i]!;
    const err = Math.abs(a[i]! - ref);
    if (!(err <= tol * (1 + Math.abs(ref)))) {
      throw new Error(`${label}: mismatch at flat index ${i}: got ${a[i]}, expected ${ref} (|diff| ${err}, tol ${tol})`);
    }
  }
}

/** Asserts bitwise equality of two float arrays (or two int64 arrays, as state dicts hold for counts). */
export function expectBitwiseEqual(a: Float32Array | BigInt64Array, b: Float32Array | BigInt64Array, label = ''): void {
  expect(a.length, `${label} length`).toBe(b.length);
  expect(a.constructor, `${label} element type`).toBe(b.constructor);
  const ua = a instanceof BigInt64Array ? a : new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = b instanceof BigInt64Array ? b : new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) throw new Error(`${label}: bitwise mismatch at flat index ${i}: ${a[i]} vs ${b[i]}`);
  }
}

export interface Sides {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** The spatial part of a Conv2d configuration, as the sweeps generate it. */
export interface SpatialConfig {
  h: number;
  w: number;
  kh: number;
  kw: number;
  stride: readonly [number, number];
  dilation: readonly [number, number];
  padding: Padding;
  mode: PaddingMode;
}

/** The conv2d options of a configuration with groups, bias and activation. */
export function configOptions(
  c: SpatialConfig & { groups: number; activation: Activation },
  bias: Float32Array | null,
): Conv2dOptions {
  return { stride: c.stride, dilation: c.dilation, padding: c.padding, paddingMode: c.mode, groups: c.groups, bias, activation: c.activation };
}

/** The four paddings, from PyTorch's definitions (not from the library). */
export function pytorchSides(c: SpatialConfig): Sides {
  const p = c.padding;
  if (p === 'valid') return { top: 0, bottom: 0, left: 0, right: 0 };
  if (p === 'same') {
    const th = c.dilation[0] * (c.kh - 1);
    const tw = c.dilation[1] * (c.kw - 1);
    return { top: th >> 1, bottom: th - (th >> 1), left: tw >> 1, right: tw - (tw >> 1) };
  }
  if (typeof p === 'number') return { top: p, bottom: p, left: p, right: p };
  if (Array.isArray(p)) return { top: p[0]!, bottom: p[0]!, left: p[1]!, right: p[1]! };
  return p as Sides;
}

/**
 * Whether PyTorch accepts the configuration: 'same' only with stride 1, reflect padding smaller
 * than the input, circular padding at most the input, and an output of at least one pixel.
 */
export function pytorchAccepts(c: SpatialConfig): boolean {
  const s = pytorchSides(c);
  if (c.padding === 'same' && (c.stride[0] !== 1 || c.stride[1] !== 1)) return false;
  if (c.mode === 'reflect' && (Math.max(s.top, s.bottom) >= c.h || Math.max(s.left, s.right) >= c.w)) return false;
  if (c.mode === 'circular' && (Math.max(s.top, s.bottom) > c.h || Math.max(s.left, s.right) > c.w)) return false;
  return c.h + s.top + s.bottom - c.dilation[0] * (c.kh - 1) >= 1 && c.w + s.left + s.right - c.dilation[1] * (c.kw - 1) >= 1;
}

/** Output height and width by PyTorch's formula. */
export function pytorchOutputSize(c: SpatialConfig): { ho: number; wo: number } {
  const s = pytorchSides(c);
  return {
    ho: Math.floor((c.h + s.top + s.bottom - c.dilation[0] * (c.kh - 1) - 1) / c.stride[0]) + 1,
    wo: Math.floor((c.w + s.left + s.right - c.dilation[1] * (c.kw - 1) - 1) / c.stride[1]) + 1,
  };
}

/** Fills outputs before a kernel runs, so that a missing or stray write shows. */
export const SENTINEL = -777.25;
export const ACTS: readonly [Activation, number][] = [['none', ACT_NONE], ['relu', ACT_RELU], ['relu6', ACT_RELU6]];

/** The signature shared by the GEMM-based kernels (pointwiseConv, groupedConv). */
export type ConvKernel = (
  g: Conv2dGeometry,
  x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number,
  y: Float32Array, scratch: Scratch,
  channelStart?: number, channelEnd?: number,
) => void;

export interface KernelCase {
  x: number[];
  w: number[];
  options: GeometryOptions;
}

export function kernelCaseName(c: KernelCase, act: Activation, bias: boolean): string {
  return `x=[${c.x}] w=[${c.w}] ${JSON.stringify(c.options)} act=${act} bias=${bias}`;
}

/**
 * Runs `kernel` directly into a sentinel-filled output and checks it against the reference, and
 * that it left its input and weight alone.
 */
export function checkKernel(kernel: ConvKernel, c: KernelCase, act: Activation, code: number, withBias: boolean, seed: number): void {
  const random = rng(seed);
  const x = randomTensor(c.x, random);
  const w = randomTensor(c.w, random);
  const bias = withBias ? randomTensor([c.w[0]!], random).data.map((v) => v * 4) : null;
  const g = conv2dGeometry(x.shape, w.shape, c.options);
  const y = new Float32Array(g.outputShape.reduce((a, b) => a * b, 1)).fill(SENTINEL);
  const xCopy = x.data.slice();
  const wCopy = w.data.slice();
  kernel(g, x.data, w.data, bias, code, y, new Scratch());
  const expected = referenceConv2d(x, w, { ...c.options, bias, activation: act });
  expectClose({ shape: g.outputShape.slice(), data: y }, expected, 1e-5, kernelCaseName(c, act, withBias));
  expectBitwiseEqual(x.data, xCopy, 'input unchanged');
  expectBitwiseEqual(w.data, wCopy, 'weight unchanged');
}

/** Computing the output channels in pieces (several splits, one scratch per split) gives bitwise the one-call result. */
export function checkChannelSplits(kernel: ConvKernel, c: KernelCase, act: number, seed: number): void {
  const random = rng(seed);
  const x = randomTensor(c.x, random);
  const w = randomTensor(c.w, random);
  const bias = randomTensor([c.w[0]!], random).data;
  const g = conv2dGeometry(x.shape, w.shape, c.options);
  const size = g.outputShape.reduce((a, b) => a * b, 1);
  const full = new Float32Array(size);
  kernel(g, x.data, w.data, bias, act, full, new Scratch());
  for (const cuts of [[0, 1, 37], [0, 15, 16, 17, 36], [0, 9, 18, 27, 36], [0, 5, 21, 37]]) {
    const cout = c.w[0]!;
    const bounds = cuts.map((v) => Math.min(v, cout));
    if (bounds[bounds.length - 1] !== cout) bounds.push(cout);
    const y = new Float32Array(size).fill(SENTINEL);
    const scratch = new Scratch();
    for (let i = 0; i + 1 < bounds.length; i++) kernel(g, x.data, w.data, bias, act, y, scratch, bounds[i], bounds[i + 1]);
    expectBitwiseEqual(y, full, `cuts ${bounds}`);
  }
}

/** A call for channels [start, end) of a 1×4×5×5 input writes those channels' planes and nothing else. */
export function checkOnlyRequestedChannels(
  kernel: ConvKernel, weightShape: number[], options: GeometryOptions, start: number, end: number, seed: number,
): void {
  const random = rng(seed);
  const x = randomTensor([1, 4, 5, 5], random);
  const w = randomTensor(weightShape, random);
  const g = conv2dGeometry(x.shape, w.shape, options);
  const plane = g.outHeight * g.outWidth;
  const y = new Float32Array(g.outChannels * plane).fill(SENTINEL);
  kernel(g, x.data, w.data, null, ACT_NONE, y, new Scratch(), start, end);
  for (let i = 0; i < y.length; i++) {
    const channel = Math.floor(i / plane);
    if (channel < start || channel >= end) expect(y[i]).toBe(SENTINEL);
    else expect(y[i]).not.toBe(SENTINEL);
  }
}

type TypedArrayName = 'Float32Array' | 'Float64Array' | 'Int32Array' | 'Uint32Array' | 'Int16Array' | 'Uint16Array' | 'Int8Array' | 'Uint8Array' | 'Uint8ClampedArray';

/** Counts constructions of the named typed arrays while `fn` runs. */
export function countTypedArrays(
  fn: () => void,
  names: readonly TypedArrayName[] = ['Float32Array', 'Float64Array', 'Int32Array'],
): number {
  let count = 0;
  const global = globalThis as unknown as Record<TypedArrayName, new (...args: never[]) => object>;
  const saved = names.map((name) => global[name]);
  const counting = <T extends new (...args: never[]) => object>(ctor: T): T =>
    new Proxy(ctor, {
      construct(target, args) {
        count++;
        return Reflect.construct(target, args);
      },
    });
  names.forEach((name, i) => (global[name] = counting(saved[i]!)));
  try {
    fn();
  } finally {
    names.forEach((name, i) => (global[name] = saved[i]!));
  }
  return count;
}

/** One case of the onnxruntime oracle (`test/fixtures/golden/conv2d/manifest.json`; its README has the format). */
export interface GoldenCase {
  name: string;
  input: { shape: number[]; file: string };
  weight: { shape: number[]; file: string };
  bias: { shape: number[]; file: string } | null;
  stride: [number, number];
  padding: { top: number; bottom: number; left: number; right: number };
  dilation: [number, number];
  groups: number;
  paddingMode: 'zeros' | 'reflect' | 'replicate' | 'circular';
  output: { shape: number[]; file: string };
}

export const GOLDEN_DIR = goldenDir('conv2d');

/** The golden cases; throws (failing the suite rather than skipping it) when the folder is missing. */
export function loadGoldenCases(): GoldenCase[] {
  return loadGoldenSet<GoldenCase>('conv2d').cases;
}

/** A golden tensor file as a Tensor of its listed shape. */
export function loadGoldenTensor(entry: { shape: number[]; file: string }): Tensor {
  return { shape: entry.shape, data: readFloat32(resolve(GOLDEN_DIR, entry.file)) };
}

/** A tensor file entry of a golden manifest: shape and file name within the set's folder. */
export interface GoldenEntry {
  shape: number[];
  file: string;
}

/**
 * A golden set's folder and cases (`test/fixtures/golden/<set>/manifest.json`); throws, failing the
 * suite rather than skipping it, when the folder is missing (the sets are part of the repository).
 */
export function loadGoldenSet<T>(set: string): { dir: string; cases: T[] } {
  const dir = goldenDir(set);
  const path = resolve(dir, 'manifest.json');
  if (!existsSync(path)) throw new Error(`golden set ${set} not found at ${dir}; copy it with node tools/copy-fixtures.mjs`);
  return { dir, cases: (JSON.parse(readFileSync(path, 'utf8')) as { cases: T[] }).cases };
}

/** The tensor `entry` of the golden folder `dir`. */
export function loadGoldenEntry(dir: string, entry: GoldenEntry): Tensor {
  return { shape: entry.shape, data: readFloat32(resolve(dir, entry.file)) };
}
