/**
 * The base of every layer: PyTorch's `nn.Module` contract.
 *
 * A module owns parameters (learnable tensors, `weight`/`bias`, each a `Parameter` with its `grad`),
 * buffers (state that is saved but not learned, e.g. BatchNorm's running statistics) and named
 * children. State-dict keys join the child names with dots, exactly as PyTorch does
 * (`depthwise.weight`, `0.running_mean`), so a PyTorch `state_dict` of the same architecture loads
 * with `loadStateDict`.
 *
 * Training (the backward protocol). `train()` / `eval()` set `training` on the whole tree. In train
 * mode, `forward(x)` also keeps what the gradient needs (its input, a mask, batch statistics), and
 * `backward(gradOutput)` — called once per forward, in reverse order of the forwards — adds
 * ∂loss/∂parameter into every trainable parameter's `grad` and returns ∂loss/∂input (the input's
 * shape). A container's backward calls its children's backward in reverse order. What a module
 * keeps belongs to its most recent train-mode forward; buffers (outputs, gradients) are reused from
 * one step to the next when shapes repeat, so a steady training loop allocates no typed arrays: a
 * train-mode forward's output is valid until the module's next forward. A module without a backward
 * throws a TypeError naming it.
 */
import { asTensor, checkShape, describeValue, shapeSize, type Tensor, type TensorLike } from '../tensor.js';
import { readBoolean, readOptions, type Conv2dOptions } from '../kernels/validate.js';
import { asInt64Tensor, isInt64Tensor, type StateTensor, type StateTensorLike } from '../int64.js';
import { Parameter } from './parameter.js';
import { wrongFormatHint } from '../sniff.js';
import { CompiledModel, type CompileOptions, type PlanStep } from './compile.js';
import { sameShape } from '../tensor.js';

/**
 * Whatever can run a conv2d asynchronously (a worker pool, for instance). `forwardAsync` hands
 * every convolution to it with exactly the options the synchronous `forward` would use.
 */
export interface ConvRunner {
  conv2d(input: Tensor, weight: Tensor, options: Conv2dOptions): Promise<Tensor>;
}

export interface ForwardAsyncOptions {
  /** Run convolutions here; without it `forwardAsync` computes on the calling thread. */
  pool?: ConvRunner;
}

/** Throws unless `options` is a valid ForwardAsyncOptions object (own `pool` only). */
export function checkForwardAsyncOptions(options: unknown): void {
  const { pool } = readOptions<ForwardAsyncOptions>(options, ['pool'], 'forwardAsync');
  if (pool !== undefined && (typeof pool !== 'object' || pool === null || typeof (pool as { conv2d?: unknown }).conv2d !== 'function')) {
    throw new TypeError(`forwardAsync: pool must be a ConvRunner (an object with a conv2d method, such as a worker pool), got ${describeValue(pool)}`);
  }
}

export interface LoadStateDictOptions {
  /** Fail on missing and unexpected keys (default true). Shape mismatches always fail. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  /** Keys the model has but the dictionary lacks (only non-empty when `strict` is false). */
  readonly missingKeys: string[];
  /** Keys the dictionary has but the model does not (only non-empty when `strict` is false). */
  readonly unexpectedKeys: string[];
}

export interface ModuleCompileOptions extends CompileOptions {
  /**
   * Fold each BatchNorm that follows a convolution into it before planning (default true): faster,
   * and equal to `forward` within float32 rounding. False keeps `forward`'s exact bits.
   */
  foldBatchNorm?: boolean;
}

/** A convolution a per-channel affine map can be folded into (see `Module.trailingConvolution`). */
export interface ChannelAffineTarget {
  readonly outChannels: number;
  applyChannelAffine(scale: ArrayLike<number>, shift: ArrayLike<number>): void;
}

/** Parameters and buffers by key: float32 tensors, and int64 ones for counts (`num_batches_tracked`). */
export type StateDict = Record<string, StateTensor>;

/**
 * A layer that can overwrite its input with its output (element-wise layers, BatchNorm). A
 * container uses this only on tensors it produced itself, never on a caller's input.
 */
export interface InPlaceCapable {
  /** `activation` is only passed to layers that accept a fused one (BatchNorm). */
  forwardInPlace(x: Tensor, activation?: 'relu' | 'relu6'): Tensor;
  planInPlace(inputShape: readonly number[], activation?: 'relu' | 'relu6'): PlanStep;
}

export function isInPlaceCapable(m: Module): m is Module & InPlaceCapable {
  return typeof (m as Partial<InPlaceCapable>).forwardInPlace === 'function';
}

/** The output shape of `modules` run one after another, each on the previous one's output. */
export function chainedOutputShape(modules: readonly Module[], inputShape: readonly number[]): number[] {
  checkShape(inputShape, 'input', 0); // before copying a caller's (possibly huge, sparse) array
  let shape = inputShape.slice();
  for (const module of modules) shape = module.outputShape(shape);
  return shape;
}

/** Keys named in a StateDictError's message per list; the error's fields keep them all. */
const MAX_LISTED_KEYS = 20;

function listKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, MAX_LISTED_KEYS).map((k) => JSON.stringify(k.length > 120 ? `${k.slice(0, 120)}…` : k)).join(', ');
  return keys.length > MAX_LISTED_KEYS ? `${shown} … and ${keys.length - MAX_LISTED_KEYS} more` : shown;
}

export class StateDictError extends Error {
  readonly missingKeys: string[];
  readonly unexpectedKeys: string[];
  readonly mismatchedKeys: string[];
  /** Keys whose value is not a valid tensor. */
  readonly invalidKeys: string[];

  /** `mismatches` and `invalid` map a key to the sentence describing its problem. */
  constructor(moduleName: string, missing: string[], unexpected: string[], mismatches: Map<string, string>, invalid: Map<string, string>) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`Missing key(s): ${listKeys(missing)}.`);
    if (unexpected.length > 0) parts.push(`Unexpected key(s): ${listKeys(unexpected)}.`);
    const problems = [...mismatches.values(), ...invalid.values()];
    parts.push(...problems.slice(0, MAX_LISTED_KEYS));
    if (problems.length > MAX_LISTED_KEYS) parts.push(`… and ${problems.length - MAX_LISTED_KEYS} more mismatched or invalid key(s).`);
    super(`Error(s) in loading state dict for ${moduleName}; nothing was changed:\n\t${parts.join('\n\t')}`);
    this.name = 'StateDictError';
    this.missingKeys = missing;
    this.unexpectedKeys = unexpected;
    this.mismatchedKeys = [...mismatches.keys()];
    this.invalidKeys = [...invalid.keys()];
  }
}

interface StateEntry {
  readonly key: string;
  readonly target: StateTensor;
  readonly owner: Module;
  /** May be absent from a loaded dictionary without counting as missing. */
  readonly optional: boolean;
}


function copyTensor(t: StateTensor): StateTensor {
  return isInt64Tensor(t) ? { shape: t.shape.slice(), data: t.data.slice() } : { shape: t.shape.slice(), data: t.data.slice() };
}

/**
 * The values of `value` in the element type of `target` (a copy when converting), as PyTorch's
 * `copy_` converts: int64 to float32 by rounding, float32 to int64 by truncation toward zero.
 * Non-finite values cannot become int64 and are an error.
 */
function convertFor(target: StateTensor, value: StateTensor, key: string): Float32Array | BigInt64Array {
  if (isInt64Tensor(target) === isInt64Tensor(value)) return value.data;
  if (isInt64Tensor(value)) return Float32Array.from(value.data, (v) => Number(v));
  const data = value.data as Float32Array;
  const out = new BigInt64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`${key} is an int64 buffer, but element ${i} is ${v}, which has no int64 value`);
    out[i] = BigInt(Math.trunc(v));
  }
  return out;
}

function indent(text: string): string {
  return text.split('\n').join('\n  ');
}

/** Checks an input tensor's rank and returns it contiguous; `ranks` lists the accepted ranks. */
export function checkInput(x: TensorLike, module: string, ranks: readonly number[], layout: string): Tensor {
  const t = asTensor(x, 'input');
  if (!ranks.includes(t.shape.length)) {
    throw new RangeError(`${module}: input must be ${layout}, got shape ${describeValue(t.shape)} (rank ${t.shape.length})`);
  }
  return t;
}

/**
 * A float32 buffer of `size` values for a module's reused storage: `current` when it already has
 * that size, else a new one (steady training loops then allocate nothing).
 */
export function reuseBuffer(current: Float32Array | null, size: number): Float32Array {
  return current !== null && current.length === size ? current : new Float32Array(size);
}

/** The saved state a backward needs, or a TypeError saying that no train-mode forward ran. */
export function savedFor<T>(saved: T | null, module: Module): T {
  if (saved === null) {
    throw new TypeError(`${module.constructor.name}.backward: no train-mode forward to differentiate; call train() and forward(x) first`);
  }
  return saved;
}

/** Checks that a gradient has exactly the shape of the output it belongs to. */
export function checkGradientShape(gradOutput: Tensor, expected: readonly number[], module: Module): void {
  if (!sameShape(gradOutput.shape, expected)) {
    throw new RangeError(
      `${module.constructor.name}.backward: gradOutput must have the forward output's shape ${describeValue(expected)}, got ${describeValue(gradOutput.shape)}`,
    );
  }
}

export abstract class Module {
  private readonly childModules = new Map<string, Module>();
  /** Train mode (batch statistics, dropout, state kept for backward) or eval mode (the default). */
  training = false;
  /**
   * Incremented whenever `loadStateDict` writes this module's own tensors, so planned forwards
   * that copied or packed the weights know to refresh them.
   */
  stateVersion = 0;

  /** The forward pass; allocates its output. */
  abstract forward(x: TensorLike): Tensor;

  /** The output shape for an input of shape `inputShape`; throws (naming the problem) when invalid. */
  abstract outputShape(inputShape: readonly number[]): number[];

  /** This module's own parameters, by local name; a null value is an absent optional one (bias=false). */
  protected ownParameters(): [string, Parameter | null][] {
    return [];
  }

  /** Sets train mode (`mode` true) or eval mode on this module and every descendant; returns this. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new TypeError(`${this.constructor.name}.train: mode must be a boolean, got ${describeValue(mode)}`);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Eval mode (running statistics, no dropout, nothing kept for backward); returns this. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Adds the gradients of this module's parameters for the most recent train-mode forward into
   * their `grad`, and returns ∂loss/∂input. Modules without a gradient rule throw.
   */
  backward(gradOutput: TensorLike): Tensor {
    void gradOutput;
    throw new TypeError(
      `${this.constructor.name} cannot be trained: it has no backward(gradOutput). Override backward in the subclass (see the README's custom-module example)`,
    );
  }

  /** Sets every parameter's gradient to zero. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** This module's own buffers (saved, not learned), by local name. */
  protected ownBuffers(): [string, StateTensor][] {
    return [];
  }

  /** Local names of buffers that a loaded dictionary may omit. */
  protected optionalBuffers(): readonly string[] {
    return [];
  }

  /**
   * True when `forward` (and a planned step) always returns a tensor of its own, never a view of
   * its input, so the next layer may overwrite it.
   */
  producesNewTensor(): boolean {
    return false;
  }

  /** The configuration shown between the parentheses of `toString()` (PyTorch's `extra_repr`). */
  extraRepr(): string {
    return '';
  }

  /** Registers `module` as the child `name` (its state-dict prefix) and returns it. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    if (!(module instanceof Module)) {
      throw new TypeError(`${this.constructor.name}: child ${JSON.stringify(name)} must be a Module, got ${describeValue(module)}`);
    }
    if (name === '' || name.includes('.')) {
      throw new RangeError(`${this.constructor.name}: child name must be non-empty and contain no ".", got ${JSON.stringify(name)}`);
    }
    this.childModules.set(name, module);
    return module;
  }

  /** Replaces an existing child (used by transformations such as `foldBatchNorm`). */
  protected replaceModule(name: string, module: Module): void {
    if (!this.childModules.has(name)) throw new RangeError(`${this.constructor.name} has no child ${JSON.stringify(name)}`);
    this.registerModule(name, module);
  }

  /** The child registered as `name`. */
  protected getChild<M extends Module = Module>(name: string): M {
    const child = this.childMap().get(name);
    if (child === undefined) throw new RangeError(`${this.constructor.name} has no child ${JSON.stringify(name)}`);
    return child as M;
  }

  /** Direct children with their names, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.childMap()];
  }

  children(): Module[] {
    return [...this.childMap().values()];
  }

  /**
   * The children: those registered with `registerModule`, then modules assigned as properties
   * (`this.conv = new Conv2d(...)`, the PyTorch habit), in assignment order, as PyTorch's
   * `__setattr__` registers them. A property holding a module already registered (under any
   * name), or one that contains this module (a back reference), is not a second child.
   */
  private childMap(): Map<string, Module> {
    for (const key of Object.keys(this)) {
      const value = (this as Record<string, unknown>)[key];
      if (!(value instanceof Module) || value === this || this.childModules.has(key) || key.includes('.')) continue;
      if ([...this.childModules.values()].includes(value) || value.registeredDescendant(this)) continue;
      this.childModules.set(key, value);
    }
    return this.childModules;
  }

  /** Whether `module` is among this module's registered descendants (no attribute scan: it guards that scan). */
  private registeredDescendant(module: Module): boolean {
    for (const child of this.childModules.values()) if (child === module || child.registeredDescendant(module)) return true;
    return false;
  }

  /** `ownParameters()`, then `Parameter`s assigned as properties (`this.scale = new Parameter(...)`), in assignment order. */
  private registeredParameters(): [string, Parameter | null][] {
    const declared = this.ownParameters();
    for (const key of Object.keys(this)) {
      const value = (this as Record<string, unknown>)[key];
      if (value instanceof Parameter && !declared.some(([name, p]) => name === key || p === value)) declared.push([key, value]);
    }
    return declared;
  }

  /** This module (name `''`) and every descendant, depth first, with dotted names. */
  namedModules(prefix = ''): [string, Module][] {
    const result: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.childMap()) {
      result.push(...child.namedModules(prefix === '' ? name : `${prefix}.${name}`));
    }
    return result;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Learnable parameters with their state-dict keys (absent optional ones are skipped). */
  namedParameters(): [string, Parameter][] {
    return this.namedTensors((module) => module.registeredParameters());
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(): [string, StateTensor][] {
    return this.namedTensors((module) => module.ownBuffers());
  }

  /** The tensors `own` gives for every module, under their state-dict keys; null ones are skipped. */
  private namedTensors<T extends StateTensor>(own: (module: Module) => readonly [string, T | null][]): [string, T][] {
    const result: [string, T][] = [];
    for (const [prefix, module] of this.namedModules()) {
      for (const [name, t] of own(module)) {
        if (t !== null) result.push([prefix === '' ? name : `${prefix}.${name}`, t]);
      }
    }
    return result;
  }

  /** The number of learnable parameter values (what PyTorch's `sum(p.numel() for p in m.parameters())` gives). */
  numParameters(): number {
    let total = 0;
    for (const p of this.parameters()) total += shapeSize(p.shape);
    return total;
  }

  private stateEntries(): StateEntry[] {
    const entries: StateEntry[] = [];
    for (const [prefix, module] of this.namedModules()) {
      const key = (name: string): string => (prefix === '' ? name : `${prefix}.${name}`);
      for (const [name, p] of module.registeredParameters()) {
        if (p !== null) entries.push({ key: key(name), target: p, owner: module, optional: false });
      }
      const optional = module.optionalBuffers();
      for (const [name, b] of module.ownBuffers()) {
        entries.push({ key: key(name), target: b, owner: module, optional: optional.includes(name) });
      }
    }
    return entries;
  }

  /** Parameters and buffers by key, as copies (changing them does not change the model). */
  stateDict(): StateDict {
    const dict: StateDict = {};
    for (const entry of this.stateEntries()) dict[entry.key] = copyTensor(entry.target);
    return dict;
  }

  /**
   * Copies the values of `dict` into this model's parameters and buffers. Every problem —
   * missing keys and unexpected keys (when `strict`), shape mismatches and invalid values (always)
   * — is reported by name in one StateDictError, and on failure nothing is changed. The caller's
   * tensors are copied, never kept; values that share memory with the model's own tensors (a
   * dictionary built from the model's live tensors, reordered) are staged in copies first, so every
   * value is read before any is overwritten. int64 values load into float32 tensors and float32
   * values into int64 buffers (`num_batches_tracked`) converted as PyTorch's `copy_` does.
   */
  loadStateDict(dict: Record<string, StateTensorLike>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
      throw new TypeError(`loadStateDict: dict must be an object mapping keys to tensors, got ${describeValue(dict)}`);
    }
    if (ArrayBuffer.isView(dict) || dict instanceof ArrayBuffer) {
      // The bytes of a weights file, not yet parsed.
      const bytes = dict instanceof ArrayBuffer ? new Uint8Array(dict) : new Uint8Array(dict.buffer, dict.byteOffset, dict.byteLength);
      const hint = wrongFormatHint(bytes, []);
      throw new TypeError(
        `loadStateDict: dict must be an object mapping keys to tensors, got the ${bytes.length} bytes of a file; parse it first` +
          (hint === null ? ' (loadSafetensors, loadTorchCheckpoint)' : `: ${hint}`),
      );
    }
    // Own properties only: an inherited or polluted `strict` is no option.
    const strict = readBoolean(readOptions<LoadStateDictOptions>(options, ['strict'], 'loadStateDict').strict, 'loadStateDict: strict', true);
    const entries = this.stateEntries();
    const known = new Set(entries.map((e) => e.key));
    const missing: string[] = [];
    const mismatches = new Map<string, string>();
    const invalid = new Map<string, string>();
    const writes: [StateTensor, Float32Array | BigInt64Array, Module][] = [];
    for (const entry of entries) {
      if (!Object.prototype.hasOwnProperty.call(dict, entry.key)) {
        if (!entry.optional) missing.push(entry.key);
        continue;
      }
      let value: StateTensor;
      let data: Float32Array | BigInt64Array;
      try {
        const raw = dict[entry.key];
        value = isInt64Tensor(raw) ? asInt64Tensor(raw, entry.key) : asTensor(raw, entry.key);
        if (!sameShape(value.shape, entry.target.shape)) {
          mismatches.set(
            entry.key,
            `size mismatch for "${entry.key}": copying a tensor with shape ${describeValue(value.shape)} from the dict, the shape in the current model is ${describeValue(entry.target.shape)}.`,
          );
          continue;
        }
        data = convertFor(entry.target, value, entry.key);
      } catch (error) {
        invalid.set(entry.key, `invalid value for "${entry.key}": ${(error as Error).message}`);
        continue;
      }
      writes.push([entry.target, data, entry.owner]);
    }
    const unexpected = Object.keys(dict).filter((k) => !known.has(k));
    const failed = mismatches.size > 0 || invalid.size > 0 || (strict && (missing.length > 0 || unexpected.length > 0));
    if (failed) {
      throw new StateDictError(this.constructor.name, strict ? missing : [], strict ? unexpected : [], mismatches, invalid);
    }
    // Stage every source that lives in memory the writes below overwrite.
    const targetBuffers = new Set<ArrayBufferLike>(entries.map((e) => e.target.data.buffer));
    for (const write of writes) {
      if (targetBuffers.has(write[1].buffer)) write[1] = write[1].slice();
    }
    const touched = new Set<Module>();
    for (const [target, data, owner] of writes) {
      (target.data as Float32Array | BigInt64Array).set(data as never);
      touched.add(owner);
    }
    for (const module of touched) module.stateVersion++;
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }

  /** A PyTorch-style description of the module tree. */
  toString(): string {
    const name = this.constructor.name;
    const extra = this.extraRepr();
    if (this.childMap().size === 0) return `${name}(${extra})`;
    const lines = [`${name}(`];
    if (extra !== '') lines.push(`  ${indent(extra)}`);
    for (const [childName, child] of this.childMap()) lines.push(`  (${childName}): ${indent(child.toString())}`);
    lines.push(')');
    return lines.join('\n');
  }

  /**
   * The forward pass with every convolution handed to `options.pool` when given. Containers await
   * their children in order; layers without convolutions run synchronously.
   */
  async forwardAsync(x: TensorLike, options: ForwardAsyncOptions = {}): Promise<Tensor> {
    checkForwardAsyncOptions(options);
    return this.forward(x);
  }

  /**
   * A step computing this module for inputs of shape `inputShape` that reuses its output buffer and
   * prepared weights across runs. Layers that do not override it fall back to `forward`.
   */
  plan(inputShape: readonly number[]): PlanStep {
    const outputShape = this.outputShape(inputShape);
    return { outputShape, run: (input) => this.forward(input) };
  }

  /**
   * A forward pass planned for one input shape: intermediate buffers and packed weights are
   * allocated once, here, and every later `run` reuses them (the returned tensor is the same object
   * each time and is overwritten by the next run).
   *
   * By default every BatchNorm that follows a convolution is folded into it first (in a copy, as
   * `foldBatchNorm` does): the compiled model then agrees with `forward` within float32 rounding
   * rather than bitwise, and weights loaded into this model afterwards need a new `compile`.
   * On the wasm tier the default also runs Linear layers (the classifier) on a wasm GEMV.
   * `foldBatchNorm: false` keeps the exact `forward` bits; then reloading weights with
   * `loadStateDict` is seen by the plan (writing into parameter arrays directly needs a new `compile`).
   */
  compile(inputShape: readonly number[], options: ModuleCompileOptions = {}): CompiledModel<Module> {
    const { backend, foldBatchNorm, pool } = readOptions<ModuleCompileOptions>(options, ['backend', 'foldBatchNorm', 'pool'], 'compile');
    const fold = readBoolean(foldBatchNorm, 'compile: foldBatchNorm', true);
    let target: Module = this;
    if (fold && !this.modules().some((m) => m.training)) {
      // A folded copy, when there is something to fold: the model itself is left as it is.
      const copy = this.clone();
      if (copy.foldBatchNormInPlace() > 0) target = copy;
    }
    // Folding already gives up forward's exact bits: the other fast kernels (the wasm GEMV for
    // Linear) come with it; foldBatchNorm: false keeps every step on forward's kernels.
    return new CompiledModel(target, inputShape, { ...(backend === undefined ? {} : { backend }), ...(pool === undefined ? {} : { pool }) }, !fold);
  }

  /**
   * @internal
   * The convolution whose output this module ends with, if it is one (a Conv2d, the pointwise step
   * of a separable block): what a following BatchNorm folds into.
   */
  trailingConvolution(): ChannelAffineTarget | null {
    return null;
  }

  /**
   * @internal
   * The fixed per-channel affine map this module applies in eval mode over `channels` channels
   * (BatchNorm with running statistics), or null.
   */
  inferenceAffine(channels: number): { scale: Float64Array; shift: Float64Array } | null {
    void channels;
    return null;
  }

  /**
   * @internal
   * Folds every BatchNorm that directly follows a convolution into it, in this module and its
   * descendants (containers override this to do their own children's pairs); returns how many.
   */
  foldBatchNormInPlace(): number {
    let folded = 0;
    for (const child of this.children()) folded += child.foldBatchNormInPlace();
    return folded;
  }

  /** A deep copy: same configuration, own copies of every tensor and child. */
  clone(): this {
    return cloneValue(this) as this;
  }
}

/** Deep copy that keeps shared references shared (a child reachable by a field and by the child map). */
function cloneValue(value: unknown, memo = new Map<unknown, unknown>()): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const seen = memo.get(value);
  if (seen !== undefined) return seen;
  if (value instanceof Float32Array || value instanceof BigInt64Array) {
    const copy = value.slice();
    memo.set(value, copy);
    return copy;
  }
  if (value instanceof Parameter) {
    const copy = new Parameter(value.shape, cloneValue(value.data, memo) as Float32Array);
    copy.requiresGrad = value.requiresGrad;
    memo.set(value, copy);
    return copy;
  }
  if (value instanceof Map) {
    const copy = new Map();
    memo.set(value, copy);
    for (const [k, v] of value) copy.set(k, cloneValue(v, memo));
    return copy;
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    memo.set(value, copy);
    for (const v of value) copy.push(cloneValue(v, memo));
    return copy;
  }
  const proto = Object.getPrototypeOf(value);
  if (value instanceof Module || proto === Object.prototype) {
    const copy = Object.create(proto) as Record<string, unknown>;
    memo.set(value, copy);
    for (const key of Object.keys(value)) copy[key] = cloneValue((value as Record<string, unknown>)[key], memo);
    return copy;
  }
  return value;
}
