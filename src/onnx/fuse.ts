/**
 * Graph rewrites made once at load, after constant folding, so an exported network runs as the
 * zoo does:
 * - Identity and inference Dropout are removed (their consumers read the input directly);
 * - Conv → BatchNormalization: the normalisation is folded into the convolution's weights and
 *   bias (float64, as PyTorch's fuse_conv_bn_eval);
 * - Conv → Relu / Clip(0, 6): the activation is applied in the convolution's output write;
 * - x·Sigmoid(x) becomes one SiLU pass and x·HardSigmoid(x) (alpha 1/6, beta 1/2) one HardSwish;
 * - MatMul by a constant matrix → Add of a constant vector: one Linear with a bias.
 * A rewrite applies only when the intermediate tensor has no other reader and is no graph output.
 */
import { clipBounds } from './ops/elementwise.js';
import { batchNormAffine } from './ops/normalization.js';
import { INTERNAL_DOMAIN } from './ops/index.js';
import { loadContext, type GraphNode, type LoadedGraph } from './graph.js';
import type { BackendChoice } from '../ops/backend.js';
import type { OValue } from './values.js';

class Uses {
  /** The node reading a tensor, or null once a second node reads it too. */
  private readonly reader = new Map<string, GraphNode | null>();
  private readonly outputs: Set<string>;

  constructor(graph: LoadedGraph) {
    this.outputs = new Set(graph.outputs.map((o) => o.name));
    for (const node of graph.nodes) {
      for (const name of node.inputs) {
        if (name === '') continue;
        const seen = this.reader.get(name);
        this.reader.set(name, seen === undefined || seen === node ? node : null);
      }
    }
  }

  /** The single node reading `name`, when exactly one does and it is no graph output. */
  only(name: string): GraphNode | null {
    if (this.outputs.has(name)) return null;
    return this.reader.get(name) ?? null;
  }
}

/**
 * The rewrites of one pass, applied together at its end (linear in the graph, whatever the
 * number of rewrites): a node replaced by another, or removed.
 */
class Rewrites {
  private readonly changes = new Map<GraphNode, GraphNode | null>();

  replace(node: GraphNode, by: GraphNode | null): void {
    this.changes.set(node, by);
  }

  apply(graph: LoadedGraph): void {
    if (this.changes.size === 0) return;
    const next: GraphNode[] = [];
    for (const node of graph.nodes) {
      const by = this.changes.has(node) ? this.changes.get(node)! : node;
      if (by !== null) next.push(by);
    }
    graph.nodes.length = 0;
    graph.nodes.push(...next);
  }
}

/** Identity and inference Dropout: their readers read the input instead (chains resolved at once). */
function removeIdentities(graph: LoadedGraph): void {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const alias = new Map<string, string>();
  const rewrites = new Rewrites();
  for (const node of graph.nodes) {
    const passthrough = node.opType === 'Identity' || (node.opType === 'Dropout' && (node.outputs.length < 2 || node.outputs[1] === ''));
    if (node.domain !== '' || !passthrough || outputs.has(node.outputs[0]!)) continue;
    if (node.opType === 'Dropout' && node.inputs.length > 2 && node.inputs[2] !== '') continue; // training_mode input: checked by the op
    alias.set(node.outputs[0]!, node.inputs[0]!);
    rewrites.replace(node, null);
  }
  if (alias.size === 0) return;
  const resolve = (name: string): string => {
    let n = name;
    for (let guard = 0; alias.has(n) && guard <= alias.size; guard++) n = alias.get(n)!;
    return n;
  };
  for (const node of graph.nodes) {
    for (let k = 0; k < node.inputs.length; k++) if (alias.has(node.inputs[k]!)) node.inputs[k] = resolve(node.inputs[k]!);
  }
  rewrites.apply(graph);
}

let foldedNames = 0;

function foldBatchNorms(graph: LoadedGraph, backend: BackendChoice | undefined): void {
  const uses = new Uses(graph);
  const rewrites = new Rewrites();
  for (const conv of graph.nodes) {
    if (conv.opType !== 'Conv' || conv.domain !== '') continue;
    const bn = uses.only(conv.outputs[0]!);
    if (bn === null || bn.opType !== 'BatchNormalization' || bn.inputs[0] !== conv.outputs[0]) continue;
    const weight = graph.constants.get(conv.inputs[1] ?? '');
    const bias = conv.inputs[2] ? graph.constants.get(conv.inputs[2]) : undefined;
    if (weight === undefined || weight.dtype !== 'float32' || (conv.inputs[2] && bias === undefined)) continue;
    let affine: { scale: Float64Array; shift: Float64Array };
    try {
      affine = batchNormAffine(loadContext(bn, graph.opset, graph.constants, backend));
    } catch {
      continue; // not foldable (non-constant statistics...): the node reports it when it loads
    }
    const cout = weight.shape[0]!;
    if (affine.scale.length !== cout) continue;
    const w = Float32Array.from(weight.data);
    const per = w.length / cout;
    const b = new Float32Array(cout);
    for (let o = 0; o < cout; o++) {
      const s = affine.scale[o]!;
      for (let i = o * per; i < (o + 1) * per; i++) w[i] = w[i]! * s;
      b[o] = (bias === undefined ? 0 : Number(bias.data[o])) * s + affine.shift[o]!;
    }
    const id = `${++foldedNames}`;
    const wName = `${conv.inputs[1]}::bn_folded#${id}`;
    const bName = `${conv.inputs[2] || `${conv.outputs[0]}::bias`}::bn_folded#${id}`;
    graph.constants.set(wName, { dtype: 'float32', shape: weight.shape, data: w } as OValue);
    graph.constants.set(bName, { dtype: 'float32', shape: [cout], data: b } as OValue);
    graph.origins.set(wName, graph.origins.get(conv.inputs[1]!) ?? conv.inputs[1]!);
    graph.origins.set(bName, conv.inputs[2] ? graph.origins.get(conv.inputs[2]) ?? conv.inputs[2] : bn.inputs[2]!);
    rewrites.replace(conv, { ...conv, inputs: [conv.inputs[0]!, wName, bName], outputs: [bn.outputs[0]!] });
    rewrites.replace(bn, null);
  }
  rewrites.apply(graph);
}

function fuseActivations(graph: LoadedGraph, backend: BackendChoice | undefined): void {
  const uses = new Uses(graph);
  const rewrites = new Rewrites();
  for (const conv of graph.nodes) {
    if (conv.opType !== 'Conv' || conv.domain !== '' || conv.activation !== undefined) continue;
    const act = uses.only(conv.outputs[0]!);
    if (act === null || act.domain !== '' || act.inputs[0] !== conv.outputs[0]) continue;
    let activation: 'relu' | 'relu6' | null = null;
    if (act.opType === 'Relu') activation = 'relu';
    else if (act.opType === 'Clip') {
      let bounds: [number, number] | null = null;
      try {
        bounds = clipBounds(loadContext(act, graph.opset, graph.constants, backend));
      } catch {
        bounds = null;
      }
      if (bounds !== null && bounds[0] === 0 && bounds[1] === 6) activation = 'relu6';
      else if (bounds !== null && bounds[0] === 0 && bounds[1] === Infinity) activation = 'relu';
    }
    if (activation === null) continue;
    const fused: GraphNode = { ...conv, outputs: [act.outputs[0]!], activation };
    rewrites.replace(conv, fused);
    rewrites.replace(act, null);
  }
  rewrites.apply(graph);
}

/** Mul(x, f(x)) with f = Sigmoid or HardSigmoid(1/6, 1/2), f(x) read only by the Mul: one pass. */
function fuseGatedActivations(graph: LoadedGraph): void {
  const uses = new Uses(graph);
  const rewrites = new Rewrites();
  const producers = new Map<string, GraphNode>();
  for (const node of graph.nodes) for (const o of node.outputs) producers.set(o, node);
  for (const mul of graph.nodes) {
    if (mul.opType !== 'Mul' || mul.domain !== '' || mul.inputs.length !== 2) continue;
    for (const k of [0, 1]) {
      const gate = producers.get(mul.inputs[k]!);
      const x = mul.inputs[1 - k]!;
      if (gate === undefined || gate.domain !== '' || gate.inputs[0] !== x || uses.only(gate.outputs[0]!) !== mul) continue;
      let op: string | null = null;
      if (gate.opType === 'Sigmoid') op = 'SiLU';
      else if (gate.opType === 'HardSigmoid') {
        const alpha = gate.attributes.get('alpha');
        const beta = gate.attributes.get('beta');
        const a = alpha?.type === 'float' ? alpha.value : 0.2;
        const b = beta?.type === 'float' ? beta.value : 0.5;
        if (Math.abs(a - 1 / 6) < 1e-7 && b === 0.5) op = 'HardSwish';
      }
      if (op === null) continue;
      const fused: GraphNode = {
        opType: op, domain: op === 'SiLU' ? INTERNAL_DOMAIN : '', name: mul.name, inputs: [x], outputs: [mul.outputs[0]!], attributes: new Map(), index: mul.index,
      };
      rewrites.replace(mul, fused);
      rewrites.replace(gate, null);
      break;
    }
  }
  rewrites.apply(graph);
}

/** MatMul(x, constant [K, N]) or Gemm without C → Add(·, constant [N] or [1, N]): the vector becomes a third input (the bias). */
function fuseMatMulAdd(graph: LoadedGraph): void {
  const uses = new Uses(graph);
  const rewrites = new Rewrites();
  for (const mm of graph.nodes) {
    // Gemm without C (and beta 1): the Add's vector becomes its C.
    const gemm = mm.opType === 'Gemm' && (mm.inputs.length === 2 || mm.inputs[2] === '') && !mm.attributes.has('beta') && !mm.attributes.has('transA');
    if ((mm.opType !== 'MatMul' || mm.inputs.length !== 2) && !gemm) continue;
    if (mm.domain !== '') continue;
    const b = graph.constants.get(mm.inputs[1]!);
    if (b === undefined || b.dtype !== 'float32' || b.shape.length !== 2) continue;
    const transB = mm.attributes.get('transB');
    const n = gemm && transB?.type === 'int' && transB.value === 1 ? b.shape[0]! : b.shape[1]!;
    const add = uses.only(mm.outputs[0]!);
    if (add === null || add.opType !== 'Add' || add.domain !== '') continue;
    const other = add.inputs[0] === mm.outputs[0] ? add.inputs[1]! : add.inputs[0]!;
    const c = graph.constants.get(other);
    if (c === undefined || c.dtype !== 'float32' || !((c.shape.length === 1 && c.shape[0] === n) || (c.shape.length === 2 && c.shape[0] === 1 && c.shape[1] === n))) continue;
    rewrites.replace(mm, { ...mm, inputs: [mm.inputs[0]!, mm.inputs[1]!, other], outputs: [add.outputs[0]!] });
    rewrites.replace(add, null);
  }
  rewrites.apply(graph);
}

/** An INT or INTS attribute's values, or null. */
function intsOf(node: GraphNode, name: string): number[] | null {
  const a = node.attributes.get(name);
  return a === undefined ? null : a.type === 'ints' ? a.value : a.type === 'int' ? [a.value] : null;
}

/**
 * Concat(a₁…a_g, axis 1) → Reshape [·, g, ·, ·, ·] → Transpose [0, 2, 1, 3, 4] → Reshape: the
 * channel shuffle after ShuffleNet's concat, as one ConcatShuffle node (ops/shuffle.ts).
 */
function fuseChannelShuffles(graph: LoadedGraph): void {
  const uses = new Uses(graph);
  const rewrites = new Rewrites();
  const plainReshape = (node: GraphNode | null, input: string): node is GraphNode => node !== null && node.opType === 'Reshape' && node.domain === ''
    && node.inputs[0] === input && node.inputs.length === 2 && graph.constants.has(node.inputs[1]!) && (intsOf(node, 'allowzero') ?? [0])[0] === 0;
  for (const concat of graph.nodes) {
    if (concat.opType !== 'Concat' || concat.domain !== '' || concat.inputs.length < 2 || concat.inputs.includes('')) continue;
    const axis = intsOf(concat, 'axis');
    if (axis === null || axis[0] !== 1) continue;
    const r1 = uses.only(concat.outputs[0]!);
    if (!plainReshape(r1, concat.outputs[0]!)) continue;
    const grouping = graph.constants.get(r1.inputs[1]!)!;
    if (grouping.shape.length !== 1 || grouping.data.length !== 5 || Number(grouping.data[1]) !== concat.inputs.length) continue;
    const t = uses.only(r1.outputs[0]!);
    if (t === null || t.opType !== 'Transpose' || t.domain !== '' || t.inputs[0] !== r1.outputs[0] || (intsOf(t, 'perm') ?? []).join() !== '0,2,1,3,4') continue;
    const r2 = uses.only(t.outputs[0]!);
    if (!plainReshape(r2, t.outputs[0]!)) continue;
    rewrites.replace(concat, {
      opType: 'ConcatShuffle', domain: INTERNAL_DOMAIN, name: concat.name, index: concat.index, attributes: new Map(),
      inputs: [...concat.inputs, r1.inputs[1]!, r2.inputs[1]!], outputs: [r2.outputs[0]!],
    });
    for (const node of [r1, t, r2]) rewrites.replace(node, null);
  }
  rewrites.apply(graph);
}

export function fuseGraph(graph: LoadedGraph, backend: BackendChoice | undefined): void {
  // A pass runs only when the graph has the operators it rewrites (large graphs load faster).
  const ops = new Set(graph.nodes.map((n) => n.opType));
  const has = (...types: string[]): boolean => types.some((t) => ops.has(t));
  if (has('Identity', 'Dropout')) removeIdentities(graph);
  if (has('BatchNormalization') && has('Conv')) foldBatchNorms(graph, backend);
  if (has('Relu', 'Clip') && has('Conv')) fuseActivations(graph, backend);
  if (has('Sigmoid', 'HardSigmoid') && has('Mul')) fuseGatedActivations(graph);
  if (has('MatMul', 'Gemm') && has('Add')) fuseMatMulAdd(graph);
  if (has('Concat') && has('Transpose')) fuseChannelShuffles(graph);
}
