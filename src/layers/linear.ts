/** `nn.Linear` and `nn.Flatten`. */
import { checkShape, describeValue, shapeSize, type Tensor, type TensorLike } from '../tensor.js';
import { asTensor } from '../tensor.js';
import { positiveInteger } from '../geometry.js';
import { checkShapeElements, readBoolean, readInteger, readOptions } from '../kernels/validate.js';
import { parameterData, resolveGenerator, uniformFanIn, type InitOptions } from './init.js';
import { checkGradientShape, Module, reuseBuffer, savedFor } from './module.js';
import { currentPlanBackend, currentPlanExact, type PlanStep } from './compile.js';
import { Parameter } from './parameter.js';
import { planOutput, trackPlanResources } from './plan-memory.js';
import { wasmRuntimeIfAvailable } from '../ops/backend.js';
import { WasmLinear } from '../wasm/linear.js';
import type { WasmRuntime } from '../wasm/runtime.js';

export interface LinearOptions extends InitOptions {
  bias?: boolean;
}

/**
 * y[r, o] = bias[o] + Σ_k x[r, k]·w[o, k] for `rows` rows of K values, w `[N, K]` (float64 sums;
 * four independent partial sums break the add dependency chain). Linear's JS kernel, shared with
 * the ONNX Gemm/MatMul nodes.
 */
export function linearRows(x: Float32Array, rows: number, K: number, w: Float32Array, N: number, bias: Float32Array | null, y: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const xOff = r * K;
    for (let o = 0; o < N; o++) {
      const wOff = o * K;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let k = 0;
      for (; k + 3 < K; k += 4) {
        s0 += x[xOff + k]! * w[wOff + k]!;
        s1 += x[xOff + k + 1]! * w[wOff + k + 1]!;
        s2 += x[xOff + k + 2]! * w[wOff + k + 2]!;
        s3 += x[xOff + k + 3]! * w[wOff + k + 3]!;
      }
      for (; k < K; k++) s0 += x[xOff + k]! * w[wOff + k]!;
      y[r * N + o] = (bias === null ? 0 : bias[o]!) + (s0 + s1 + (s2 + s3));
    }
  }
}

/**
 * y = x·Wᵀ + b with weight `[outFeatures, inFeatures]`, bias `[outFeatures]`, both initialised
 * U(±1/sqrt(inFeatures)). Input `[..., inFeatures]`.
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  /** The last train-mode forward's input and output (null in eval mode). */
  private saved: { input: Tensor; output: Tensor } | null = null;
  private trainOutput: Float32Array | null = null;
  private gradInputBuffer: Float32Array | null = null;

  constructor(inFeatures: number, outFeatures: number, callerOptions: LinearOptions = {}) {
    super();
    // Own properties only, read once: nothing inherited is an option.
    const options = readOptions<LinearOptions>(callerOptions, ['bias', 'seed', 'generator'], 'Linear');
    this.inFeatures = positiveInteger(inFeatures, 'inFeatures');
    this.outFeatures = positiveInteger(outFeatures, 'outFeatures');
    const hasBias = readBoolean(options.bias, 'Linear: bias', true);
    const generator = resolveGenerator(options);
    const w = parameterData(this.outFeatures * this.inFeatures, 'Linear weight (outFeatures × inFeatures)');
    this.weight = new Parameter([this.outFeatures, this.inFeatures], uniformFanIn(w, this.inFeatures, generator));
    this.bias = hasBias ? new Parameter([this.outFeatures], uniformFanIn(parameterData(this.outFeatures, 'Linear bias'), this.inFeatures, generator)) : null;
  }

  protected override ownParameters(): [string, Parameter | null][] {
    return [['weight', this.weight], ['bias', this.bias]];
  }

  override producesNewTensor(): boolean {
    return true;
  }

  outputShape(inputShape: readonly number[]): number[] {
    checkShape(inputShape, 'input', 0);
    if (inputShape.length < 1 || inputShape[inputShape.length - 1] !== this.inFeatures) {
      throw new RangeError(`Linear: input must be [..., ${this.inFeatures}], got shape ${describeValue(inputShape)}`);
    }
    return [...inputShape.slice(0, -1), this.outFeatures];
  }

  private apply(x: Float32Array, rows: number, y: Float32Array): void {
    linearRows(x, rows, this.inFeatures, this.weight.data, this.outFeatures, this.bias?.data ?? null, y);
  }


  forward(x: TensorLike): Tensor {
    const input = asTensor(x, 'input');
    const shape = this.outputShape(input.shape);
    const size = checkShapeElements(shape, 'Linear output');
    if (!this.training) {
      this.saved = null;
      const y = new Float32Array(size);
      this.apply(input.data, input.data.length / this.inFeatures, y);
      return { shape, data: y };
    }
    this.trainOutput = reuseBuffer(this.trainOutput, size);
    this.apply(input.data, input.data.length / this.inFeatures, this.trainOutput);
    const output = { shape, data: this.trainOutput };
    this.saved = { input, output };
    return output;
  }

  /**
   * dX = dY·W; adds dW += dYᵀ·X and db += Σ dY over the rows (float64 sums) into the parameters'
   * grad, skipping frozen ones. Returns dX (the input's shape).
   */
  override backward(gradOutput: TensorLike): Tensor {
    const { input, output } = savedFor(this.saved, this);
    const dyTensor = asTensor(gradOutput, 'gradOutput');
    checkGradientShape(dyTensor, output.shape, this);
    const dy = dyTensor.data;
    const x = input.data;
    const K = this.inFeatures;
    const N = this.outFeatures;
    const rows = x.length / K;
    const w = this.weight.data;
    this.gradInputBuffer = reuseBuffer(this.gradInputBuffer, x.length);
    const dx = this.gradInputBuffer;
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let o = 0; o < N; o++) s += dy[r * N + o]! * w[o * K + k]!;
        dx[r * K + k] = s;
      }
    }
    if (this.weight.requiresGrad) {
      const dw = this.weight.grad;
      for (let o = 0; o < N; o++) {
        for (let k = 0; k < K; k++) {
          let s = 0;
          for (let r = 0; r < rows; r++) s += dy[r * N + o]! * x[r * K + k]!;
          dw[o * K + k] += s;
        }
      }
    }
    if (this.bias !== null && this.bias.requiresGrad) {
      const db = this.bias.grad;
      for (let o = 0; o < N; o++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += dy[r * N + o]!;
        db[o] += s;
      }
    }
    return { shape: input.shape, data: dx };
  }

  override plan(inputShape: readonly number[]): PlanStep {
    const shape = this.outputShape(inputShape);
    const out = planOutput(shape, 'Linear output');
    const rows = shapeSize(inputShape) / this.inFeatures;
    const rt = currentPlanExact() ? null : wasmRuntimeIfAvailable(currentPlanBackend(), 'Linear');
    if (rt !== null) {
      // Not bound to forward's bits: each row a GEMV (12-13× the scalar loop on 1280→1000).
      const gemv = this.planGemv(rt, rows);
      return {
        outputShape: shape,
        output: out,
        run: (input) => {
          gemv(input.data, out.data);
          return out;
        },
      };
    }
    return {
      outputShape: shape,
      output: out,
      run: (input) => {
        this.apply(input.data, rows, out.data);
        return out;
      },
    };
  }

  /**
   * @internal
   * y = this layer on `rows` rows, as a wasm GEMV: the weights copied into `rt`'s memory once
   * (counted and freed with the compile's plans), copied again after a loadStateDict.
   */
  planGemv(rt: WasmRuntime, rows: number): (x: Float32Array, y: Float32Array) => void {
    const gemv = new WasmLinear(rt, this.weight.data, this.bias?.data ?? null, this.inFeatures, this.outFeatures);
    trackPlanResources({ bytes: () => gemv.bytes, dispose: () => gemv.dispose() });
    let version = this.stateVersion;
    return (x, y) => {
      if (version !== this.stateVersion) {
        gemv.setWeights(this.weight.data, this.bias?.data ?? null);
        version = this.stateVersion;
      }
      gemv.run(x, rows, y);
    };
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? 'True' : 'False'}`;
  }
}

/** Flatten's dimensions are checked against this rank at construction (a dimension beyond it can never fit an input). */
const MAX_FLATTEN_DIM = 64;

/** `nn.Flatten(startDim = 1, endDim = -1)`: merges dimensions; shares the input's data (no copy). */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(startDim = 1, endDim = -1) {
    super();
    // Checked here, not first at forward time: a dimension beyond ±64 can never fit an input.
    this.startDim = readInteger(startDim, 'Flatten: startDim', 1, -MAX_FLATTEN_DIM, MAX_FLATTEN_DIM);
    this.endDim = readInteger(endDim, 'Flatten: endDim', -1, -MAX_FLATTEN_DIM, MAX_FLATTEN_DIM);
  }

  outputShape(inputShape: readonly number[]): number[] {
    checkShape(inputShape, 'input', 0);
    const rank = inputShape.length;
    const start = this.startDim < 0 ? this.startDim + rank : this.startDim;
    const end = this.endDim < 0 ? this.endDim + rank : this.endDim;
    if (start < 0 || start >= rank || end < 0 || end >= rank || start > end) {
      throw new RangeError(`Flatten: startDim=${this.startDim}, endDim=${this.endDim} do not fit an input of rank ${rank} (shape ${describeValue(inputShape)})`);
    }
    return [...inputShape.slice(0, start), shapeSize(inputShape.slice(start, end + 1)), ...inputShape.slice(end + 1)];
  }

  /** The input shape of the last train-mode forward. */
  private savedShape: number[] | null = null;

  forward(x: TensorLike): Tensor {
    const input = asTensor(x, 'input');
    this.savedShape = this.training ? input.shape.slice() : null;
    return { shape: this.outputShape(input.shape), data: input.data };
  }

  /** The gradient reshaped back to the input's shape (a view: no copy). */
  override backward(gradOutput: TensorLike): Tensor {
    const shape = savedFor(this.savedShape, this);
    const dy = asTensor(gradOutput, 'gradOutput');
    checkGradientShape(dy, this.outputShape(shape), this);
    return { shape, data: dy.data };
  }

  override plan(inputShape: readonly number[]): PlanStep {
    const shape = this.outputShape(inputShape);
    let last: Tensor | null = null;
    let view: Tensor | null = null;
    return {
      outputShape: shape,
      output: 'input', // a view of it
      // The previous step's output is the same buffer every run, so the view is built once.
      run: (input) => {
        if (input !== last) {
          last = input;
          view = { shape, data: input.data };
        }
        return view!;
      },
    };
  }

  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}
