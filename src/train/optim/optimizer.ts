/**
 * The optimizer base: a list of parameters, one learning rate (`lr`, which the schedules change),
 * per-parameter state in float64, `zeroGrad()`, `step()`, and a state dict to save and resume.
 * Parameters that are frozen (`requiresGrad` false) or have no gradient yet are skipped, as
 * PyTorch skips parameters whose `.grad` is None.
 */
import { describeValue } from '../../tensor.js';
import { Parameter } from '../../layers/parameter.js';

/** One parameter's saved state: its step count and its float64 buffers by name. */
export interface ParameterState {
  step: number;
  buffers: Record<string, Float64Array>;
}

/** An optimizer's state dict: the hyperparameters and each parameter's state, by position. */
export interface OptimizerStateDict {
  readonly kind: string;
  readonly hyperparameters: Record<string, number | boolean>;
  readonly state: (ParameterState | null)[];
}

export abstract class Optimizer {
  readonly params: readonly Parameter[];
  /** The learning rate of the next `step()` (schedules set it). */
  lr: number;
  /** The learning rate given at construction (what schedules scale). */
  readonly initialLr: number;
  protected readonly state: (ParameterState | null)[];

  protected constructor(params: Iterable<Parameter>, lr: number, name: string) {
    if (params === null || typeof params !== 'object' || typeof (params as Iterable<Parameter>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`${name}: params must be an iterable of Parameters (e.g. model.parameters()), got ${describeValue(params)}`);
    }
    // One element at a time, stopping at the first that is not a Parameter (a hole, say): a
    // huge or endless iterable of something else is never copied whole.
    const list: Parameter[] = [];
    for (const p of params) {
      if (!(p instanceof Parameter)) throw new TypeError(`${name}: params[${list.length}] must be a Parameter, got ${describeValue(p)}`);
      list.push(p);
    }
    if (list.length === 0) throw new RangeError(`${name}: params is empty (optimizer got an empty parameter list)`);
    if (new Set(list).size !== list.length) throw new RangeError(`${name}: params lists the same Parameter more than once`);
    this.params = list;
    this.lr = lr;
    this.initialLr = lr;
    this.state = list.map(() => null);
  }

  /** Sets every parameter's gradient to zero. */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /** One update of every trainable parameter that has a gradient. */
  step(): void {
    this.params.forEach((p, i) => {
      if (!p.requiresGrad || !p.hasGrad) return;
      let s = this.state[i];
      if (s === null || s === undefined) {
        s = { step: 0, buffers: {} };
        this.state[i] = s;
      }
      s.step++;
      this.update(p.data, p.grad, s);
    });
  }

  /** Updates `data` in place from `grad` and the parameter's state (whose step is already counted). */
  protected abstract update(data: Float32Array, grad: Float32Array, state: ParameterState): void;

  /** The hyperparameters that define the update (saved with the state). */
  protected abstract hyperparameters(): Record<string, number | boolean>;

  /** The float64 buffer `name` of `state`, created zeroed (or from `init`) on first use. */
  protected buffer(state: ParameterState, name: string, size: number, init?: Float32Array): Float64Array {
    let b = state.buffers[name];
    if (b === undefined) {
      b = init === undefined ? new Float64Array(size) : Float64Array.from(init);
      state.buffers[name] = b;
    }
    return b;
  }

  /** A copy of the optimizer's state, for saving and `loadStateDict`. */
  stateDict(): OptimizerStateDict {
    return {
      kind: this.constructor.name,
      hyperparameters: { ...this.hyperparameters(), lr: this.lr },
      state: this.state.map((s) => (s === null ? null : { step: s.step, buffers: Object.fromEntries(Object.entries(s.buffers).map(([k, v]) => [k, v.slice()])) })),
    };
  }

  /**
   * Restores a state saved by `stateDict` of the same kind of optimizer over parameters of the same
   * sizes (the learning rate included); checks everything before changing anything.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    const name = this.constructor.name;
    if (typeof dict !== 'object' || dict === null || dict.kind !== name || !Array.isArray(dict.state)) {
      throw new TypeError(`${name}.loadStateDict: expected a state dict of a ${name}, got ${describeValue(dict)}`);
    }
    if (dict.state.length !== this.params.length) {
      throw new RangeError(`${name}.loadStateDict: the state has ${dict.state.length} parameters, this optimizer ${this.params.length}`);
    }
    const lr = dict.hyperparameters?.lr;
    if (typeof lr !== 'number' || !Number.isFinite(lr)) throw new TypeError(`${name}.loadStateDict: hyperparameters.lr must be a number, got ${describeValue(lr)}`);
    if (lr < 0) throw new RangeError(`${name}.loadStateDict: hyperparameters.lr must be non-negative (PyTorch: "Invalid learning rate"), got ${describeValue(lr)}`);
    // Every index, holes included: a hole would otherwise keep this optimizer's old state for that parameter.
    for (let i = 0; i < dict.state.length; i++) {
      if (!Object.prototype.hasOwnProperty.call(dict.state, i)) {
        throw new TypeError(`${name}.loadStateDict: state[${i}] is missing (a hole); expected null or { step, buffers }`);
      }
    }
    dict.state.forEach((s, i) => {
      if (s === null) return;
      if (typeof s !== 'object' || !Number.isInteger(s.step) || s.step < 0 || typeof s.buffers !== 'object' || s.buffers === null) {
        throw new TypeError(`${name}.loadStateDict: state[${i}] must be null or { step, buffers }, got ${describeValue(s)}`);
      }
      for (const [key, b] of Object.entries(s.buffers)) {
        if (!(b instanceof Float64Array) || b.length !== this.params[i]!.data.length) {
          throw new RangeError(`${name}.loadStateDict: state[${i}].buffers.${key} must be a Float64Array of ${this.params[i]!.data.length} values, got ${describeValue(b)}`);
        }
      }
    });
    this.lr = lr;
    dict.state.forEach((s, i) => {
      this.state[i] = s === null ? null : { step: s.step, buffers: Object.fromEntries(Object.entries(s.buffers).map(([k, v]) => [k, v.slice()])) };
    });
  }
}
