/**
 * ShuffleNetV2's building block (Ma et al., arXiv:1807.11164) as torchvision 0.14 writes it.
 * Stride 1: the input's channels are split in two halves; the first passes untouched, the second
 * goes through `branch2` (1×1, depthwise 3×3, 1×1); the halves are concatenated and the channels
 * shuffled with 2 groups. Stride 2: both `branch1` (depthwise 3×3 stride 2, 1×1) and `branch2`
 * see the whole input. Concat and shuffle are one interleaving pass here.
 */
import { asTensor, describeValue, type Tensor, type TensorLike } from '../../tensor.js';
import { checkShapeElements, readInteger } from '../../checks.js';
import { ReLU } from '../activation.js';
import { BatchNorm2d } from '../batchnorm.js';
import { Conv2d } from '../conv.js';
import { Generator } from '../init.js';
import { checkInput, Module, type ForwardAsyncOptions, checkForwardAsyncOptions } from '../module.js';
import type { PlanStep } from '../compile.js';
import { Sequential } from '../sequential.js';
import { tracedOutputShape, type ChildCall, type TracedModule } from '../trace.js';
import { interleaveChannels } from './elementwise.js';
import { planOutput } from '../plan-memory.js';

/**
 * torchvision's `channel_shuffle(x, groups)`: viewing the C channels as [groups, C/groups] and
 * transposing, output channel j·groups + g is input channel g·(C/groups) + j.
 */
export function channelShuffle(input: Tensor, groups: number): Tensor {
  const x = asTensor(input, 'input');
  if (x.shape.length !== 4) throw new RangeError(`channelShuffle: input must be [N, C, H, W], got shape ${describeValue(x.shape)}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) {
    throw new RangeError(`channelShuffle: groups must be a positive integer dividing the ${c} channels, got ${describeValue(groups)}`);
  }
  const perGroup = c / groups;
  const plane = h * w;
  const out = new Float32Array(x.data.length);
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < groups; g++) {
      for (let j = 0; j < perGroup; j++) {
        const from = (b * c + g * perGroup + j) * plane;
        out.set(x.data.subarray(from, from + plane), (b * c + j * groups + g) * plane);
      }
    }
  }
  return { shape: x.shape.slice(), data: out };
}

function depthwise(channels: number, stride: number, generator: Generator): Conv2d {
  return new Conv2d({ inChannels: channels, outChannels: channels, kernelSize: 3, stride, padding: 1, groups: channels, bias: false, generator });
}

function pointwise(inChannels: number, outChannels: number, generator: Generator): Conv2d {
  return new Conv2d({ inChannels, outChannels, kernelSize: 1, bias: false, generator });
}

export class ShuffleInvertedResidual extends Module implements TracedModule {
  readonly stride: number;
  readonly inChannels: number;
  readonly outChannels: number;

  constructor(inp: number, oup: number, stride: number, generator: Generator) {
    super();
    readInteger(inp, 'ShuffleInvertedResidual: inp');
    readInteger(oup, 'ShuffleInvertedResidual: oup');
    if (!(generator instanceof Generator)) throw new TypeError(`ShuffleInvertedResidual: generator must be a Generator, got ${describeValue(generator)}`);
    if (!Number.isInteger(stride) || stride < 1 || stride > 3) throw new RangeError(`ShuffleInvertedResidual: stride must be 1, 2 or 3, got ${describeValue(stride)}`);
    const branch = Math.floor(oup / 2);
    if (stride === 1 && inp !== branch * 2) {
      throw new RangeError(`ShuffleInvertedResidual: with stride 1, inp must equal (oup // 2) * 2, got inp=${inp}, oup=${oup}`);
    }
    this.stride = stride;
    this.inChannels = inp;
    this.outChannels = branch * 2;
    this.registerModule(
      'branch1',
      stride > 1
        ? new Sequential(depthwise(inp, stride, generator), new BatchNorm2d(inp), pointwise(inp, branch, generator), new BatchNorm2d(branch), new ReLU())
        : new Sequential(),
    );
    this.registerModule(
      'branch2',
      new Sequential(
        pointwise(stride > 1 ? inp : branch, branch, generator),
        new BatchNorm2d(branch),
        new ReLU(),
        depthwise(branch, stride, generator),
        new BatchNorm2d(branch),
        pointwise(branch, branch, generator),
        new BatchNorm2d(branch),
        new ReLU(),
      ),
    );
  }

  get branch1(): Sequential {
    return this.getChild('branch1');
  }

  get branch2(): Sequential {
    return this.getChild('branch2');
  }

  private checkInputShape(inputShape: readonly number[]): void {
    if (inputShape.length !== 4 || inputShape[1] !== this.inChannels) {
      throw new RangeError(`ShuffleInvertedResidual: expected input [N, ${this.inChannels}, H, W], got shape ${describeValue(inputShape)}`);
    }
  }

  traceChildren(inputShape: readonly number[], call: ChildCall): readonly number[] {
    this.checkInputShape(inputShape);
    if (this.stride === 1) {
      const half = this.inChannels / 2;
      const b = call('branch2', [inputShape[0]!, half, inputShape[2]!, inputShape[3]!]);
      return [b[0]!, half + b[1]!, b[2]!, b[3]!];
    }
    const a = call('branch1', inputShape);
    const b = call('branch2', inputShape);
    return [a[0]!, a[1]! + b[1]!, a[2]!, a[3]!];
  }

  outputShape(inputShape: readonly number[]): number[] {
    return tracedOutputShape(this, inputShape);
  }

  override producesNewTensor(): boolean {
    return true;
  }

  /** The second half of the channels (a view for batch 1, a copy otherwise). */
  private secondHalf(x: Tensor): Tensor {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const half = c / 2;
    const plane = h * w;
    if (n === 1) return { shape: [1, half, h, w], data: x.data.subarray(half * plane, c * plane) };
    const data = new Float32Array(n * half * plane);
    for (let b = 0; b < n; b++) data.set(x.data.subarray((b * c + half) * plane, (b + 1) * c * plane), b * half * plane);
    return { shape: [n, half, h, w], data };
  }

  private combine(x: Tensor, a: Tensor | null, b: Tensor, out: Float32Array): void {
    const [n, , h, w] = b.shape as [number, number, number, number];
    const half = b.shape[1]!;
    if (a === null) interleaveChannels(x.data, this.inChannels, b.data, half, out, n, h * w);
    else interleaveChannels(a.data, half, b.data, half, out, n, h * w);
  }

  forward(x: TensorLike): Tensor {
    const input = checkInput(x, 'ShuffleInvertedResidual', [4], '[N, C, H, W]');
    const shape = this.outputShape(input.shape);
    const out = new Float32Array(checkShapeElements(shape, 'ShuffleInvertedResidual output'));
    if (this.stride === 1) this.combine(input, null, this.branch2.forward(this.secondHalf(input)), out);
    else this.combine(input, this.branch1.forward(input), this.branch2.forward(input), out);
    return { shape, data: out };
  }

  /**
   * The interleave run backwards: even output channels go to the untouched half (stride 1) or
   * branch1, odd ones to branch2; the branches' gradients are added where both saw the input.
   */
  override backward(gradOutput: TensorLike): Tensor {
    const dy = asTensor(gradOutput, 'gradOutput');
    if (dy.shape.length !== 4 || dy.shape[1] !== this.outChannels) {
      throw new RangeError(`ShuffleInvertedResidual.backward: gradOutput must be [N, ${this.outChannels}, H, W], got shape ${describeValue(dy.shape)}`);
    }
    const [n, , h, w] = dy.shape as [number, number, number, number];
    const half = this.outChannels / 2;
    const plane = h * w;
    const da = new Float32Array(n * half * plane);
    const db = new Float32Array(n * half * plane);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < half; i++) {
        const from = (b * 2 * half + 2 * i) * plane;
        const to = (b * half + i) * plane;
        da.set(dy.data.subarray(from, from + plane), to);
        db.set(dy.data.subarray(from + plane, from + 2 * plane), to);
      }
    }
    const shape = [n, half, h, w];
    const gb = this.branch2.backward({ shape, data: db });
    if (this.stride === 1) {
      const [, , ih, iw] = gb.shape as [number, number, number, number];
      const dx = new Float32Array(n * this.inChannels * ih * iw);
      const p = ih * iw;
      for (let b = 0; b < n; b++) {
        dx.set(da.subarray(b * half * p, (b + 1) * half * p), b * this.inChannels * p);
        dx.set(gb.data.subarray(b * half * p, (b + 1) * half * p), (b * this.inChannels + half) * p);
      }
      return { shape: [n, this.inChannels, ih, iw], data: dx };
    }
    const ga = this.branch1.backward({ shape, data: da });
    const dx = ga.data.slice();
    for (let i = 0; i < dx.length; i++) dx[i] = dx[i]! + gb.data[i]!;
    return { shape: ga.shape.slice(), data: dx };
  }

  override async forwardAsync(x: TensorLike, options: ForwardAsyncOptions = {}): Promise<Tensor> {
    checkForwardAsyncOptions(options);
    const input = checkInput(x, 'ShuffleInvertedResidual', [4], '[N, C, H, W]');
    const shape = this.outputShape(input.shape);
    const out = new Float32Array(checkShapeElements(shape, 'ShuffleInvertedResidual output'));
    if (this.stride === 1) this.combine(input, null, await this.branch2.forwardAsync(this.secondHalf(input), options), out);
    else this.combine(input, await this.branch1.forwardAsync(input, options), await this.branch2.forwardAsync(input, options), out);
    return { shape, data: out };
  }

  override plan(inputShape: readonly number[]): PlanStep {
    const outputShape = this.outputShape(inputShape);
    const out = planOutput(outputShape, 'ShuffleInvertedResidual output');
    const [n, c, h, w] = inputShape as [number, number, number, number];
    if (this.stride === 1) {
      const halfShape = [n, c / 2, h, w];
      const branch2 = this.branch2.plan(halfShape);
      // Batch 1: the second half is a view of the input; larger batches gather it into one buffer.
      const gathered = n === 1 ? null : new Float32Array(checkShapeElements(halfShape, 'ShuffleInvertedResidual half'));
      return {
        outputShape,
        output: out,
        run: (input) => {
          let second: Tensor;
          if (gathered === null) second = this.secondHalf(input);
          else {
            const plane = h * w;
            for (let b = 0; b < n; b++) gathered.set(input.data.subarray((b * c + c / 2) * plane, (b + 1) * c * plane), b * (c / 2) * plane);
            second = { shape: halfShape, data: gathered };
          }
          this.combine(input, null, branch2.run(second), out.data);
          return out;
        },
      };
    }
    const branch1 = this.branch1.plan(inputShape);
    const branch2 = this.branch2.plan(inputShape);
    return {
      outputShape,
      output: out,
      run: (input) => {
        this.combine(input, branch1.run(input), branch2.run(input), out.data);
        return out;
      },
    };
  }
}
