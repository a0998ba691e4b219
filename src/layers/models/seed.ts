/**
 * The three PyTorch classes this project started from, with exactly their structure, state-dict
 * keys and repr, so their code ports line by line and their checkpoints load unchanged:
 *
 *   class depthwise_conv(nn.Module):            # self.depthwise = nn.Conv2d(nin, nin * kernels_per_layer, kernel_size=3, padding=1, groups=nin)
 *   class pointwise_conv(nn.Module):            # self.pointwise = nn.Conv2d(nin, nout, kernel_size=1)
 *   class depthwise_separable_conv(nn.Module):  # self.depthwise = nn.Conv2d(nin, nin * kernels_per_layer, kernel_size=3, padding=1, groups=nin)
 *                                               # self.pointwise = nn.Conv2d(nin * kernels_per_layer, nout, kernel_size=1)
 *
 * Each forward runs its convolutions in that order. Keys: `depthwise.weight`, `depthwise.bias`,
 * `pointwise.weight`, `pointwise.bias`. (`DepthwiseConv2d`/`PointwiseConv2d` are the bare
 * convolutions, keys `weight`/`bias`; `DepthwiseSeparableConv2d` has the seed's keys and more
 * options.) The class names keep the seed's snake_case on purpose.
 */
import type { Tensor, TensorLike } from '../../tensor.js';
import { readOptions } from '../../kernels/validate.js';
import { checkElements, readInteger } from '../../checks.js';
import { Conv2d, type FusableModule, type FusedActivation } from '../conv.js';
import { resolveGenerator, type InitOptions } from '../init.js';
import { Module, type ForwardAsyncOptions, checkForwardAsyncOptions } from '../module.js';
import { planChain, type PlanStep } from '../compile.js';

/** A module that is its convolutions run in registration order; a fused activation goes into the last one. */
export abstract class SeedBlock extends Module implements FusableModule {
  /** The convolutions in the order forward runs them. */
  protected abstract convs(): readonly Conv2d[];

  /** The convolution whose output is the block's output (what a following BatchNorm folds into). */
  get last(): Conv2d {
    const convs = this.convs();
    return convs[convs.length - 1]!;
  }

  /** @internal */
  override trailingConvolution(): Conv2d {
    return this.last;
  }

  override producesNewTensor(): boolean {
    return true;
  }

  forward(x: TensorLike): Tensor {
    return this.forwardFused(x, undefined);
  }

  forwardFused(x: TensorLike, activation: FusedActivation | undefined): Tensor {
    const convs = this.convs();
    let y = x;
    for (let i = 0; i < convs.length - 1; i++) y = convs[i]!.forward(y);
    return activation === undefined ? this.last.forward(y) : this.last.forwardFused(y, activation);
  }

  /** The convolutions' backward in reverse order. */
  override backward(gradOutput: TensorLike): Tensor {
    const convs = this.convs();
    let g: TensorLike = gradOutput;
    for (let i = convs.length - 1; i >= 0; i--) g = convs[i]!.backward(g);
    return g as Tensor;
  }

  override async forwardAsync(x: TensorLike, options: ForwardAsyncOptions = {}): Promise<Tensor> {
    checkForwardAsyncOptions(options);
    return this.forwardAsyncFused(x, undefined, options);
  }

  async forwardAsyncFused(x: TensorLike, activation: FusedActivation | undefined, options: ForwardAsyncOptions): Promise<Tensor> {
    const convs = this.convs();
    let y = x;
    for (let i = 0; i < convs.length - 1; i++) y = await convs[i]!.forwardAsync(y, options);
    return activation === undefined ? this.last.forwardAsync(y, options) : this.last.forwardAsyncFused(y, activation, options);
  }

  outputShape(inputShape: readonly number[]): number[] {
    let shape = inputShape.slice();
    for (const conv of this.convs()) shape = conv.outputShape(shape);
    return shape;
  }

  override plan(inputShape: readonly number[]): PlanStep {
    return this.planFused(inputShape, undefined);
  }

  planFused(inputShape: readonly number[], activation: FusedActivation | undefined): PlanStep {
    const convs = this.convs();
    return planChain(inputShape, convs.map((conv, i) => (shape: readonly number[]) =>
      i === convs.length - 1 && activation !== undefined ? conv.planFused(shape, activation) : conv.plan(shape)));
  }
}

/** The seed's `nn.Conv2d(nin, nin * kernels_per_layer, kernel_size=3, padding=1, groups=nin)`. */
function seedDepthwise(nin: number, kernelsPerLayer: number, init: InitOptions): Conv2d {
  return new Conv2d({ inChannels: nin, outChannels: nin * kernelsPerLayer, kernelSize: 3, padding: 1, groups: nin, ...init });
}

/** The init options a seed class takes besides PyTorch's arguments: `{ seed }` or `{ generator }`. */
function initOptions(options: InitOptions, name: string): InitOptions {
  const o = readOptions<InitOptions>(options, ['seed', 'generator'], name);
  return { generator: resolveGenerator(o) };
}

/** The seed's `depthwise_conv(nin, kernels_per_layer)`: child `depthwise`, a 3×3 depthwise Conv2d with padding 1. */
export class depthwise_conv extends SeedBlock {
  readonly depthwise: Conv2d;

  constructor(nin: number, kernels_per_layer: number, options: InitOptions = {}) {
    super();
    readInteger(nin, 'depthwise_conv: nin');
    readInteger(kernels_per_layer, 'depthwise_conv: kernels_per_layer');
    this.depthwise = this.registerModule('depthwise', seedDepthwise(nin, kernels_per_layer, initOptions(options, 'depthwise_conv')));
  }

  protected convs(): readonly Conv2d[] {
    return [this.depthwise];
  }
}

/** The seed's `pointwise_conv(nin, nout)`: child `pointwise`, a 1×1 Conv2d. */
export class pointwise_conv extends SeedBlock {
  readonly pointwise: Conv2d;

  constructor(nin: number, nout: number, options: InitOptions = {}) {
    super();
    readInteger(nin, 'pointwise_conv: nin');
    readInteger(nout, 'pointwise_conv: nout');
    const init = initOptions(options, 'pointwise_conv');
    this.pointwise = this.registerModule('pointwise', new Conv2d({ inChannels: nin, outChannels: nout, kernelSize: 1, ...init }));
  }

  protected convs(): readonly Conv2d[] {
    return [this.pointwise];
  }
}

/** The seed's `depthwise_separable_conv(nin, kernels_per_layer, nout)`: children `depthwise` then `pointwise`. */
export class depthwise_separable_conv extends SeedBlock {
  readonly depthwise: Conv2d;
  readonly pointwise: Conv2d;

  constructor(nin: number, kernels_per_layer: number, nout: number, options: InitOptions = {}) {
    super();
    readInteger(nin, 'depthwise_separable_conv: nin');
    readInteger(kernels_per_layer, 'depthwise_separable_conv: kernels_per_layer');
    readInteger(nout, 'depthwise_separable_conv: nout');
    checkElements(nin * kernels_per_layer, 'depthwise_separable_conv: nin × kernels_per_layer');
    const init = initOptions(options, 'depthwise_separable_conv');
    this.depthwise = this.registerModule('depthwise', seedDepthwise(nin, kernels_per_layer, init));
    this.pointwise = this.registerModule('pointwise', new Conv2d({ inChannels: nin * kernels_per_layer, outChannels: nout, kernelSize: 1, ...init }));
  }

  protected convs(): readonly Conv2d[] {
    return [this.depthwise, this.pointwise];
  }
}
