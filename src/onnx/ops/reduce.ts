/**
 * Reductions (ReduceMean/Sum/Max/Min/Prod/SumSquare/L1/L2/LogSumExp, ArgMax/ArgMin) and
 * Softmax/LogSoftmax. Axes come from the attribute up to opset 17 (ReduceSum: 12) and from the
 * second input afterwards; Softmax before opset 13 flattens the input to 2-D at `axis` (default 1)
 * and normalises each row, from 13 it normalises along `axis` (default −1). Sums are float64.
 */
import { sizeOf } from '../values.js';
import { computeKernel, constInts, info, nodeError, normalizeAxis, type Info, type OpDef } from './op.js';

type Reducer = { init: number; step: (acc: number, v: number) => number; finish: (acc: number, n: number) => number };

const REDUCERS: Record<string, Reducer> = {
  ReduceSum: { init: 0, step: (a, v) => a + v, finish: (a) => a },
  ReduceMean: { init: 0, step: (a, v) => a + v, finish: (a, n) => a / n },
  ReduceMax: { init: -Infinity, step: (a, v) => (v > a || v !== v ? v : a), finish: (a) => a },
  ReduceMin: { init: Infinity, step: (a, v) => (v < a || v !== v ? v : a), finish: (a) => a },
  ReduceProd: { init: 1, step: (a, v) => a * v, finish: (a) => a },
  ReduceSumSquare: { init: 0, step: (a, v) => a + v * v, finish: (a) => a },
  ReduceL1: { init: 0, step: (a, v) => a + Math.abs(v), finish: (a) => a },
  ReduceL2: { init: 0, step: (a, v) => a + v * v, finish: (a) => Math.sqrt(a) },
  ReduceLogSumExp: { init: 0, step: (a, v) => a + Math.exp(v), finish: (a) => Math.log(a) },
};

/** For every output element, the input offsets it reduces: outer × reduced × inner walk over a shape. */
function reduceAxes(shape: readonly number[], axes: ReadonlySet<number>): { outShapeKeep: number[]; outCount: number; redCount: number; index: (o: number, r: number) => number } {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  let acc = 1;
  for (let i = rank - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i]!;
  }
  const kept = [...Array(rank).keys()].filter((a) => !axes.has(a));
  const reduced = [...Array(rank).keys()].filter((a) => axes.has(a));
  const outShapeKeep = shape.map((d, i) => (axes.has(i) ? 1 : d));
  const offsetsOf = (list: number[]): Float64Array => {
    const n = list.reduce((p, a) => p * shape[a]!, 1);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let rem = i;
      let off = 0;
      for (let j = list.length - 1; j >= 0; j--) {
        const a = list[j]!;
        off += (rem % shape[a]!) * strides[a]!;
        rem = Math.floor(rem / shape[a]!);
      }
      out[i] = off;
    }
    return out;
  };
  const outOffsets = offsetsOf(kept);
  const redOffsets = offsetsOf(reduced);
  return { outShapeKeep, outCount: outOffsets.length, redCount: redOffsets.length, index: (o, r) => outOffsets[o]! + redOffsets[r]! };
}

function reduceOp(opType: string): OpDef {
  const reducer = REDUCERS[opType]!;
  const axesAsInput = opType === 'ReduceSum' ? 13 : 18;
  return {
    load(ctx) {
      const keepdims = ctx.attrs.int('keepdims', 1) === 1;
      const noopWithEmptyAxes = ctx.attrs.int('noop_with_empty_axes', 0) === 1;
      const attrAxes = ctx.opset < axesAsInput ? ctx.attrs.ints('axes') : null;
      return {
        specialize(inputs) {
          const x = inputs[0]!;
          if (x.dtype === 'bool') throw nodeError(ctx.label, 'input must be numeric, got bool', 'type');
          const rank = x.shape.length;
          let axes = ctx.opset >= axesAsInput ? (inputs[1] === undefined ? null : constInts(inputs[1], ctx.label, 'axes')) : attrAxes;
          if (axes !== null && axes.length === 0) axes = null;
          if (axes === null && noopWithEmptyAxes) return computeKernel([info(x.dtype, x.shape)], (ins, outs) => outs[0]!.data.set(ins[0]!.data as never));
          const set = new Set((axes ?? [...Array(rank).keys()]).map((a) => normalizeAxis(a, rank, ctx.label)));
          const plan = reduceAxes(x.shape, set);
          if (plan.redCount === 0 && (opType === 'ReduceMax' || opType === 'ReduceMin')) throw nodeError(ctx.label, 'reduces an empty axis');
          const outShape = keepdims ? plan.outShapeKeep : x.shape.filter((_, i) => !set.has(i));
          return computeKernel([info(x.dtype, outShape)], (ins, outs) => {
            const src = ins[0]!.data;
            const out = outs[0]!.data;
            for (let o = 0; o < plan.outCount; o++) {
              let a = reducer.init;
              for (let r = 0; r < plan.redCount; r++) a = reducer.step(a, src[plan.index(o, r)]!);
              out[o] = reducer.finish(a, plan.redCount);
            }
          });
        },
      };
    },
  };
}

function argOp(max: boolean): OpDef {
  return {
    load(ctx) {
      const axisAttr = ctx.attrs.int('axis', 0);
      const keepdims = ctx.attrs.int('keepdims', 1) === 1;
      const last = ctx.attrs.int('select_last_index', 0) === 1;
      return {
        specialize(inputs) {
          const x = inputs[0]!;
          const axis = normalizeAxis(axisAttr, x.shape.length, ctx.label);
          const plan = reduceAxes(x.shape, new Set([axis]));
          if (plan.redCount === 0) throw nodeError(ctx.label, 'reduces an empty axis');
          const outShape = keepdims ? plan.outShapeKeep : x.shape.filter((_, i) => i !== axis);
          return computeKernel([info('int64', outShape)], (ins, outs) => {
            const src = ins[0]!.data;
            const out = outs[0]!.data;
            for (let o = 0; o < plan.outCount; o++) {
              let best = src[plan.index(o, 0)]!;
              let at = 0;
              for (let r = 1; r < plan.redCount; r++) {
                const v = src[plan.index(o, r)]!;
                if (max ? v > best || (last && v === best) : v < best || (last && v === best)) {
                  best = v;
                  at = r;
                }
              }
              out[o] = at;
            }
          });
        },
      };
    },
  };
}

function softmaxOp(log: boolean): OpDef {
  return {
    load(ctx) {
      const axisAttr = ctx.attrs.int('axis', ctx.opset >= 13 ? -1 : 1);
      return {
        specialize(inputs) {
          const x: Info = inputs[0]!;
          if (x.dtype !== 'float32') throw nodeError(ctx.label, `input must be float, got ${x.dtype}`, 'type');
          const rank = x.shape.length;
          const axis = normalizeAxis(axisAttr, Math.max(rank, 1), ctx.label);
          // Rows of `length` values, `stride` apart, `inner` interleaved rows per outer block.
          let outer: number;
          let length: number;
          let inner: number;
          if (ctx.opset < 13) {
            outer = sizeOf(x.shape.slice(0, axis));
            length = sizeOf(x.shape.slice(axis));
            inner = 1;
          } else {
            outer = sizeOf(x.shape.slice(0, axis));
            length = x.shape[axis] ?? 1;
            inner = sizeOf(x.shape.slice(axis + 1));
          }
          return computeKernel([info('float32', x.shape)], (ins, outs) => {
            const src = ins[0]!.data as Float32Array;
            const out = outs[0]!.data as Float32Array;
            for (let o = 0; o < outer; o++) {
              for (let i = 0; i < inner; i++) {
                const base = o * length * inner + i;
                let max = -Infinity;
                for (let k = 0; k < length; k++) max = Math.max(max, src[base + k * inner]!);
                let sum = 0;
                for (let k = 0; k < length; k++) sum += Math.exp(src[base + k * inner]! - max);
                const logSum = Math.log(sum);
                for (let k = 0; k < length; k++) {
                  const v = src[base + k * inner]! - max;
                  out[base + k * inner] = log ? v - logSum : Math.exp(v) / sum;
                }
              }
            }
          }, true);
        },
      };
    },
  };
}

export const REDUCE_OPS: Record<string, OpDef> = {
  ...Object.fromEntries(Object.keys(REDUCERS).map((op) => [op, reduceOp(op)])),
  ArgMax: argOp(true),
  ArgMin: argOp(false),
  Softmax: softmaxOp(false),
  LogSoftmax: softmaxOp(true),
};
