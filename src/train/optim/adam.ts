/** `torch.optim.Adam` and `torch.optim.AdamW` (with AMSGrad), PyTorch's exact update rules. */
import { readBoolean, readNumber, readOptions } from '../../checks.js';
import { describeValue } from '../../tensor.js';
import type { Parameter } from '../../layers/parameter.js';
import { Optimizer, type ParameterState } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 0.01). */
  weightDecay?: number;
  amsgrad?: boolean;
}

function readBetas(value: unknown, name: string): [number, number] {
  if (value === undefined) return [0.9, 0.999];
  if (!Array.isArray(value) || value.length !== 2) throw new TypeError(`${name}: betas must be a pair [beta1, beta2], got ${describeValue(value)}`);
  return [
    readNumber(value[0], `${name}: betas[0]`, 0.9, { min: 0, max: 1, maxExclusive: true }),
    readNumber(value[1], `${name}: betas[1]`, 0.999, { min: 0, max: 1, maxExclusive: true }),
  ];
}

/**
 * Adam: g ← grad + λθ; m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; with AMSGrad v̂ = max of the raw
 * v so far; θ ← θ − (lr / (1 − β₁ᵗ))·m / (√v̂ / √(1 − β₂ᵗ) + ε).
 */
export class Adam extends Optimizer {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  /** AdamW decays the weights directly instead of adding λθ to the gradient. */
  protected readonly decoupled: boolean = false;

  constructor(params: Iterable<Parameter>, options: AdamOptions = {}) {
    const name = new.target.name;
    const o = readOptions<AdamOptions>(options, ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad'], name);
    super(params, readNumber(o.lr, `${name}: lr`, 1e-3, { min: 0 }), name);
    this.betas = readBetas(o.betas, name);
    this.eps = readNumber(o.eps, `${name}: eps`, 1e-8, { min: 0 });
    this.weightDecay = readNumber(o.weightDecay, `${name}: weightDecay`, name === 'AdamW' ? 1e-2 : 0, { min: 0 });
    this.amsgrad = readBoolean(o.amsgrad, `${name}: amsgrad`, false);
  }

  protected update(data: Float32Array, grad: Float32Array, state: ParameterState): void {
    const [beta1, beta2] = this.betas;
    const { lr, eps, weightDecay: wd } = this;
    const t = state.step;
    const m = this.buffer(state, 'exp_avg', data.length);
    const v = this.buffer(state, 'exp_avg_sq', data.length);
    const vmax = this.amsgrad ? this.buffer(state, 'max_exp_avg_sq', data.length) : null;
    const stepSize = lr / (1 - beta1 ** t);
    const sqrtCorrection2 = Math.sqrt(1 - beta2 ** t);
    const decay = this.decoupled ? 1 - lr * wd : 1;
    for (let i = 0; i < data.length; i++) {
      let theta = data[i]! * decay;
      const g = this.decoupled ? grad[i]! : grad[i]! + wd * data[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * g;
      const vi = beta2 * v[i]! + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      let second = vi;
      if (vmax !== null) {
        second = Math.max(vmax[i]!, vi);
        vmax[i] = second;
      }
      theta -= (stepSize * mi) / (Math.sqrt(second) / sqrtCorrection2 + eps);
      data[i] = theta;
    }
  }

  protected hyperparameters(): Record<string, number | boolean> {
    return { beta1: this.betas[0], beta2: this.betas[1], eps: this.eps, weightDecay: this.weightDecay, amsgrad: this.amsgrad };
  }
}

/** AdamW: θ ← θ·(1 − lr·λ) first, then the Adam step without the L2 term; weightDecay defaults to 0.01. */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;
}
