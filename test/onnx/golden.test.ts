/**
 * The real exports in ../shared/golden/onnx (torch.onnx.export of torchvision and sepconv-style
 * networks, opsets 13 and 17, static and dynamic batch) against PyTorch's float64 outputs, through
 * `run` and `compile`, on both tiers.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadOnnx, type Tensor } from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../../../shared/golden/onnx/', import.meta.url));
const exists = existsSync(ROOT);
const models = exists ? readdirSync(ROOT).filter((d) => existsSync(`${ROOT}${d}/model.onnx`)).sort() : [];

interface Manifest {
  input: { name: string; shape: number[]; file: string };
  output: { name: string; shape: number[]; file: string };
  opset: number;
  dynamicBatch: boolean;
}

function floats(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function expectClose(y: Tensor, ref: Float32Array, shape: number[]): void {
  expect(y.shape).toEqual(shape);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const excess = Math.abs(y.data[i]! - ref[i]!) - 1e-4 * (1 + Math.abs(ref[i]!));
    if (!(excess <= worst)) worst = Number.isNaN(excess) ? Infinity : excess;
  }
  expect(worst).toBe(0);
}

describe.skipIf(!exists)('ONNX golden exports', () => {
  for (const name of models) {
    const dir = `${ROOT}${name}/`;
    const manifest = JSON.parse(readFileSync(`${dir}manifest.json`, 'utf8')) as Manifest;
    for (const backend of ['wasm', 'js'] as const) {
      it(`${name} (${backend}): run and compile match PyTorch`, () => {
        const model = loadOnnx(readFileSync(`${dir}model.onnx`), { backend });
        expect(model.opset).toBe(manifest.opset);
        expect(model.inputs[0]!.name).toBe(manifest.input.name);
        const x = { shape: manifest.input.shape, data: floats(`${dir}${manifest.input.file}`) };
        const ref = floats(`${dir}${manifest.output.file}`);
        const out = model.run({ [manifest.input.name]: x });
        expectClose(out[manifest.output.name]!, ref, manifest.output.shape);
        const compiled = model.compile({ [manifest.input.name]: manifest.input.shape });
        for (let pass = 0; pass < 2; pass++) {
          const y = compiled.run({ [manifest.input.name]: x })[manifest.output.name]!;
          expectClose(y, ref, manifest.output.shape);
        }
        expectClose(compiled.run(x), ref, manifest.output.shape);
        compiled.dispose();
      });
    }
  }
});
