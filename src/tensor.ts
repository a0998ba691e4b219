/**
 * Tensors: a shape and a contiguous, row-major (C order) Float32Array.
 *
 * Any plain object `{ shape, data }` of that form is accepted wherever a Tensor is, and so is a
 * scijs ndarray view (`{ data, shape, stride, offset }`), recognised structurally so that sepconv
 * never imports ndarray. Views that are not contiguous are gathered into a fresh array; the
 * caller's data is never written.
 */

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

export interface AllocOptions {
  /** Allocate the data in a SharedArrayBuffer (for worker pools). */
  shared?: boolean;
}

/** Number of elements of a shape (1 for a scalar `[]`). */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (let i = 0; i < shape.length; i++) size *= shape[i]!;
  return size;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') {
    const ctor = (value as object).constructor;
    return ctor && ctor.name && ctor.name !== 'Object' ? ctor.name : 'object';
  }
  return String(value);
}

/** A short, readable rendering of a received value for error messages. */
export function describeValue(value: unknown): string {
  return describe(value);
}

/** Throws unless every dimension is a positive integer. */
export function checkShape(shape: unknown, name: string): asserts shape is readonly number[] {
  if (!Array.isArray(shape)) {
    throw new TypeError(`${name}.shape must be an array of positive integers, got ${describe(shape)}`);
  }
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) {
      throw new RangeError(
        `${name}.shape[${i}] must be a positive integer, got ${describe(d)} (shape ${describe(shape)})`,
      );
    }
  }
}

/** Wraps `data` (not copied when it is a Float32Array) as a tensor of the given shape. */
export function tensor(data: Float32Array | ArrayLike<number>, shape: readonly number[]): Tensor {
  checkShape(shape, 'tensor');
  if (typeof data !== 'object' || data === null || typeof (data as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`tensor: data must be a Float32Array or an array of numbers, got ${describe(data)}`);
  }
  const array = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
  const size = shapeSize(shape);
  if (array.length !== size) {
    throw new RangeError(
      `tensor: data.length must equal the product of shape ${describe(shape)} = ${size}, got ${array.length}`,
    );
  }
  return { shape: shape.slice(), data: array };
}

/** A new tensor of zeros; `{ shared: true }` puts it in a SharedArrayBuffer. */
export function zeros(shape: readonly number[], options: AllocOptions = {}): Tensor {
  checkShape(shape, 'zeros');
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`zeros: options must be an object like { shared: true }, got ${describe(options)}`);
  }
  const size = shapeSize(shape);
  const data = options.shared
    ? new Float32Array(new SharedArrayBuffer(size * Float32Array.BYTES_PER_ELEMENT))
    : new Float32Array(size);
  return { shape: shape.slice(), data };
}

export function isNdArrayView(x: unknown): x is NdArrayView {
  return (
    typeof x === 'object' &&
    x !== null &&
    Array.isArray((x as NdArrayView).stride) &&
    typeof (x as NdArrayView).offset === 'number'
  );
}

/**
 * Checks that `x` is a tensor or ndarray view of float32 data with a valid shape, and returns a
 * contiguous tensor with the same values. A contiguous input is returned without copying.
 */
export function asTensor(x: unknown, name: string): Tensor {
  if (typeof x !== 'object' || x === null) {
    throw new TypeError(`${name} must be a Tensor ({ shape, data: Float32Array }) or an ndarray view, got ${describe(x)}`);
  }
  const candidate = x as { shape?: unknown; data?: unknown };
  if (!(candidate.data instanceof Float32Array)) {
    throw new TypeError(`${name}.data must be a Float32Array, got ${describe(candidate.data)}`);
  }
  checkShape(candidate.shape, name);
  const shape = candidate.shape;
  const data = candidate.data;
  if (!isNdArrayView(x)) {
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new RangeError(
        `${name}.data.length must equal the product of ${name}.shape ${describe(shape)} = ${size}, got ${data.length}`,
      );
    }
    return x as Tensor;
  }
  return gatherView(x, name);
}

function gatherView(view: NdArrayView, name: string): Tensor {
  const { shape, stride, offset, data } = view;
  const rank = shape.length;
  if (stride.length !== rank || !stride.every((s) => Number.isInteger(s))) {
    throw new TypeError(`${name}.stride must be ${rank} integers, got ${describe(stride)}`);
  }
  if (!Number.isInteger(offset)) throw new TypeError(`${name}.offset must be an integer, got ${describe(offset)}`);
  // The lowest and highest addressed elements must lie inside data.
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
