/**
 * Learning-rate schedules over an optimizer's `lr`, stepped once per epoch as in PyTorch
 * (`scheduler.step()` after the epoch's optimizer steps): StepLR and CosineAnnealingLR.
 */
import { readInteger, readNumber, readOptions } from '../checks.js';
import { describeValue } from '../tensor.js';
import { Optimizer } from './optim/optimizer.js';

abstract class LRScheduler {
  /** Epochs stepped so far. */
  lastEpoch = 0;

  constructor(readonly optimizer: Optimizer, name: string) {
    if (!(optimizer instanceof Optimizer)) throw new TypeError(`${name}: optimizer must be an Optimizer, got ${describeValue(optimizer)}`);
  }

  /** The learning rate at `epoch` for the optimizer's initial rate. */
  protected abstract lrAt(epoch: number): number;

  /** Advances one epoch and sets the optimizer's lr. */
  step(): void {
    this.lastEpoch++;
    this.optimizer.lr = this.lrAt(this.lastEpoch);
  }

  /** The learning rate the optimizer uses now. */
  getLastLr(): number {
    return this.optimizer.lr;
  }
}

export interface StepLROptions {
  stepSize: number;
  gamma?: number;
}

/** lr = initialLr · γ^floor(epoch / stepSize). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: StepLROptions) {
    super(optimizer, 'StepLR');
    const o = readOptions<StepLROptions>(options, ['stepSize', 'gamma'], 'StepLR');
    this.stepSize = readInteger(o.stepSize, 'StepLR: stepSize');
    this.gamma = readNumber(o.gamma, 'StepLR: gamma', 0.1, { min: 0 });
  }

  protected lrAt(epoch: number): number {
    return this.optimizer.initialLr * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

export interface CosineAnnealingLROptions {
  tMax: number;
  etaMin?: number;
}

/** lr = etaMin + (initialLr − etaMin)·(1 + cos(π·epoch / tMax)) / 2 (PyTorch's closed form). */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions) {
    super(optimizer, 'CosineAnnealingLR');
    const o = readOptions<CosineAnnealingLROptions>(options, ['tMax', 'etaMin'], 'CosineAnnealingLR');
    this.tMax = readInteger(o.tMax, 'CosineAnnealingLR: tMax');
    this.etaMin = readNumber(o.etaMin, 'CosineAnnealingLR: etaMin', 0, { min: 0 });
  }

  protected lrAt(epoch: number): number {
    const base = this.optimizer.initialLr;
    return this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }
}
