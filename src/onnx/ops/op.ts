/**
 * What an operator implementation provides. Loading a model calls `load` once per node: it reads
 * and checks the node's attributes (and the constant inputs it needs, such as Conv's weight), so
 * a malformed node fails in `loadOnnx`. Specialising the graph for concrete input shapes calls
 * `specialize` with the shape and dtype of every input (and its value when it is constant): it
 * returns the outputs' shapes and a kernel for exactly those shapes, so index tables, plans and
 * packed weights are made once. When every input is constant the executor runs the kernel at
 * specialisation time and the node disappears (constant and shape folding).
 */
import type { BackendChoice } from '../../ops/backend.js';
import type { Module } from '../../layers/module.js';
import { planOutput } from '../../layers/plan-memory.js';
import { withShapeOnlyParameters } from '../../layers/init.js';
import type { Parameter } from '../../layers/parameter.js';
import type { AttributeValue, NodeProto } from '../proto.js';
import { allocValue, type DType, type OValue } from '../values.js';

/** What is known about a value while specialising: dtype and concrete shape, and its value when constant. */
export interface Info {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly value: OValue | null;
}

export interface SpecializeEnv {
  /** The kernel tier (undefined: the global choice at run time). */
  readonly backend: BackendChoice | undefined;
}

/** A node specialised for fixed input shapes. */
export interface Kernel {
  readonly outputs: readonly Info[];
  /** Computes the outputs into new arrays. */
  run(inputs: readonly OValue[]): OValue[];
  /**
   * A compiled step: output buffers taken once from the compile's activation memory (see
   * `planOutput`), reused by every call. `mayOverwrite[i]`: input i is dead after this node and
   * belongs to the plan, so the kernel may write its output there (in place).
   */
  plan(mayOverwrite: readonly boolean[]): PlannedRun;
}

export interface NodeImpl {
  specialize(inputs: readonly Info[], env: SpecializeEnv): Kernel;
  /** The module holding this node's parameters, shown by summary and stateDict (Conv, Gemm, ...). */
  readonly module?: Module;
  /**
   * A sepconv module computing the same thing, shown in the module tree instead of a generic
   * node leaf (an activation: summary then counts its element-wise ops). Holds no weights.
   */
  readonly describedBy?: Module;
}

export interface LoadContext {
  readonly node: NodeProto;
  /** `Conv node "name"`: how errors name the node. */
  readonly label: string;
  readonly opset: number;
  readonly attrs: Attributes;
  /** The load-time constant value of input i (an initializer or a Constant's output), or null. */
  constant(i: number): OValue | null;
  /** Whether input i is given (present and not the empty name). */
  has(i: number): boolean;
  readonly env: SpecializeEnv;
}

/** A planned step's function, with what it writes as known at plan time (see `planned`). */
export type PlannedRun = ((inputs: readonly OValue[]) => OValue[]) & { plannedOutputs?: readonly (Float32Array | number | null)[] };

/**
 * Tags a planned step's function with its outputs' buffers: a Float32Array the step owns (from
 * the compile's activation memory), the index of the input whose buffer it writes or shares, or
 * null (not the planner's). The executor hands buffers back to the activation memory with it.
 */
export function planned(fn: (inputs: readonly OValue[]) => OValue[], outputs: readonly (Float32Array | number | null)[]): PlannedRun {
  const run: PlannedRun = (inputs) => fn(inputs);
  run.plannedOutputs = outputs;
  return run;
}

/**
 * A tensor object for `data` under a fixed shape, reused while `data` is the same array: a
 * compiled step whose buffers do not change makes no object per run.
 */
export function wrapper<D extends OValue['data']>(dtype: OValue['dtype'], shape: readonly number[]): (data: D) => OValue {
  let last: OValue | null = null;
  return (data) => {
    if (last === null || last.data !== data) last = { dtype, shape, data } as OValue;
    return last;
  };
}

/** `wrapper` for sepconv Tensors (a convolution's or a pool's input). */
export function tensorWrapper(shape: readonly number[]): (data: Float32Array) => { shape: readonly number[]; data: Float32Array } {
  let last: { shape: readonly number[]; data: Float32Array } | null = null;
  return (data) => {
    if (last === null || last.data !== data) last = { shape, data };
    return last;
  };
}

export interface OpDef {
  load(ctx: LoadContext): NodeImpl;
}

/** An `onnx:` error naming the node. */
export function nodeError(label: string, detail: string, kind: 'range' | 'type' = 'range'): Error {
  const message = `onnx: ${label}: ${detail}`;
  return kind === 'type' ? new TypeError(message) : new RangeError(message);
}

const TYPE_NAMES: Record<AttributeValue['type'], string> = {
  float: 'FLOAT', int: 'INT', string: 'STRING', tensor: 'TENSOR', floats: 'FLOATS', ints: 'INTS', strings: 'STRINGS', graph: 'GRAPH', other: 'an unsupported type',
};

/** Typed access to a node's attributes: a wrong type is a TypeError naming node, attribute and types. */
export class Attributes {
  constructor(private readonly map: ReadonlyMap<string, AttributeValue>, private readonly label: string) {}

  has(name: string): boolean {
    return this.map.has(name);
  }

  private get<T extends AttributeValue['type']>(name: string, type: T): Extract<AttributeValue, { type: T }> | undefined {
    const a = this.map.get(name);
    if (a === undefined) return undefined;
    if (a.type !== type) {
      throw new TypeError(`onnx: ${this.label}: attribute ${JSON.stringify(name)} must be ${TYPE_NAMES[type]}, got ${TYPE_NAMES[a.type]}`);
    }
    return a as Extract<AttributeValue, { type: T }>;
  }

  int(name: string, fallback: number): number {
    return this.get(name, 'int')?.value ?? fallback;
  }

  float(name: string, fallback: number): number {
    return this.get(name, 'float')?.value ?? fallback;
  }

  string(name: string, fallback: string): string {
    return this.get(name, 'string')?.value ?? fallback;
  }

  ints(name: string): number[] | null {
    return this.get(name, 'ints')?.value ?? null;
  }

  floats(name: string): number[] | null {
    return this.get(name, 'floats')?.value ?? null;
  }

  tensor(name: string): OValue | null {
    return this.get(name, 'tensor')?.value ?? null;
  }

  /** An INT attribute restricted to `allowed` values. */
  intIn(name: string, fallback: number, allowed: readonly number[]): number {
    const v = this.int(name, fallback);
    if (!allowed.includes(v)) throw new RangeError(`onnx: ${this.label}: attribute ${JSON.stringify(name)} must be one of ${allowed.join(', ')}, got ${v}`);
    return v;
  }

  stringIn<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const v = this.string(name, fallback);
    if (!(allowed as readonly string[]).includes(v)) {
      throw new RangeError(`onnx: ${this.label}: attribute ${JSON.stringify(name)} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v)}`);
    }
    return v as T;
  }
}

/**
 * A layer built for a node's weights: made without drawing initial values (a shape-only build),
 * then given copies of the node's weight and bias. Constructor errors are the node's.
 */
export function layerWithWeights<L extends { weight: Parameter; bias: Parameter | null }>(label: string, build: () => L, weight: Float32Array, bias: Float32Array | null): L {
  let layer: L;
  try {
    layer = withShapeOnlyParameters(build);
  } catch (error) {
    throw nodeError(label, (error as Error).message);
  }
  layer.weight.data = weight.slice();
  if (layer.bias !== null) layer.bias.data = bias!.slice();
  return layer;
}

/** Normalises a possibly negative axis for rank `rank`, or throws naming the node. */
export function normalizeAxis(axis: number, rank: number, label: string, what = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw nodeError(label, `${what} ${axis} is out of range for rank ${rank} (allowed ${-rank}..${rank - 1})`);
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * A kernel from a compute function writing into preallocated outputs. `inPlace`: compute is
 * correct when output 0's data is input 0's data (element-wise ops with matching shapes).
 */
export function computeKernel(
  outputs: readonly Info[],
  compute: (inputs: readonly OValue[], outputs: readonly OValue[]) => void,
  inPlace = false,
): Kernel {
  const allocate = (): OValue[] => outputs.map((o, i) => allocValue(o.dtype, o.shape, `output ${i}`));
  return {
    outputs,
    run(inputs) {
      const outs = allocate();
      compute(inputs, outs);
      return outs;
    },
    plan(mayOverwrite) {
      const first = outputs[0];
      if (inPlace && first !== undefined && outputs.length === 1 && mayOverwrite[0] === true) {
        const wrap = wrapper(first.dtype, first.shape);
        const result: OValue[] = [];
        return planned((inputs) => {
          result[0] = wrap(inputs[0]!.data);
          compute(inputs, result);
          return result;
        }, [0]);
      }
      const outs = outputs.map((o, i) => (o.dtype === 'float32' ? { dtype: 'float32' as const, ...planOutput(o.shape, `output ${i}`) } : allocValue(o.dtype, o.shape, `output ${i}`)));
      return planned((inputs) => {
        compute(inputs, outs);
        return outs;
      }, outs.map((o) => (o.dtype === 'float32' ? o.data : null)));
    },
  };
}

/** A kernel whose output 0 is input 0's data under another shape (Reshape, Flatten, Squeeze, ...). */
export function viewKernel(input: Info, shape: readonly number[]): Kernel {
  const info: Info = { dtype: input.dtype, shape, value: input.value === null ? null : ({ ...input.value, shape } as OValue) };
  const view = (inputs: readonly OValue[]): OValue[] => [{ dtype: inputs[0]!.dtype, shape, data: inputs[0]!.data } as OValue];
  return {
    outputs: [info],
    run: view,
    plan: () => {
      const wrap = wrapper(input.dtype, shape);
      const result: OValue[] = [];
      return planned((inputs) => {
        result[0] = wrap(inputs[0]!.data);
        return result;
      }, [0]);
    },
  };
}

/**
 * A kernel whose outputs are contiguous ranges of input 0 (a channel split of a batch-1 tensor):
 * views, nothing copied. `parts` gives each output's shape and element offset.
 */
export function rangeViewKernel(input: Info, parts: readonly { shape: readonly number[]; offset: number }[]): Kernel {
  const slice = (data: OValue['data'], offset: number, size: number): OValue['data'] => data.subarray(offset, offset + size);
  const sizes = parts.map((p) => p.shape.reduce((a, b) => a * b, 1));
  const outputs = parts.map((p, k) => info(input.dtype, p.shape, input.value === null ? null : ({ dtype: input.dtype, shape: p.shape, data: slice(input.value.data, p.offset, sizes[k]!) } as OValue)));
  const views = (inputs: readonly OValue[]): OValue[] => parts.map((p, k) => ({ dtype: inputs[0]!.dtype, shape: p.shape, data: slice(inputs[0]!.data, p.offset, sizes[k]!) } as OValue));
  return {
    outputs,
    run: views,
    plan: () => {
      // The ranges of the same input array are the same views: made again only when it changes.
      let source: OValue['data'] | null = null;
      let last: OValue[] = [];
      return planned((inputs) => {
        if (inputs[0]!.data !== source) {
          source = inputs[0]!.data;
          last = views(inputs);
        }
        return last;
      }, parts.map(() => 0));
    },
  };
}

export function info(dtype: DType, shape: readonly number[], value: OValue | null = null): Info {
  return { dtype, shape, value };
}

/** The integer values of a constant input (shape, axes, sizes), or an error saying it must be constant. */
export function constInts(input: Info | undefined, label: string, what: string): number[] {
  if (input === undefined) throw nodeError(label, `the ${what} input is missing`);
  if (input.value === null) {
    throw nodeError(label, `the ${what} input must be known when the graph is specialised (a constant or shape arithmetic on known shapes)`);
  }
  const v = input.value;
  if (v.dtype === 'float32') throw nodeError(label, `the ${what} input must be an integer tensor, got float32`, 'type');
  return Array.from(v.data as ArrayLike<number>);
}

export function constFloats(input: Info | undefined, label: string, what: string): number[] {
  if (input === undefined) throw nodeError(label, `the ${what} input is missing`);
  if (input.value === null) throw nodeError(label, `the ${what} input must be known when the graph is specialised`);
  return Array.from(input.value.data as ArrayLike<number>);
}

export function requireFloat(input: Info, label: string, what = 'input'): void {
  if (input.dtype !== 'float32') throw nodeError(label, `the ${what} must be float, got ${input.dtype}`, 'type');
}
