/**
 * Compiled models: a module's forward planned for one input shape (`module.compile(shape)`), with
 * the activation memory planner (plan-memory.ts) handing buffers from layer to layer, and the
 * chain planning every container uses.
 */
import { asTensor, checkShape, describeValue, type Tensor, type TensorLike } from '../tensor.js';
import { checkShapeElements, readOptions } from '../checks.js';
import { ActivationMemory, ChainBuffers, withActivationMemory, type StepOutput } from './plan-memory.js';
import { checkBackendChoice, wasmRuntimeIfAvailable, type BackendChoice } from '../ops/backend.js';
import type { WasmRuntime } from '../wasm/runtime.js';
import { WorkerPool } from '../parallel/pool.js';
import { sameShape } from '../tensor.js';

/**
 * One step of a planned (compiled) forward pass for a fixed input shape. `run` may return the same
 * output tensor on every call: its buffer belongs to the plan and is overwritten by the next run.
 */
export interface PlanStep {
  readonly outputShape: readonly number[];
  run(input: Tensor): Tensor;
  /**
   * What `run` returns, when known at plan time: the step's own tensor (the same every run), or
   * 'input' when it returns the tensor it was given (in place, a view, an identity). Chains use
   * it to hand intermediate buffers back to the compile's activation memory; unknown (absent)
   * keeps every buffer the step might return alive.
   */
  readonly output?: StepOutput;
}

/**
 * One plan step that runs `steps` in order, each on the previous one's output. `output` is what
 * the chain returns as far as it is known (see `ChainBuffers`).
 */
export function chainSteps(steps: readonly PlanStep[], outputShape: readonly number[], output: StepOutput = null): PlanStep {
  return {
    outputShape,
    output,
    run: (input) => {
      let y = input;
      for (let i = 0; i < steps.length; i++) y = steps[i]!.run(y);
      return y;
    },
  };
}

/**
 * Plans steps one after another, each for the previous one's output shape, as one chain step;
 * while planning, every intermediate buffer goes back to the compile's activation memory once
 * the step that reads it is planned (see `ChainBuffers`).
 */
export function planChain(inputShape: readonly number[], planners: Iterable<(shape: readonly number[]) => PlanStep>): PlanStep {
  const steps: PlanStep[] = [];
  const buffers = new ChainBuffers();
  let shape: readonly number[] = inputShape;
  for (const planStep of planners) {
    const step = planStep(shape);
    buffers.after(step.output);
    steps.push(step);
    shape = step.outputShape;
  }
  return chainSteps(steps, shape, buffers.output);
}

/** What `CompiledModel` needs of a module (every sepconv `Module` is one). */
export interface Compilable {
  outputShape(inputShape: readonly number[]): number[];
  plan(inputShape: readonly number[]): PlanStep;
  /** This module and its descendants (their `training` flags are checked). */
  modules(): readonly { readonly training: boolean }[];
}


export interface CompileOptions {
  /** The kernel tier every planned convolution runs on (default: the global choice, `setBackend`). */
  backend?: BackendChoice;
  /**
   * A worker pool for `runAsync`: each run's planned convolutions are split over the pool's
   * threads (bitwise the same result as `run`). Only the wasm tier with shared memory is split;
   * on the JS tier `runAsync` runs on the calling thread.
   */
  pool?: WorkerPool;
}

/** The `backend` of the compile in progress: read by the layers' plans while `module.plan` runs. */
let planningBackend: BackendChoice | undefined;
/** Whether the compile in progress must reproduce `forward`'s bits (see CompiledModel's `exact`). */
let planningExact = true;

/** The tier the plan being built should use (undefined: the global choice at run time). */
export function currentPlanBackend(): BackendChoice | undefined {
  return planningBackend;
}

/**
 * Whether the plan being built must give `forward`'s exact bits (true), or may use a faster kernel
 * that agrees within float32 rounding (false: `model.compile(shape)`'s default).
 */
export function currentPlanExact(): boolean {
  return planningExact;
}

export class CompiledModel<M extends Compilable = Compilable> {
  /** The tier chosen at compile time (undefined: the global choice). */
  readonly backend: BackendChoice | undefined;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  private readonly step: PlanStep;
  private readonly activations: ActivationMemory;
  /** The result tensor when the last step writes into wasm memory (copied out, see `run`). */
  private readonly result: Tensor | null;
  /** The pool `runAsync` runs on (null: none given). */
  readonly pool: WorkerPool | null;
  /** The wasm runtime whose memory holds the activations (what the pool can split), or null. */
  private readonly runtime: WasmRuntime | null;

  /**
   * `exact` (default true) plans every step with the kernel `forward` uses, bitwise; false allows
   * faster kernels within float32 rounding (`model.compile` passes false unless `foldBatchNorm: false`).
   */
  constructor(readonly module: M, inputShape: readonly number[], options: CompileOptions = {}, exact = true) {
    if (typeof module !== 'object' || module === null || typeof (module as Partial<Compilable>).plan !== 'function') {
      throw new TypeError(`compile: module must be a sepconv Module, got ${describeValue(module)}`);
    }
    const { backend: backendOption, pool } = readOptions<CompileOptions>(options, ['backend', 'pool'], 'compile');
    this.backend = backendOption === undefined ? undefined : checkBackendChoice(backendOption, 'compile: backend');
    if (pool !== undefined && !(pool instanceof WorkerPool)) {
      throw new TypeError(`compile: pool must be a WorkerPool (from createWorkerPool), got ${describeValue(pool)}`);
    }
    this.pool = pool ?? null;
    if (!Array.isArray(inputShape)) {
      throw new TypeError(`compile: inputShape must be an array of non-negative integers, got ${describeValue(inputShape)}`);
    }
    checkShape(inputShape, 'compile: input', 0);
    const training = module.modules().find((m) => m.training);
    if (training !== undefined) {
      throw new Error(
        `compile: ${(training as object) === module ? 'the model' : training.constructor.name} is in train mode; a compiled model runs inference ` +
          '(BatchNorm with its running statistics, no dropout): call model.eval() before compile()',
      );
    }
    // Checked before planning: the input of that shape, then the output (shape-only work), so
    // an impossible compile fails before any plan buffer is allocated.
    checkShapeElements(inputShape, 'compile: inputShape');
    checkShapeElements(module.outputShape(inputShape), 'compile: the output');
    this.inputShape = inputShape.slice();
    this.runtime = activationRuntime(this.backend);
    this.activations = new ActivationMemory(this.runtime);
    const outer = [planningBackend, planningExact] as const;
    planningBackend = this.backend;
    planningExact = exact !== false;
    try {
      this.step = withActivationMemory(this.activations, () => module.plan(this.inputShape));
    } finally {
      [planningBackend, planningExact] = outer;
    }
    this.outputShape = this.step.outputShape.slice();
    // The caller keeps the result past the model's life; wasm memory is given back when the
    // model is collected, so the result lives in an ordinary array (one copy of the output).
    this.result = this.activations.inWasmMemory ? { shape: this.outputShape.slice(), data: new Float32Array(checkShapeElements(this.outputShape, 'compile: the output')) } : null;
  }

  /** Bytes of the activation buffers the compiled model holds (reused across layers). */
  get activationBytes(): number {
    return this.activations.bytes;
  }

  /**
   * The memory the compiled model holds beyond the module's own parameters: its activation
   * buffers, and what its convolution plans hold (on the wasm tier: packed weights, scratch and
   * staging in wasm memory; on the JS tier: scratch). Plans pack their weights on the first run.
   */
  memory(): { activationBytes: number; planBytes: number; inWasmMemory: boolean } {
    if (this.activations.isDisposed) return { activationBytes: 0, planBytes: 0, inWasmMemory: this.activations.inWasmMemory };
    return { activationBytes: this.activations.bytes, planBytes: this.activations.planBytes, inWasmMemory: this.activations.inWasmMemory };
  }

  /** Whether the activations live in WebAssembly memory (the wasm tier with a shared memory). */
  get activationsInWasmMemory(): boolean {
    return this.activations.inWasmMemory;
  }

  /** Runs the planned forward pass; the result's buffer is reused (overwritten) by the next run. */
  run(x: TensorLike): Tensor {
    const input = asTensor(x, 'input');
    this.checkInput(input);
    const y = this.step.run(input);
    if (this.result === null) return y;
    this.result.data.set(y.data);
    return this.result;
  }

  /**
   * `run` on the compile's worker pool: the planned convolutions are split over its threads, the
   * rest runs on the calling thread, and the result is bitwise `run`'s (the same reused tensor).
   * Runs queue on the pool one after another. The first run on a pool records the model's
   * convolutions on the calling thread alone; without a pool, or on the JS tier, every run does.
   * A worker's failure rejects the run (the worker is replaced).
   */
  runAsync(x: TensorLike): Promise<Tensor> {
    if (this.pool === null) {
      try {
        return Promise.resolve(this.run(x));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    try {
      // The same checks as `run`, before anything is queued.
      this.checkInput(asTensor(x, 'input'));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.pool.runCompiled(this, this.runtime, () => this.run(x));
  }

  /** Alias of `run`. */
  forward(x: TensorLike): Tensor {
    return this.run(x);
  }

  private checkInput(input: Tensor): void {
    if (!sameShape(input.shape, this.inputShape)) {
      throw new RangeError(
        `compiled model expects input shape ${describeValue(this.inputShape)}, got ${describeValue(input.shape)}; compile again for another shape`,
      );
    }
    if (this.activations.isDisposed) throw new Error('compiled model: run after dispose(); compile the module again');
  }

  /**
   * Gives the activation buffers and the convolution plans' memory back now (on the wasm tier)
   * rather than when the model is collected; the compiled model must not be run afterwards.
   * Results already returned stay valid.
   */
  dispose(): void {
    this.pool?.forgetCompiled(this);
    this.activations.dispose();
  }
}

/**
 * The wasm runtime whose shared memory a compile's activations go to: the tier the compile runs
 * on, when it is wasm and its memory is shared (views on it stay valid when it grows); else null.
 */
function activationRuntime(backend: BackendChoice | undefined): WasmRuntime | null {
  const runtime = wasmRuntimeIfAvailable(backend, 'compile');
  return runtime !== null && runtime.variant.shared ? runtime : null;
}
