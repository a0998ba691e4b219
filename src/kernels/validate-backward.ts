/**
 * Validation of a `conv2dBackward(gradOutput, input, weight, options)` call: the forward's checks
 * (validate.ts, geometry.ts) plus the gradient's own (gradOutput's shape, `needs`, the
 * preallocated gradient outputs), all made before any work or allocation.
 */
import { asTensor, describeValue, type Tensor, type TensorLike } from '../tensor.js';
import { checkBackendChoice, type BackendChoice } from '../checks.js';
import type { Activation } from '../epilogue.js';
import { conv2dGeometry, type Conv2dGeometry, type GeometryOptions } from '../geometry.js';
import { readBoolean, readOptions } from '../checks.js';
import { callerData, checkOut, resolveBias } from './validate.js';
import { sameShape } from '../tensor.js';

/** Which gradients to compute; each defaults to true. A gradient not needed is returned as null. */
export interface Conv2dBackwardNeeds {
  input?: boolean;
  weight?: boolean;
  bias?: boolean;
}

export interface Conv2dBackwardOptions extends GeometryOptions {
  /**
   * The forward's bias. Accepted (and checked: length Cout) so the forward call's options can be
   * passed unchanged; no gradient depends on its value.
   */
  bias?: Float32Array | TensorLike | null;
  /**
   * Only `'none'`: the gradient of a fused activation needs the forward's output, so apply the
   * activation's gradient to `gradOutput` first.
   */
  activation?: Activation;
  needs?: Conv2dBackwardNeeds;
  /**
   * The tier, as conv2d's option (default: the global choice). On the wasm tier the 1×1
   * stride-1 gradients run on the wasm GEMM; every other path runs on the JS kernels.
   */
  backend?: BackendChoice;
  /** Write gradInput here (the input's shape, contiguous, not sharing memory with any argument). */
  gradInputOut?: Tensor;
  /** Write gradWeight here (the weight's shape). */
  gradWeightOut?: Tensor;
  /** Write gradBias here (shape `[Cout]`). */
  gradBiasOut?: Tensor;
  /**
   * Add the gradients into the given `grad*Out` tensors instead of overwriting them (as PyTorch
   * accumulates `.grad`); without an out, a gradient starts from zero either way.
   */
  accumulate?: boolean;
}

/** The gradients of a convolution; null for those not asked for in `needs`. */
export interface Conv2dGradients {
  gradInput: Tensor | null;
  gradWeight: Tensor | null;
  gradBias: Tensor | null;
}

export const CONV2D_BACKWARD_OPTION_NAMES: readonly string[] = [
  'bias', 'stride', 'padding', 'dilation', 'groups', 'paddingMode', 'activation',
  'needs', 'gradInputOut', 'gradWeightOut', 'gradBiasOut', 'accumulate', 'backend',
];

/** The reference takes the geometry options and `needs` only (no outs; `backend` is accepted and ignored: it is plain JS). */
export const REFERENCE_BACKWARD_OPTION_NAMES: readonly string[] = [
  'bias', 'stride', 'padding', 'dilation', 'groups', 'paddingMode', 'activation', 'needs', 'backend',
];

/** A validated backward call. */
export interface Conv2dBackwardCall {
  readonly geometry: Conv2dGeometry;
  readonly gradOutput: Tensor;
  readonly input: Tensor;
  readonly weight: Tensor;
  readonly needsInput: boolean;
  readonly needsWeight: boolean;
  readonly needsBias: boolean;
  readonly gradInputOut: Tensor | null;
  readonly gradWeightOut: Tensor | null;
  readonly gradBiasOut: Tensor | null;
  readonly accumulate: boolean;
  /** The call's `backend` option (undefined: the global choice). */
  readonly backend?: BackendChoice;
}

/** Resolves `needs` to three booleans (each true unless set to false). */
export function resolveNeeds(needs: unknown): { input: boolean; weight: boolean; bias: boolean } {
  if (needs === undefined) return { input: true, weight: true, bias: true };
  if (typeof needs !== 'object' || needs === null || Array.isArray(needs)) {
    throw new TypeError(`needs must be an object { input?, weight?, bias? }, got ${describeValue(needs)}`);
  }
  const n = readOptions<Conv2dBackwardNeeds>(needs, ['input', 'weight', 'bias'], 'needs');
  return { input: readBoolean(n.input, 'needs.input', true), weight: readBoolean(n.weight, 'needs.weight', true), bias: readBoolean(n.bias, 'needs.bias', true) };
}


function overlaps(a: Float32Array, b: Float32Array): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * Checks the gradient outputs: shapes, no memory shared with the arguments (`argNames` /
 * `argData`) or with each other.
 */
export function checkGradientOuts(
  outs: readonly { value: unknown; name: string; shape: readonly number[] }[],
  argData: readonly (Float32Array | null)[], argNames: readonly string[],
): (Tensor | null)[] {
  const checked: (Tensor | null)[] = [];
  for (const { value, name, shape } of outs) {
    if (value === undefined || value === null) {
      checked.push(null);
      continue;
    }
    if (typeof value !== 'object' || ArrayBuffer.isView(value)) throw new TypeError(`${name} must be a Tensor ({ shape, data: Float32Array }) of shape ${describeValue(shape)}, got ${describeValue(value)}`);
    let t: Tensor;
    try {
      t = checkOut(value, shape, argData, argNames);
    } catch (e) {
      // checkOut names the parameter `out`; say which out it was.
      if (e instanceof Error) e.message = e.message.replace(/\bout\b/g, name);
      throw e;
    }
    for (let i = 0; i < checked.length; i++) {
      const other = checked[i];
      if (other && overlaps(other.data, t.data)) {
        throw new RangeError(`${name} must not share memory with ${outs[i]!.name}; pass separate arrays`);
      }
    }
    checked.push(t);
  }
  return checked;
}

/** Throws a TypeError when an out is given for a gradient that `needs` turns off. */
export function checkOutsNeeded(outs: readonly (Tensor | null)[], needs: { input: boolean; weight: boolean; bias: boolean }): void {
  const needed = [needs.input, needs.weight, needs.bias];
  const names = ['input', 'weight', 'bias'];
  for (let i = 0; i < 3; i++) {
    if (outs[i] !== null && !needed[i]) throw new TypeError(`grad${names[i]![0]!.toUpperCase()}${names[i]!.slice(1)}Out was given but needs.${names[i]} is false`);
  }
}

/** Validates a whole backward call (see Conv2dBackwardOptions). */
export function validateConv2dBackward(
  gradOutput: unknown, input: unknown, weight: unknown, options: Conv2dBackwardOptions | undefined, fn = 'conv2dBackward',
): Conv2dBackwardCall {
  // Own properties only: nothing inherited (a polluted Object.prototype included) is an option.
  const opts = readOptions<Conv2dBackwardOptions>(options, fn === 'referenceConv2dBackward' ? REFERENCE_BACKWARD_OPTION_NAMES : CONV2D_BACKWARD_OPTION_NAMES, fn);
  if (opts.activation !== undefined && opts.activation !== 'none') {
    throw new RangeError(
      `${fn}: activation must be 'none' or absent, got ${describeValue(opts.activation)}; the gradient of a fused activation needs the forward output, so apply it to gradOutput first`,
    );
  }
  const x = asTensor(input, 'input');
  const w = asTensor(weight, 'weight');
  const geometry = conv2dGeometry(x.shape, w.shape, opts);
  resolveBias(opts.bias, geometry.outChannels);
  const dy = asTensor(gradOutput, 'gradOutput');
  if (!sameShape(dy.shape, geometry.outputShape)) {
    throw new RangeError(`gradOutput.shape must be the forward output's shape ${describeValue(geometry.outputShape)}, got ${describeValue(dy.shape)}`);
  }
  const needs = resolveNeeds(opts.needs);
  const accumulate = readBoolean(opts.accumulate, 'accumulate', false);
  const backend = opts.backend === undefined ? undefined : checkBackendChoice(opts.backend, 'backend');
  const [gradInputOut, gradWeightOut, gradBiasOut] = checkGradientOuts(
    [
      { value: opts.gradInputOut, name: 'gradInputOut', shape: x.shape },
      { value: opts.gradWeightOut, name: 'gradWeightOut', shape: w.shape },
      { value: opts.gradBiasOut, name: 'gradBiasOut', shape: [geometry.outChannels] },
    ],
    [callerData(gradOutput), callerData(input), callerData(weight)],
    ['gradOutput', 'input', 'weight'],
  );
  checkOutsNeeded([gradInputOut!, gradWeightOut!, gradBiasOut!], needs);
  return {
    geometry, gradOutput: dy, input: x, weight: w,
    needsInput: needs.input, needsWeight: needs.weight, needsBias: needs.bias,
    gradInputOut: gradInputOut!, gradWeightOut: gradWeightOut!, gradBiasOut: gradBiasOut!,
    accumulate,
    backend,
  };
}
