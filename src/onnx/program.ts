/**
 * A graph specialised for concrete input shapes: every node gets a kernel for its input shapes;
 * nodes whose inputs are all known (shape arithmetic on known shapes, constants) are computed
 * right here and disappear, so a dynamic-batch export's Shape/Gather/Concat chains fold at
 * compile time as a static export's do at load. What remains is a list of steps.
 *
 * `run` executes the steps with fresh arrays. `plan` builds a compiled forward pass inside a
 * compile (`withActivationMemory`): each step's output comes from the compile's activation
 * memory and goes back to it after its last reader has been planned, one-input element-wise
 * steps write over a dead input in place, and views (Reshape, Flatten, ...) share their input's
 * buffer, so a run allocates nothing and copies nothing between steps.
 */
import type { BackendChoice } from '../ops/backend.js';
import { ChainBuffers } from '../layers/plan-memory.js';
import type { GraphNode, LoadedGraph } from './graph.js';
import { nodeLabel } from './graph.js';
import { info, type Info, type Kernel, type NodeImpl, type PlannedRun } from './ops/op.js';
import type { OValue } from './values.js';

export interface Step {
  readonly node: GraphNode;
  readonly impl: NodeImpl;
  readonly kernel: Kernel;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** The shapes of the step's inputs (for summaries). */
  readonly inputInfos: readonly (Info | undefined)[];
}

export class Program {
  readonly steps: Step[] = [];
  /** Values known once shapes are: constants and everything folded. */
  readonly known = new Map<string, OValue>();
  readonly infos = new Map<string, Info>();

  constructor(readonly graph: LoadedGraph, readonly impls: readonly NodeImpl[], readonly inputShapes: ReadonlyMap<string, readonly number[]>, backend: BackendChoice | undefined) {
    for (const [name, v] of graph.constants) this.infos.set(name, info(v.dtype, v.shape, v));
    for (const input of graph.inputs) {
      const shape = inputShapes.get(input.name)!;
      this.infos.set(input.name, info('float32', shape));
    }
    const env = { backend };
    graph.nodes.forEach((node, i) => {
      const impl = impls[i]!;
      const inputInfos = node.inputs.map((name) => (name === '' ? undefined : this.infos.get(name)!));
      let kernel: Kernel;
      try {
        kernel = impl.specialize(inputInfos as Info[], env);
      } catch (error) {
        throw rethrow(error, node);
      }
      const allKnown = inputInfos.every((x) => x === undefined || x.value !== null);
      let values: (OValue | null)[] = kernel.outputs.map((o) => o.value);
      if (allKnown && values.some((v) => v === null)) {
        values = kernel.run(inputInfos.map((x) => x?.value) as OValue[]);
      }
      const folded = values.every((v) => v !== null);
      node.outputs.forEach((name, k) => {
        if (name === '') return;
        const o = kernel.outputs[k];
        if (o === undefined) throw new RangeError(`onnx: ${nodeLabel(node)} names ${node.outputs.length} outputs but computes ${kernel.outputs.length}`);
        const v = folded ? values[k]! : null;
        this.infos.set(name, v === null ? o : info(v.dtype, v.shape, v));
        if (v !== null) this.known.set(name, v);
      });
      if (!folded) {
        this.steps.push({ node, impl, kernel, inputs: node.inputs, outputs: node.outputs, inputInfos });
        // Constants the step reads (initializers the rewrites left as inputs: PRelu's slope, ...).
        for (const name of node.inputs) {
          const c = name === '' ? undefined : graph.constants.get(name);
          if (c !== undefined) this.known.set(name, c);
        }
      }
    });
    // Graph outputs that are constants or inputs.
    for (const o of graph.outputs) {
      const c = graph.constants.get(o.name);
      if (c !== undefined) this.known.set(o.name, c);
    }
  }

  /** The output infos of the graph, in order. */
  outputInfos(): Info[] {
    return this.graph.outputs.map((o) => this.infos.get(o.name)!);
  }

  /** Runs the steps on `inputs` (by graph input name) with fresh arrays; returns the graph outputs. */
  run(inputs: ReadonlyMap<string, OValue>): Map<string, OValue> {
    const values = new Map<string, OValue>(this.known);
    for (const [k, v] of inputs) values.set(k, v);
    for (const step of this.steps) {
      const ins = step.inputs.map((name) => (name === '' ? undefined : values.get(name))) as OValue[];
      const outs = step.kernel.run(ins);
      step.outputs.forEach((name, k) => {
        if (name !== '') values.set(name, outs[k]!);
      });
    }
    return new Map(this.graph.outputs.map((o) => [o.name, values.get(o.name)!]));
  }

  /**
   * The compiled pass, planned inside a compile: a function from the graph inputs to the graph
   * outputs, whose buffers are the plan's and are overwritten by the next call.
   */
  plan(): (inputs: ReadonlyMap<string, OValue>) => Map<string, OValue> {
    // Remaining reads of each tensor, graph outputs pinned forever.
    const reads = new Map<string, number>();
    for (const step of this.steps) for (const name of step.inputs) if (name !== '') reads.set(name, (reads.get(name) ?? 0) + 1);
    const pinned = new Set(this.graph.outputs.map((o) => o.name));
    // Plan-time buffer of each tensor produced by a step (null: not the planner's, never reused).
    const bufferOf = new Map<string, Float32Array | null>();
    const holders = new Map<Float32Array, Set<string>>(); // buffer → tensors (aliases) still to be read or pinned
    const live = (b: Float32Array): boolean => {
      for (const name of holders.get(b) ?? []) if ((reads.get(name) ?? 0) > 0 || pinned.has(name)) return true;
      return false;
    };
    const runs: { fn: (ins: readonly OValue[]) => OValue[]; inputs: readonly string[]; outputs: readonly string[] }[] = [];
    for (const step of this.steps) {
      const mayOverwrite = step.inputs.map((name, k) => {
        const b = name === '' ? null : bufferOf.get(name) ?? null;
        if (b === null || step.inputs.indexOf(name) !== k || step.inputs.lastIndexOf(name) !== k) return false;
        // Dead after this step: every alias's remaining reads are this one.
        for (const alias of holders.get(b) ?? []) {
          if (pinned.has(alias)) return false;
          const left = (reads.get(alias) ?? 0) - (alias === name ? 1 : 0);
          if (left > 0) return false;
        }
        return true;
      });
      let fn: PlannedRun;
      try {
        fn = step.kernel.plan(mayOverwrite);
      } catch (error) {
        throw rethrow(error, step.node);
      }
      const planned = planTimeBuffers(step, fn, bufferOf);
      runs.push({ fn, inputs: step.inputs, outputs: step.outputs });
      // This step's reads are done; a tensor read by nothing later stops holding its buffer.
      const touched = new Set<Float32Array>();
      for (const name of step.inputs) {
        if (name === '') continue;
        const left = reads.get(name)! - 1;
        reads.set(name, left);
        const b = bufferOf.get(name);
        if (b) {
          touched.add(b);
          if (left === 0 && !pinned.has(name)) holders.get(b)?.delete(name);
        }
      }
      step.outputs.forEach((name, k) => {
        if (name === '') return;
        const b = planned[k] ?? null;
        bufferOf.set(name, b);
        if (b !== null) {
          let set = holders.get(b);
          if (set === undefined) holders.set(b, (set = new Set()));
          set.add(name);
          touched.add(b);
        }
      });
      for (const b of touched) {
        if (!live(b)) {
          holders.delete(b);
          releaseToPlanner(b);
        }
      }
    }
    // Every tensor gets a slot: constants filled once, inputs and step outputs written each run.
    const slots = new Map<string, number>();
    const slotOf = (name: string): number => {
      let k = slots.get(name);
      if (k === undefined) slots.set(name, (k = slots.size));
      return k;
    };
    const values: (OValue | undefined)[] = [];
    for (const [name, v] of this.known) values[slotOf(name)] = v;
    const compiled = runs.map((r) => ({
      fn: r.fn,
      inputs: r.inputs.map((name) => (name === '' ? -1 : slotOf(name))),
      outputs: r.outputs.map((name) => (name === '' ? -1 : slotOf(name))),
      args: new Array<OValue | undefined>(r.inputs.length),
    }));
    const inputSlots = this.graph.inputs.map((i) => [i.name, slotOf(i.name)] as const);
    const outputSlots = this.graph.outputs.map((o) => [o.name, slotOf(o.name)] as const);
    return (inputs) => {
      for (const [name, k] of inputSlots) values[k] = inputs.get(name);
      for (const step of compiled) {
        const args = step.args;
        for (let i = 0; i < args.length; i++) args[i] = step.inputs[i]! < 0 ? undefined : values[step.inputs[i]!];
        const outs = step.fn(args as OValue[]);
        for (let k = 0; k < step.outputs.length; k++) if (step.outputs[k]! >= 0) values[step.outputs[k]!] = outs[k];
      }
      const result = new Map<string, OValue>();
      for (const [name, k] of outputSlots) result.set(name, values[k]!);
      for (const [, k] of inputSlots) values[k] = undefined; // the caller's arrays are not kept
      return result;
    };
  }
}

/**
 * The buffers a planned step writes, as its kernel reported them at plan time (`planned`): its
 * own buffer from the activation memory, or the buffer of the input it shares or overwrites.
 */
function planTimeBuffers(step: Step, fn: PlannedRun, bufferOf: ReadonlyMap<string, Float32Array | null>): (Float32Array | null)[] {
  const reported = fn.plannedOutputs;
  return step.outputs.map((_, k) => {
    const r = reported?.[k];
    if (r instanceof Float32Array) return r;
    if (typeof r === 'number') {
      const name = step.inputs[r];
      return name === undefined || name === '' ? null : bufferOf.get(name) ?? null;
    }
    return null;
  });
}

/** Gives a buffer of the compile's activation memory back (see ChainBuffers: released once nothing reads it). */
function releaseToPlanner(data: Float32Array): void {
  const chain = new ChainBuffers();
  chain.after({ shape: [data.length], data });
  chain.after(RELEASED);
}

const RELEASED = { shape: [0], data: new Float32Array(0) };

function rethrow(error: unknown, node: GraphNode): Error {
  if (error instanceof Error && error.message.startsWith('onnx:')) return error;
  // Only shape and type problems are the node's; anything else (the wasm tier still loading) passes as it is.
  if (!(error instanceof TypeError || error instanceof RangeError)) return error as Error;
  const message = `onnx: ${nodeLabel(node)}: ${error instanceof Error ? error.message : String(error)}`;
  return error instanceof TypeError ? new TypeError(message) : new RangeError(message);
}
