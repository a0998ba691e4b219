/** Building one-node (or small) ONNX models in tests, and running them every way sepconv can. */
import { expect } from 'vitest';
import { loadOnnx, type Tensor } from '../../src/index.js';
import { encodeModel, type EncodedAttribute, type EncodedNode, type EncodedTensor } from '../../src/onnx/encode.js';

/** An integer constant input (an int64 initializer). */
export interface IntInput {
  readonly ints: readonly number[];
  readonly shape?: readonly number[];
}

/** A float constant input (an initializer rather than a graph input). */
export interface ConstInput {
  readonly constant: Tensor;
}

export type OpInput = Tensor | IntInput | ConstInput | null;

export function isInt(x: OpInput): x is IntInput {
  return x !== null && 'ints' in x;
}

/** Deterministic values in [-1, 1]. */
export function seeded(n: number, seed = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

export function randomTensor(shape: readonly number[], seed = 1): Tensor {
  return { shape: shape.slice(), data: seeded(shape.reduce((a, b) => a * b, 1), seed) };
}

/** A model of one node: float tensors become graph inputs x0, x1, ...; the rest initializers. */
export function opModel(op: string, inputs: readonly OpInput[], attributes: Record<string, EncodedAttribute> = {}, opset = 17, outputs = 1, extraNodes: EncodedNode[] = []): Uint8Array {
  const names: string[] = [];
  const initializers: EncodedTensor[] = [];
  const graphInputs: { name: string; shape: number[] }[] = [];
  inputs.forEach((x, i) => {
    if (x === null) {
      names.push('');
      return;
    }
    const name = `x${i}`;
    names.push(name);
    if (isInt(x)) initializers.push({ name, dims: x.shape ?? [x.ints.length], data: x.ints, type: 'int64' });
    else if ('constant' in x) initializers.push({ name, dims: x.constant.shape, data: x.constant.data });
    else graphInputs.push({ name, shape: x.shape.slice() });
  });
  const outs = Array.from({ length: outputs }, (_, k) => `y${k}`);
  return encodeModel({
    opset,
    nodes: [{ op, inputs: names, outputs: outs, attributes }, ...extraNodes],
    initializers,
    inputs: graphInputs,
    outputs: outs.map((name) => ({ name, shape: [] })),
  });
}

/**
 * Runs a model through `run` on both tiers and through `compile` (twice, the buffers reused),
 * checks they agree, and returns the run outputs by name.
 */
export function runEveryWay(bytes: Uint8Array, feeds: Record<string, Tensor>): Record<string, Tensor> {
  const results: Record<string, Tensor>[] = [];
  for (const backend of ['js', 'wasm'] as const) {
    const model = loadOnnx(bytes, { backend });
    results.push(model.run(feeds));
    const shapes = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, t.shape]));
    const compiled = model.compile(shapes);
    compiled.run(feeds);
    const again = compiled.run(feeds);
    results.push(Object.fromEntries(Object.entries(again).map(([k, t]) => [k, { shape: t.shape.slice(), data: t.data.slice() }])));
    compiled.dispose();
  }
  const first = results[0]!;
  for (const other of results.slice(1)) {
    for (const [k, t] of Object.entries(first)) {
      expect(other[k]!.shape).toEqual(t.shape);
      expectClose(other[k]!, t.data, 1e-5);
    }
  }
  return first;
}

/** Runs a one-node model every way; float inputs are fed by position. */
export function runOp(op: string, inputs: readonly OpInput[], attributes: Record<string, EncodedAttribute> = {}, opset = 17, outputs = 1): Tensor[] {
  const feeds: Record<string, Tensor> = {};
  inputs.forEach((x, i) => {
    if (x !== null && !isInt(x) && !('constant' in x)) feeds[`x${i}`] = x;
  });
  const out = runEveryWay(opModel(op, inputs, attributes, opset, outputs), feeds);
  return Array.from({ length: outputs }, (_, k) => out[`y${k}`]!);
}

export function expectClose(y: Tensor, ref: ArrayLike<number>, tolerance = 1e-4): void {
  expect(y.data.length).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const d = Math.abs(y.data[i]! - r);
    if (!(d <= tolerance * (1 + Math.abs(r))) && !(Number.isNaN(r) && Number.isNaN(y.data[i]!))) {
      throw new Error(`element ${i}: got ${y.data[i]}, expected ${r} (shape [${y.shape.join(', ')}])`);
    }
  }
}

/** Row-major index helpers for references. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i]!;
    flat = Math.floor(flat / shape[i]!);
  }
  return idx;
}
