/**
 * The benchmark's comparison layer: the workload list must describe the convolutions it claims
 * (MobileNetV1's MAC count, chained shapes), and the TensorFlow.js adapter must compute the same
 * convolution as sepconv's reference, or the bench would time two different things.
 */
import { describe, expect, it } from 'vitest';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { conv2dGeometry } from '../../src/geometry.js';
import { referenceConv2d } from '../../src/kernels/reference.js';
import { randomTensor, rng } from '../helpers.js';

const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../bench');
// The bench is plain ESM JavaScript; import it by URL so TypeScript treats it as untyped.
// biome-ignore lint/suspicious/noExplicitAny: the bench modules are untyped JavaScript
const load = (file: string): Promise<any> => import(pathToFileURL(resolve(BENCH_DIR, file)).href);

interface Spec {
  name: string; inChannels: number; height: number; width: number; outChannels: number;
  kernel: number; stride: number; pad: number; groups: number;
}

describe('bench workloads', () => {
  it('MobileNetV1: 27 chained convolutions, 567,716,352 MACs by the kernels\' geometry', async () => {
    const { mobilenetV1Layers, MOBILENET_V1_MACS, inputShape, weightShape, convOptions } = await load('workloads.mjs');
    const layers: Spec[] = mobilenetV1Layers();
    expect(layers.length).toBe(27);
    let macs = 0;
    let previous: readonly number[] | null = null;
    for (const spec of layers) {
      if (previous) expect(inputShape(spec), spec.name).toEqual(previous);
      const g = conv2dGeometry(inputShape(spec), weightShape(spec), convOptions(spec));
      macs += g.outChannels * g.outHeight * g.outWidth * (g.inChannels / g.groups) * g.kernelH * g.kernelW;
      previous = g.outputShape;
    }
    expect(MOBILENET_V1_MACS).toBe(567_716_352);
    expect(macs).toBe(MOBILENET_V1_MACS);
    expect(previous).toEqual([1, 1024, 7, 7]);
  });

  it('every workload name is unique and every layer is a valid convolution', async () => {
    const { WORKLOADS, inputShape, weightShape, convOptions } = await load('workloads.mjs');
    const names = WORKLOADS.map((w: { name: string }) => w.name);
    expect(new Set(names).size).toBe(names.length);
    for (const w of WORKLOADS) for (const spec of w.layers) conv2dGeometry(inputShape(spec), weightShape(spec), convOptions(spec));
  });
});

describe('bench TensorFlow.js adapter (cpu backend) against referenceConv2d', () => {
  const conv = (name: string, inChannels: number, size: number, outChannels: number, kernel: number, stride: number, pad: number, groups: number): Spec =>
    ({ name, inChannels, height: size, width: size, outChannels, kernel, stride, pad, groups });
  const cases: Spec[][] = [
    [conv('x=[1,3,9,9] w=[5,3,3,3] s=1 p=1', 3, 9, 5, 3, 1, 1, 1)],
    [conv('x=[1,4,10,10] w=[6,4,3,3] s=2 p=1', 4, 10, 6, 3, 2, 1, 1)],
    [conv('x=[1,6,8,8] w=[6,1,3,3] s=1 p=1 g=6 (depthwise)', 6, 8, 6, 3, 1, 1, 6)],
    [conv('x=[1,3,9,9] w=[6,1,3,3] s=2 p=1 g=3 (multiplier 2)', 3, 9, 6, 3, 2, 1, 3)],
    [conv('x=[1,8,7,7] w=[4,2,3,3] s=1 p=1 g=4 (grouped)', 8, 7, 4, 3, 1, 1, 4)],
    [conv('x=[1,8,5,5] w=[12,8,1,1] (pointwise)', 8, 5, 12, 1, 1, 0, 1)],
    [conv('chain: dw', 4, 8, 4, 3, 2, 1, 4), conv('chain: pw', 4, 4, 7, 1, 1, 0, 1)],
  ];

  it.each(cases.map((layers) => [layers.map((l) => l.name).join(' → '), layers] as const))('%s', async (_, layers) => {
    const { createTfjsEngine } = await load('peers/tfjs.mjs');
    const { inputShape, weightShape, convOptions } = await load('workloads.mjs');
    const random = rng(7);
    const input = randomTensor(inputShape(layers[0]), random);
    const weights = layers.map((spec) => randomTensor(weightShape(spec), random));
    let expected = input;
    layers.forEach((spec, i) => { expected = referenceConv2d(expected, weights[i]!, convOptions(spec)); });

    const engine = await createTfjsEngine('cpu');
    const prepared = await engine.prepare({ name: 'case', layers }, input.data, weights);
    const actual: Float32Array = prepared.output();
    prepared.dispose();
    expect(actual.length).toBe(expected.data.length);
    for (let i = 0; i < actual.length; i++) {
      const ref = expected.data[i]!;
      if (!(Math.abs(actual[i]! - ref) <= 1e-5 * (1 + Math.abs(ref)))) {
        throw new Error(`index ${i}: tfjs ${actual[i]} vs reference ${ref}`);
      }
    }
  });
});
