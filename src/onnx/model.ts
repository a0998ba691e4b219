/**
 * `loadOnnx(bytes)`: an ONNX file as a sepconv `Module`.
 *
 * The model's children are its nodes, named after them (dots become underscores): a Conv is a
 * `Conv2d`, a Gemm or a MatMul by a constant matrix a `Linear`, a ConvTranspose a
 * `ConvTranspose2d`, every other node an `OnnxNode` leaf. So `summary`, `profile`, `toString`,
 * `parameters()` and `loadStateDict` work on it as on the zoo, and `stateDict()` is keyed by the
 * initializer names of the file (a weight after a load-time rewrite — BatchNorm folded, Gemm's
 * B transposed — keeps the name of the initializer it came from and holds the rewritten values).
 *
 * `run(inputs)` takes and returns records keyed by the graph's input and output names;
 * `forward(x)` is the single-input, first-output form every Module has. A graph is specialised
 * once per set of input shapes (cached), which is when shape arithmetic folds. `clone()` (and so
 * `foldBatchNorm`) reads the file again: the model keeps a reference to the bytes it was loaded from.
 */
import { checkBackendChoice, type BackendChoice } from '../ops/backend.js';
import { describeValue, readOptions } from '../checks.js';
import { CompiledModel, currentPlanBackend, type CompileOptions, type PlanStep } from '../layers/compile.js';
import { Module, checkForwardAsyncOptions, type ForwardAsyncOptions, type LoadStateDictOptions, type LoadStateDictResult, type StateDict } from '../layers/module.js';
import type { ChildCall, TracedModule } from '../layers/trace.js';
import { asTensor, type Tensor, type TensorLike } from '../tensor.js';
import type { StateTensorLike } from '../int64.js';
import { foldConstants, loadGraph, loadImpls, toBytes, type LoadedGraph, type TensorSpec } from './graph.js';
import { fuseGraph } from './fuse.js';
import { OnnxConv2d } from './ops/conv.js';
import type { Info, NodeImpl } from './ops/op.js';
import { Program, type Step } from './program.js';
import type { Dim } from './proto.js';
import { allocValue, type OValue } from './values.js';

export interface LoadOnnxOptions {
  /** The kernel tier of every run and compile of this model (default: the global choice, `setBackend`). */
  backend?: BackendChoice;
  /** Bytes of tensors stored in external files, by their `location` (a Map or a plain object). */
  externalData?: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>;
}

export interface OnnxTensorInfo {
  readonly name: string;
  /** Numbers, or the `dim_param` name of a symbolic dimension (`'batch'`; `'?'` when unnamed). */
  readonly shape: readonly Dim[];
  readonly dtype: 'float32';
}

/** A node without parameters in the module tree (its row in `summary` and `profile`). */
export class OnnxNode extends Module {
  /** The step of the last trace or specialisation (what `outputShape` and `forward` describe). */
  step: Step | null = null;

  constructor(readonly opType: string, readonly nodeName: string) {
    super();
  }

  outputShape(inputShape: readonly number[]): number[] {
    void inputShape;
    return (this.step?.kernel.outputs[0]?.shape ?? inputShape).slice();
  }

  /** Runs the node on `x` as its first input (other inputs: their values in the last specialisation, or zeros). */
  forward(x: TensorLike): Tensor {
    const input = asTensor(x, 'input');
    const step = this.step;
    if (step === null) throw new TypeError(`OnnxNode ${JSON.stringify(this.nodeName)}: run the model or its summary first (the node has no shapes yet)`);
    const ins = step.inputInfos.map((i, k) => (k === 0 ? ({ dtype: 'float32', shape: input.shape, data: input.data } as OValue) : i === undefined ? undefined : i.value ?? allocValue(i.dtype, i.shape, 'input')));
    const out = step.kernel.run(ins as OValue[])[0]!;
    return { shape: out.shape, data: out.data instanceof Float32Array ? out.data : Float32Array.from(out.data as ArrayLike<number>) };
  }

  override extraRepr(): string {
    return this.opType;
  }
}

/** One OnnxNode subclass per op type, named after it, so summaries show `Relu`, `Concat`, ... as the type. */
const nodeClasses = new Map<string, new (opType: string, nodeName: string) => OnnxNode>();

function nodeModule(opType: string, nodeName: string): OnnxNode {
  let cls = nodeClasses.get(opType);
  if (cls === undefined) {
    const name = /^[A-Za-z_][A-Za-z0-9_]*$/.test(opType) ? opType : 'OnnxNode';
    cls = { [name]: class extends OnnxNode {} }[name]!;
    nodeClasses.set(opType, cls);
  }
  return new cls(opType, nodeName);
}

function shapeKey(shapes: ReadonlyMap<string, readonly number[]>): string {
  return [...shapes].map(([k, v]) => `${k}:${v.join('x')}`).join(';');
}

/** The Float32 form of a graph output (integer and boolean outputs are converted). */
function asFloatTensor(v: OValue): Tensor {
  return { shape: v.shape.slice(), data: v.data instanceof Float32Array ? v.data : Float32Array.from(v.data as ArrayLike<number>) };
}

function isTensorLike(x: unknown): x is TensorLike {
  return typeof x === 'object' && x !== null && (x as { data?: unknown }).data instanceof Float32Array;
}

/** What each model was loaded from (its file is read again by `clone`; the bytes are the caller's, not copied). */
const sources = new WeakMap<OnnxModel, { bytes: Uint8Array; options: LoadOnnxOptions }>();

/** Set while a CompiledOnnxModel is being built: the input shapes its plan is for. */
let compilingShapes: Map<string, readonly number[]> | null = null;
/** The whole-graph run function the last `plan` built (read by CompiledOnnxModel). */
let lastPlanned: ((inputs: ReadonlyMap<string, OValue>) => Map<string, OValue>) | null = null;

export class OnnxModel extends Module implements TracedModule {
  readonly inputs: readonly OnnxTensorInfo[];
  readonly outputs: readonly OnnxTensorInfo[];
  /** The default-domain opset the file imports. */
  readonly opset: number;
  /** `producer_name producer_version`, e.g. `'pytorch 1.13.1'`. */
  readonly producer: string;
  readonly irVersion: number;
  readonly backend: BackendChoice | undefined;
  private readonly graph: LoadedGraph;
  private readonly impls: readonly NodeImpl[];
  private readonly nodeModules: readonly Module[];
  private readonly programs = new Map<string, Program>();
  /** Each graph node's position (its child module's index). */
  private readonly positions: Map<object, number>;
  /** State-dict key of a child's parameter → the initializer it came from. */
  private readonly keyToInitializer = new Map<string, string>();
  private readonly initializerToKey = new Map<string, string>();

  /** Use `loadOnnx`. */
  constructor(graph: LoadedGraph, impls: readonly NodeImpl[], backend: BackendChoice | undefined) {
    super();
    this.graph = graph;
    this.impls = impls;
    this.backend = backend;
    this.opset = graph.opset;
    this.irVersion = graph.model.irVersion;
    this.producer = [graph.model.producerName, graph.model.producerVersion].filter((s) => s !== '').join(' ');
    this.inputs = graph.inputs.map((i: TensorSpec) => ({ name: i.name, shape: i.shape.slice(), dtype: 'float32' as const }));
    this.outputs = graph.outputs.map((o) => ({ name: o.name, shape: (o.shape ?? []).slice(), dtype: 'float32' as const }));
    this.positions = new Map(graph.nodes.map((n, i) => [n, i]));
    const used = new Set<string>();
    this.nodeModules = graph.nodes.map((node, i) => {
      const impl = impls[i]!;
      if (impl.module instanceof OnnxConv2d && node.activation !== undefined) impl.module.activation = node.activation;
      const module = impl.module ?? impl.describedBy ?? nodeModule(node.opType, node.name);
      let name = (node.name || `${node.opType}_${node.index}`).replace(/\./g, '_');
      if (used.has(name)) {
        let k = 1;
        while (used.has(`${name}_${k}`)) k++;
        name = `${name}_${k}`;
      }
      used.add(name);
      this.registerModule(name, module);
      if (impl.module !== undefined) {
        for (const [local, input] of [['weight', node.inputs[1]], ['bias', node.inputs[2]]] as const) {
          if (input === undefined || input === '') continue;
          const origin = graph.origins.get(input) ?? input;
          if (this.initializerToKey.has(origin)) continue;
          this.keyToInitializer.set(`${name}.${local}`, origin);
          this.initializerToKey.set(origin, `${name}.${local}`);
        }
      }
      return module;
    });
    this.releaseModuleWeights();
    // A static graph is specialised now: every shape is checked at load.
    if (this.inputs.every((i) => i.shape.every((d) => typeof d === 'number'))) {
      this.program(new Map(this.inputs.map((i) => [i.name, i.shape as number[]])));
    }
  }

  /**
   * The weights a node's module holds (a Conv's weight and bias, a Linear's matrix) are its own
   * copies: the decoded initializers they came from are dropped, unless something else reads
   * them, so the model holds its weights once.
   */
  private releaseModuleWeights(): void {
    const readers = new Map<string, number>();
    const moduleReaders = new Map<string, number>();
    const outputs = new Set(this.graph.outputs.map((o) => o.name));
    this.graph.nodes.forEach((node, i) => {
      node.inputs.forEach((name, k) => {
        if (name === '') return;
        readers.set(name, (readers.get(name) ?? 0) + 1);
        if (k > 0 && this.impls[i]!.module !== undefined) moduleReaders.set(name, (moduleReaders.get(name) ?? 0) + 1);
      });
    });
    this.graph.nodes.forEach((node, i) => {
      if (this.impls[i]!.module === undefined) return;
      for (let k = 1; k < node.inputs.length; k++) {
        const name = node.inputs[k]!;
        if (name === '' || outputs.has(name) || readers.get(name) !== moduleReaders.get(name)) continue;
        this.graph.constants.delete(name);
        node.inputs[k] = '';
      }
    });
    // Constants nothing reads any more (a convolution's weights before BatchNorm was folded in).
    for (const name of [...this.graph.constants.keys()]) if (!readers.has(name) && !outputs.has(name)) this.graph.constants.delete(name);
  }

  /**
   * The specialised graph for these input shapes on tier `backend` (default: the model's), cached
   * a few at a time.
   */
  private program(shapes: ReadonlyMap<string, readonly number[]>, backend: BackendChoice | undefined = this.backend): Program {
    const key = `${backend ?? ''}|${shapeKey(shapes)}`;
    let program = this.programs.get(key);
    if (program === undefined) {
      program = new Program(this.graph, this.impls, shapes, backend);
      if (this.programs.size >= 8) this.programs.delete(this.programs.keys().next().value!);
      this.programs.set(key, program);
    }
    for (const step of program.steps) {
      const m = this.nodeModules[this.positions.get(step.node)!];
      if (m instanceof OnnxNode) m.step = step;
    }
    return program;
  }

  /** Checks a record of inputs against the graph's inputs; returns them by name. */
  private readInputs(inputs: unknown, fn: string): Map<string, Tensor> {
    let record: Record<string, unknown>;
    if (isTensorLike(inputs)) {
      if (this.inputs.length !== 1) throw new TypeError(`${fn}: the model has ${this.inputs.length} inputs (${this.inputs.map((i) => JSON.stringify(i.name)).join(', ')}); pass a record { name: tensor }`);
      record = { [this.inputs[0]!.name]: inputs };
    } else {
      if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
        throw new TypeError(`${fn}: inputs must be a record { ${this.inputs.map((i) => `${JSON.stringify(i.name)}: tensor`).join(', ')} }, got ${describeValue(inputs)}`);
      }
      record = readOptions(inputs, this.inputs.map((i) => i.name), fn, 'field') as Record<string, unknown>;
    }
    const result = new Map<string, Tensor>();
    for (const spec of this.inputs) {
      if (record[spec.name] === undefined) throw new TypeError(`${fn}: missing input ${JSON.stringify(spec.name)} (shape [${spec.shape.join(', ')}])`);
      const t = asTensor(record[spec.name], `${fn}: input ${JSON.stringify(spec.name)}`);
      checkAgainst(spec, t.shape, fn);
      result.set(spec.name, t);
    }
    return result;
  }

  /** Runs the graph: a record of tensors by input name → a record by output name (new arrays). */
  run(inputs: Record<string, TensorLike> | TensorLike): Record<string, Tensor> {
    const tensors = this.readInputs(inputs, 'run');
    const program = this.program(new Map([...tensors].map(([k, t]) => [k, t.shape])));
    const values = new Map<string, OValue>([...tensors].map(([k, t]) => [k, { dtype: 'float32', shape: t.shape, data: t.data } as OValue]));
    const outputs = program.run(values);
    return Object.fromEntries([...outputs].map(([k, v]) => [k, asFloatTensor(v)]));
  }

  /** `run` with every convolution handed to `options.pool` (a worker pool) when given. */
  async runAsync(inputs: Record<string, TensorLike> | TensorLike, options: ForwardAsyncOptions = {}): Promise<Record<string, Tensor>> {
    checkForwardAsyncOptions(options);
    const tensors = this.readInputs(inputs, 'runAsync');
    const program = this.program(new Map([...tensors].map(([k, t]) => [k, t.shape])));
    const values = new Map<string, OValue>(program.known);
    for (const [k, t] of tensors) values.set(k, { dtype: 'float32', shape: t.shape, data: t.data });
    for (const step of program.steps) {
      const ins = step.inputs.map((name) => (name === '' ? undefined : values.get(name))) as OValue[];
      const module = step.impl.module;
      let outs: OValue[];
      if (options.pool !== undefined && module instanceof OnnxConv2d && ins[0]!.shape.length === 4) {
        const shape = step.kernel.outputs[0]!.shape;
        const y = await options.pool.conv2d({ shape: ins[0]!.shape, data: ins[0]!.data as Float32Array }, module.weight, module.convOptions(module.activation));
        outs = [{ dtype: 'float32', shape, data: y.data }];
      } else outs = step.kernel.run(ins);
      step.outputs.forEach((name, k) => {
        if (name !== '') values.set(name, outs[k]!);
      });
    }
    return Object.fromEntries(this.graph.outputs.map((o) => [o.name, asFloatTensor(values.get(o.name)!)]));
  }

  /** The single-input form: the first output for `x` as the only input. */
  forward(x: TensorLike): Tensor {
    return this.run(this.single(x, 'forward'))[this.outputs[0]!.name]!;
  }

  override async forwardAsync(x: TensorLike, options: ForwardAsyncOptions = {}): Promise<Tensor> {
    return (await this.runAsync(this.single(x, 'forwardAsync'), options))[this.outputs[0]!.name]!;
  }

  private single(x: TensorLike, fn: string): Record<string, TensorLike> {
    if (this.inputs.length !== 1) throw new TypeError(`${fn}: the model has ${this.inputs.length} inputs; use run({ ${this.inputs.map((i) => i.name).join(', ')} })`);
    return { [this.inputs[0]!.name]: x };
  }

  /** Input shapes by name for a single shape (or the shapes of a compile in progress). */
  private shapesFor(inputShape: readonly number[], fn: string): Map<string, readonly number[]> {
    if (compilingShapes !== null) return compilingShapes;
    if (this.inputs.length !== 1) throw new TypeError(`${fn}: the model has ${this.inputs.length} inputs; pass their shapes by name`);
    checkAgainst(this.inputs[0]!, inputShape, fn);
    return new Map([[this.inputs[0]!.name, inputShape.slice()]]);
  }

  /** The shapes of every output for these input shapes. */
  outputShapes(shapes: Record<string, readonly number[]>): Record<string, number[]> {
    const map = this.shapeRecord(shapes, 'outputShapes');
    const program = this.program(map);
    return Object.fromEntries(this.graph.outputs.map((o, k) => [o.name, program.outputInfos()[k]!.shape.slice()]));
  }

  outputShape(inputShape: readonly number[]): number[] {
    const program = this.program(this.shapesFor(inputShape, 'outputShape'));
    return program.outputInfos()[0]!.shape.slice();
  }

  private shapeRecord(shapes: unknown, fn: string): Map<string, readonly number[]> {
    if (Array.isArray(shapes)) return this.shapesFor(shapes as number[], fn);
    if (typeof shapes !== 'object' || shapes === null) throw new TypeError(`${fn}: shapes must be a record { name: shape }, got ${describeValue(shapes)}`);
    const record = readOptions(shapes, this.inputs.map((i) => i.name), fn, 'field') as Record<string, unknown>;
    const map = new Map<string, readonly number[]>();
    for (const spec of this.inputs) {
      const shape = record[spec.name];
      if (!Array.isArray(shape)) throw new TypeError(`${fn}: the shape of input ${JSON.stringify(spec.name)} must be an array of integers, got ${describeValue(shape)}`);
      checkAgainst(spec, shape as number[], fn);
      map.set(spec.name, (shape as number[]).slice());
    }
    return map;
  }

  /** Leaves in execution order for `summary` and `profile` (folded nodes do not run, so they have no row). */
  traceChildren(inputShape: readonly number[], call: ChildCall): readonly number[] {
    const program = this.program(this.shapesFor(inputShape, 'summary'));
    const names = this.namedChildren();
    for (const step of program.steps) {
      const i = this.positions.get(step.node)!;
      const first = step.inputInfos[0] as Info | undefined;
      call(names[i]![0], first?.shape ?? []);
    }
    return program.outputInfos()[0]!.shape;
  }

  override plan(inputShape: readonly number[]): PlanStep {
    const shapes = this.shapesFor(inputShape, 'plan');
    // Every step on the compile's tier (its `backend` option, else the model's).
    const program = this.program(shapes, currentPlanBackend() ?? this.backend);
    const runAll = program.plan();
    lastPlanned = runAll;
    const inputName = this.inputs[0]?.name;
    const outputName = this.outputs[0]!.name;
    const outputShape = program.outputInfos()[0]!.shape.slice();
    return {
      outputShape,
      run: (input) => {
        const feeds = new Map<string, OValue>(inputName === undefined ? [] : [[inputName, { dtype: 'float32', shape: input.shape, data: input.data }]]);
        return asFloatTensor(runAll(feeds).get(outputName)!);
      },
    };
  }

  /**
   * A forward pass planned for these input shapes (a record by input name, or one shape for a
   * single-input model) on the model's tier or `options.backend`: buffers and packed weights
   * are allocated once; `run` reuses them.
   */
  override compile(inputShape: readonly number[], options?: CompileOptions): CompiledOnnxModel;
  override compile(shapes: Record<string, readonly number[]>, options?: CompileOptions): CompiledOnnxModel;
  override compile(shapes: readonly number[] | Record<string, readonly number[]>, options: CompileOptions = {}): CompiledOnnxModel {
    const map = this.shapeRecord(shapes, 'compile');
    const o = readOptions<CompileOptions>(options, ['backend'], 'compile');
    const backend = o.backend === undefined ? this.backend : checkBackendChoice(o.backend, 'compile: backend');
    return new CompiledOnnxModel(this, map, backend);
  }

  /** The initializer a parameter came from, by its module key (`conv1.weight` → the file's name for it). */
  initializerName(key: string): string {
    return this.keyToInitializer.get(key) ?? key;
  }

  /** Parameters by initializer name (rewritten weights under the name they came from). */
  override stateDict(): StateDict {
    const dict = super.stateDict();
    const out: StateDict = {};
    for (const [k, v] of Object.entries(dict)) out[this.keyToInitializer.get(k) ?? k] = v;
    return out;
  }

  override loadStateDict(dict: Record<string, StateTensorLike>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) return super.loadStateDict(dict, options);
    const renamed: Record<string, StateTensorLike> = {};
    for (const [k, v] of Object.entries(dict)) renamed[this.initializerToKey.get(k) ?? k] = v;
    const result = super.loadStateDict(renamed, options);
    const back = (k: string): string => this.keyToInitializer.get(k) ?? k;
    return { missingKeys: result.missingKeys.map(back), unexpectedKeys: result.unexpectedKeys.map(back) };
  }

  /**
   * A deep copy: the file loaded again, then this model's current parameters loaded into it (so
   * weights changed with loadStateDict are copied too). `foldBatchNorm` works through this.
   */
  override clone(): this {
    const source = sources.get(this);
    if (source === undefined) throw new TypeError('OnnxModel.clone: this model was not made by loadOnnx');
    const copy = loadOnnx(source.bytes, source.options);
    copy.loadStateDict(this.stateDict());
    return copy as this;
  }

  override extraRepr(): string {
    return `opset=${this.opset}${this.producer === '' ? '' : `, producer=${JSON.stringify(this.producer)}`}`;
  }
}

function checkAgainst(spec: OnnxTensorInfo, shape: readonly number[], fn: string): void {
  if (!Array.isArray(shape)) throw new TypeError(`${fn}: the shape of input ${JSON.stringify(spec.name)} must be an array, got ${describeValue(shape)}`);
  if (shape.length !== spec.shape.length) {
    throw new RangeError(`${fn}: input ${JSON.stringify(spec.name)} must have shape [${spec.shape.join(', ')}] (rank ${spec.shape.length}), got [${shape.join(', ')}]`);
  }
  shape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > 2 ** 32 - 1) throw new RangeError(`${fn}: input ${JSON.stringify(spec.name)} has an invalid dimension ${describeValue(d)}`);
    const want = spec.shape[i];
    if (typeof want === 'number' && want !== d) {
      throw new RangeError(`${fn}: input ${JSON.stringify(spec.name)} must have shape [${spec.shape.join(', ')}], got [${shape.join(', ')}] (dimension ${i} is fixed at ${want})`);
    }
  });
}

/** A compiled ONNX model: `run(record)` → record, or `run(tensor)` → the first output. */
export class CompiledOnnxModel extends CompiledModel<OnnxModel> {
  readonly inputShapes: Readonly<Record<string, readonly number[]>>;
  private readonly runAll: (inputs: ReadonlyMap<string, OValue>) => Map<string, OValue>;
  private readonly results: Map<string, Tensor> | null;
  private disposedOnnx = false;

  constructor(model: OnnxModel, shapes: Map<string, readonly number[]>, backend: BackendChoice | undefined) {
    compilingShapes = shapes;
    lastPlanned = null;
    let runAll: typeof lastPlanned;
    try {
      super(model, model.inputs.length === 0 ? [] : shapes.get(model.inputs[0]!.name)!, backend === undefined ? {} : { backend });
      runAll = lastPlanned;
    } finally {
      compilingShapes = null;
      lastPlanned = null;
    }
    this.runAll = runAll!;
    this.inputShapes = Object.fromEntries([...shapes].map(([k, v]) => [k, v.slice()]));
    // Outputs living in wasm memory are copied out (the caller keeps them past the model's life).
    this.results = this.activationsInWasmMemory
      ? new Map(model.outputs.map((o) => {
        const shape = model.outputShapes(Object.fromEntries(shapes))[o.name]!;
        return [o.name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }];
      }))
      : null;
  }

  override run(x: TensorLike): Tensor;
  override run(inputs: Record<string, TensorLike>): Record<string, Tensor>;
  override run(x: TensorLike | Record<string, TensorLike>): Tensor | Record<string, Tensor> {
    const model = this.module as OnnxModel;
    if (isTensorLike(x)) {
      if (model.inputs.length !== 1) throw new TypeError(`run: the model has ${model.inputs.length} inputs (${model.inputs.map((i) => JSON.stringify(i.name)).join(', ')}); pass a record { name: tensor }`);
      return super.run(x);
    }
    if (this.disposedOnnx) throw new Error('compiled model: run after dispose(); compile the module again');
    if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new TypeError(`run: inputs must be a record { name: tensor }, got ${describeValue(x)}`);
    const record = readOptions(x, model.inputs.map((i) => i.name), 'run', 'field') as Record<string, unknown>;
    const values = new Map<string, OValue>();
    for (const [name, shape] of Object.entries(this.inputShapes)) {
      if (record[name] === undefined) throw new TypeError(`run: missing input ${JSON.stringify(name)}`);
      const t = asTensor(record[name], `run: input ${JSON.stringify(name)}`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new RangeError(`compiled model expects input ${JSON.stringify(name)} of shape [${shape.join(', ')}], got [${t.shape.join(', ')}]; compile again for another shape`);
      }
      values.set(name, { dtype: 'float32', shape: t.shape, data: t.data });
    }
    const outputs = this.runAll(values);
    const result: Record<string, Tensor> = {};
    for (const [name, v] of outputs) {
      const keep = this.results?.get(name);
      if (keep !== undefined && v.data instanceof Float32Array) {
        keep.data.set(v.data);
        result[name] = keep;
      } else result[name] = asFloatTensor(v);
    }
    return result;
  }

  override dispose(): void {
    this.disposedOnnx = true;
    super.dispose();
  }
}

/**
 * Reads an ONNX model (a `Uint8Array` or `ArrayBuffer` of the `.onnx` file), checks the whole
 * graph and returns it as a Module. Synchronous; throws a TypeError/RangeError starting with
 * `onnx:` for anything it cannot run, naming the node, tensor or field.
 */
export function loadOnnx(bytes: Uint8Array | ArrayBuffer, options: LoadOnnxOptions = {}): OnnxModel {
  const o = readOptions<LoadOnnxOptions>(options, ['backend', 'externalData'], 'loadOnnx');
  const backend = o.backend === undefined ? undefined : checkBackendChoice(o.backend, 'loadOnnx: backend');
  const external = o.externalData;
  if (external !== undefined && !(external instanceof Map) && (typeof external !== 'object' || external === null || Array.isArray(external))) {
    throw new TypeError(`loadOnnx: externalData must be a Map or a plain object from location to Uint8Array, got ${describeValue(external)}`);
  }
  const data = toBytes(bytes);
  const graph = loadGraph(data, { ...(o.externalData === undefined ? {} : { externalData: o.externalData }), ...(backend === undefined ? {} : { backend }) });
  foldConstants(graph, backend);
  fuseGraph(graph, backend);
  const impls = loadImpls(graph, backend);
  const model = new OnnxModel(graph, impls, backend);
  sources.set(model, { bytes: data, options: o });
  return model;
}
