/**
 * Tensors: a shape and a contiguous, row-major (C order) Float32Array.
 *
 * Any plain object `{ shape, data }` of that form is accepted wherever a Tensor is, and so is a
 * scijs ndarray view (`{ data, shape, stride, offset }`), recognised structurally so that sepconv
 * never imports ndarray. Views that are not contiguous are gathered into a fresh array; the
 * caller's data is never written.
 */
import { checkElements, checkShapeElements, dataField, describeValue, MAX_DIMENSION, MAX_RANK, ownElement, readBoolean, readOptions } from './checks.js';


export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** The structural form of a scijs `ndarray` view. */
export interface NdArrayView {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  readonly offset: number;
}

export type TensorLike = Tensor | NdArrayView;

export { describeValue };

export interface AllocOptions {
  /** Allocate the data in a SharedArrayBuffer (for worker pools). */
  shared?: boolean;
}

/** Number of elements of a shape (1 for a scalar `[]`). */
export function shapeSize(shape: readonly number[]): number {
  checkShape(shape, 'shapeSize', 0, 'shapeSize: shape');
  let size = 1;
  for (let i = 0; i < shape.length; i++) size *= shape[i]!;
  return size;
}

const describe = describeValue;

/**
 * Throws unless `shape` is an array of integers from `min` to MAX_DIMENSION (own elements only:
 * a hole is not a dimension) with at most MAX_RANK of them. Messages call it `label` (by default
 * `<name>.shape`, a tensor's shape; pass the parameter's name for a bare shape argument). Tensors may have zero-size dimensions (`min` 0, as PyTorch's empty
 * batches); a shape an operation needs non-empty is checked with `min` 1.
 */
export function checkShape(shape: unknown, name: string, min: 0 | 1 = 1, label = `${name}.shape`): asserts shape is readonly number[] {
  if (!Array.isArray(shape)) {
    throw new TypeError(`${label} must be an array of ${min === 0 ? 'non-negative' : 'positive'} integers, got ${describe(shape)}`);
  }
  if (shape.length > MAX_RANK) throw new RangeError(`${label} must have at most ${MAX_RANK} dimensions, got ${shape.length}`);
  for (let i = 0; i < shape.length; i++) {
    const d = ownElement(shape, i);
    if (typeof d !== 'number') {
      throw new TypeError(`${label}[${i}] must be a ${min === 0 ? 'non-negative' : 'positive'} integer, got ${describe(d)} (shape ${describe(shape)})`);
    }
    if (!Number.isInteger(d) || d < min || d > MAX_DIMENSION) {
      throw new RangeError(
        `${label}[${i}] must be an integer from ${min} to ${MAX_DIMENSION}, got ${describe(d)} (shape ${describe(shape)})`,
      );
    }
  }
}

/** Wraps `data` (not copied when it is a Float32Array) as a tensor of the given shape. */
export function tensor(data: Float32Array | ArrayLike<number>, shape: readonly number[]): Tensor {
  checkShape(shape, 'tensor', 0);
  if (typeof data !== 'object' || data === null || typeof (data as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`tensor: data must be a Float32Array or an array of numbers, got ${describe(data)}`);
  }
  const size = checkShapeElements(shape, 'tensor');
  const length = (data as ArrayLike<number>).length;
  if (length !== size) {
    throw new RangeError(
      `tensor: data.length must equal the product of shape ${describe(shape)} = ${size}, got ${describe(length)}`,
    );
  }
  if (data instanceof Float32Array) return { shape: shape.slice(), data };
  // Checked before copying, so a string or an object in the data is reported, not turned into NaN.
  const source = data as ArrayLike<unknown>;
  for (let i = 0; i < size; i++) {
    const v = source[i];
    if (typeof v !== 'number') {
      throw new TypeError(`tensor: data[${i}] must be a number, got ${describe(v)}`);
    }
  }
  return { shape: shape.slice(), data: Float32Array.from(source as ArrayLike<number>) };
}

/** A new tensor of zeros; `{ shared: true }` puts it in a SharedArrayBuffer. */
export function zeros(shape: readonly number[], options: AllocOptions = {}): Tensor {
  checkShape(shape, 'zeros', 0);
  const o = readOptions(options, ['shared'], 'zeros');
  const shared = readBoolean(o.shared, 'zeros: options.shared', false);
  const size = checkShapeElements(shape, 'zeros');
  const data = shared
    ? new Float32Array(new SharedArrayBuffer(size * Float32Array.BYTES_PER_ELEMENT))
    : new Float32Array(size);
  return { shape: shape.slice(), data };
}

/** True when `x` has the structure of an ndarray view (an array `stride` and a number `offset`). */
export function isNdArrayView(x: unknown): x is NdArrayView {
  return typeof x === 'object' && x !== null && Array.isArray(dataField(x, 'stride')) && typeof dataField(x, 'offset') === 'number';
}

/** True when `x` carries a `stride` or `offset` field, i.e. the caller meant a view. */
function looksLikeView(x: object): boolean {
  return dataField(x, 'stride') !== undefined || dataField(x, 'offset') !== undefined;
}

/**
 * Checks that `x` is a tensor or ndarray view of float32 data with a valid shape, and returns a
 * contiguous tensor with the same values. A contiguous input is returned without copying.
 */
export function asTensor(x: unknown, name: string): Tensor {
  if (typeof name !== 'string') throw new TypeError(`asTensor: name must be a string, got ${describe(name)}`);
  if (typeof x !== 'object' || x === null) {
    throw new TypeError(`${name} must be a Tensor ({ shape, data: Float32Array }) or an ndarray view, got ${describe(x)}`);
  }
  const data = dataField(x, 'data');
  if (!(data instanceof Float32Array)) {
    throw new TypeError(`${name}.data must be a Float32Array, got ${describe(data)}`);
  }
  const shape = dataField(x, 'shape');
  checkShape(shape, name, 0);
  if (!looksLikeView(x)) {
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new RangeError(
        `${name}.data.length must equal the product of ${name}.shape ${describe(shape)} = ${size}, got ${data.length}`,
      );
    }
    return x as Tensor;
  }
  return gatherView(shape, dataField(x, 'stride'), dataField(x, 'offset'), data, name);
}

function gatherView(shape: readonly number[], strideValue: unknown, offset: unknown, data: Float32Array, name: string): Tensor {
  const rank = shape.length;
  if (!Array.isArray(strideValue) || strideValue.length !== rank) {
    throw new TypeError(`${name}.stride must be an array of ${rank} integers, got ${describe(strideValue)}`);
  }
  const stride: number[] = [];
  for (let i = 0; i < rank; i++) {
    const s = ownElement(strideValue, i);
    if (typeof s !== 'number' || !Number.isSafeInteger(s)) {
      throw new TypeError(`${name}.stride[${i}] must be an integer, got ${describe(s)} (stride ${describe(strideValue)})`);
    }
    stride.push(s);
  }
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) {
    throw new TypeError(`${name}.offset must be an integer, got ${describe(offset)}`);
  }
  // The lowest and highest addressed elements must lie inside data.
  // A view with a zero-size dimension addresses no element: it is empty whatever its strides.
  if (shape.includes(0)) return { shape: shape.slice(), data: new Float32Array(0) };
  let lo = offset;
  let hi = offset;
  for (let i = 0; i < rank; i++) {
    const span = stride[i]! * (shape[i]! - 1);
    if (span < 0) lo += span;
    else hi += span;
  }
  if (lo < 0 || hi >= data.length) {
    throw new RangeError(
      `${name}: the view (shape ${describe(shape)}, stride ${describe(stride)}, offset ${offset}) addresses elements ${lo}..${hi} outside data of length ${data.length}`,
    );
  }
  const size = shapeSize(shape);
  // Contiguous row-major views that start at 0 and cover all of data need no copy.
  let expected = 1;
  let contiguous = offset === 0 && data.length === size;
  for (let i = rank - 1; i >= 0 && contiguous; i--) {
    if (shape[i]! !== 1 && stride[i] !== expected) contiguous = false;
    expected *= shape[i]!;
  }
  if (contiguous) return { shape: shape.slice(), data };
  checkElements(size, `${name} (a strided view gathered into a contiguous copy)`);
  const out = new Float32Array(size);
  const index = new Array<number>(rank).fill(0);
  let src = offset;
  for (let flat = 0; flat < size; flat++) {
    out[flat] = data[src]!;
    // Odometer increment over the view's index, moving `src` by the matching stride.
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]!++;
      src += stride[axis]!;
      if (index[axis]! < shape[axis]!) break;
      src -= stride[axis]! * shape[axis]!;
      index[axis] = 0;
    }
  }
  return { shape: shape.slice(), data: out };
}

/** Whether two shapes are equal, dimension by dimension. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
