/**
 * Element-wise operators: activations and math on one tensor, arithmetic and comparisons on
 * several with numpy broadcasting, Where. Float results are computed in float64 and rounded to
 * float32 (the wasm tier runs Sigmoid, HardSwish and the fused SiLU with its float32 kernels, as
 * the zoo's layers do). One-input float ops run in place in a compiled model when their input is
 * dead afterwards.
 */
import { wasmRuntimeIfAvailable } from '../../ops/backend.js';
import { runActivation, type ActKernel } from '../../wasm/activation-run.js';
import { addOnTier, scaleChannelsOnTier } from '../../layers/blocks/elementwise.js';
import { Hardsigmoid, Hardswish, LeakyReLU, ReLU, Sigmoid, SiLU } from '../../layers/activation.js';
import type { Module } from '../../layers/module.js';
import { broadcastShapes, broadcastStrides, sizeOf, type DType, type OValue } from '../values.js';
import { computeKernel, constFloats, info, nodeError, planned, type Info, type LoadContext, type NodeImpl, type OpDef, type SpecializeEnv } from './op.js';
import { sameShape } from '../../tensor.js';

type UnaryFn = (x: number) => number;

interface UnarySpec {
  readonly fn: UnaryFn;
  /** The wasm kernel computing the same function on the wasm tier, if any. */
  readonly wasm?: ActKernel;
  /** Also defined on integer tensors (Neg, Abs). */
  readonly integers?: boolean;
}

function runUnary(spec: UnarySpec, env: SpecializeEnv, x: Float32Array | Float64Array, y: Float32Array | Float64Array): void {
  if (spec.wasm !== undefined && x instanceof Float32Array && y instanceof Float32Array) {
    const runtime = wasmRuntimeIfAvailable(env.backend, 'onnx');
    if (runtime !== null) {
      runActivation(runtime, spec.wasm, x, y);
      return;
    }
  }
  const f = spec.fn;
  if (f === relu) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      y[i] = v < 0 ? 0 : v;
    }
    return;
  }
  for (let i = 0; i < x.length; i++) y[i] = f(x[i]!);
}

function unaryImpl(label: string, spec: UnarySpec, describedBy?: Module): NodeImpl {
  return {
    ...(describedBy === undefined ? {} : { describedBy }),
    specialize(inputs, env) {
      const x = inputs[0]!;
      if (x.dtype === 'bool' || (x.dtype === 'int64' && spec.integers !== true)) throw nodeError(label, `input must be float, got ${x.dtype}`, 'type');
      return computeKernel([info(x.dtype, x.shape)], (ins, outs) => runUnary(spec, env, ins[0]!.data as Float32Array, outs[0]!.data as Float32Array), true);
    },
  };
}

const relu: UnaryFn = (v) => (v < 0 ? 0 : v);
const sigmoid: UnaryFn = (v) => 1 / (1 + Math.exp(-v));
const hardswish: UnaryFn = (v) => {
  const t = v + 3;
  return (v * (t < 0 ? 0 : t > 6 ? 6 : t)) / 6;
};

/** One-input ops whose function does not depend on attributes. */
const SIMPLE_UNARY: Record<string, UnarySpec> = {
  Relu: { fn: relu },
  Sigmoid: { fn: sigmoid, wasm: 'act_sigmoid_f32' },
  HardSwish: { fn: hardswish, wasm: 'act_hardswish_f32' },
  Tanh: { fn: Math.tanh },
  Exp: { fn: Math.exp },
  Log: { fn: Math.log },
  Sqrt: { fn: Math.sqrt },
  Reciprocal: { fn: (v) => 1 / v },
  Neg: { fn: (v) => -v, integers: true },
  Abs: { fn: Math.abs, integers: true },
  Floor: { fn: Math.floor },
  Ceil: { fn: Math.ceil },
  Softplus: { fn: (v) => (v > 20 ? v : Math.log1p(Math.exp(v))) },
  Softsign: { fn: (v) => v / (1 + Math.abs(v)) },
  Sin: { fn: Math.sin },
  Cos: { fn: Math.cos },
  Erf: { fn: erf },
  Mish: { fn: (v) => v * Math.tanh(v > 20 ? v : Math.log1p(Math.exp(v))) },
  Sign: { fn: (v) => (v > 0 ? 1 : v < 0 ? -1 : v), integers: true },
  // Internal: x·sigmoid(x), what Mul(x, Sigmoid(x)) becomes at load.
  SiLU: { fn: (v) => v / (1 + Math.exp(-v)), wasm: 'act_silu_f32' },
};

/** erf from the Chebyshev fit of erfc in Numerical Recipes (erfcc): fractional error < 1.2e-7, below float32 resolution. */
function erf(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? y : -y;
}

function withAttributes(ctx: LoadContext): UnarySpec {
  const a = ctx.attrs;
  switch (ctx.node.opType) {
    case 'LeakyRelu': {
      const alpha = a.float('alpha', 0.01);
      return { fn: (v) => (v > 0 ? v : alpha * v) };
    }
    case 'Elu': {
      const alpha = a.float('alpha', 1);
      return { fn: (v) => (v > 0 ? v : alpha * Math.expm1(v)) };
    }
    case 'Selu': {
      // The ONNX spec's defaults, as it writes them: exact float32 values, longer than the shortest decimal form.
      // biome-ignore lint/correctness/noPrecisionLoss: exact float32 value, see above
      const alpha = a.float('alpha', 1.67326319217681884765625);
      // biome-ignore lint/correctness/noPrecisionLoss: exact float32 value, see above
      const gamma = a.float('gamma', 1.05070102214813232421875);
      return { fn: (v) => (v > 0 ? gamma * v : gamma * alpha * Math.expm1(v)) };
    }
    case 'HardSigmoid': {
      const alpha = a.float('alpha', 0.2);
      const beta = a.float('beta', 0.5);
      return { fn: (v) => Math.max(0, Math.min(1, alpha * v + beta)) };
    }
    case 'ThresholdedRelu': {
      const alpha = a.float('alpha', 1);
      return { fn: (v) => (v > alpha ? v : 0) };
    }
    case 'Gelu': {
      const approximate = a.stringIn('approximate', 'none', ['none', 'tanh'] as const);
      if (approximate === 'tanh') return { fn: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))) };
      return { fn: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)) };
    }
    case 'Celu': {
      const alpha = a.float('alpha', 1);
      return { fn: (v) => Math.max(0, v) + Math.min(0, alpha * Math.expm1(v / alpha)) };
    }
    default:
      return SIMPLE_UNARY[ctx.node.opType]!;
  }
}

/** The sepconv activation module an ONNX activation node is, when there is one (for summaries). */
function describing(ctx: LoadContext): Module | undefined {
  switch (ctx.node.opType) {
    case 'Relu': return new ReLU();
    case 'Sigmoid': return new Sigmoid();
    case 'HardSwish': return new Hardswish();
    case 'LeakyRelu': return new LeakyReLU(ctx.attrs.float('alpha', 0.01));
    case 'HardSigmoid':
      return Math.abs(ctx.attrs.float('alpha', 0.2) - 1 / 6) < 1e-7 && ctx.attrs.float('beta', 0.5) === 0.5 ? new Hardsigmoid() : undefined;
    default: return undefined;
  }
}

/** Clip: bounds as attributes before opset 11, as optional (constant) inputs from 11. */
const clip: OpDef = {
  load(ctx) {
    let attrMin = -Infinity;
    let attrMax = Infinity;
    if (ctx.opset < 11) {
      attrMin = ctx.attrs.float('min', -3.4028234663852886e38);
      attrMax = ctx.attrs.float('max', 3.4028234663852886e38);
    }
    const label = ctx.label;
    return {
      specialize(inputs, env) {
        const x = inputs[0]!;
        const lo = ctx.opset >= 11 && inputs[1] !== undefined ? constFloats(inputs[1], label, 'min')[0]! : attrMin;
        const hi = ctx.opset >= 11 && inputs[2] !== undefined ? constFloats(inputs[2], label, 'max')[0]! : attrMax;
        if (x.dtype === 'bool') throw nodeError(label, 'input must be numeric, got bool', 'type');
        // NaN passes through, as in onnxruntime and PyTorch.
        return unaryImpl(label, { fn: (v) => (v < lo ? lo : v > hi ? hi : v), integers: true }).specialize([x], env);
      },
    };
  },
};

export function clipBounds(ctx: { opset: number; constant(i: number): OValue | null; has(i: number): boolean; attrs: LoadContext['attrs'] }): [number, number] | null {
  if (ctx.opset < 11) return [ctx.attrs.float('min', -3.4028234663852886e38), ctx.attrs.float('max', 3.4028234663852886e38)];
  const lo = ctx.has(1) ? ctx.constant(1) : null;
  const hi = ctx.has(2) ? ctx.constant(2) : null;
  if ((ctx.has(1) && lo === null) || (ctx.has(2) && hi === null)) return null;
  return [lo === null ? -Infinity : Number(lo.data[0]), hi === null ? Infinity : Number(hi.data[0])];
}

// ---------------------------------------------------------------------------------------------
// Broadcasting n-ary ops

type BinaryFn = (a: number, b: number) => number;

/**
 * out[i] = f(a[ia], b[ib]) over the broadcast output, walking the output row-major with an
 * odometer over all axes but the last, and the last axis with each input's own stride.
 */
function broadcastBinary(
  a: ArrayLike<number>, aStrides: readonly number[], b: ArrayLike<number>, bStrides: readonly number[],
  out: { [i: number]: number; length: number }, outShape: readonly number[], f: BinaryFn,
): void {
  const rank = outShape.length;
  const n = out.length;
  if (n === 0) return;
  if (rank === 0) {
    out[0] = f(a[0]!, b[0]!);
    return;
  }
  const inner = outShape[rank - 1]!;
  const sa = aStrides[rank - 1]!;
  const sb = bStrides[rank - 1]!;
  const index = new Array<number>(rank).fill(0);
  let ia = 0;
  let ib = 0;
  const code = ARITHMETIC.get(f) ?? -1;
  for (let o = 0; o < n; o += inner) {
    if (code >= 0 && (sa === 1 || sa === 0) && (sb === 1 || sb === 0)) arithmeticRow(code, a, ia, sa, b, ib, sb, out, o, inner);
    else if (sa === 1 && sb === 1) for (let k = 0; k < inner; k++) out[o + k] = f(a[ia + k]!, b[ib + k]!);
    else if (sa === 1 && sb === 0) {
      const bv = b[ib]!;
      for (let k = 0; k < inner; k++) out[o + k] = f(a[ia + k]!, bv);
    } else if (sa === 0 && sb === 1) {
      const av = a[ia]!;
      for (let k = 0; k < inner; k++) out[o + k] = f(av, b[ib + k]!);
    } else for (let k = 0; k < inner; k++) out[o + k] = f(a[ia + k * sa]!, b[ib + k * sb]!);
    // Odometer over the outer axes.
    for (let axis = rank - 2; axis >= 0; axis--) {
      index[axis]!++;
      ia += aStrides[axis]!;
      ib += bStrides[axis]!;
      if (index[axis]! < outShape[axis]!) break;
      ia -= aStrides[axis]! * outShape[axis]!;
      ib -= bStrides[axis]! * outShape[axis]!;
      index[axis] = 0;
    }
  }
}

const add: BinaryFn = (a, b) => a + b;
const sub: BinaryFn = (a, b) => a - b;
const mul: BinaryFn = (a, b) => a * b;
const div: BinaryFn = (a, b) => a / b;
/** The four arithmetic ops get loops of their own (no call per element): residual adds, SE scales. */
const ARITHMETIC = new Map<BinaryFn, number>([[add, 0], [sub, 1], [mul, 2], [div, 3]]);

type Row = { [i: number]: number; length: number };

/** One output row of an arithmetic op; each operand either runs along the row (stride 1) or is one value (stride 0). */
function arithmeticRow(code: number, a: ArrayLike<number>, ia: number, sa: number, b: ArrayLike<number>, ib: number, sb: number, out: Row, o: number, n: number): void {
  if (sa === 1 && sb === 1) {
    switch (code) {
      case 0: for (let k = 0; k < n; k++) out[o + k] = a[ia + k]! + b[ib + k]!; return;
      case 1: for (let k = 0; k < n; k++) out[o + k] = a[ia + k]! - b[ib + k]!; return;
      case 2: for (let k = 0; k < n; k++) out[o + k] = a[ia + k]! * b[ib + k]!; return;
      default: for (let k = 0; k < n; k++) out[o + k] = a[ia + k]! / b[ib + k]!; return;
    }
  }
  if (sa === 1) {
    const v = b[ib]!;
    switch (code) {
      case 0: for (let k = 0; k < n; k++) out[o + k] = a[ia + k]! + v; return;
      case 1: for (let k = 0; k < n; k++) out[o + k] = a[ia + k]! - v; return;
      case 2: for (let k = 0; k < n; k++) out[o + k] = a[ia + k]! * v; return;
      default: for (let k = 0; k < n; k++) out[o + k] = a[ia + k]! / v; return;
    }
  }
  const u = a[ia]!;
  if (sb === 1) {
    switch (code) {
      case 0: for (let k = 0; k < n; k++) out[o + k] = u + b[ib + k]!; return;
      case 1: for (let k = 0; k < n; k++) out[o + k] = u - b[ib + k]!; return;
      case 2: for (let k = 0; k < n; k++) out[o + k] = u * b[ib + k]!; return;
      default: for (let k = 0; k < n; k++) out[o + k] = u / b[ib + k]!; return;
    }
  }
  const r = code === 0 ? u + b[ib]! : code === 1 ? u - b[ib]! : code === 2 ? u * b[ib]! : u / b[ib]!;
  for (let k = 0; k < n; k++) out[o + k] = r;
}

/** Merges adjacent axes along which every input's strides continue (s[i] = s[i+1]·n[i+1]). */
function collapseAxes(shape: readonly number[], strides: readonly (readonly number[])[]): [number[], number[][]] {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let axis = 0; axis < shape.length; axis++) {
    const last = outShape.length - 1;
    const mergeable = last >= 0 && strides.every((st, k) => outStrides[k]![last] === st[axis]! * shape[axis]!);
    if (mergeable) {
      outShape[last] = outShape[last]! * shape[axis]!;
      strides.forEach((st, k) => { outStrides[k]![last] = st[axis]!; });
    } else {
      outShape.push(shape[axis]!);
      strides.forEach((st, k) => outStrides[k]!.push(st[axis]!));
    }
  }
  return [outShape, outStrides];
}

interface BinarySpec {
  readonly float: BinaryFn;
  /** The integer rule (defaults to `float`); null when the op refuses integers. */
  readonly int?: BinaryFn | null;
  /** The result dtype: the inputs' (arithmetic) or bool (comparisons). */
  readonly result: 'same' | 'bool';
  /** Accepts bool inputs (And, Or, Xor, Equal). */
  readonly bools?: boolean;
  /** Only bool inputs (And, Or, Xor). */
  readonly boolOnly?: boolean;
}

const BINARY: Record<string, BinarySpec> = {
  Add: { float: add, result: 'same' },
  Sub: { float: sub, result: 'same' },
  Mul: { float: mul, result: 'same' },
  // Integer division truncates toward zero, as onnxruntime's C++ does.
  Div: { float: div, int: (a, b) => (b === 0 ? 0 : Math.trunc(a / b)), result: 'same' },
  Pow: { float: (a, b) => a ** b, int: (a, b) => Math.trunc(a ** b), result: 'same' },
  Mod: { float: (a, b) => a - Math.floor(a / b) * b, int: (a, b) => (b === 0 ? 0 : a - Math.floor(a / b) * b), result: 'same' },
  Max: { float: (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b), result: 'same' },
  Min: { float: (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b), result: 'same' },
  Sum: { float: add, result: 'same' },
  Mean: { float: add, result: 'same' },
  Equal: { float: (a, b) => (a === b ? 1 : 0), result: 'bool', bools: true },
  Less: { float: (a, b) => (a < b ? 1 : 0), result: 'bool' },
  LessOrEqual: { float: (a, b) => (a <= b ? 1 : 0), result: 'bool' },
  Greater: { float: (a, b) => (a > b ? 1 : 0), result: 'bool' },
  GreaterOrEqual: { float: (a, b) => (a >= b ? 1 : 0), result: 'bool' },
  And: { boolOnly: true, float: (a, b) => (a !== 0 && b !== 0 ? 1 : 0), result: 'bool', bools: true },
  Or: { boolOnly: true, float: (a, b) => (a !== 0 || b !== 0 ? 1 : 0), result: 'bool', bools: true },
  Xor: { boolOnly: true, float: (a, b) => ((a !== 0) !== (b !== 0) ? 1 : 0), result: 'bool', bools: true },
  // Internal: the PRelu rule, slope broadcast to x.
  PRelu: { float: (x, s) => (x < 0 ? x * s : x), result: 'same' },
};

function elementKind(infos: readonly Info[], label: string, spec: BinarySpec): DType {
  const dtype = infos[0]!.dtype;
  for (const x of infos) {
    if (x.dtype !== dtype) throw nodeError(label, `inputs must have one element type, got ${infos.map((i) => i.dtype).join(' and ')}`, 'type');
  }
  if (dtype === 'bool' && spec.bools !== true) throw nodeError(label, 'inputs must be numeric, got bool', 'type');
  if (dtype !== 'bool' && spec.boolOnly === true) throw nodeError(label, `inputs must be bool, got ${dtype}`, 'type');
  return dtype;
}

function naryImpl(label: string, opType: string, spec: BinarySpec): NodeImpl {
  return {
    specialize(inputs, env) {
      if (inputs.length === 0) throw nodeError(label, 'needs at least one input');
      const dtype = elementKind(inputs, label, spec);
      const f = dtype === 'int64' && spec.int !== undefined && spec.int !== null ? spec.int : spec.float;
      const outShape = broadcastShapes(inputs.map((i) => i.shape));
      if (outShape === null) {
        throw nodeError(label, `input shapes ${inputs.map((i) => `[${i.shape.join(', ')}]`).join(' and ')} do not broadcast`);
      }
      const resultType: DType = spec.result === 'bool' ? 'bool' : dtype;
      let strides = inputs.map((i) => broadcastStrides(i.shape, outShape));
      const outStrides = broadcastStrides(outShape, outShape);
      // Two inputs: axes that continue each other in both are merged, so an SE scale
      // ([N, C, H, W] · [N, C, 1, 1]) runs as whole planes and a residual add as one row.
      let walkShape: readonly number[] = outShape;
      if (inputs.length === 2) [walkShape, strides] = collapseAxes(outShape, strides);
      const count = inputs.length;
      const isMean = opType === 'Mean';
      // In place when output 0 can take input 0's buffer: same shape and element type.
      const inPlace = resultType === dtype && sizeOf(inputs[0]!.shape) === sizeOf(outShape) && inputs[0]!.shape.length === outShape.length;
      if (f === add && dtype === 'float32' && count === 2 && sameShape(inputs[0]!.shape, outShape) && sameShape(inputs[1]!.shape, outShape)) {
        // A residual add: one float32 add per element, in wasm when all three live in its memory.
        return computeKernel([info(resultType, outShape)], (ins, outs) => {
          const a = ins[0]!.data as Float32Array;
          const b = ins[1]!.data as Float32Array;
          const out = outs[0]!.data as Float32Array;
          const runtime = wasmRuntimeIfAvailable(env.backend, 'onnx');
          addOnTier(runtime, a, b, out);
        }, inPlace);
      }
      const scaled = f === mul && dtype === 'float32' ? planeScaleOperand(walkShape, strides) : -1;
      if (scaled >= 0) {
        // A squeeze-excitation scale: every plane of one input times one value of the other.
        const plane = walkShape[1]!;
        return computeKernel([info(resultType, outShape)], (ins, outs) => {
          const x = ins[1 - scaled]!.data as Float32Array;
          const scales = ins[scaled]!.data as Float32Array;
          const out = outs[0]!.data as Float32Array;
          const runtime = wasmRuntimeIfAvailable(env.backend, 'onnx');
          scaleChannelsOnTier(runtime, x, scales, out, plane);
        }, inPlace && scaled === 1);
      }
      return computeKernel([info(resultType, outShape)], (ins, outs) => {
        const out = outs[0]!.data as unknown as { [i: number]: number; length: number };
        if (count === 1) {
          broadcastBinary(ins[0]!.data, strides[0]!, ins[0]!.data, strides[0]!, out, outShape, (a) => a);
          return;
        }
        broadcastBinary(ins[0]!.data, strides[0]!, ins[1]!.data, strides[1]!, out, walkShape, f);
        for (let k = 2; k < count; k++) broadcastBinary(out as ArrayLike<number>, outStrides, ins[k]!.data, strides[k]!, out, outShape, f);
        if (isMean) for (let i = 0; i < out.length; i++) out[i] = out[i]! / count;
      }, inPlace);
    },
  };
}


/**
 * Which input of a two-input op is one value per plane of the other (walk [planes, plane] with
 * strides [plane, 1] and [1, 0]): 1 or 0; -1 when neither is.
 */
function planeScaleOperand(walk: readonly number[], strides: readonly (readonly number[])[]): number {
  if (walk.length !== 2 || strides.length !== 2) return -1;
  const plane = walk[1]!;
  const isPlanes = (st: readonly number[]): boolean => st[0] === plane && st[1] === 1;
  const isScales = (st: readonly number[]): boolean => st[0] === 1 && st[1] === 0;
  if (isPlanes(strides[0]!) && isScales(strides[1]!)) return 1;
  if (isScales(strides[0]!) && isPlanes(strides[1]!)) return 0;
  return -1;
}

/** PRelu: slope broadcast to x (unidirectionally); a per-channel `[C]` slope of a NCHW input counts as `[C, 1, 1]`, as torch exports it. */
const prelu: OpDef = {
  load(ctx) {
    const inner = naryImpl(ctx.label, 'PRelu', BINARY.PRelu!);
    return {
      specialize(inputs, env) {
        const [x, slope] = inputs as [Info, Info];
        let s = slope;
        if (slope.shape.length === 1 && x.shape.length >= 3 && slope.shape[0] === x.shape[1] && slope.shape[0] !== x.shape[x.shape.length - 1]) {
          s = { ...slope, shape: [slope.shape[0]!, ...new Array<number>(x.shape.length - 2).fill(1)] };
        }
        const out = broadcastShapes([x.shape, s.shape]);
        if (out === null || out.length !== x.shape.length || out.some((d, i) => d !== x.shape[i])) {
          throw nodeError(ctx.label, `slope of shape [${slope.shape.join(', ')}] does not broadcast to x of shape [${x.shape.join(', ')}]`);
        }
        const kernel = inner.specialize([x, s], env);
        return {
          outputs: kernel.outputs,
          run: (ins) => kernel.run([ins[0]!, { ...ins[1]!, shape: s.shape } as OValue]),
          plan: (may) => {
            const step = kernel.plan(may);
            return planned((ins) => step([ins[0]!, { ...ins[1]!, shape: s.shape } as OValue]), step.plannedOutputs ?? [null]);
          },
        };
      },
    };
  },
};

/** Where(condition, x, y) with broadcasting. */
const where: OpDef = {
  load(ctx) {
    return {
      specialize(inputs) {
        const [c, x, y] = inputs as [Info, Info, Info];
        if (c.dtype !== 'bool') throw nodeError(ctx.label, `condition must be bool, got ${c.dtype}`, 'type');
        if (x.dtype !== y.dtype) throw nodeError(ctx.label, `x and y must have one element type, got ${x.dtype} and ${y.dtype}`, 'type');
        const outShape = broadcastShapes([c.shape, x.shape, y.shape]);
        if (outShape === null) throw nodeError(ctx.label, `shapes [${c.shape.join(', ')}], [${x.shape.join(', ')}], [${y.shape.join(', ')}] do not broadcast`);
        const sc = broadcastStrides(c.shape, outShape);
        const sx = broadcastStrides(x.shape, outShape);
        const sy = broadcastStrides(y.shape, outShape);
        return computeKernel([info(x.dtype, outShape)], (ins, outs) => {
          const out = outs[0]!.data;
          const rank = outShape.length;
          const index = new Array<number>(rank).fill(0);
          const cd = ins[0]!.data;
          const xd = ins[1]!.data;
          const yd = ins[2]!.data;
          let ic = 0;
          let ix = 0;
          let iy = 0;
          for (let o = 0; o < out.length; o++) {
            out[o] = cd[ic] !== 0 ? xd[ix]! : yd[iy]!;
            for (let axis = rank - 1; axis >= 0; axis--) {
              index[axis]!++;
              ic += sc[axis]!;
              ix += sx[axis]!;
              iy += sy[axis]!;
              if (index[axis]! < outShape[axis]!) break;
              ic -= sc[axis]! * outShape[axis]!;
              ix -= sx[axis]! * outShape[axis]!;
              iy -= sy[axis]! * outShape[axis]!;
              index[axis] = 0;
            }
          }
        });
      },
    };
  },
};

const not: OpDef = {
  load(ctx) {
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        if (x.dtype !== 'bool') throw nodeError(ctx.label, `input must be bool, got ${x.dtype}`, 'type');
        return computeKernel([info('bool', x.shape)], (ins, outs) => {
          const a = ins[0]!.data;
          const y = outs[0]!.data;
          for (let i = 0; i < a.length; i++) y[i] = a[i] ? 0 : 1;
        }, true);
      },
    };
  },
};

export const ELEMENTWISE_OPS: Record<string, OpDef> = {
  ...Object.fromEntries(
    [...Object.keys(SIMPLE_UNARY).filter((op) => op !== 'SiLU'), 'LeakyRelu', 'Elu', 'Selu', 'HardSigmoid', 'ThresholdedRelu', 'Celu', 'Gelu']
      .map((op): [string, OpDef] => [op, { load: (ctx) => unaryImpl(ctx.label, withAttributes(ctx), describing(ctx)) }]),
  ),
  ...Object.fromEntries(
    Object.entries(BINARY).filter(([op]) => op !== 'PRelu')
      .map(([op, spec]): [string, OpDef] => [op, { load: (ctx) => naryImpl(ctx.label, op, spec) }]),
  ),
  Clip: clip,
  PRelu: prelu,
  Where: where,
  Not: not,
};

/** Operators sepconv's own graph rewrites create (never read from a file). */
export const INTERNAL_ELEMENTWISE_OPS: Record<string, OpDef> = {
  SiLU: { load: (ctx) => unaryImpl(ctx.label, SIMPLE_UNARY.SiLU!, new SiLU()) },
};
