/** Every onnxruntime-generated case in test/fixtures/golden/conv2d, through every entry point it fits. */
import { describe, it, expect } from 'vitest';
import { conv2d, depthwiseConv2d, pointwiseConv2d, referenceConv2d, selectKernelPath, conv2dGeometry } from '../src/index.js';
import type { Conv2dOptions } from '../src/index.js';
import { expectClose, loadGoldenCases, loadGoldenTensor } from './helpers.js';

const manifest = { cases: loadGoldenCases() };
const load = loadGoldenTensor;

describe('golden conv2d cases (onnxruntime oracle)', () => {
  it('has the cases', () => {
    expect(manifest.cases.length).toBeGreaterThanOrEqual(40);
  });
  for (const c of manifest.cases) {
    const options: Conv2dOptions = {
      stride: c.stride,
      padding: c.padding,
      dilation: c.dilation,
      groups: c.groups,
      paddingMode: c.paddingMode,
    };
    const input = load(c.input);
    const weight = load(c.weight);
    const bias = c.bias ? load(c.bias).data : null;
    const expected = load(c.output);
    const path = selectKernelPath(conv2dGeometry(c.input.shape, c.weight.shape, options));
    it(`${c.name} via conv2d [${path}]`, () => {
      expectClose(conv2d(input, weight, { ...options, bias }), expected, 1e-4, c.name);
    });
    it(`${c.name} via conv2d with fused relu6 = clamp(oracle, 0, 6)`, () => {
      const clamped = { shape: expected.shape, data: expected.data.map((v) => Math.min(6, Math.max(0, v))) };
      expectClose(conv2d(input, weight, { ...options, bias, activation: 'relu6' }), clamped, 1e-4, c.name);
    });
    it(`${c.name} via referenceConv2d`, () => {
      expectClose(referenceConv2d(input, weight, { ...options, bias }), expected, 1e-4, c.name);
    });
    const cin = c.input.shape[1]!;
    if (c.groups === cin && c.weight.shape[1] === 1) {
      it(`${c.name} via depthwiseConv2d`, () => {
        const { groups: _groups, ...rest } = options;
        expectClose(depthwiseConv2d(input, weight, { ...rest, bias }), expected, 1e-4, c.name);
      });
    }
    const { top, bottom, left, right } = c.padding;
    if (c.weight.shape[2] === 1 && c.weight.shape[3] === 1 && top + bottom + left + right === 0) {
      it(`${c.name} via pointwiseConv2d`, () => {
        const w2d = { shape: [c.weight.shape[0]!, c.weight.shape[1]!], data: weight.data };
        expectClose(pointwiseConv2d(input, w2d, { stride: c.stride, groups: c.groups, bias }), expected, 1e-4, c.name);
      });
    }
  }
});
