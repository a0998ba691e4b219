/**
 * model.compile(shape, { backend }): every planned convolution runs on the chosen tier, whatever
 * the global choice, and the compiled output is bitwise the forward pass of that tier.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { getBackend, setBackend } from '../../src/ops/backend.js';
import { mobilenetV1 } from '../../src/layers/models/mobilenet.js';
import { Conv2d } from '../../src/layers/conv.js';
import { Sequential } from '../../src/layers/sequential.js';
import { randomTensor, rng } from '../helpers.js';

describe('compile(shape, { backend })', () => {
  let previous = getBackend();
  afterEach(async () => {
    await setBackend(previous);
  });

  it('plans every convolution on the chosen tier: bitwise the forward of that tier, whichever tier is global', async () => {
    previous = getBackend();
    // Convolutions only (the 3×3, 1×1 GEMM and depthwise paths), so nothing saturates the output.
    const model = new Sequential(
      new Conv2d({ inChannels: 3, outChannels: 16, kernelSize: 3, padding: 1, seed: 1 }),
      new Conv2d({ inChannels: 16, outChannels: 32, kernelSize: 1, seed: 2 }),
      new Conv2d({ inChannels: 32, outChannels: 32, kernelSize: 3, padding: 1, groups: 32, seed: 3 }),
    );
    const x = randomTensor([1, 3, 64, 64], rng(4));
    await setBackend('js');
    const jsForward = model.forward(x).data.slice();
    await setBackend('wasm');
    const wasmForward = model.forward(x).data.slice();
    // The tiers round differently (float64 vs float32 sums), which is what makes the check below meaningful.
    expect(jsForward).not.toEqual(wasmForward);
    const onJs = model.compile([1, 3, 64, 64], { backend: 'js' });
    expect(onJs.backend).toBe('js');
    expect(onJs.run(x).data).toEqual(jsForward);
    await setBackend('js');
    expect(model.compile([1, 3, 64, 64], { backend: 'wasm' }).run(x).data).toEqual(wasmForward);
    expect(model.compile([1, 3, 64, 64]).run(x).data).toEqual(jsForward);
  });

  it('rejects a bad backend or an unknown option before planning', () => {
    const model = mobilenetV1({ widthMultiplier: 0.25, numClasses: 10, seed: 2 });
    expect(() => model.compile([1, 3, 32, 32], { backend: 'gpu' as never })).toThrow(/compile: backend must be one of 'auto', 'wasm', 'js'/);
    expect(() => model.compile([1, 3, 32, 32], { backnd: 'js' } as never)).toThrow(/backnd/);
  });
});
