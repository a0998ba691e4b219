/**
 * A 16-step training trajectory against PyTorch 1.13 (test/fixtures/golden/train-digits): a CNN of the
 * seed's depthwise_separable_conv blocks on the digits data, 8 steps of SGD with Nesterov momentum,
 * then 8 of AdamW with label smoothing, all in train mode; then eval-mode logits. Tolerances are the
 * manifest's (it explains why the conv biases feeding a BatchNorm agree only loosely).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Conv2d } from '../../src/layers/conv.js';
import { BatchNorm2d } from '../../src/layers/batchnorm.js';
import { ReLU, ReLU6 } from '../../src/layers/activation.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../../src/layers/pooling.js';
import { Flatten, Linear } from '../../src/layers/linear.js';
import { Sequential } from '../../src/layers/sequential.js';
import { depthwise_separable_conv } from '../../src/layers/models/seed.js';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { crossEntropy } from '../../src/train/loss.js';
import { SGD } from '../../src/train/optim/sgd.js';
import { AdamW } from '../../src/train/optim/adam.js';
import type { Optimizer } from '../../src/train/optim/optimizer.js';
import { isInt64Tensor } from '../../src/int64.js';
import type { Tensor } from '../../src/tensor.js';
import { goldenDir, readFloat32 } from '../helpers.js';

const GOLDEN = goldenDir('train-digits');
/** The digits data the trajectory was computed on (the same bytes as ../shared/data/digits). */
const DIGITS = fileURLToPath(new URL('../../examples/data/digits/', import.meta.url));

interface TrajectoryManifest {
  losses: number[];
  evalLogits: { shape: number[]; file: string };
  tolerance: { noiseDominatedKeys: string[] };
}

function readBytes(path: string): Uint8Array {
  if (!existsSync(path)) throw new Error(`oracle data not found at ${path}`);
  return new Uint8Array(readFileSync(path));
}

/** The manifest's model: Sequential(Conv2d(1,16,3,p=1), BN, ReLU, dsc(16,2,32), BN, ReLU6, MaxPool2d(2), dsc(32,1,64), BN, ReLU, AdaptiveAvgPool2d(1), Flatten, Linear(64,10)). */
function digitsNet(): Sequential {
  return new Sequential(
    new Conv2d({ inChannels: 1, outChannels: 16, kernelSize: 3, padding: 1 }),
    new BatchNorm2d(16),
    new ReLU(),
    new depthwise_separable_conv(16, 2, 32),
    new BatchNorm2d(32),
    new ReLU6(),
    new MaxPool2d(2),
    new depthwise_separable_conv(32, 1, 64),
    new BatchNorm2d(64),
    new ReLU(),
    new AdaptiveAvgPool2d(1),
    new Flatten(),
    new Linear(64, 10),
  );
}

describe('training trajectory against PyTorch (golden train-digits)', () => {
  it('16 steps (SGD Nesterov, then AdamW with label smoothing) match the losses, the final state dict and the eval logits', () => {
    const manifest = JSON.parse(readFileSync(resolve(GOLDEN, 'manifest.json'), 'utf8')) as TrajectoryManifest;
    const images = readBytes(resolve(DIGITS, 'images-u8.bin'));
    const labels = readBytes(resolve(DIGITS, 'labels-u8.bin'));
    const batch = (start: number, count: number): { x: Tensor; y: number[] } => {
      const data = new Float32Array(count * 64);
      for (let i = 0; i < count * 64; i++) data[i] = images[start * 64 + i]! / 16;
      return { x: { shape: [count, 1, 8, 8], data }, y: Array.from(labels.subarray(start, start + count)) };
    };
    const model = digitsNet();
    model.loadStateDict(loadSafetensors(readBytes(resolve(GOLDEN, 'initial.safetensors'))));
    model.train();
    let opt: Optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
    const losses: number[] = [];
    for (let t = 0; t < 16; t++) {
      if (t === 8) opt = new AdamW(model.parameters(), { lr: 3e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
      const { x, y } = batch(64 * t, 64);
      opt.zeroGrad();
      const logits = model.forward(x);
      const { loss, gradient } = crossEntropy(logits, y, { labelSmoothing: t < 8 ? 0 : 0.1 });
      model.backward(gradient);
      opt.step();
      losses.push(loss);
    }
    losses.forEach((loss, t) => {
      const ref = manifest.losses[t]!;
      expect(Math.abs(loss - ref), `loss at step ${t}: ${loss} vs ${ref}`).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(ref)));
    });

    const final = loadSafetensors(readBytes(resolve(GOLDEN, 'final.safetensors')));
    const noisy = new Set(manifest.tolerance.noiseDominatedKeys);
    const state = model.stateDict();
    expect(Object.keys(state).sort()).toEqual(Object.keys(final).sort());
    for (const [key, ref] of Object.entries(final)) {
      const mine = state[key]!;
      if (isInt64Tensor(ref)) {
        expect(Array.from(mine.data as BigInt64Array), key).toEqual(Array.from(ref.data));
        continue;
      }
      const tol = noisy.has(key) ? 0.1 : 1e-3;
      const a = mine.data as Float32Array;
      for (let i = 0; i < ref.data.length; i++) {
        const r = ref.data[i] as number;
        if (!(Math.abs(a[i]! - r) <= tol * (1 + Math.abs(r)))) throw new Error(`${key}[${i}]: ${a[i]} vs PyTorch ${r} (tol ${tol})`);
      }
    }

    model.eval();
    const logits = model.forward(batch(1024, 64).x);
    const ref = readFloat32(resolve(GOLDEN, manifest.evalLogits.file));
    expect(logits.shape).toEqual(manifest.evalLogits.shape);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(logits.data[i]! - ref[i]!));
    expect(worst).toBeLessThanOrEqual(0.05);
  });
});
