/** `torch.optim.SGD`: momentum, dampening, Nesterov momentum and L2 weight decay, PyTorch's exact rule. */
import { readBoolean, readNumber, readOptions } from '../../checks.js';
import type { Parameter } from '../../layers/parameter.js';
import { Optimizer, type ParameterState } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * g ← grad + λθ; with momentum μ the buffer starts as g and then b ← μb + (1 − τ)g; Nesterov uses
 * g ← g + μb, plain momentum g ← b; finally θ ← θ − lr·g.
 */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: Iterable<Parameter>, options: SGDOptions) {
    const o = readOptions<SGDOptions>(options, ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'], 'SGD');
    if (o.lr === undefined) throw new TypeError('SGD: lr is required');
    super(params, readNumber(o.lr, 'SGD: lr', 0, { min: 0 }), 'SGD');
    this.momentum = readNumber(o.momentum, 'SGD: momentum', 0, { min: 0 });
    this.dampening = readNumber(o.dampening, 'SGD: dampening', 0);
    this.weightDecay = readNumber(o.weightDecay, 'SGD: weightDecay', 0, { min: 0 });
    this.nesterov = readBoolean(o.nesterov, 'SGD: nesterov', false);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError(`SGD: nesterov needs momentum > 0 and dampening 0, got momentum ${this.momentum}, dampening ${this.dampening}`);
    }
  }

  protected update(data: Float32Array, grad: Float32Array, state: ParameterState): void {
    const { momentum: mu, dampening, weightDecay: wd, nesterov, lr } = this;
    const first = state.buffers.momentum_buffer === undefined;
    const buf = mu !== 0 ? this.buffer(state, 'momentum_buffer', data.length) : null;
    for (let i = 0; i < data.length; i++) {
      let g = grad[i]! + wd * data[i]!;
      if (buf !== null) {
        const b = first ? g : mu * buf[i]! + (1 - dampening) * g;
        buf[i] = b;
        g = nesterov ? g + mu * b : b;
      }
      data[i] = data[i]! - lr * g;
    }
  }

  protected hyperparameters(): Record<string, number | boolean> {
    return { momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov };
  }
}
