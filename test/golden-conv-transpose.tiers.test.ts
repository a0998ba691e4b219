/** Every PyTorch case of test/fixtures/golden/conv-transpose2d: forward, and backward through convTranspose2dBackward. */
import { describe, expect, it } from 'vitest';
import { convTranspose2d, convTranspose2dBackward } from '../src/index.js';
import type { ConvTranspose2dOptions, Tensor } from '../src/index.js';
import { expectClose, loadGoldenEntry, loadGoldenSet, type GoldenEntry } from './helpers.js';

interface TransposeCase {
  name: string;
  input: GoldenEntry;
  weight: GoldenEntry;
  bias: GoldenEntry | null;
  stride: [number, number];
  padding: [number, number];
  outputPadding: [number, number];
  dilation: [number, number];
  groups: number;
  output: GoldenEntry;
  gradOutput: GoldenEntry;
  gradInput: GoldenEntry;
  gradWeight: GoldenEntry;
  gradBias: GoldenEntry | null;
}

const { dir, cases } = loadGoldenSet<TransposeCase>('conv-transpose2d');

describe('golden conv-transpose2d cases (PyTorch oracle)', () => {
  it('has all 30 cases', () => {
    expect(cases.length).toBe(30);
  });
  for (const c of cases) {
    const load = (e: GoldenEntry): Tensor => loadGoldenEntry(dir, e);
    const options: ConvTranspose2dOptions = {
      stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, dilation: c.dilation, groups: c.groups,
    };
    it(c.name, () => {
      const input = load(c.input);
      const weight = load(c.weight);
      const bias = c.bias ? load(c.bias).data : null;
      expectClose(convTranspose2d(input, weight, { ...options, bias }), load(c.output), 1e-4, `${c.name} forward`);
      const grads = convTranspose2dBackward(load(c.gradOutput), input, weight, { ...options, bias, needs: { bias: bias !== null } });
      expectClose(grads.gradInput!, load(c.gradInput), 1e-4, `${c.name} gradInput`);
      expectClose(grads.gradWeight!, load(c.gradWeight), 1e-4, `${c.name} gradWeight`);
      if (c.gradBias) expectClose(grads.gradBias!, load(c.gradBias), 1e-4, `${c.name} gradBias`);
      else expect(grads.gradBias).toBeNull();
    });
  }
});
