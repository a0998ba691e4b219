/**
 * A compiled ONNX model allocates no typed array per run (its activations come from the compile's
 * memory, reused): counted by wrapping the typed-array constructors around steady-state runs.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { exportOnnx, loadOnnx, mobilenetV3Small, shufflenetV2, type Tensor } from '../../src/index.js';
import { randomTensor } from './build.js';
import { sharedData } from '../helpers.js';

const TYPED = ['Float32Array', 'Float64Array', 'Int32Array', 'Uint32Array', 'Int16Array', 'Uint16Array', 'Int8Array', 'Uint8Array', 'BigInt64Array', 'ArrayBuffer'] as const;

/** Typed arrays (and buffers) constructed while `fn` runs. */
function countAllocations(fn: () => void): number {
  let count = 0;
  const global = globalThis as unknown as Record<string, new (...args: unknown[]) => object>;
  const saved = new Map<string, new (...args: unknown[]) => object>();
  for (const name of TYPED) {
    const ctor = global[name]!;
    saved.set(name, ctor);
    global[name] = new Proxy(ctor, {
      construct(target, args: unknown[]) {
        count++;
        return Reflect.construct(target, args);
      },
    });
  }
  try {
    fn();
  } finally {
    for (const [name, ctor] of saved) global[name] = ctor;
  }
  return count;
}

const lraspp = sharedData('golden/onnx/lraspp_mobilenet_v3_large_op13');

describe('compiled ONNX models allocate nothing per run', () => {
  const cases: [string, () => Uint8Array, number[], boolean][] = [
    ['MobileNetV3-Small (SE, hardswish, residuals)', () => exportOnnx(mobilenetV3Small({ numClasses: 10, seed: 1 }).eval(), [1, 3, 64, 64]), [1, 3, 64, 64], true],
    ['ShuffleNetV2 (split views, concat + shuffle)', () => exportOnnx(shufflenetV2({ width: 0.5, numClasses: 10, seed: 1 }).eval(), [1, 3, 64, 64]), [1, 3, 64, 64], true],
    [`LR-ASPP export (Resize, Concat, Slice) ${lraspp.needs}`, () => readFileSync(resolve(lraspp.path, 'model.onnx')), [1, 3, 128, 128], lraspp.present],
  ];
  for (const [name, bytes, shape, present] of cases) {
    for (const backend of ['js', 'wasm'] as const) {
      it.skipIf(!present)(`${name} (${backend})`, () => {
        const model = loadOnnx(bytes(), { backend });
        const compiled = model.compile({ input: shape });
        const x = randomTensor(shape, 3);
        const first = compiled.run({ input: x }).output!.data.slice();
        compiled.run({ input: x }); // plans pack their weights on the first runs
        let y: Tensor | undefined;
        const allocations = countAllocations(() => {
          for (let k = 0; k < 3; k++) y = compiled.run({ input: x }).output!;
        });
        expect(allocations).toBe(0);
        // The counter sees allocations: the uncompiled run makes its outputs anew.
        expect(countAllocations(() => void model.run({ input: x }))).toBeGreaterThan(0);
        expect(Array.from(y!.data)).toEqual(Array.from(first));
      });
    }
  }
});
