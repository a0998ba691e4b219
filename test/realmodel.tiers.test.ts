/**
 * Real trained weights: face-api's tiny face detector (weights converted to PyTorch layouts, see
 * the oracle folder's README), rebuilt from sepconv modules, loaded with loadStateDict, and
 * compared at its three taps with TensorFlow.js's own outputs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Conv2d, DepthwiseSeparableConv2d, LeakyReLU, MaxPool2d, Sequential, loadSafetensors, saveSafetensors,
  tinyFaceDetector, type Module, type Tensor,
} from '../src/index.js';
import { readFloat32, sharedData } from './helpers.js';

const tinyface = sharedData('realmodel/tinyface');
const DIR = tinyface.path;

interface LayerSpec {
  name: string;
  type: string;
  weight?: { shape: number[]; file: string };
  bias?: { shape: number[]; file: string } | null;
}
interface Spec {
  layers: LayerSpec[];
  input: { file: string; shape: number[] };
  taps: { afterLayer: number; name: string; shape: number[]; file: string }[];
}

/** Read in beforeAll: the folder is only in ../shared, and the suite is skipped without it. */
let spec: Spec;
const slope = Math.fround(0.1);
/** TensorFlow 'SAME' 2×2 pooling: the odd cell is padded at the bottom/right with −inf. */
const samePool = (stride: number): MaxPool2d =>
  new MaxPool2d({ kernelSize: 2, stride, padding: { top: 0, bottom: 1, left: 0, right: 1 } });
const separable = (inChannels: number, outChannels: number): DepthwiseSeparableConv2d =>
  new DepthwiseSeparableConv2d({ inChannels, outChannels, bias: { depthwise: false, pointwise: true } });

/** The network as a user would write it (names match the weight files). */
function handWritten(): Sequential {
  return new Sequential({
    conv0: new Conv2d({ inChannels: 3, outChannels: 16, kernelSize: 3 }),
    leaky0: new LeakyReLU(slope),
    pool0: new MaxPool2d({ kernelSize: 2, stride: 2 }),
    conv1: separable(16, 32),
    leaky1: new LeakyReLU(slope),
    pool1: samePool(2),
    conv2: separable(32, 64),
    leaky2: new LeakyReLU(slope),
    pool2: samePool(2),
    conv3: separable(64, 128),
    leaky3: new LeakyReLU(slope),
    pool3: samePool(2),
    conv4: separable(128, 256),
    leaky4: new LeakyReLU(slope),
    pool4: samePool(2),
    conv5: separable(256, 512),
    leaky5: new LeakyReLU(slope),
    pool5: samePool(1),
    conv8: new Conv2d({ inChannels: 512, outChannels: 25, kernelSize: 1 }),
  });
}

function readWeights(): Record<string, Tensor> {
  const dict: Record<string, Tensor> = {};
  for (const layer of spec.layers) {
    for (const [param, entry] of [['weight', layer.weight], ['bias', layer.bias]] as const) {
      if (entry) dict[`${layer.name}.${param}`] = { shape: entry.shape, data: readFloat32(join(DIR, entry.file)) };
    }
  }
  return dict;
}

/** Runs the children one by one, keeping each named child's output. */
function forwardWithTaps(model: Module, x: Tensor): Map<string, Tensor> {
  const outputs = new Map<string, Tensor>();
  let y = x;
  for (const [name, child] of model.namedChildren()) {
    y = child.forward(y);
    outputs.set(name, y);
  }
  return outputs;
}

function ratio(actual: Tensor, expected: Float32Array): number {
  let maxErr = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(actual.data[i]! - expected[i]!));
    maxRef = Math.max(maxRef, Math.abs(expected[i]!));
  }
  return maxErr / maxRef;
}

const TAP_CHILD: Record<string, string> = { conv3: 'leaky3', maxpool_5: 'pool5', conv8: 'conv8' };

describe.skipIf(!tinyface.present)(`tiny face detector (real trained weights) ${tinyface.needs}`, () => {
  let input: Tensor;
  let weights: Record<string, Tensor>;
  beforeAll(() => {
    spec = JSON.parse(readFileSync(join(DIR, 'layers.json'), 'utf8')) as Spec;
    input = { shape: spec.input.shape, data: readFloat32(join(DIR, spec.input.file)) };
    weights = readWeights();
  });

  it('the rebuilt network has the documented 193,321 parameters and exactly the weight files as keys', () => {
    for (const model of [handWritten(), tinyFaceDetector()]) {
      expect(model.numParameters()).toBe(193321);
      expect(Object.keys(model.stateDict()).sort()).toEqual(Object.keys(weights).sort());
    }
    expect(String(tinyFaceDetector())).toBe(String(handWritten()));
  });

  const builders = [['written by hand', handWritten], ['tinyFaceDetector()', () => tinyFaceDetector()]] as const;
  for (const [label, build] of builders) {
    it(`${label}: reproduces the three taps within max|y-expected|/max|expected| <= 1e-3`, () => {
      const model = build();
      model.loadStateDict(weights);
      const outputs = forwardWithTaps(model, input);
      const ratios: Record<string, number> = {};
      for (const tap of spec.taps) {
        const actual = outputs.get(TAP_CHILD[tap.name]!)!;
        expect(actual.shape, tap.name).toEqual(tap.shape);
        ratios[tap.name] = ratio(actual, readFloat32(join(DIR, tap.file)));
      }
      console.log(`tiny face tap error ratios (${label})`, ratios);
      for (const [name, r] of Object.entries(ratios)) expect(r, name).toBeLessThanOrEqual(1e-3);
      // forward (fused path) and a compiled plan agree with the layer-by-layer run.
      const expectedOut = outputs.get('conv8')!;
      expect(ratio(model.forward(input), expectedOut.data)).toBe(0);
      const compiled = model.compile(input.shape);
      const first = compiled.run(input);
      expect(ratio(first, expectedOut.data)).toBe(0);
      expect(compiled.run(input)).toBe(first);
    });
  }

  it('loads the same weights through a safetensors file', () => {
    const model = tinyFaceDetector();
    model.loadStateDict(loadSafetensors(saveSafetensors(weights)));
    const y = model.forward(input);
    expect(ratio(y, readFloat32(join(DIR, 'expected/conv8.bin')))).toBeLessThanOrEqual(1e-3);
  });

  it('a deliberate mistake (top/left pool padding) is caught by the tolerance', () => {
    const model = tinyFaceDetector();
    model.setLayer(5, new MaxPool2d({ kernelSize: 2, stride: 2, padding: { top: 1, bottom: 0, left: 1, right: 0 } }));
    model.loadStateDict(weights);
    expect(ratio(model.forward(input), readFloat32(join(DIR, 'expected/conv8.bin')))).toBeGreaterThan(1e-2);
  });
});
