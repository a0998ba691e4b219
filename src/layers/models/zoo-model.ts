/**
 * What the torchvision models share: a fixed pipeline of named children and two functional steps
 * (`mean`: global average pooling to [N, C], as `x.mean([2, 3])` or `adaptive_avg_pool2d` then
 * `flatten`; `flatten`: [N, C, 1, 1] → [N, C] as a view), from which forward, forwardAsync,
 * compile plans, shape walks and summaries are all derived.
 */
import { asTensor, describeValue, type Tensor, type TensorLike } from '../../tensor.js';
import { checkInput, Module, type ForwardAsyncOptions, checkForwardAsyncOptions } from '../module.js';
import { planChain, type PlanStep } from '../compile.js';
import { tracedOutputShape, type ChildCall, type TracedModule } from '../trace.js';
import { planOutput } from '../plan-memory.js';

export type Stage = { readonly child: string } | 'mean' | 'flatten';

function meanShape(shape: readonly number[]): number[] {
  return [shape[0]!, shape[1]!];
}

/** Mean over H and W of each [N, C] plane into `out` (summed in float64). */
export function globalMeanInto(x: Tensor, out: Float32Array): void {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const plane = h * w;
  const data = x.data;
  for (let p = 0; p < n * c; p++) {
    let sum = 0;
    const end = (p + 1) * plane;
    for (let i = p * plane; i < end; i++) sum += data[i]!;
    out[p] = sum / plane;
  }
}

/** A functional stage on a new tensor: the global mean, or flatten as a view of the same data. */
function functionalStage(stage: 'mean' | 'flatten', y: Tensor): Tensor {
  if (stage === 'flatten') return { shape: meanShape(y.shape), data: y.data };
  const out = new Float32Array(y.shape[0]! * y.shape[1]!);
  globalMeanInto(y, out);
  return { shape: meanShape(y.shape), data: out };
}

export abstract class ZooModel extends Module implements TracedModule {
  /** The factory name used in messages (`mobilenetV2`). */
  protected abstract readonly factoryName: string;
  protected abstract readonly stages: readonly Stage[];

  traceChildren(inputShape: readonly number[], call: ChildCall): readonly number[] {
    let shape = inputShape;
    for (const stage of this.stages) {
      if (stage === 'mean' || stage === 'flatten') shape = meanShape(shape);
      else shape = call(stage.child, shape);
    }
    return shape;
  }

  outputShape(inputShape: readonly number[]): number[] {
    if (!Array.isArray(inputShape) || inputShape.length !== 4) {
      throw new RangeError(`${this.factoryName}: input must be [N, C, H, W], got shape ${describeValue(inputShape)}`);
    }
    return tracedOutputShape(this, inputShape, this.factoryName);
  }

  forward(x: TensorLike): Tensor {
    let y = checkInput(x, this.factoryName, [4], '[N, C, H, W]');
    this.outputShape(y.shape);
    const shapes: (readonly number[])[] = [];
    for (const stage of this.stages) {
      shapes.push(y.shape.slice());
      y = typeof stage === 'string' ? functionalStage(stage, y) : this.getChild(stage.child).forward(y);
    }
    this.stageInputs = this.training ? shapes : null;
    return y;
  }

  /** The input shape of each stage in the last forward, for backward. */
  private stageInputs: (readonly number[])[] | null = null;

  /** The stages in reverse: children's backward, the mean spread evenly over H·W, flatten reshaped back. */
  override backward(gradOutput: TensorLike): Tensor {
    const shapes = this.stageInputs;
    if (shapes === null) throw new TypeError(`${this.factoryName}.backward: no train-mode forward to differentiate; call train() and forward(x) first`);
    let g = asTensor(gradOutput, 'gradOutput');
    for (let i = this.stages.length - 1; i >= 0; i--) {
      const stage = this.stages[i]!;
      const shape = shapes[i]!;
      if (stage === 'flatten') g = { shape: shape.slice(), data: g.data };
      else if (stage === 'mean') {
        const plane = shape[2]! * shape[3]!;
        const dx = new Float32Array(shape[0]! * shape[1]! * plane);
        for (let p = 0; p < g.data.length; p++) dx.fill(g.data[p]! / plane, p * plane, (p + 1) * plane);
        g = { shape: shape.slice(), data: dx };
      } else g = this.getChild(stage.child).backward(g);
    }
    return g;
  }

  override async forwardAsync(x: TensorLike, options: ForwardAsyncOptions = {}): Promise<Tensor> {
    checkForwardAsyncOptions(options);
    let y = checkInput(x, this.factoryName, [4], '[N, C, H, W]');
    this.outputShape(y.shape);
    for (const stage of this.stages) {
      y = typeof stage === 'string' ? functionalStage(stage, y) : await this.getChild(stage.child).forwardAsync(y, options);
    }
    return y;
  }

  override plan(inputShape: readonly number[]): PlanStep {
    this.outputShape(inputShape);
    return planChain(inputShape, this.stages.map((stage) => (shape: readonly number[]): PlanStep => {
      if (stage === 'mean') {
        const out = planOutput(meanShape(shape), 'pooled features');
        return { outputShape: out.shape, output: out, run: (input) => (globalMeanInto(input, out.data), out) };
      }
      if (stage === 'flatten') {
        const flatShape = meanShape(shape);
        return { outputShape: flatShape, output: 'input', run: (input) => ({ shape: flatShape, data: input.data }) };
      }
      return this.getChild(stage.child).plan(shape);
    }));
  }
}
