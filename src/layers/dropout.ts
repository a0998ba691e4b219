/**
 * `nn.Dropout(p)`: in train mode each element is zeroed with probability p and the survivors are
 * scaled by 1/(1 − p), so the expected output equals the input; in eval mode it is the identity.
 * The mask comes from a seedable Generator (PyTorch's own random stream cannot be reproduced, so
 * masks differ from PyTorch's; their distribution is the same), so a seeded run repeats exactly.
 */
import { asTensor, checkShape, type Tensor, type TensorLike } from '../tensor.js';
import { readNumber, readOptions } from '../checks.js';
import { resolveGenerator, type Generator, type InitOptions } from './init.js';
import { checkGradientShape, Module, reuseBuffer, savedFor } from './module.js';
import type { PlanStep } from './compile.js';

export interface DropoutOptions extends InitOptions {
  /** The probability of zeroing an element, in [0, 1] (default 0.5). */
  p?: number;
}

export class Dropout extends Module {
  readonly p: number;
  private readonly generator: Generator;
  /** The last train-mode forward's mask as the factor per element (0 or 1/(1 − p)); null in eval mode. */
  private mask: Float32Array | null = null;
  private saved: Tensor | null = null;
  private trainOutput: Float32Array | null = null;
  private gradInputBuffer: Float32Array | null = null;

  constructor(pOrOptions: number | DropoutOptions = 0.5) {
    super();
    const options = typeof pOrOptions === 'object' && pOrOptions !== null
      ? readOptions<DropoutOptions>(pOrOptions, ['p', 'seed', 'generator'], 'Dropout')
      : { p: pOrOptions };
    this.p = readNumber(options.p, 'Dropout: p', 0.5, { min: 0, max: 1 });
    this.generator = resolveGenerator(options);
  }

  forward(x: TensorLike): Tensor {
    const input = asTensor(x, 'input');
    if (!this.training || this.p === 0) {
      this.saved = this.training ? input : null;
      this.mask = null;
      return input;
    }
    const n = input.data.length;
    this.mask = reuseBuffer(this.mask, n);
    this.trainOutput = reuseBuffer(this.trainOutput, n);
    const keep = 1 - this.p;
    // p = 1 zeroes everything (PyTorch's rule), without dividing by zero.
    const scale = keep === 0 ? 0 : 1 / keep;
    const mask = this.mask;
    const y = this.trainOutput;
    const x0 = input.data;
    for (let i = 0; i < n; i++) {
      const m = this.generator.random() < keep ? scale : 0;
      mask[i] = m;
      y[i] = x0[i]! * m;
    }
    this.saved = input;
    return { shape: input.shape.slice(), data: y };
  }

  override backward(gradOutput: TensorLike): Tensor {
    const input = savedFor(this.saved, this);
    const dy = asTensor(gradOutput, 'gradOutput');
    checkGradientShape(dy, input.shape, this);
    if (this.mask === null) return dy;
    this.gradInputBuffer = reuseBuffer(this.gradInputBuffer, dy.data.length);
    const dx = this.gradInputBuffer;
    const mask = this.mask;
    for (let i = 0; i < dx.length; i++) dx[i] = dy.data[i]! * mask[i]!;
    return { shape: input.shape.slice(), data: dx };
  }

  outputShape(inputShape: readonly number[]): number[] {
    checkShape(inputShape, 'input', 0); // any shape forward takes, empty batches included
    return inputShape.slice();
  }

  /** A plan is an inference step: the identity. */
  override plan(inputShape: readonly number[]): PlanStep {
    return { outputShape: inputShape.slice(), output: 'input', run: (input) => input };
  }

  override extraRepr(): string {
    return `p=${this.p}, inplace=False`;
  }
}
