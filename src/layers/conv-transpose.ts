/**
 * `nn.ConvTranspose2d`: the transposed convolution module on the `convTranspose2d` kernels, with
 * its backward (`convTranspose2dBackward`).
 */
import { asTensor, describeValue, shapeSize, type Tensor, type TensorLike } from '../tensor.js';
import { convTranspose2d, convTranspose2dBackward } from '../ops/conv-transpose.js';
import { convTranspose2dGeometry, positiveInteger, resolvePair, type IntPair } from '../geometry.js';
import { readBoolean, readOptions } from '../checks.js';
import { parameterData, resolveGenerator, uniformFanIn, type InitOptions } from './init.js';
import { checkGradientShape, checkInput, Module, reuseBuffer, savedFor } from './module.js';
import { Parameter } from './parameter.js';
import { convModuleOptions, type ConvModuleArgs } from './positional.js';

export interface ConvTranspose2dLayerOptions extends InitOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: IntPair;
  stride?: IntPair;
  /** Zero padding removed from each side of the output (an int or `[h, w]`). */
  padding?: IntPair;
  /** Extra rows/columns at the bottom/right of the output; each < stride or < dilation. */
  outputPadding?: IntPair;
  dilation?: IntPair;
  groups?: number;
  bias?: boolean;
}

const OPTION_NAMES = ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'outputPadding', 'dilation', 'groups', 'bias', 'seed', 'generator'];

/**
 * Weight `[inChannels, outChannels/groups, kH, kW]` and bias `[outChannels]`, initialised as
 * PyTorch does: U(±1/√fanIn) with fanIn = (outChannels/groups)·kH·kW (the weight's dimension 1
 * onwards, which is what `kaiming_uniform_` reads for this layout).
 */
export class ConvTranspose2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly outputPadding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private saved: { input: Tensor; outputShape: number[] } | null = null;
  private trainOutput: Float32Array | null = null;
  private gradInputBuffer: Float32Array | null = null;

  /** `new ConvTranspose2d({ inChannels, outChannels, kernelSize, ...options })`, or PyTorch's positional `(inChannels, outChannels, kernelSize, options?)`. */
  constructor(...args: ConvModuleArgs<ConvTranspose2dLayerOptions>) {
    super();
    const options = readOptions<ConvTranspose2dLayerOptions>(convModuleOptions(args, OPTION_NAMES, 'ConvTranspose2d'), OPTION_NAMES, 'ConvTranspose2d');
    this.inChannels = positiveInteger(options.inChannels, 'inChannels');
    this.outChannels = positiveInteger(options.outChannels, 'outChannels');
    if (options.kernelSize === undefined) throw new TypeError('ConvTranspose2d: kernelSize is required');
    this.kernelSize = resolvePair(options.kernelSize, 'kernelSize', 1);
    this.stride = resolvePair(options.stride, 'stride', 1);
    this.padding = resolvePair(options.padding, 'padding', 0, 0);
    this.outputPadding = resolvePair(options.outputPadding, 'outputPadding', 0, 0);
    this.dilation = resolvePair(options.dilation, 'dilation', 1);
    this.groups = positiveInteger(options.groups === undefined ? 1 : options.groups, 'groups');
    for (const [name, channels] of [['inChannels', this.inChannels], ['outChannels', this.outChannels]] as const) {
      if (channels % this.groups !== 0) throw new RangeError(`ConvTranspose2d: ${name} must be divisible by groups: ${name}=${channels}, groups=${this.groups}`);
    }
    for (let axis = 0; axis < 2; axis++) {
      const op = this.outputPadding[axis]!;
      if (op >= this.stride[axis]! && op >= this.dilation[axis]!) {
        throw new RangeError(`ConvTranspose2d: outputPadding must be smaller than stride or dilation, got outputPadding ${describeValue(this.outputPadding)} with stride ${describeValue(this.stride)} and dilation ${describeValue(this.dilation)}`);
      }
    }
    const hasBias = readBoolean(options.bias, 'ConvTranspose2d: bias', true);
    const generator = resolveGenerator(options);
    const coutPerGroup = this.outChannels / this.groups;
    const shape = [this.inChannels, coutPerGroup, this.kernelSize[0], this.kernelSize[1]];
    const fanIn = coutPerGroup * this.kernelSize[0] * this.kernelSize[1];
    this.weight = new Parameter(shape, uniformFanIn(parameterData(shapeSize(shape), `ConvTranspose2d weight of shape [${shape.join(', ')}]`), fanIn, generator));
    this.bias = hasBias ? new Parameter([this.outChannels], uniformFanIn(parameterData(this.outChannels, 'ConvTranspose2d bias'), fanIn, generator)) : null;
  }

  protected override ownParameters(): [string, Parameter | null][] {
    return [['weight', this.weight], ['bias', this.bias]];
  }

  override producesNewTensor(): boolean {
    return true;
  }

  private geometryOptions(): { stride: [number, number]; padding: [number, number]; outputPadding: [number, number]; dilation: [number, number]; groups: number } {
    return {
      stride: [this.stride[0], this.stride[1]],
      padding: [this.padding[0], this.padding[1]],
      outputPadding: [this.outputPadding[0], this.outputPadding[1]],
      dilation: [this.dilation[0], this.dilation[1]],
      groups: this.groups,
    };
  }

  outputShape(inputShape: readonly number[]): number[] {
    return convTranspose2dGeometry(inputShape, this.weight.shape, this.geometryOptions()).outputShape.slice();
  }

  forward(x: TensorLike): Tensor {
    const input = checkInput(x, 'ConvTranspose2d', [3, 4], '[N, C, H, W] or [C, H, W]');
    const options = { ...this.geometryOptions(), bias: this.bias };
    if (!this.training) {
      this.saved = null;
      return convTranspose2d(input, this.weight, options);
    }
    const shape = this.outputShape(input.shape);
    this.trainOutput = reuseBuffer(this.trainOutput, shapeSize(shape));
    const output = convTranspose2d(input, this.weight, { ...options, out: { shape, data: this.trainOutput } });
    this.saved = { input, outputShape: shape };
    return output;
  }

  override backward(gradOutput: TensorLike): Tensor {
    const { input, outputShape } = savedFor(this.saved, this);
    const dy = asTensor(gradOutput, 'gradOutput');
    checkGradientShape(dy, outputShape, this);
    this.gradInputBuffer = reuseBuffer(this.gradInputBuffer, input.data.length);
    // \`accumulate\` adds into every out, so the reused input-gradient buffer starts from zero.
    this.gradInputBuffer.fill(0);
    const weightGrad = this.weight.requiresGrad;
    const biasGrad = this.bias !== null && this.bias.requiresGrad;
    const grads = convTranspose2dBackward(dy, input, this.weight, {
      ...this.geometryOptions(),
      needs: { input: true, weight: weightGrad, bias: biasGrad },
      gradInputOut: { shape: input.shape, data: this.gradInputBuffer },
      ...(weightGrad ? { gradWeightOut: this.weight.gradTensor() } : {}),
      ...(biasGrad ? { gradBiasOut: this.bias!.gradTensor() } : {}),
      accumulate: true,
    });
    return grads.gradInput!;
  }

  override extraRepr(): string {
    const pair = (p: readonly [number, number]): string => `(${p[0]}, ${p[1]})`;
    const parts = [`${this.inChannels}`, `${this.outChannels}`, `kernel_size=${pair(this.kernelSize)}`, `stride=${pair(this.stride)}`];
    if (this.padding[0] !== 0 || this.padding[1] !== 0) parts.push(`padding=${pair(this.padding)}`);
    if (this.outputPadding[0] !== 0 || this.outputPadding[1] !== 0) parts.push(`output_padding=${pair(this.outputPadding)}`);
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) parts.push(`dilation=${pair(this.dilation)}`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (this.bias === null) parts.push('bias=False');
    return parts.join(', ');
  }
}
