/**
 * The values that flow through an imported graph. Float tensors are sepconv Tensors (float32,
 * computed in float64 and rounded, as everywhere in sepconv). Integer tensors — shapes, indices,
 * axes — stay integers: every ONNX integer type is held as exact JS numbers in a Float64Array
 * (exact to 2^53; the INT64 sentinels Slice uses become the nearest double, which clamps the
 * same). Booleans are 0/1 bytes.
 */
import { MAX_ELEMENTS } from '../checks.js';

export type DType = 'float32' | 'int64' | 'bool';

export type OValue =
  | { readonly dtype: 'float32'; readonly shape: readonly number[]; readonly data: Float32Array }
  | { readonly dtype: 'int64'; readonly shape: readonly number[]; readonly data: Float64Array }
  | { readonly dtype: 'bool'; readonly shape: readonly number[]; readonly data: Uint8Array };

export type FloatValue = Extract<OValue, { dtype: 'float32' }>;
export type IntValue = Extract<OValue, { dtype: 'int64' }>;

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A new zero-filled value of `dtype` and `shape` (the element count checked against sepconv's limit). */
export function allocValue(dtype: DType, shape: readonly number[], what: string): OValue {
  const n = sizeOf(shape);
  if (!(n <= MAX_ELEMENTS)) {
    throw new RangeError(`onnx: ${what} of shape [${shape.join(', ')}] would need ${n} elements, over sepconv's limit of ${MAX_ELEMENTS} per tensor`);
  }
  if (dtype === 'float32') return { dtype, shape: shape.slice(), data: new Float32Array(n) };
  if (dtype === 'int64') return { dtype, shape: shape.slice(), data: new Float64Array(n) };
  return { dtype, shape: shape.slice(), data: new Uint8Array(n) };
}

/** The same data under another shape (a view: nothing is copied). */
export function withShape(v: OValue, shape: readonly number[]): OValue {
  return { dtype: v.dtype, shape: shape.slice(), data: v.data } as OValue;
}

export function intValue(values: readonly number[], shape: readonly number[] = [values.length]): IntValue {
  return { dtype: 'int64', shape: shape.slice(), data: Float64Array.from(values) };
}

export function floatValue(values: ArrayLike<number>, shape: readonly number[]): FloatValue {
  return { dtype: 'float32', shape: shape.slice(), data: Float32Array.from(values) };
}

/** Row-major strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** numpy broadcasting of several shapes, or null when they do not broadcast. */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] | null {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const axis = rank - s.length + i;
      const d = s[i]!;
      const cur = out[axis]!;
      if (cur === d || d === 1) continue;
      if (cur === 1) out[axis] = d;
      else return null;
    }
  }
  // A 0-size dimension broadcast against 1 stays 0 (handled above: cur 1 takes d = 0).
  return out;
}

/**
 * For each output element of a broadcast, the flat index into an input of `shape`: strides of
 * the input aligned to the output rank, 0 on broadcast axes.
 */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const strides = stridesOf(shape);
  const out = new Array<number>(rank).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const axis = rank - shape.length + i;
    out[axis] = shape[i] === 1 && outShape[axis] !== 1 ? 0 : strides[i]!;
  }
  return out;
}

/** Shape text for messages. */
export function shapeText(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}
