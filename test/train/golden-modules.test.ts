/**
 * Module backward against PyTorch 1.13 autograd (float64, stored as float32): BatchNorm2d in train
 * mode (../shared/golden/batchnorm-train) and max / avg / adaptive-avg pooling
 * (../shared/golden/pool-backward). The suites fail when a folder is missing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatchNorm2d } from '../../src/layers/batchnorm.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from '../../src/layers/pooling.js';
import type { Module } from '../../src/layers/module.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose, readFloat32, SHARED_DIR } from '../helpers.js';

interface Entry { shape: number[]; file: string }

function manifest<T>(set: string): { dir: string; cases: T[] } {
  const dir = resolve(SHARED_DIR, 'golden', set);
  const path = resolve(dir, 'manifest.json');
  if (!existsSync(path)) throw new Error(`golden data not found at ${dir}; the repository expects ../shared beside it`);
  return { dir, cases: (JSON.parse(readFileSync(path, 'utf8')) as { cases: T[] }).cases };
}

function load(dir: string, entry: Entry): Tensor {
  return { shape: entry.shape, data: readFloat32(resolve(dir, entry.file)) };
}

interface BatchNormCase {
  name: string;
  input: Entry;
  eps: number;
  momentum: number | null;
  affine: boolean;
  numBatchesTrackedBefore: number;
  runningMeanBefore: Entry;
  runningVarBefore: Entry;
  weight: Entry | null;
  bias: Entry | null;
  output: Entry;
  runningMeanAfter: Entry;
  runningVarAfter: Entry;
  numBatchesTrackedAfter: number;
  gradOutput: Entry;
  gradInput: Entry;
  gradWeight?: Entry | null;
  gradBias?: Entry | null;
}

describe('BatchNorm2d in train mode against PyTorch (golden batchnorm-train)', () => {
  const { dir, cases } = manifest<BatchNormCase>('batchnorm-train');
  it('has the 16 cases', () => expect(cases.length).toBe(16));
  for (const c of cases) {
    it(c.name, () => {
      const input = load(dir, c.input);
      const bn = new BatchNorm2d(c.input.shape[1]!, { eps: c.eps, momentum: c.momentum, affine: c.affine }).train();
      bn.runningMean.data.set(load(dir, c.runningMeanBefore).data);
      bn.runningVar.data.set(load(dir, c.runningVarBefore).data);
      bn.numBatchesTracked.data[0] = BigInt(c.numBatchesTrackedBefore);
      if (c.weight) bn.weight!.data.set(load(dir, c.weight).data);
      if (c.bias) bn.bias!.data.set(load(dir, c.bias).data);
      const inputCopy = input.data.slice();
      const y = bn.forward(input);
      expectClose(y, load(dir, c.output), 1e-4, 'output');
      expectClose(bn.runningMean, load(dir, c.runningMeanAfter), 1e-4, 'running_mean');
      expectClose(bn.runningVar, load(dir, c.runningVarAfter), 1e-4, 'running_var');
      expect(bn.numBatchesTracked.data[0]).toBe(BigInt(c.numBatchesTrackedAfter));
      const dx = bn.backward(load(dir, c.gradOutput));
      expectClose(dx, load(dir, c.gradInput), 1e-4, 'gradInput');
      if (c.gradWeight) expectClose(bn.weight!.gradTensor(), load(dir, c.gradWeight), 1e-4, 'gradWeight');
      if (c.gradBias) expectClose(bn.bias!.gradTensor(), load(dir, c.gradBias), 1e-4, 'gradBias');
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
  input: Entry;
  output: Entry;
  gradOutput: Entry;
  gradInput: Entry;
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
  const { dir, cases } = manifest<PoolCase>('pool-backward');
  it('has the 24 cases', () => expect(cases.length).toBe(24));
  for (const c of cases) {
    it(c.name, () => {
      const pool = poolModule(c).train();
      const y = pool.forward(load(dir, c.input));
      expectClose(y, load(dir, c.output), 1e-4, 'output');
      const gradOutput = load(dir, c.gradOutput);
      const dx = pool.backward(gradOutput);
      expectClose(dx, load(dir, c.gradInput), 1e-4, 'gradInput');
      // A second step on the same shape reuses the buffers and gives the same gradient.
      pool.forward(load(dir, c.input));
      expectClose(pool.backward(gradOutput), load(dir, c.gradInput), 1e-4, 'gradInput, second step');
    });
  }
});
