/**
 * Prepared convolutions: `prepareConv2d(weight, options)` validates the options and copies the
 * weights and bias once, keeps its own scratch, and caches the geometry and kernel path of the
 * last input shape, so `plan.run(input, out)` in a steady state validates only the input and
 * `out` and allocates nothing.
 *
 * Weights are copied, not shared: mutating the caller's weight or bias array after
 * `prepareConv2d` does not change the plan's results (unlike a PyTorch module, whose parameters
 * share storage). After changing them, call `plan.setWeights(weight, bias)`, which copies the new
 * values into the plan's own buffers (same shapes) without allocating.
 */
import { wasmRuntimeFor, type Backend, type BackendChoice } from './backend.js';
import { asTensor, describeValue, type Tensor, type TensorLike } from '../tensor.js';
import { WasmConvState } from './wasm-conv.js';
import { kernelSetup, type KernelPath, type KernelSetup } from '../kernels/dispatch.js';
import { runOnTier } from './conv2d.js';
import type { Activation } from '../epilogue.js';
import { checkPaddingMode, conv2dGeometry, resolvePadding, resolvePair, type Conv2dGeometry, type GeometryOptions } from '../geometry.js';
import { Scratch } from '../kernels/scratch.js';
import { checkShapeElements, readOptions, resolveActivation, resolveBias, type Conv2dCall } from '../kernels/validate.js';
import { optional } from '../checks.js';
import { sameShape } from '../tensor.js';

export interface PrepareConv2dOptions extends GeometryOptions {
  bias?: Float32Array | TensorLike | null;
  /** Fused into the output write, after the bias. */
  activation?: Activation;
  /**
   * Kernel tier of this plan, fixed at preparation: 'wasm', 'js' or 'auto' (default: the one set
   * with setBackend). On wasm the packed weights and scratch live in WebAssembly memory.
   */
  backend?: BackendChoice;
}

const PREPARE_OPTION_NAMES = ['bias', 'stride', 'padding', 'dilation', 'groups', 'paddingMode', 'activation', 'backend'];

function sharesMemory(a: Float32Array, b: Float32Array): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}


export class Conv2dPlan {
  /** `[Cout, Cin/groups, kH, kW]`. */
  readonly weightShape: readonly number[];
  readonly hasBias: boolean;
  private readonly weightData: Float32Array;
  private readonly biasData: Float32Array | null;
  private readonly act: number;
  private readonly geometryOptions: GeometryOptions;
  private readonly scratch = new Scratch();
  private cachedShape: readonly number[] | null = null;
  private cachedSetup: KernelSetup | null = null;
  private readonly wasm: WasmConvState | null;
  /** The plan's wasm state (packed weights, scratch) on the wasm tier, else null; for the pool. */
  get wasmState(): WasmConvState | null {
    return this.wasm;
  }
  /** The tier this plan runs on. */
  readonly backend: Backend;

  /**
   * Use `prepareConv2d`. `shareWeights` (for a layer's own plan, see `prepareLayerConv2d`) keeps
   * the given weight and bias arrays instead of copying them.
   */
  constructor(weight: TensorLike, callerOptions: PrepareConv2dOptions = {}, shareWeights = false) {
    // Own properties only, read once.
    const options = readOptions<PrepareConv2dOptions>(callerOptions, PREPARE_OPTION_NAMES, 'prepareConv2d');
    const w = asTensor(weight, 'weight');
    if (w.shape.length !== 4) {
      throw new RangeError(`weight must be 4-D [Cout, Cin/groups, kH, kW], got shape ${describeValue(w.shape)} (rank ${w.shape.length})`);
    }
    const [outChannels, , kernelH, kernelW] = w.shape as [number, number, number, number];
    // Everything that does not depend on the input shape is checked here, once.
    const stride = resolvePair(options.stride, 'stride', 1);
    const dilation = resolvePair(options.dilation, 'dilation', 1);
    resolvePadding(options.padding, [kernelH, kernelW], stride, dilation);
    const groups = optional(options.groups, 1);
    if (typeof groups !== 'number' || !Number.isInteger(groups) || groups < 1) {
      throw new RangeError(`groups must be a positive integer, got ${describeValue(groups)}`);
    }
    if (outChannels % groups !== 0) {
      throw new RangeError(`out_channels must be divisible by groups: weight.shape[0]=${outChannels}, groups=${groups}`);
    }
    if (options.paddingMode !== undefined) checkPaddingMode(options.paddingMode);
    const bias = resolveBias(options.bias, outChannels);
    this.act = resolveActivation(options.activation);
    const runtime = wasmRuntimeFor(options.backend, 'prepareConv2d');
    this.wasm = runtime === null ? null : new WasmConvState(runtime);
    this.backend = runtime === null ? 'js' : 'wasm';
    this.weightShape = w.shape.slice();
    this.weightData = shareWeights ? w.data : Float32Array.from(w.data);
    this.biasData = bias === null ? null : shareWeights ? bias : Float32Array.from(bias);
    this.hasBias = bias !== null;
    const padding = options.padding;
    this.geometryOptions = {
      stride: [stride[0], stride[1]],
      dilation: [dilation[0], dilation[1]],
      groups,
      padding: typeof padding === 'object' && padding !== null && !Array.isArray(padding) ? { ...padding } : Array.isArray(padding) ? [padding[0], padding[1]] : padding,
      paddingMode: optional(options.paddingMode, 'zeros'),
    };
  }

  /**
   * Replaces the weights (and the bias, when the plan has one; pass `null` to keep it) by copying
   * the new values into the plan's buffers. Shapes must match those given to `prepareConv2d`.
   */
  setWeights(weight: TensorLike, bias: Float32Array | TensorLike | null = null): void {
    const w = asTensor(weight, 'weight');
    if (!sameShape(w.shape, this.weightShape)) {
      throw new RangeError(`weight.shape must be ${describeValue(this.weightShape)} (the prepared shape), got ${describeValue(w.shape)}`);
    }
    let b: Float32Array | null = null;
    if (bias !== null) {
      if (this.biasData === null) throw new TypeError('bias: this plan was prepared without a bias; prepare a new plan to add one');
      b = resolveBias(bias, this.weightShape[0]!);
    }
    this.weightData.set(w.data);
    if (b !== null) this.biasData!.set(b);
    this.wasm?.invalidateWeights();
  }

  /** Geometry (shapes, resolved padding) of this convolution on an input of `inputShape`. */
  geometry(inputShape: readonly number[]): Conv2dGeometry {
    return this.setupFor(inputShape).callGeometry;
  }

  /** The output shape for an input of `inputShape`. */
  outputShape(inputShape: readonly number[]): number[] {
    return this.setupFor(inputShape).callGeometry.outputShape.slice();
  }

  /** The kernel path the dispatcher picks for an input of `inputShape`. */
  path(inputShape: readonly number[]): KernelPath {
    return this.setupFor(inputShape).path;
  }

  /** Bytes of scratch memory the plan currently holds (JS arrays, plus WebAssembly memory on the wasm tier). */
  get scratchBytes(): number {
    return this.scratch.bytes + (this.wasm?.bytes ?? 0);
  }

  /**
   * Returns the plan's WebAssembly memory (packed weights, scratch) to the arena now rather than
   * when the plan is garbage-collected. The plan must not be run afterwards.
   */
  dispose(): void {
    this.wasm?.dispose();
  }

  /**
   * Convolves `input` (`[N, Cin, H, W]` or `[Cin, H, W]`, a Tensor or ndarray view) and returns
   * the output: `out` when given (it must have the output shape and not share memory with the
   * input), otherwise a new tensor.
   */
  run(input: TensorLike, out?: Tensor | null): Tensor {
    const x = asTensor(input, 'input');
    const y = this.checkedOutput(input, x, out);
    const setup = this.setupFor(x.shape);
    runOnTier(this.wasm, setup, x.data, this.weightData, this.biasData, this.act, y.data, this.scratch, 0, setup.geometry.outChannels);
    return y;
  }

  /**
   * The output of a run on `x` (the gathered `input`): `out` after checking its shape and that it
   * does not overlap the caller's input, or a new tensor.
   */
  checkedOutput(input: TensorLike, x: Tensor, out?: Tensor | null): Tensor {
    const outputShape = this.setupFor(x.shape).callGeometry.outputShape;
    if (out === undefined || out === null) {
      return { shape: outputShape.slice(), data: new Float32Array(checkShapeElements(outputShape, 'output')) };
    }
    const y = asTensor(out, 'out');
    if (y.data !== out.data) {
      throw new TypeError(`out must be a contiguous Tensor ({ shape, data: Float32Array }) covering all of its data, got a strided or offset view (shape ${describeValue(y.shape)})`);
    }
    if (!sameShape(y.shape, outputShape)) {
      throw new RangeError(`out.shape must be ${describeValue(outputShape)}, got ${describeValue(y.shape)}`);
    }
    // Judge aliasing on the caller's own input memory, before any gathering copy.
    if (sharesMemory(y.data, (input as { data: Float32Array }).data)) {
      throw new RangeError('out must not share memory with input: out.data overlaps input.data (sepconv does not compute in place); pass a separate out');
    }
    return out;
  }

  /** The dispatcher's setup for inputs of `inputShape` (cached for the last shape). */
  kernelSetupFor(inputShape: readonly number[]): KernelSetup {
    return this.setupFor(inputShape);
  }

  /** This plan's convolution on `x` into `y` as a validated call (for splitting it over workers). */
  callFor(x: Tensor, y: Tensor): Conv2dCall {
    const geometry = this.setupFor(x.shape).callGeometry;
    return { geometry, input: x, weight: { shape: this.weightShape.slice(), data: this.weightData }, bias: this.biasData, act: this.act, out: y };
  }

  /**
   * Computes only output channels `[channelStart, channelEnd)` of `run(input, out)` into `out`
   * (already validated by the caller), for splitting one call over workers; every value is
   * bitwise the same as the one `run` computes.
   */
  runChannels(input: Tensor, out: Float32Array, channelStart: number, channelEnd: number): void {
    const setup = this.setupFor(input.shape);
    runOnTier(this.wasm, setup, input.data, this.weightData, this.biasData, this.act, out, this.scratch, channelStart, channelEnd);
  }

  private setupFor(inputShape: readonly number[]): KernelSetup {
    const cached = this.cachedShape;
    if (cached !== null && this.cachedSetup !== null && sameShape(cached, inputShape)) return this.cachedSetup;
    const setup = kernelSetup(conv2dGeometry(inputShape, this.weightShape, this.geometryOptions));
    this.cachedShape = inputShape.slice();
    this.cachedSetup = setup;
    return setup;
  }
}

/**
 * Prepares a convolution with fixed weights and options (`conv2d`'s options without `out`) for
 * repeated calls: `prepareConv2d(weight, options).run(input, out?)` gives the same values as
 * `conv2d(input, weight, { ...options, out })`.
 */
export function prepareConv2d(weight: TensorLike, options: PrepareConv2dOptions = {}): Conv2dPlan {
  return new Conv2dPlan(weight, options);
}

/**
 * `prepareConv2d` for a layer's compiled plan: the plan reads the layer's own weight and bias
 * arrays rather than copies (a compiled model holds its weights once, packed, on the wasm tier),
 * and the layer calls `setWeights` after a state-dict load.
 */
export function prepareLayerConv2d(weight: TensorLike, options: PrepareConv2dOptions = {}): Conv2dPlan {
  return new Conv2dPlan(weight, options, true);
}
