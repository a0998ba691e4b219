/**
 * The files the documentation's examples read (`readFileSync('mobilenet_v2.onnx')`): stand-ins
 * made by sepconv itself with the names, formats, keys and shapes of the files a PyTorch user
 * has, so the examples run as written, offline, in a clone without any shared data. (The real
 * PyTorch-written files are tested against in test/io, test/onnx and test/hub.)
 */
import {
  exportOnnx, mobilenetV2, mobilenetV3Small, saveSafetensors, saveTorchCheckpoint, type StateDict,
} from '../src/index.js';
import { encodePng } from './image/png-encoder.js';
import type { Fixtures } from './readme-examples.js';

/** A 320×240 RGB PNG: smooth colour gradients, enough to exercise resize and crop. */
export function photoPng(): Uint8Array {
  const width = 320;
  const height = 240;
  const samples: number[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) samples.push((x * 255) / (width - 1) | 0, (y * 255) / (height - 1) | 0, ((x + y) * 3) & 255);
  }
  return encodePng({ width, height, colorType: 2, bitDepth: 8, samples });
}

function prefixed(dict: StateDict, prefix: string): StateDict {
  return Object.fromEntries(Object.entries(dict).map(([k, v]) => [prefix + k, v]));
}

const makers: Record<string, () => Uint8Array> = {
  // torch.onnx.export(torchvision.models.mobilenet_v2(), x, 'mobilenet_v2.onnx', dynamic batch)
  'mobilenet_v2.onnx': () => exportOnnx(mobilenetV2({ seed: 1 }).eval(), [1, 3, 224, 224], { dynamicBatch: true }),
  // torch.save(model.state_dict(), ...)
  'mobilenet_v3_small.pth': () => saveTorchCheckpoint(mobilenetV3Small({ seed: 1 }).stateDict()),
  'mobilenet_v2.pth': () => saveTorchCheckpoint(mobilenetV2({ widthMult: 0.5, seed: 1 }).stateDict()),
  'weights.pth': () => saveTorchCheckpoint(mobilenetV2({ widthMult: 0.5, seed: 2 }).stateDict()),
  // A training checkpoint of a DataParallel model.
  'checkpoint.pth': () =>
    saveTorchCheckpoint({
      epoch: 12,
      best_acc: 0.713,
      model: prefixed(mobilenetV2({ widthMult: 0.5, seed: 3 }).stateDict(), 'module.'),
      optimizer: { state: {}, param_groups: [{ lr: 0.01, momentum: 0.9, params: [0, 1, 2] }] },
    }),
  'mobilenet_v2_w0.5.safetensors': () => saveSafetensors(mobilenetV2({ widthMult: 0.5, seed: 3 }).stateDict()),
  'mobilenet_v2.safetensors': () => saveSafetensors(mobilenetV2({ seed: 4 }).stateDict()),
  'cat.png': photoPng,
  'photo.png': photoPng,
};

/** The named fixtures, made now. */
export function docFixtures(...names: (keyof typeof makers & string)[]): Fixtures {
  return Object.fromEntries(names.map((name) => [name, makers[name]!()]));
}
