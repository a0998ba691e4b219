/**
 * From a decoded ModelProto to a checked graph: opsets, supported operators (every unsupported
 * node listed in one error), a topological order (a tensor nothing produces, or a cycle, is an
 * error naming it), constants evaluated (initializers, Constant nodes, and every node whose
 * inputs are all constant), then the rewrites of fuse.ts.
 */
import type { BackendChoice } from '../ops/backend.js';
import { decodeModel, elemTypeName, type AttributeValue, type DecodeOptions, type Dim, type ModelProto, type NodeProto } from './proto.js';
import { INTERNAL_DOMAIN, opDefFor, supportedOps } from './ops/index.js';
import { Attributes, info, type Info, type LoadContext, type NodeImpl } from './ops/op.js';
import type { OValue } from './values.js';
import { wrongFormatHint } from '../sniff.js';
import { describeValue } from '../checks.js';

export const MIN_OPSET = 7;
export const MAX_OPSET = 21;

/** A node of the working graph (rewrites replace nodes rather than edit decoded ones). */
export interface GraphNode {
  readonly opType: string;
  readonly domain: string;
  readonly name: string;
  readonly inputs: string[];
  readonly outputs: string[];
  readonly attributes: ReadonlyMap<string, AttributeValue>;
  /** The node's position in the file (for default names). */
  readonly index: number;
  /** For a Conv: the activation fused into its output write. */
  activation?: 'relu' | 'relu6';
}

export interface TensorSpec {
  readonly name: string;
  readonly shape: Dim[];
  readonly dtype: 'float32';
}

export interface LoadedGraph {
  readonly model: ModelProto;
  readonly opset: number;
  readonly inputs: TensorSpec[];
  readonly outputs: { name: string; shape: Dim[] | null }[];
  /** Values known at load: initializers, Constant outputs and everything computed from them only. */
  readonly constants: Map<string, OValue>;
  /** The nodes left to run, in topological order. */
  readonly nodes: GraphNode[];
  /** For a node's weight after rewrites: the initializer it came from (state-dict keys). */
  readonly origins: Map<string, string>;
}

export function nodeLabel(node: { opType: string; name: string; index: number }): string {
  return `${node.opType} node ${JSON.stringify(node.name || `#${node.index}`)}`;
}

export function toBytes(bytes: unknown): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && bytes instanceof SharedArrayBuffer)) return new Uint8Array(bytes);
  throw new TypeError(`loadOnnx: bytes must be a Uint8Array or an ArrayBuffer (the .onnx file's contents), got ${describeValue(bytes)}`);
}

/** Decodes and checks `bytes`; a file in another format says which loader to use. */
export function decode(bytes: Uint8Array, options: DecodeOptions): ModelProto {
  const hint = wrongFormatHint(bytes, 'onnx');
  if (hint !== null) throw new TypeError(`onnx: not an ONNX model: ${hint}`);
  if (bytes.length === 0) throw new TypeError('onnx: not an ONNX model: the file is empty');
  try {
    return decodeModel(bytes, options);
  } catch (error) {
    if (error instanceof RangeError && !error.message.startsWith('onnx:')) throw new RangeError(`onnx: malformed file: ${error.message}`);
    throw error;
  }
}

function checkOpsets(model: ModelProto): number {
  const opset = model.opsets.get('');
  if (opset === undefined) {
    if (model.opsets.size === 0) throw new TypeError('onnx: the model imports no opset (ModelProto.opset_import is empty)');
    throw new TypeError(`onnx: the model does not import the default ONNX domain (it imports ${[...model.opsets.keys()].map((d) => JSON.stringify(d)).join(', ')})`);
  }
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new RangeError(`onnx: the model uses opset ${opset} of the default domain; sepconv reads opsets ${MIN_OPSET} to ${MAX_OPSET} (re-export with torch.onnx.export(..., opset_version=17))`);
  }
  return opset;
}

/** One error listing every node whose operator sepconv does not implement. */
function checkSupported(nodes: readonly NodeProto[], opset: number): void {
  const unsupported = nodes.map((n, index) => ({ n, index })).filter(({ n }) => opDefFor(n.opType, n.domain) === undefined || n.domain === INTERNAL_DOMAIN);
  if (unsupported.length === 0) return;
  const listed = unsupported.slice(0, 20).map(({ n, index }) => `${n.opType}${n.domain === '' ? '' : ` (domain ${JSON.stringify(n.domain)})`} at ${JSON.stringify(n.name || `#${index}`)}`);
  const more = unsupported.length > 20 ? `, and ${unsupported.length - 20} more` : '';
  throw new TypeError(
    `onnx: unsupported operator${unsupported.length > 1 ? 's' : ''} (opset ${opset}): ${listed.join(', ')}${more}. sepconv supports, in the default domain: ${supportedOps().join(', ')}`,
  );
}

/** Kahn's algorithm over tensor names; names the first missing tensor or a tensor on a cycle. */
function topologicalOrder(nodes: readonly NodeProto[], available: ReadonlySet<string>): number[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (o === '') continue;
      if (producer.has(o) || available.has(o)) throw new TypeError(`onnx: tensor ${JSON.stringify(o)} is produced twice (by ${nodeLabel({ ...n, index: i })} and another node or an input)`);
      producer.set(o, i);
    }
  });
  const pending = new Int32Array(nodes.length);
  const consumers = new Map<number, number[]>();
  nodes.forEach((n, i) => {
    for (const name of n.inputs) {
      if (name === '' || available.has(name)) continue;
      const p = producer.get(name);
      if (p === undefined) throw new TypeError(`onnx: ${nodeLabel({ ...n, index: i })} reads tensor ${JSON.stringify(name)}, which no node, input or initializer produces`);
      pending[i]++;
      let list = consumers.get(p);
      if (list === undefined) consumers.set(p, (list = []));
      list.push(i);
    }
  });
  const order: number[] = [];
  const ready: number[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) if (pending[i] === 0) ready.push(i);
  while (ready.length > 0) {
    const i = ready.pop()!;
    order.push(i);
    const list = consumers.get(i);
    if (list === undefined) continue;
    for (let k = list.length - 1; k >= 0; k--) {
      const c = list[k]!;
      if (--pending[c] === 0) ready.push(c);
    }
  }
  if (order.length !== nodes.length) {
    const stuck = nodes.findIndex((_, i) => pending[i]! > 0);
    const n = nodes[stuck]!;
    const name = n.inputs.find((x) => x !== '' && !available.has(x) && pending[producer.get(x)!]! > 0) ?? n.inputs[0];
    throw new TypeError(`onnx: the graph has a cycle: ${nodeLabel({ ...n, index: stuck })} depends, through tensor ${JSON.stringify(name)}, on its own output`);
  }
  return order;
}

export interface LoadGraphOptions extends DecodeOptions {
  readonly backend?: BackendChoice;
}

/** Decodes, checks and folds the graph of `bytes`; the node implementations are made by `loadImpls`. */
export function loadGraph(bytes: Uint8Array, options: LoadGraphOptions): LoadedGraph {
  const model = decode(bytes, options);
  const opset = checkOpsets(model);
  const g = model.graph;
  checkSupported(g.nodes, opset);
  const constants = new Map<string, OValue>(g.initializers);
  g.initializers.clear(); // held once, here
  const inputs: TensorSpec[] = [];
  for (const input of g.inputs) {
    if (constants.has(input.name)) continue; // an initializer listed as an input (IR < 4): a constant
    if (input.elemType !== 1) {
      throw new TypeError(`onnx: graph input ${JSON.stringify(input.name)} is ${elemTypeName(input.elemType)}; sepconv runs graphs whose inputs are float32`);
    }
    if (input.shape === null) throw new TypeError(`onnx: graph input ${JSON.stringify(input.name)} has no shape`);
    inputs.push({ name: input.name, shape: input.shape, dtype: 'float32' });
  }
  if (g.outputs.length === 0) throw new TypeError('onnx: the graph has no outputs');
  const available = new Set<string>([...constants.keys(), ...inputs.map((i) => i.name)]);
  const order = topologicalOrder(g.nodes, available);
  for (const out of g.outputs) {
    if (!available.has(out.name) && !g.nodes.some((n) => n.outputs.includes(out.name))) {
      throw new TypeError(`onnx: graph output ${JSON.stringify(out.name)} is produced by no node`);
    }
  }
  const nodes: GraphNode[] = order.map((i) => {
    const n = g.nodes[i]!;
    return { opType: n.opType, domain: n.domain, name: n.name, inputs: n.inputs.slice(), outputs: n.outputs.slice(), attributes: n.attributes, index: i };
  });
  return { model, opset, inputs, outputs: g.outputs.map((o) => ({ name: o.name, shape: o.shape })), constants, nodes, origins: new Map() };
}

/** The LoadContext of a node, reading constants from `constants`. */
export function loadContext(node: GraphNode, opset: number, constants: ReadonlyMap<string, OValue>, backend: BackendChoice | undefined): LoadContext {
  const label = nodeLabel(node);
  return {
    node: { inputs: node.inputs, outputs: node.outputs, name: node.name, opType: node.opType, domain: node.domain, attributes: node.attributes as Map<string, AttributeValue> },
    label,
    opset,
    attrs: new Attributes(node.attributes, label),
    constant: (i) => {
      const name = node.inputs[i];
      return name === undefined || name === '' ? null : constants.get(name) ?? null;
    },
    has: (i) => node.inputs[i] !== undefined && node.inputs[i] !== '',
    env: { backend },
  };
}

/**
 * Evaluates, at load, every node whose inputs are all known (initializers, Constant outputs,
 * results of such nodes): their outputs become constants and the nodes disappear.
 */
export function foldConstants(graph: LoadedGraph, backend: BackendChoice | undefined): void {
  const kept: GraphNode[] = [];
  for (const node of graph.nodes) {
    const given = node.inputs.filter((n) => n !== '');
    if (!given.every((n) => graph.constants.has(n))) {
      kept.push(node);
      continue;
    }
    const ctx = loadContext(node, graph.opset, graph.constants, backend);
    const impl = opDefFor(node.opType, node.domain)!.load(ctx);
    const infos: (Info | undefined)[] = node.inputs.map((n) => {
      const v = n === '' ? undefined : graph.constants.get(n);
      return v === undefined ? undefined : info(v.dtype, v.shape, v);
    });
    const kernel = impl.specialize(infos as Info[], ctx.env);
    const values = kernel.outputs.every((o) => o.value !== null) ? kernel.outputs.map((o) => o.value!) : kernel.run(infos.map((i) => i?.value) as OValue[]);
    node.outputs.forEach((name, k) => {
      if (name !== '' && values[k] !== undefined) graph.constants.set(name, values[k]!);
    });
  }
  graph.nodes.length = 0;
  graph.nodes.push(...kept);
}

/** Makes every remaining node's implementation (checking its attributes and constant inputs). */
export function loadImpls(graph: LoadedGraph, backend: BackendChoice | undefined): NodeImpl[] {
  return graph.nodes.map((node) => opDefFor(node.opType, node.domain)!.load(loadContext(node, graph.opset, graph.constants, backend)));
}
