/**
 * torchvision's `StochasticDepth(p, mode)`: drops a residual branch per sample ('row') or per
 * batch ('batch') while training, scaling the kept ones by 1/(1−p). In eval mode — the mode every
 * forward here runs in — it is the identity, so it has no state and costs nothing.
 */
import { checkShape, type Tensor, type TensorLike } from '../../tensor.js';
import { asTensor } from '../../tensor.js';
import { readEnum, readNumber } from '../../kernels/checks.js';
import { Module, type PlanStep } from '../module.js';

export class StochasticDepth extends Module {
  readonly p: number;
  readonly mode: 'row' | 'batch';

  constructor(p: number, mode: 'row' | 'batch' = 'row') {
    super();
    this.p = readNumber(p, 'StochasticDepth: p', 0, { min: 0, max: 1 });
    this.mode = readEnum(mode, 'StochasticDepth: mode', ['row', 'batch'] as const, 'row');
  }

  forward(x: TensorLike): Tensor {
    if (this.training && this.p > 0) {
      throw new TypeError(`StochasticDepth: train mode with p=${this.p} (drop-path) is not implemented; use p = 0 (efficientnetB0({ stochasticDepthProb: 0 })) or eval mode`);
    }
    return asTensor(x, 'input');
  }

  /** The identity's gradient (train mode runs only with p = 0). */
  override backward(gradOutput: TensorLike): Tensor {
    return asTensor(gradOutput, 'gradOutput');
  }

  outputShape(inputShape: readonly number[]): number[] {
    checkShape(inputShape, 'input');
    return inputShape.slice();
  }

  override plan(inputShape: readonly number[]): PlanStep {
    return { outputShape: this.outputShape(inputShape), run: (input) => input };
  }

  override extraRepr(): string {
    return `p=${this.p}, mode=${this.mode}`;
  }
}
