/** Every PyTorch-autograd case of test/fixtures/golden/conv2d-backward, through conv2dBackward and the reference. */
import { describe, expect, it } from 'vitest';
import { conv2d, conv2dBackward, conv2dGeometry, referenceConv2dBackward } from '../src/index.js';
import type { Conv2dBackwardOptions, Tensor } from '../src/index.js';
import { backwardSetup } from '../src/kernels/dispatch-backward.js';
import { expectClose, loadGoldenEntry, loadGoldenSet, type GoldenEntry } from './helpers.js';

interface BackwardCase {
  name: string;
  input: GoldenEntry;
  weight: GoldenEntry;
  bias: GoldenEntry | null;
  stride: [number, number];
  padding: { top: number; bottom: number; left: number; right: number };
  dilation: [number, number];
  groups: number;
  paddingMode: 'zeros' | 'reflect' | 'replicate' | 'circular';
  output: GoldenEntry;
  gradOutput: GoldenEntry;
  gradInput: GoldenEntry;
  gradWeight: GoldenEntry;
  gradBias: GoldenEntry | null;
}

const { dir, cases } = loadGoldenSet<BackwardCase>('conv2d-backward');

describe('golden conv2d-backward cases (PyTorch autograd oracle)', () => {
  it('has all 65 cases', () => {
    expect(cases.length).toBe(65);
  });
  for (const c of cases) {
    const load = (e: GoldenEntry): Tensor => loadGoldenEntry(dir, e);
    const options: Conv2dBackwardOptions = {
      stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, paddingMode: c.paddingMode,
    };
    const input = load(c.input);
    const weight = load(c.weight);
    const bias = c.bias ? load(c.bias).data : null;
    const gradOutput = load(c.gradOutput);
    const path = backwardSetup(conv2dGeometry(c.input.shape, c.weight.shape, options)).path;
    it(`${c.name} [${path}]`, () => {
      expectClose(conv2d(input, weight, { ...options, bias }), load(c.output), 1e-4, `${c.name} forward`);
      const grads = conv2dBackward(gradOutput, input, weight, { ...options, bias, needs: { bias: bias !== null } });
      expectClose(grads.gradInput!, load(c.gradInput), 1e-4, `${c.name} gradInput`);
      expectClose(grads.gradWeight!, load(c.gradWeight), 1e-4, `${c.name} gradWeight`);
      if (c.gradBias) expectClose(grads.gradBias!, load(c.gradBias), 1e-4, `${c.name} gradBias`);
      else expect(grads.gradBias).toBeNull();
    });
    it(`${c.name} via referenceConv2dBackward`, () => {
      const grads = referenceConv2dBackward(gradOutput, input, weight, options);
      expectClose(grads.gradInput!, load(c.gradInput), 1e-4, `${c.name} gradInput`);
      expectClose(grads.gradWeight!, load(c.gradWeight), 1e-4, `${c.name} gradWeight`);
      if (c.gradBias) expectClose(grads.gradBias!, load(c.gradBias), 1e-4, `${c.name} gradBias`);
    });
  }
});
