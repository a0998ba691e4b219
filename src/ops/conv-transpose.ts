/**
 * Transposed convolution with PyTorch `nn.ConvTranspose2d` / `F.conv_transpose2d` semantics, and
 * its backward, built on the convolution kernels:
 *
 *   convTranspose2d(x, w)          = the gradInput of conv2d(·, w) for gradOutput x   (backward paths)
 *   its gradInput  (∂L/∂x)          = conv2d(gradOutput, w)                              (forward paths)
 *   its gradWeight (∂L/∂w)          = the gradWeight of that conv2d for input gradOutput and gradOutput x
 *   its gradBias                    = gradOutput summed over batch, rows and columns
 *
 * where the convolution is the one of geometry.ts's `ConvTranspose2dGeometry.conv` (weight
 * `[Cin, Cout/groups, kH, kW]`, the transposed convolution's own). When outputPadding ≥ stride
 * (allowed while it is < dilation) that convolution's output is larger than x by
 * floor(outputPadding / stride) rows/columns: x is then zero-extended to it, and the gradient
 * cropped back.
 */
import { wasmRuntimeFor } from './backend.js';
import { asTensor, describeValue, type Tensor, type TensorLike } from '../tensor.js';
import { checkShapeElements, readBoolean, readOptions } from '../checks.js';
import { kernelSetup, runKernel } from '../kernels/dispatch.js';
import { backwardSetup, channelSums, finishGradient, gradientTarget } from '../kernels/dispatch-backward.js';
import { runGradInput, runGradWeight } from './conv2d-backward.js';
import { convTranspose2dGeometry, type ConvTranspose2dGeometry, type ConvTranspose2dGeometryOptions } from '../geometry.js';
import { Scratch, SLOT_EXTENDED_INPUT, SLOT_UNCROPPED_GRADIENT } from '../kernels/scratch.js';
import { checkGradientOuts, checkOutsNeeded, resolveNeeds, type Conv2dBackwardNeeds, type Conv2dGradients } from '../kernels/validate-backward.js';
import { callerData, checkOut, resolveBias } from '../kernels/validate.js';

export interface ConvTranspose2dOptions extends ConvTranspose2dGeometryOptions {
  /** `[Cout]`, added to every output pixel. */
  bias?: Float32Array | TensorLike | null;
  /** Write into this preallocated output (it must not share memory with the inputs) and return it. */
  out?: Tensor;
}

export interface ConvTranspose2dBackwardOptions extends ConvTranspose2dGeometryOptions {
  /** The forward's bias: accepted (and checked) so the forward's options can be passed; unused. */
  bias?: Float32Array | TensorLike | null;
  needs?: Conv2dBackwardNeeds;
  gradInputOut?: Tensor;
  gradWeightOut?: Tensor;
  gradBiasOut?: Tensor;
  accumulate?: boolean;
}

const GEOMETRY_OPTION_NAMES = ['stride', 'padding', 'outputPadding', 'dilation', 'groups'];
const FORWARD_OPTION_NAMES = ['bias', ...GEOMETRY_OPTION_NAMES, 'out'];
const BACKWARD_OPTION_NAMES = ['bias', ...GEOMETRY_OPTION_NAMES, 'needs', 'gradInputOut', 'gradWeightOut', 'gradBiasOut', 'accumulate'];

/** Reused by every call (one call runs at a time), so a steady state allocates nothing. */
const sharedScratch = new Scratch();

/** x, or x zero-extended to the convolution's output size when outputPadding ≥ stride. */
function extendedInput(g: ConvTranspose2dGeometry, x: Float32Array, scratch: Scratch): Float32Array {
  if (g.extraH === 0 && g.extraW === 0) return x;
  const H = g.inHeight;
  const W = g.inWidth;
  const He = g.conv.outHeight;
  const We = g.conv.outWidth;
  const planes = g.batch * g.inChannels;
  const out = scratch.get(SLOT_EXTENDED_INPUT, planes * He * We);
  out.fill(0, 0, planes * He * We);
  for (let plane = 0; plane < planes; plane++) {
    for (let r = 0; r < H; r++) out.set(x.subarray((plane * H + r) * W, (plane * H + r + 1) * W), (plane * He + r) * We);
  }
  return out;
}

/**
 * 2-D transposed convolution (`nn.ConvTranspose2d`): `input` `[N, Cin, H, W]` or `[Cin, H, W]`,
 * `weight` `[Cin, Cout/groups, kH, kW]`; output `[N, Cout, Hout, Wout]` with
 * `Hout = (H − 1)·stride − 2·padding + dilation·(kH − 1) + outputPadding + 1`.
 */
export function convTranspose2d(input: TensorLike, weight: TensorLike, options?: ConvTranspose2dOptions): Tensor {
  const opts = readOptions<ConvTranspose2dOptions>(options, FORWARD_OPTION_NAMES, 'convTranspose2d');
  const x = asTensor(input, 'input');
  const w = asTensor(weight, 'weight');
  const g = convTranspose2dGeometry(x.shape, w.shape, opts);
  const bias = resolveBias(opts.bias, g.outChannels);
  const y: Tensor = opts.out === undefined || opts.out === null
    ? { shape: g.outputShape.slice(), data: new Float32Array(checkShapeElements(g.outputShape, 'convTranspose2d: the output')) }
    : checkOut(opts.out, g.outputShape, [callerData(input), callerData(weight), callerData(opts.bias)]);
  const scratch = sharedScratch;
  runGradInput(backwardSetup(g.conv), extendedInput(g, x.data, scratch), w.data, y.data, scratch, wasmRuntimeFor(undefined, 'convTranspose2d'));
  if (bias !== null) {
    const pixels = g.outHeight * g.outWidth;
    const out = y.data;
    for (let n = 0; n < g.batch; n++) {
      for (let o = 0; o < g.outChannels; o++) {
        const b = bias[o]!;
        const base = (n * g.outChannels + o) * pixels;
        for (let k = 0; k < pixels; k++) out[base + k] += b;
      }
    }
  }
  return y;
}

/**
 * The gradients of `convTranspose2d(input, weight, options)` for the upstream gradient
 * `gradOutput` (the forward output's shape): gradInput, gradWeight (`[Cin, Cout/groups, kH, kW]`)
 * and gradBias (`[Cout]`), with `needs`, `grad*Out` and `accumulate` as in `conv2dBackward`.
 */
export function convTranspose2dBackward(
  gradOutput: TensorLike, input: TensorLike, weight: TensorLike, options?: ConvTranspose2dBackwardOptions,
): Conv2dGradients {
  const fn = 'convTranspose2dBackward';
  const opts = readOptions<ConvTranspose2dBackwardOptions>(options, BACKWARD_OPTION_NAMES, fn);
  const x = asTensor(input, 'input');
  const w = asTensor(weight, 'weight');
  const g = convTranspose2dGeometry(x.shape, w.shape, opts);
  resolveBias(opts.bias, g.outChannels);
  const dy = asTensor(gradOutput, 'gradOutput');
  if (dy.shape.length !== g.outputShape.length || dy.shape.some((d, i) => d !== g.outputShape[i])) {
    throw new RangeError(`gradOutput.shape must be the forward output's shape ${describeValue(g.outputShape)}, got ${describeValue(dy.shape)}`);
  }
  const needs = resolveNeeds(opts.needs);
  const accumulate = readBoolean(opts.accumulate, 'accumulate', false);
  const [gradInputOut, gradWeightOut, gradBiasOut] = checkGradientOuts(
    [
      { value: opts.gradInputOut, name: 'gradInputOut', shape: x.shape },
      { value: opts.gradWeightOut, name: 'gradWeightOut', shape: w.shape },
      { value: opts.gradBiasOut, name: 'gradBiasOut', shape: [g.outChannels] },
    ],
    [callerData(gradOutput), callerData(input), callerData(weight)],
    ['gradOutput', 'input', 'weight'],
  );
  checkOutsNeeded([gradInputOut!, gradWeightOut!, gradBiasOut!], needs);

  const scratch = sharedScratch;
  const conv = g.conv;
  let gradInput: Tensor | null = null;
  let gradWeight: Tensor | null = null;
  let gradBias: Tensor | null = null;
  if (needs.weight) {
    const dw = gradientTarget(gradWeightOut!, accumulate, w.data.length, scratch);
    runGradWeight(backwardSetup(conv), extendedInput(g, x.data, scratch), dy.data, dw, scratch, wasmRuntimeFor(undefined, 'convTranspose2dBackward'));
    gradWeight = finishGradient(gradWeightOut!, accumulate, dw, w.shape);
  }
  if (needs.bias) {
    const db = gradientTarget(gradBiasOut!, accumulate, g.outChannels, scratch);
    channelSums(g.batch, g.outChannels, g.outHeight * g.outWidth, dy.data, db);
    gradBias = finishGradient(gradBiasOut!, accumulate, db, [g.outChannels]);
  }
  if (needs.input) {
    const dx = gradientTarget(gradInputOut!, accumulate, x.data.length, scratch);
    const setup = kernelSetup(conv);
    if (g.extraH === 0 && g.extraW === 0) {
      runKernel(setup, dy.data, w.data, null, 0, dx, scratch, 0, conv.outChannels);
    } else {
      const He = conv.outHeight;
      const We = conv.outWidth;
      const planes = g.batch * g.inChannels;
      const full = scratch.get(SLOT_UNCROPPED_GRADIENT, planes * He * We);
      runKernel(setup, dy.data, w.data, null, 0, full, scratch, 0, conv.outChannels);
      const H = g.inHeight;
      const W = g.inWidth;
      for (let plane = 0; plane < planes; plane++) {
        for (let r = 0; r < H; r++) dx.set(full.subarray((plane * He + r) * We, (plane * He + r) * We + W), (plane * H + r) * W);
      }
    }
    gradInput = finishGradient(gradInputOut!, accumulate, dx, x.shape);
  }
  return { gradInput, gradWeight, gradBias };
}
