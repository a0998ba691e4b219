/**
 * Module backward against PyTorch 1.13 autograd (float64, stored as float32): BatchNorm2d in train
 * mode (test/fixtures/golden/batchnorm-train) and max / avg / adaptive-avg pooling
 * (test/fixtures/golden/pool-backward). The suites fail when a folder is missing.
 */
import { describe, expect, it } from 'vitest';
import { BatchNorm2d } from '../../src/layers/batchnorm.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from '../../src/layers/pooling.js';
import type { Module } from '../../src/layers/module.js';
import { expectClose, loadGoldenEntry, loadGoldenSet, type GoldenEntry } from '../helpers.js';


interface BatchNormCase {
  name: string;
  input: GoldenEntry;
  eps: number;
  momentum: number | null;
  affine: boolean;
  numBatchesTrackedBefore: number;
  runningMeanBefore: GoldenEntry;
  runningVarBefore: GoldenEntry;
  weight: GoldenEntry | null;
  bias: GoldenEntry | null;
  output: GoldenEntry;
  runningMeanAfter: GoldenEntry;
  runningVarAfter: GoldenEntry;
  numBatchesTrackedAfter: number;
  gradOutput: GoldenEntry;
  gradInput: GoldenEntry;
  gradWeight?: GoldenEntry | null;
  gradBias?: GoldenEntry | null;
}

describe('BatchNorm2d in train mode against PyTorch (golden batchnorm-train)', () => {
  const { dir, cases } = loadGoldenSet<BatchNormCase>('batchnorm-train');
  it('has the 16 cases', () => expect(cases.length).toBe(16));
  for (const c of cases) {
    it(c.name, () => {
      const input = loadGoldenEntry(dir, c.input);
      const bn = new BatchNorm2d(c.input.shape[1]!, { eps: c.eps, momentum: c.momentum, affine: c.affine }).train();
      bn.runningMean.data.set(loadGoldenEntry(dir, c.runningMeanBefore).data);
      bn.runningVar.data.set(loadGoldenEntry(dir, c.runningVarBefore).data);
      bn.numBatchesTracked.data[0] = BigInt(c.numBatchesTrackedBefore);
      if (c.weight) bn.weight!.data.set(loadGoldenEntry(dir, c.weight).data);
      if (c.bias) bn.bias!.data.set(loadGoldenEntry(dir, c.bias).data);
      const inputCopy = input.data.slice();
      const y = bn.forward(input);
      expectClose(y, loadGoldenEntry(dir, c.output), 1e-4, 'output');
      expectClose(bn.runningMean, loadGoldenEntry(dir, c.runningMeanAfter), 1e-4, 'running_mean');
      expectClose(bn.runningVar, loadGoldenEntry(dir, c.runningVarAfter), 1e-4, 'running_var');
      expect(bn.numBatchesTracked.data[0]).toBe(BigInt(c.numBatchesTrackedAfter));
      const dx = bn.backward(loadGoldenEntry(dir, c.gradOutput));
      expectClose(dx, loadGoldenEntry(dir, c.gradInput), 1e-4, 'gradInput');
      if (c.gradWeight) expectClose(bn.weight!.gradTensor(), loadGoldenEntry(dir, c.gradWeight), 1e-4, 'gradWeight');
      if (c.gradBias) expectClose(bn.bias!.gradTensor(), loadGoldenEntry(dir, c.gradBias), 1e-4, 'gradBias');
      expect(input.data).toEqual(inputCopy);
    });
  }
});

interface PoolCase {
  name: string;
  kind: 'max' | 'avg' | 'adaptive';
  kernelSize?: [number, number];
  stride?: [number, number];
  padding?: [number, number];
  dilation?: [number, number];
  ceilMode?: boolean;
  countIncludePad?: boolean;
  outputSize?: [number, number];
  input: GoldenEntry;
  output: GoldenEntry;
  gradOutput: GoldenEntry;
  gradInput: GoldenEntry;
}

function poolModule(c: PoolCase): Module {
  if (c.kind === 'max') {
    return new MaxPool2d({ kernelSize: c.kernelSize!, stride: c.stride!, padding: c.padding!, dilation: c.dilation!, ceilMode: c.ceilMode! });
  }
  if (c.kind === 'avg') {
    return new AvgPool2d({ kernelSize: c.kernelSize!, stride: c.stride!, padding: c.padding!, ceilMode: c.ceilMode!, countIncludePad: c.countIncludePad! });
  }
  return new AdaptiveAvgPool2d(c.outputSize!);
}

describe('pooling backward against PyTorch (golden pool-backward)', () => {
  const { dir, cases } = loadGoldenSet<PoolCase>('pool-backward');
  it('has the 24 cases', () => expect(cases.length).toBe(24));
  for (const c of cases) {
    it(c.name, () => {
      const pool = poolModule(c).train();
      const y = pool.forward(loadGoldenEntry(dir, c.input));
      expectClose(y, loadGoldenEntry(dir, c.output), 1e-4, 'output');
      const gradOutput = loadGoldenEntry(dir, c.gradOutput);
      const dx = pool.backward(gradOutput);
      expectClose(dx, loadGoldenEntry(dir, c.gradInput), 1e-4, 'gradInput');
      // A second step on the same shape reuses the buffers and gives the same gradient.
      pool.forward(loadGoldenEntry(dir, c.input));
      expectClose(pool.backward(gradOutput), loadGoldenEntry(dir, c.gradInput), 1e-4, 'gradInput, second step');
    });
  }
});
