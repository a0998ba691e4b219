/**
 * The backward bench's comparison layer: the TensorFlow.js gradient adapter must compute the same
 * gradients as sepconv's conv2dBackward (or the bench would time two different things), and the
 * table must cover every distinct MobileNetV1 convolution.
 */
import { describe, expect, it } from 'vitest';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { conv2dBackward } from '../../src/index.js';
import { expectClose, randomTensor, rng } from '../helpers.js';

const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../bench');
// biome-ignore lint/suspicious/noExplicitAny: the bench modules are untyped JavaScript
const load = (file: string): Promise<any> => import(pathToFileURL(resolve(BENCH_DIR, file)).href);

describe('backward bench', () => {
  it('tfjs-cpu gradient adapter = conv2dBackward (1×1, 3×3 stride 1 and 2, depthwise)', async () => {
    const { createTfjsGradients } = await load('peers/tfjs.mjs');
    const { inputShape, weightShape, convOptions } = await load('workloads.mjs');
    const specs = [
      { name: 'pw', inChannels: 6, height: 5, width: 5, outChannels: 4, kernel: 1, stride: 1, pad: 0, groups: 1 },
      { name: 'conv', inChannels: 3, height: 9, width: 9, outChannels: 5, kernel: 3, stride: 2, pad: 1, groups: 1 },
      { name: 'dw1', inChannels: 4, height: 7, width: 6, outChannels: 4, kernel: 3, stride: 1, pad: 1, groups: 4 },
      { name: 'dw2', inChannels: 4, height: 8, width: 9, outChannels: 4, kernel: 3, stride: 2, pad: 1, groups: 4 },
    ];
    const random = rng(5);
    for (const spec of specs) {
      const x = randomTensor(inputShape(spec), random);
      const w = randomTensor(weightShape(spec), random);
      const ho = Math.floor((spec.height + 2 * spec.pad - spec.kernel) / spec.stride) + 1;
      const wo = Math.floor((spec.width + 2 * spec.pad - spec.kernel) / spec.stride) + 1;
      const dy = randomTensor([1, spec.outChannels, ho, wo], random);
      const ours = conv2dBackward(dy, x, w, convOptions(spec));
      const grads = await createTfjsGradients(spec, x.data, w.data, dy.data);
      const theirs = grads.result();
      grads.dispose();
      expectClose({ shape: x.shape, data: theirs.gradInput }, ours.gradInput!, 1e-4, `${spec.name} gradInput`);
      expectClose({ shape: w.shape, data: theirs.gradWeight }, ours.gradWeight!, 1e-4, `${spec.name} gradWeight`);
    }
  });

  it('covers every distinct MobileNetV1 convolution, each named by its layers', async () => {
    const { distinctLayers } = await load('backward.mjs');
    const { mobilenetV1Layers } = await load('workloads.mjs');
    const layers: { spec: { name: string }; names: string[] }[] = distinctLayers();
    expect(layers.flatMap((l) => l.names).sort()).toEqual(mobilenetV1Layers().map((s: { name: string }) => s.name).sort());
    expect(layers.length).toBe(19);
  });
});
