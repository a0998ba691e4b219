/** How calls are cut into slices: full coverage, tile-aligned GEMM ranges, whole groups, the work threshold. */
import { describe, expect, it } from 'vitest';
import { kernelSetup } from '../../src/kernels/dispatch.js';
import { conv2dGeometry, type GeometryOptions } from '../../src/geometry.js';
import { convMacs, GEMM_CHANNEL_UNIT, PIXEL_UNIT, planSlices, sliceReads, type Slice } from '../../src/parallel/split.js';
import { runTask } from '../../src/parallel/task.js';
import { Scratch } from '../../src/kernels/scratch.js';
import { expectBitwiseEqual, randomTensor, rng } from '../helpers.js';

function plan(x: number[], w: number[], options: GeometryOptions, threads: number, minSliceMacs = 0): { slices: Slice[]; macs: number } {
  const g = conv2dGeometry(x, w, options);
  return { slices: planSlices(g, kernelSetup(g).path, threads, minSliceMacs), macs: convMacs(g) };
}

/** Every (image, channel) pair is in exactly one slice. */
function expectPartition(slices: Slice[], batch: number, channels: number, label: string): void {
  const owner = new Int32Array(batch * channels).fill(-1);
  slices.forEach((s, i) => {
    expect(s.imageEnd, label).toBeGreaterThan(s.imageStart);
    expect(s.channelEnd, label).toBeGreaterThan(s.channelStart);
    for (let n = s.imageStart; n < s.imageEnd; n++) {
      for (let c = s.channelStart; c < s.channelEnd; c++) {
        expect(owner[n * channels + c], `${label}: image ${n} channel ${c} in two slices`).toBe(-1);
        owner[n * channels + c] = i;
      }
    }
  });
  expect(owner.indexOf(-1), `${label}: something uncovered`).toBe(-1);
}

describe('planSlices with pixel slices (the compiled schedule)', () => {
  const pixelPlan = (x: number[], w: number[], options: GeometryOptions, threads: number, pixels = true): Slice[] => {
    const g = conv2dGeometry(x, w, options);
    return planSlices(g, kernelSetup(g).path, threads, 0, { pixels });
  };

  it('splits a 1×1 layer with more pixels than output channels into tile-aligned pixel ranges covering each plane once', () => {
    for (const [x, w] of [[[1, 96, 56, 56], [24, 96, 1, 1]], [[1, 32, 112, 112], [16, 32, 1, 1]], [[1, 8, 7, 9], [4, 8, 1, 1]], [[1, 6, 3, 3], [2, 6, 1, 1]]] as [number[], number[]][]) {
      const pixels = x[2]! * x[3]!;
      for (let threads = 2; threads <= 5; threads++) {
        const slices = pixelPlan(x, w, {}, threads);
        const label = `x=[${x}] w=[${w}] threads=${threads}`;
        const parts = Math.min(threads, Math.ceil(pixels / PIXEL_UNIT));
        expect(slices.length, label).toBe(parts);
        let next = 0;
        for (const s of slices) {
          expect([s.imageStart, s.imageEnd, s.channelStart, s.channelEnd], label).toEqual([0, 1, 0, w[0]]);
          expect(s.pixelStart, label).toBe(next);
          expect(s.pixelStart! % PIXEL_UNIT, label).toBe(0);
          expect(s.pixelEnd!, label).toBeGreaterThan(s.pixelStart!);
          next = s.pixelEnd!;
        }
        expect(next, label).toBe(pixels);
      }
    }
  });

  it('splits a depthwise 3×3 layer at high resolution into bands of whole output rows', () => {
    for (const [x, w, options] of [[[1, 96, 112, 112], [96, 1, 3, 3], { groups: 96, padding: 1, stride: 2 }], [[1, 32, 28, 28], [32, 1, 3, 3], { groups: 32, padding: 1 }]] as [number[], number[], GeometryOptions][]) {
      const g = conv2dGeometry(x, w, options);
      for (let threads = 2; threads <= 4; threads++) {
        const slices = pixelPlan(x, w, options, threads);
        const label = `x=[${x}] threads=${threads}`;
        expect(slices.length, label).toBe(threads);
        let next = 0;
        for (const s of slices) {
          expect([s.channelStart, s.channelEnd], label).toEqual([0, x[1]]);
          expect(s.pixelStart, label).toBe(next);
          expect(s.pixelStart! % g.outWidth, label).toBe(0);
          expect(s.pixelEnd! % g.outWidth, label).toBe(0);
          next = s.pixelEnd!;
        }
        expect(next, label).toBe(g.outHeight * g.outWidth);
      }
    }
  });

  it('keeps channel or image slices where pixels do not pay or do not apply', () => {
    const hasPixels = (slices: Slice[]) => slices.some((s) => s.pixelStart !== undefined);
    expect(hasPixels(pixelPlan([1, 96, 56, 56], [24, 96, 1, 1], {}, 2, false)), 'not asked for (the per-call pool)').toBe(false);
    expect(hasPixels(pixelPlan([1, 320, 7, 7], [1280, 320, 1, 1], {}, 2)), 'weights outweigh activations').toBe(false);
    expect(hasPixels(pixelPlan([1, 32, 56, 56], [24, 32, 1, 1], { stride: 2 }, 2)), 'strided 1×1').toBe(false);
    expect(hasPixels(pixelPlan([1, 576, 14, 14], [576, 1, 3, 3], { groups: 576, padding: 1 }, 2)), 'depthwise with more channels than pixels').toBe(false);
    expect(hasPixels(pixelPlan([1, 32, 56, 56], [64, 1, 3, 3], { groups: 32, padding: 1 }, 2)), 'depthwise with channel multiplier 2').toBe(false);
    expect(hasPixels(pixelPlan([1, 32, 56, 56], [32, 1, 5, 5], { groups: 32, padding: 2 }, 2)), 'depthwise 5×5 (the general path)').toBe(false);
    expect(hasPixels(pixelPlan([1, 8, 3, 3], [8, 1, 3, 3], { groups: 8, padding: 1 }, 2)), 'too few rows').toBe(false);
    expect(hasPixels(pixelPlan([2, 32, 56, 56], [24, 32, 1, 1], {}, 2)), 'two images for two threads').toBe(false);
  });
});

describe('planSlices', () => {
  it('covers every image and channel exactly once, for many shapes and thread counts', () => {
    const cases: [number[], number[], GeometryOptions][] = [
      [[1, 64, 8, 8], [128, 64, 1, 1], {}],
      [[1, 64, 8, 8], [100, 64, 1, 1], {}],
      [[1, 3, 16, 16], [32, 3, 3, 3], { stride: 2, padding: 1 }],
      [[1, 32, 8, 8], [32, 1, 3, 3], { groups: 32, padding: 1 }],
      [[1, 7, 8, 8], [21, 1, 3, 3], { groups: 7, padding: 1 }],
      [[1, 128, 8, 8], [128, 32, 3, 3], { groups: 4, padding: 1 }],
      [[3, 16, 8, 8], [48, 16, 3, 3], { padding: 1 }],
      [[8, 16, 8, 8], [16, 16, 1, 1], {}],
      [[1, 4, 8, 8], [5, 4, 1, 1], {}],
    ];
    for (const [x, w, options] of cases) {
      for (let threads = 1; threads <= 7; threads++) {
        const { slices } = plan(x, w, options, threads);
        const label = `x=[${x}] w=[${w}] threads=${threads}`;
        expect(slices.length, label).toBeLessThanOrEqual(threads);
        expectPartition(slices, x[0]!, w[0]!, label);
      }
    }
  });

  it('GEMM paths split on multiples of 16 output channels', () => {
    for (const [x, w, options] of [
      [[1, 64, 8, 8], [96, 64, 1, 1], {}],
      [[1, 64, 8, 8], [100, 64, 3, 3], { padding: 1 }],
    ] as [number[], number[], GeometryOptions][]) {
      for (const threads of [2, 3, 4]) {
        const { slices } = plan(x, w, options, threads);
        expect(slices.length).toBe(threads);
        for (const s of slices.slice(1)) expect(s.channelStart % GEMM_CHANNEL_UNIT).toBe(0);
      }
    }
  });

  it('grouped convolutions with enough groups get whole groups; depthwise keeps a channel\'s multiplier outputs together', () => {
    const grouped = plan([1, 128, 8, 8], [128, 32, 3, 3], { groups: 4, padding: 1 }, 2).slices;
    expect(grouped.map((s) => [s.channelStart, s.channelEnd])).toEqual([[0, 64], [64, 128]]);
    const depthwise = plan([1, 7, 8, 8], [21, 1, 3, 3], { groups: 7, padding: 1 }, 2).slices;
    for (const s of depthwise) expect(s.channelStart % 3).toBe(0);
  });

  it('batches that divide evenly split by whole images', () => {
    const { slices } = plan([4, 16, 8, 8], [16, 16, 3, 3], { padding: 1 }, 2);
    expect(slices.map((s) => [s.imageStart, s.imageEnd, s.channelStart, s.channelEnd])).toEqual([[0, 2, 0, 16], [2, 4, 0, 16]]);
  });

  it('keeps work below the threshold on one slice, and never makes slices smaller than it', () => {
    const { slices: small, macs } = plan([1, 32, 14, 14], [32, 32, 1, 1], {}, 4, 1 << 18);
    expect(macs).toBeLessThan(1 << 18);
    expect(small).toHaveLength(1);
    const { slices: medium, macs: mediumMacs } = plan([1, 64, 14, 14], [64, 64, 1, 1], {}, 4, 1 << 18);
    expect(medium.length).toBe(Math.floor(mediumMacs / (1 << 18)));
    const { slices: large } = plan([1, 128, 56, 56], [128, 128, 1, 1], {}, 4, 1 << 18);
    expect(large).toHaveLength(4);
  });
});

describe('sliceReads', () => {
  it('covers everything the worker slices read: NaN outside the ranges changes nothing', () => {
    const random = rng(31);
    const cases: [number[], number[], GeometryOptions][] = [
      [[1, 32, 6, 6], [32, 1, 3, 3], { groups: 32, padding: 1 }],
      [[1, 8, 6, 6], [24, 1, 3, 3], { groups: 8, padding: 1, stride: 2 }],
      [[1, 64, 5, 5], [64, 16, 3, 3], { groups: 4, padding: 1 }],
      [[1, 24, 5, 5], [48, 24, 1, 1], {}],
      [[1, 12, 7, 7], [36, 3, 1, 1], { groups: 4, stride: 2 }],
      [[4, 16, 5, 5], [32, 16, 3, 3], { padding: 1 }],
      [[3, 8, 5, 5], [8, 1, 3, 3], { groups: 8, padding: 1 }],
      [[1, 8, 6, 6], [8, 1, 3, 3], { groups: 8, padding: 1, paddingMode: 'reflect' }],
    ];
    for (const [xs, ws, options] of cases) {
      const g = conv2dGeometry(xs, ws, options);
      const x = randomTensor(xs, random);
      const w = randomTensor(ws, random);
      for (const threads of [2, 3, 4]) {
        const slices = planSlices(g, kernelSetup(g).path, threads, 0);
        const label = `x=[${xs}] w=[${ws}] ${JSON.stringify(options)} threads=${threads}`;
        const reads = sliceReads(g, slices.slice(1));
        const maskedInput = x.data.map((v, i) => (i >= reads.input[0] && i < reads.input[1] ? v : Number.NaN));
        const maskedWeight = w.data.map((v, i) => (i >= reads.weight[0] && i < reads.weight[1] ? v : Number.NaN));
        const full = new Float32Array(xs[0]! * g.outChannels * g.outHeight * g.outWidth);
        const masked = new Float32Array(full.length);
        for (const slice of slices.slice(1)) {
          runTask({ geometry: g, input: x.data, weight: w.data, bias: null, act: 0, output: full, ...slice }, new Scratch());
          runTask({ geometry: g, input: maskedInput, weight: maskedWeight, bias: null, act: 0, output: masked, ...slice }, new Scratch());
        }
        expectBitwiseEqual(masked, full, label);
      }
    }
  });
});
