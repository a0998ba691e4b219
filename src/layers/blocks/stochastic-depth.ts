/**
 * torchvision's `StochasticDepth(p, mode)` (drop-path): in train mode it zeroes a residual branch
 * per sample ('row') or for the whole batch ('batch') with probability p and scales the kept ones
 * by 1/(1 − p); in eval mode it is the identity. The draws come from a seedable Generator
 * (`{ seed }` or `{ generator }`; the default generator otherwise), so a seeded run repeats;
 * they differ from PyTorch's random stream, their distribution does not.
 */
import { checkShape, type Tensor, type TensorLike } from '../../tensor.js';
import { asTensor } from '../../tensor.js';
import { readEnum, readNumber, readOptions } from '../../checks.js';
import { resolveGenerator, type Generator, type InitOptions } from '../init.js';
import { checkGradientShape, Module, reuseBuffer, savedFor } from '../module.js';
import type { PlanStep } from '../compile.js';

export class StochasticDepth extends Module {
  readonly p: number;
  readonly mode: 'row' | 'batch';
  private readonly generator: Generator;
  /** The last train-mode forward's factor per sample (0 or 1/(1 − p)) and input shape. */
  private factors: Float32Array | null = null;
  private savedShape: number[] | null = null;
  private trainOutput: Float32Array | null = null;
  private gradInputBuffer: Float32Array | null = null;

  constructor(p: number, mode: 'row' | 'batch' = 'row', options: InitOptions = {}) {
    super();
    this.p = readNumber(p, 'StochasticDepth: p', 0, { min: 0, max: 1 });
    this.mode = readEnum(mode, 'StochasticDepth: mode', ['row', 'batch'] as const, 'row');
    this.generator = resolveGenerator(readOptions<InitOptions>(options, ['seed', 'generator'], 'StochasticDepth'));
  }

  forward(x: TensorLike): Tensor {
    const input = asTensor(x, 'input');
    if (!this.training || this.p === 0) {
      this.factors = null;
      this.savedShape = this.training ? input.shape.slice() : null;
      return input;
    }
    const batch = input.shape.length > 0 ? input.shape[0]! : 1;
    const groups = this.mode === 'row' ? batch : 1;
    this.factors = reuseBuffer(this.factors, groups);
    const survival = 1 - this.p;
    // p = 1 drops everything; torchvision then leaves the zeros unscaled.
    const scale = survival > 0 ? 1 / survival : 0;
    for (let g = 0; g < groups; g++) this.factors[g] = this.generator.random() < survival ? scale : 0;
    this.trainOutput = reuseBuffer(this.trainOutput, input.data.length);
    this.scaleRows(input.data, this.trainOutput, groups);
    this.savedShape = input.shape.slice();
    return { shape: input.shape.slice(), data: this.trainOutput };
  }

  /** out = x · factor of its sample (or the batch's one factor). */
  private scaleRows(x: Float32Array, out: Float32Array, groups: number): void {
    const per = x.length / groups;
    const factors = this.factors!;
    for (let g = 0; g < groups; g++) {
      const f = factors[g]!;
      for (let i = g * per; i < (g + 1) * per; i++) out[i] = x[i]! * f;
    }
  }

  /** The gradient scaled by the same factors (the identity when nothing was dropped). */
  override backward(gradOutput: TensorLike): Tensor {
    const shape = savedFor(this.savedShape, this);
    const dy = asTensor(gradOutput, 'gradOutput');
    checkGradientShape(dy, shape, this);
    if (this.factors === null) return dy;
    this.gradInputBuffer = reuseBuffer(this.gradInputBuffer, dy.data.length);
    this.scaleRows(dy.data, this.gradInputBuffer, this.factors.length);
    return { shape: shape.slice(), data: this.gradInputBuffer };
  }

  outputShape(inputShape: readonly number[]): number[] {
    checkShape(inputShape, 'input', 0); // any shape forward takes, empty batches included
    return inputShape.slice();
  }

  override plan(inputShape: readonly number[]): PlanStep {
    return { outputShape: this.outputShape(inputShape), output: 'input', run: (input) => input };
  }

  override extraRepr(): string {
    return `p=${this.p}, mode=${this.mode}`;
  }
}
