/**
 * exportOnnx: every built-in layer, block and zoo model written as standard ONNX, checked three
 * ways: loaded back with loadOnnx, run by onnxruntime-node, both against the model's own forward.
 */
import { describe, expect, it } from 'vitest';
import {
  AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, ConvTranspose2d, depthwise_separable_conv, Dropout, efficientnetB0, exportOnnx, Flatten, Hardsigmoid, Hardswish,
  LeakyReLU, Linear, loadOnnx, MaxPool2d, mnasnet, mobilenetV1, mobilenetV2, mobilenetV3Large, mobilenetV3Small, Module, ReLU, ReLU6, Sequential, shufflenetV2, SiLU, Sigmoid,
  type Tensor, type TensorLike,
} from '../../src/index.js';
import { expectClose, randomTensor, seeded } from './build.js';

type Ort = typeof import('onnxruntime-node');
let ort: Ort | null = null;
try {
  ort = await import('onnxruntime-node');
} catch {
  ort = null;
}

/** Random BatchNorm statistics, so folding and normalisation are really exercised. */
function randomizeBatchNorms(model: Module, seed: number): Module {
  let k = seed;
  for (const m of model.modules()) {
    if (!(m instanceof BatchNorm2d)) continue;
    const r = seeded(4 * m.numFeatures, ++k);
    for (let i = 0; i < m.numFeatures; i++) {
      m.runningMean.data[i] = 0.1 * r[i]!;
      m.runningVar.data[i] = 0.6 + 0.5 * r[m.numFeatures + i]!;
      if (m.weight) m.weight.data[i] = 1 + 0.3 * r[2 * m.numFeatures + i]!;
      if (m.bias) m.bias.data[i] = 0.1 * r[3 * m.numFeatures + i]!;
    }
    m.stateVersion++;
  }
  return model.eval();
}

let expectedShape: number[] = [];

async function ortRun(bytes: Uint8Array, x: Tensor): Promise<Float32Array> {
  const session = await ort!.InferenceSession.create(bytes);
  const out = await session.run({ input: new ort!.Tensor('float32', x.data, x.shape.slice()) });
  expectedShape = out.output!.dims.slice() as number[];
  return out.output!.data as Float32Array;
}

/** Export, load back, and compare both sepconv and onnxruntime with the model's forward. */
async function roundTrip(model: Module, shape: number[], options: Parameters<typeof exportOnnx>[2] = {}, runShape = shape): Promise<Uint8Array> {
  const bytes = exportOnnx(model, shape, options);
  const x = randomTensor(runShape, 3);
  const ref = model.forward(x as TensorLike);
  const loaded = loadOnnx(bytes);
  expect(loaded.opset).toBe(options.opset ?? 17);
  const y = loaded.run({ input: x }).output!;
  expect(y.shape).toEqual(ref.shape);
  expectClose(y, ref.data, 1e-4);
  expectClose(loaded.compile({ input: runShape }).run({ input: x }).output!, ref.data, 1e-4);
  if (ort !== null) {
    expectClose({ shape: ref.shape, data: await ortRun(bytes, x) }, ref.data, 1e-4);
    expect(expectedShape).toEqual(ref.shape);
  }
  return bytes;
}

describe('exportOnnx: the zoo', () => {
  const zoo: [string, () => Module, number[]][] = [
    ['mobilenetV1', () => mobilenetV1({ widthMultiplier: 0.25, numClasses: 10, seed: 1 }), [1, 3, 64, 64]],
    ['mobilenetV2', () => mobilenetV2({ widthMult: 0.35, numClasses: 10, seed: 1 }), [1, 3, 64, 64]],
    ['mobilenetV3Small', () => mobilenetV3Small({ numClasses: 10, seed: 1 }), [1, 3, 64, 64]],
    ['mobilenetV3Large', () => mobilenetV3Large({ numClasses: 10, seed: 1 }), [1, 3, 64, 64]],
    ['shufflenetV2', () => shufflenetV2({ width: 0.5, numClasses: 10, seed: 1 }), [1, 3, 64, 64]],
    ['mnasnet', () => mnasnet({ alpha: 0.5, numClasses: 10, seed: 1 }), [1, 3, 64, 64]],
    ['efficientnetB0', () => efficientnetB0({ numClasses: 10, seed: 1 }), [1, 3, 64, 64]],
  ];
  for (const [name, make, shape] of zoo) {
    it(`${name}: loadOnnx and onnxruntime agree with forward`, async () => {
      await roundTrip(randomizeBatchNorms(make(), 5), shape);
    });
  }
  it('dynamic batch (exported at batch 1, run at batch 3) and opsets 13 and 18', async () => {
    const model = randomizeBatchNorms(mobilenetV3Small({ numClasses: 10, seed: 2 }), 7);
    const bytes = await roundTrip(model, [1, 3, 64, 64], { dynamicBatch: true }, [3, 3, 64, 64]);
    expect(loadOnnx(bytes).inputs[0]!.shape).toEqual(['batch', 3, 64, 64]);
    await roundTrip(model, [1, 3, 64, 64], { opset: 13 });
    await roundTrip(randomizeBatchNorms(shufflenetV2({ width: 0.5, numClasses: 10, seed: 1 }), 3), [2, 3, 64, 64], { opset: 18, dynamicBatch: true });
    await roundTrip(randomizeBatchNorms(mobilenetV2({ widthMult: 0.35, numClasses: 10, seed: 1 }), 3), [1, 3, 64, 64], { opset: 18 });
  });
});

describe('exportOnnx: layers', () => {
  it('convolutions on every padding mode, transposed convolution, pools, activations, Linear, Flatten, Dropout', async () => {
    const net = new Sequential(
      new Conv2d({ inChannels: 3, outChannels: 6, kernelSize: 3, padding: 1, paddingMode: 'reflect', seed: 1 }),
      new LeakyReLU(0.2),
      new Conv2d({ inChannels: 6, outChannels: 6, kernelSize: 3, padding: { top: 1, bottom: 2, left: 0, right: 1 }, groups: 3, dilation: [1, 2], seed: 2 }),
      new Hardswish(),
      new Conv2d({ inChannels: 6, outChannels: 4, kernelSize: 3, padding: 1, paddingMode: 'replicate', stride: 2, seed: 3 }),
      new BatchNorm2d(4),
      new ReLU6(),
      new ConvTranspose2d({ inChannels: 4, outChannels: 4, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, groups: 2, seed: 4 }),
      new SiLU(),
      new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1, dilation: 1, ceilMode: true }),
      new AvgPool2d({ kernelSize: 2, stride: 1, padding: 1, countIncludePad: false, ceilMode: true }),
      new Sigmoid(),
      new Hardsigmoid(),
      new AdaptiveAvgPool2d(1),
      new Dropout(0.5),
      new Flatten(),
      new Linear(4, 5, { seed: 5 }),
      new ReLU(),
    );
    await roundTrip(randomizeBatchNorms(net, 1), [2, 3, 17, 15]);
    await roundTrip(randomizeBatchNorms(net, 1), [2, 3, 17, 15], { opset: 13 });
  });
  it('circular padding needs opset 19; Linear on a 3-D input; Flatten of middle axes; the seed blocks', async () => {
    const circular = new Sequential(new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 3, padding: 1, paddingMode: 'circular', seed: 1 }));
    expect(() => exportOnnx(circular, [1, 2, 5, 5])).toThrow(/opset 19/);
    await roundTrip(circular, [1, 2, 5, 5], { opset: 19 });
    await roundTrip(new Sequential(new Flatten(2, 3), new Linear(12, 3, { seed: 2 })), [2, 5, 3, 4]);
    await roundTrip(new Sequential(new AdaptiveAvgPool2d(2), new Flatten(0)), [2, 3, 4, 6]);
    expect(() => exportOnnx(new AdaptiveAvgPool2d(2), [1, 1, 5, 5])).toThrow(/pools 5x5 to 2x2, which is no fixed window/);
    await roundTrip(new Sequential(new depthwise_separable_conv(3, 2, 8), new ReLU(), new Flatten(1, 2)), [1, 3, 6, 6]);
  });
  it('a module it cannot express is an error naming it and its path', () => {
    class Custom extends Module {
      forward(x: TensorLike): Tensor { return x as Tensor; }
      outputShape(s: readonly number[]): number[] { return s.slice(); }
    }
    expect(() => exportOnnx(new Sequential(new ReLU(), new Custom()), [1, 2, 3, 3])).toThrow(/exportOnnx: cannot express "1" \(Custom\) in ONNX/);
    expect(() => exportOnnx(new ReLU(), [1, 2, 3, 3], { opset: 12 })).toThrow(/opset must be an integer from 13 to 21/);
    expect(() => exportOnnx({} as never, [1])).toThrow(/must be a sepconv Module/);
    expect(() => exportOnnx(new ReLU(), [1, 2], { dynamic: true } as never)).toThrow(/unknown option "dynamic"/);
  });
});
