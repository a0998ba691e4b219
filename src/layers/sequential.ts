/** `nn.Sequential`: children named "0", "1", ... run in order, with conv + ReLU/ReLU6 fused. */
import type { Tensor, TensorLike } from '../tensor.js';
import { asTensor, describeValue } from '../tensor.js';
import { fusedActivationOf, Identity } from './activation.js';
import { isFusable, type FusedActivation } from './conv.js';
import { chainedOutputShape, isInPlaceCapable, Module, type ForwardAsyncOptions, type InPlaceCapable, checkForwardAsyncOptions } from './module.js';
import { planChain, type PlanStep } from './compile.js';

/**
 * A group of consecutive children run as one call: a fusable module (a convolution, a separable
 * block, a BatchNorm) whose next non-Identity sibling is ReLU/ReLU6 takes that activation into its
 * output write and the activation module is skipped.
 */
interface Segment {
  readonly module: Module;
  readonly activation: FusedActivation | null;
}

/**
 * A segment as forward, forwardAsync and plan run it: `inPlace` when the module can overwrite a
 * tensor that an earlier segment made (never the caller's input, never a view of it).
 */
type ScheduledSegment =
  | { readonly module: Module & InPlaceCapable; readonly activation: FusedActivation | null; readonly inPlace: true }
  | { readonly module: Module; readonly activation: FusedActivation | null; readonly inPlace: false };

/**
 * Children are named by position (`new Sequential(a, b)` → "0", "1"), or by the keys of one
 * object (`new Sequential({ conv0: a, leaky0: b })`, PyTorch's `Sequential(OrderedDict(...))`).
 */
export class Sequential extends Module {
  constructor(...layers: Module[] | [Record<string, Module>]) {
    super();
    const first = layers[0];
    if (layers.length === 1 && !(first instanceof Module) && typeof first === 'object' && first !== null && !Array.isArray(first)) {
      const proto = Object.getPrototypeOf(first);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`Sequential: argument 0 must be a Module or a plain object of named Modules, got ${describeValue(first)}`);
      }
      for (const [name, layer] of Object.entries(first)) {
        if (!(layer instanceof Module)) throw new TypeError(`Sequential: layer ${JSON.stringify(name)} must be a Module, got ${describeValue(layer)}`);
        this.registerModule(name, layer);
      }
      return;
    }
    layers.forEach((layer, i) => {
      if (!(layer instanceof Module)) throw new TypeError(`Sequential: argument ${i} must be a Module, got ${describeValue(layer)}`);
      this.registerModule(String(i), layer);
    });
  }

  get length(): number {
    return this.children().length;
  }

  /** The i-th child (negative counts from the end). */
  at<M extends Module = Module>(index: number): M {
    const layers = this.children();
    const i = index < 0 ? index + layers.length : index;
    if (!Number.isInteger(i) || i < 0 || i >= layers.length) {
      throw new RangeError(`Sequential.at: index must be in [-${layers.length}, ${layers.length}), got ${describeValue(index)}`);
    }
    return layers[i] as M;
  }

  /** Appends a layer, named by its index. */
  append(layer: Module): this {
    this.registerModule(String(this.length), layer);
    return this;
  }

  /** Replaces the child at `index` (used by model transformations such as `foldBatchNorm`). */
  setLayer(index: number, layer: Module): void {
    const names = this.namedChildren();
    if (!Number.isInteger(index) || index < 0 || index >= names.length) {
      throw new RangeError(`Sequential.setLayer: index must be in [0, ${names.length}), got ${describeValue(index)}`);
    }
    this.replaceModule(names[index]![0], layer);
  }

  /**
   * @internal
   * Folds each BatchNorm that directly follows a convolution among the children into it (w' =
   * w·γ/√(var+ε), b' = (b − mean)·γ/√(var+ε) + β in float64, PyTorch's `fuse_conv_bn_eval`) and
   * puts an Identity in its place, so later indices (and state-dict keys) stay; a ReLU/ReLU6
   * after it is then still fused into the convolution.
   */
  override foldBatchNormInPlace(): number {
    let folded = super.foldBatchNormInPlace();
    const layers = this.children();
    for (let i = 0; i + 1 < layers.length; i++) {
      const conv = layers[i]!.trailingConvolution();
      const affine = conv === null ? null : layers[i + 1]!.inferenceAffine(conv.outChannels);
      if (conv === null || affine === null) continue;
      conv.applyChannelAffine(affine.scale, affine.shift);
      this.setLayer(i + 1, new Identity());
      folded++;
    }
    return folded;
  }

  /** How forward groups the children (a fused convolution + activation counts as one segment). */
  segments(): Segment[] {
    const layers = this.children();
    const result: Segment[] = [];
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i]!;
      if (isFusable(layer)) {
        let j = i + 1;
        while (j < layers.length && layers[j] instanceof Identity) j++;
        const activation = j < layers.length ? fusedActivationOf(layers[j]!) : null;
        if (activation !== null) {
          result.push({ module: layer, activation });
          i = j;
          continue;
        }
      }
      if (!(layer instanceof Identity)) result.push({ module: layer, activation: null });
    }
    return result;
  }

  /*
   * `owned` tracks whether the current tensor was made by an earlier child (never the caller's
   * input, never a view of it): element-wise layers and BatchNorm then overwrite it in place
   * instead of allocating.
   */
  private schedule(): ScheduledSegment[] {
    let owned = false;
    return this.segments().map(({ module, activation }): ScheduledSegment => {
      if (owned && isInPlaceCapable(module)) return { module, activation, inPlace: true };
      owned = module.producesNewTensor();
      return { module, activation, inPlace: false };
    });
  }

  forward(x: TensorLike): Tensor {
    let y = asTensor(x, 'input');
    if (this.training) {
      // Train mode runs every child on its own, unfused and never in place: each child keeps its
      // input (or output) for backward, so no later child may overwrite it.
      for (const layer of this.children()) y = layer.forward(y);
      return y;
    }
    for (const segment of this.schedule()) {
      if (segment.inPlace) {
        y = segment.module.forwardInPlace(y, segment.activation ?? undefined);
        continue;
      }
      const { module, activation } = segment;
      y = activation !== null && isFusable(module) ? module.forwardFused(y, activation) : module.forward(y);
    }
    return y;
  }

  /** The children's backward in reverse order; returns ∂loss/∂input. */
  override backward(gradOutput: TensorLike): Tensor {
    let g = asTensor(gradOutput, 'gradOutput');
    const layers = this.children();
    for (let i = layers.length - 1; i >= 0; i--) g = layers[i]!.backward(g);
    return g;
  }

  override async forwardAsync(x: TensorLike, options: ForwardAsyncOptions = {}): Promise<Tensor> {
    checkForwardAsyncOptions(options);
    if (this.training) return this.forward(x);
    let y = asTensor(x, 'input');
    for (const segment of this.schedule()) {
      if (segment.inPlace) {
        y = segment.module.forwardInPlace(y, segment.activation ?? undefined);
        continue;
      }
      const { module, activation } = segment;
      y = activation !== null && isFusable(module) ? await module.forwardAsyncFused(y, activation, options) : await module.forwardAsync(y, options);
    }
    return y;
  }

  outputShape(inputShape: readonly number[]): number[] {
    return chainedOutputShape(this.children(), inputShape);
  }

  override plan(inputShape: readonly number[]): PlanStep {
    return planChain(inputShape, this.schedule().map((segment) => (shape: readonly number[]): PlanStep => {
      if (segment.inPlace) return { ...segment.module.planInPlace(shape, segment.activation ?? undefined), output: 'input' };
      const { module, activation } = segment;
      return activation !== null && isFusable(module) ? module.planFused(shape, activation) : module.plan(shape);
    }));
  }
}
