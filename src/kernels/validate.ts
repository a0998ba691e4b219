/**
 * Validation of a conv2d call: everything is checked, and every problem reported with the
 * parameter's name, the value received and what was expected, before any work is done.
 */
import { checkBackendChoice, type BackendChoice } from '../checks.js';
import { asTensor, describeValue, type Tensor, type TensorLike } from '../tensor.js';
import { ACTIVATIONS, activationCode, type Activation } from '../epilogue.js';
import { checkShapeElements, dataField, readOptions } from '../checks.js';
import { conv2dGeometry, type Conv2dGeometry, type GeometryOptions } from '../geometry.js';

// The shared checks (bounded descriptions, own-property option reading, typed readers, size
// limits) live in checks.ts, which imports nothing; every module may import them from here.
export {
  allocFloat32, checkElements, checkOptionNames, checkShapeElements, dataField, describeKey, describeValue, isOptionsObject,
  MAX_DIMENSION, MAX_ELEMENTS, MAX_POOL_THREADS, MAX_THREADS_PER_CORE, ownElement, ownProperty, readBoolean, readEnum, readInteger, readNumber,
  readOptions,
} from '../checks.js';
export type { NumberRange } from '../checks.js';

export interface Conv2dOptions extends GeometryOptions {
  bias?: Float32Array | TensorLike | null;
  /** Fused into the output write, after the bias. */
  activation?: Activation;
  /** Write into this preallocated output (it must not share memory with the inputs) and return it. */
  out?: Tensor;
  /** Kernel tier for this call: 'wasm', 'js' or 'auto' (default: the one set with setBackend). */
  backend?: BackendChoice;
}

export const CONV2D_OPTION_NAMES: readonly string[] = ['bias', 'stride', 'padding', 'dilation', 'groups', 'paddingMode', 'activation', 'out', 'backend'];

/** A validated call: contiguous tensors, the resolved geometry, the epilogue. */
export interface Conv2dCall {
  readonly geometry: Conv2dGeometry;
  readonly input: Tensor;
  readonly weight: Tensor;
  readonly bias: Float32Array | null;
  readonly act: number;
  /** The caller's `out`, or null to allocate one. */
  readonly out: Tensor | null;
  /** The call's `backend` option (undefined: the global choice). */
  readonly backend?: BackendChoice;
}

function sharesMemory(a: Float32Array, b: Float32Array): boolean {
  if (a.buffer !== b.buffer) return false;
  const aEnd = a.byteOffset + a.byteLength;
  const bEnd = b.byteOffset + b.byteLength;
  return a.byteOffset < bEnd && b.byteOffset < aEnd;
}

export function resolveBias(bias: unknown, outChannels: number, name = 'bias'): Float32Array | null {
  if (bias === undefined || bias === null) return null;
  let data: Float32Array;
  if (bias instanceof Float32Array) data = bias;
  else if (typeof bias === 'object' && bias !== null && dataField(bias, 'data') !== undefined) {
    const t = asTensor(bias, name);
    if (t.shape.length !== 1) throw new RangeError(`${name} must be 1-D [Cout], got shape ${describeValue(t.shape)}`);
    data = t.data;
  } else {
    throw new TypeError(`${name} must be a Float32Array, a 1-D Tensor or null, got ${describeValue(bias)}`);
  }
  if (data.length !== outChannels) {
    throw new RangeError(`${name} length must equal out_channels = ${outChannels}, got ${data.length}`);
  }
  return data;
}

export function resolveActivation(activation: unknown): number {
  if (activation === undefined) return 0;
  if (!ACTIVATIONS.includes(activation as Activation)) {
    throw new RangeError(`activation must be one of ${ACTIVATIONS.map((a) => `'${a}'`).join(', ')}, got ${describeValue(activation)}`);
  }
  return activationCode(activation as Activation);
}

/**
 * The caller's own backing array of a tensor, view or bias argument (before any gathering copy),
 * so that aliasing is judged on the memory the caller handed in.
 */
export function callerData(x: unknown): Float32Array | null {
  if (x instanceof Float32Array) return x;
  if (typeof x === 'object' && x !== null) {
    const data = dataField(x, 'data');
    if (data instanceof Float32Array) return data;
  }
  return null;
}

/**
 * Checks `out` against the expected shape and that it shares no memory with any of `inputs`
 * (named in the same order by `names`). A contiguous ndarray view that covers all of its data is
 * accepted and returned as is, so the caller gets back the very object passed.
 */
export function checkOut(
  out: unknown,
  expectedShape: readonly number[],
  inputs: readonly (Float32Array | null)[],
  names: readonly string[] = ['input', 'weight', 'bias'],
): Tensor {
  const t = asTensor(out, 'out');
  if (t.data !== (out as Tensor).data) {
    throw new TypeError(
      `out must be a contiguous Tensor ({ shape, data: Float32Array }) covering all of its data, got a strided or offset view (shape ${describeValue(t.shape)})`,
    );
  }
  if (t.shape.length !== expectedShape.length || t.shape.some((d, i) => d !== expectedShape[i])) {
    throw new RangeError(`out.shape must be ${describeValue(expectedShape)}, got ${describeValue(t.shape)}`);
  }
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i];
    if (input && sharesMemory(t.data, input)) {
      const name = names[i] ?? 'an input';
      throw new RangeError(
        `out must not share memory with ${name}: out.data overlaps ${name}.data (sepconv does not compute in place); pass a separate out`,
      );
    }
  }
  return out as Tensor;
}

/** Validates a whole `conv2d(input, weight, options)` call. */
export function validateConv2d(input: unknown, weight: unknown, options: Conv2dOptions | undefined, fn = 'conv2d'): Conv2dCall {
  // Own properties only: nothing inherited (a polluted Object.prototype included) is an option.
  const opts = readOptions<Conv2dOptions>(options, CONV2D_OPTION_NAMES, fn);
  const x = asTensor(input, 'input');
  const w = asTensor(weight, 'weight');
  const geometry = conv2dGeometry(x.shape, w.shape, opts);
  if (opts.out === undefined || opts.out === null) checkShapeElements(geometry.outputShape, `${fn} output`);
  const bias = resolveBias(opts.bias, geometry.outChannels);
  const act = resolveActivation(opts.activation);
  const out =
    opts.out === undefined || opts.out === null
      ? null
      : checkOut(opts.out, geometry.outputShape, [callerData(input), callerData(weight), callerData(opts.bias)]);
  const backend = opts.backend === undefined ? undefined : checkBackendChoice(opts.backend, 'backend');
  return { geometry, input: x, weight: w, bias, act, out, backend };
}

/** The output tensor of a call: the caller's `out`, or a new one. */
export function outputFor(call: Conv2dCall): Tensor {
  if (call.out) return call.out;
  const shape = call.geometry.outputShape;
  return { shape: shape.slice(), data: new Float32Array(checkShapeElements(shape, 'output')) };
}
