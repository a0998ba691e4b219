/**
 * Shape and data-movement operators: Shape, Reshape, Flatten, Squeeze, Unsqueeze, Identity,
 * Dropout (views: nothing is copied), Transpose, Concat, Split, Slice, Gather, Expand, Tile,
 * Cast, Constant, ConstantOfShape, Range, Size. Integer tensors (shapes, indices) stay integers.
 * With concrete input shapes, everything computed from `Shape` is known when the graph is
 * specialised, so the shape arithmetic of an export (ShuffleNet's channel split, the Resize
 * sizes of a segmentation head) folds away before the first run.
 */
import { MAX_DIMENSION, MAX_ELEMENTS } from '../../checks.js';
import { dtypeOf, elemTypeName } from '../proto.js';
import { allocValue, broadcastShapes, broadcastStrides, intValue, sizeOf, stridesOf, type DType, type OValue } from '../values.js';
import { computeKernel, constInts, info, nodeError, normalizeAxis, planned, rangeViewKernel, viewKernel, type Info, type Kernel, type LoadContext, type OpDef } from './op.js';

function checkDims(shape: readonly number[], label: string, what: string): void {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0 || d > MAX_DIMENSION) throw nodeError(label, `${what} has dimension ${d}: must be from 0 to ${MAX_DIMENSION}`);
    n *= d;
  }
  if (n > MAX_ELEMENTS) throw nodeError(label, `${what} [${shape.join(', ')}] has ${n} elements, over sepconv's limit of ${MAX_ELEMENTS}`);
}

const shapeOp: OpDef = {
  load(ctx) {
    const start = ctx.attrs.int('start', 0);
    const endAttr = ctx.attrs.has('end') ? ctx.attrs.int('end', 0) : null;
    return {
      specialize(inputs) {
        const shape = inputs[0]!.shape;
        const rank = shape.length;
        const clamp = (v: number): number => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
        const dims = shape.slice(clamp(start), endAttr === null ? rank : clamp(endAttr));
        const value = intValue(dims);
        return constantKernel([value]);
      },
    };
  },
};

const sizeOp: OpDef = {
  load() {
    return { specialize: (inputs) => constantKernel([intValue([sizeOf(inputs[0]!.shape)], [])]) };
  },
};

/** A kernel whose outputs are known values (computed while specialising). */
export function constantKernel(values: readonly OValue[]): Kernel {
  const run = (): OValue[] => values.slice();
  return { outputs: values.map((v) => info(v.dtype, v.shape, v)), run, plan: () => planned(run, values.map(() => null)) };
}

const reshape: OpDef = {
  load(ctx) {
    const allowZero = ctx.attrs.int('allowzero', 0) === 1;
    const attrShape = ctx.opset < 5 ? ctx.attrs.ints('shape') : null;
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        const target = attrShape ?? constInts(inputs[1], ctx.label, 'shape');
        const size = sizeOf(x.shape);
        let inferred = -1;
        const out = target.map((d, i) => {
          if (d === 0 && !allowZero) {
            if (i >= x.shape.length) throw nodeError(ctx.label, `shape[${i}] = 0 copies input dimension ${i}, but the input has rank ${x.shape.length}`);
            return x.shape[i]!;
          }
          if (d === -1) {
            if (inferred >= 0) throw nodeError(ctx.label, `shape ${JSON.stringify(target)} has more than one -1`);
            inferred = i;
            return 1;
          }
          if (!Number.isInteger(d) || d < 0) throw nodeError(ctx.label, `shape ${JSON.stringify(target)} has an invalid dimension ${d}`);
          return d;
        });
        const known = sizeOf(out);
        if (inferred >= 0) {
          if (known === 0 || size % known !== 0) throw nodeError(ctx.label, `cannot reshape [${x.shape.join(', ')}] (${size} elements) to ${JSON.stringify(target)}`);
          out[inferred] = size / known;
        }
        if (sizeOf(out) !== size) throw nodeError(ctx.label, `cannot reshape [${x.shape.join(', ')}] (${size} elements) to [${out.join(', ')}]`);
        return viewKernel(x, out);
      },
    };
  },
};

const flatten: OpDef = {
  load(ctx) {
    const axisAttr = ctx.attrs.int('axis', 1);
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        const rank = x.shape.length;
        const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
        if (axis < 0 || axis > rank) throw nodeError(ctx.label, `axis ${axisAttr} is out of range for rank ${rank}`);
        return viewKernel(x, [sizeOf(x.shape.slice(0, axis)), sizeOf(x.shape.slice(axis))]);
      },
    };
  },
};

function axesFrom(ctx: LoadContext, inputs: readonly Info[], firstOpsetAsInput: number): number[] | null {
  if (ctx.opset >= firstOpsetAsInput) return inputs[1] === undefined ? null : constInts(inputs[1], ctx.label, 'axes');
  return ctx.attrs.ints('axes');
}

const squeeze: OpDef = {
  load(ctx) {
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        const rank = x.shape.length;
        const axes = axesFrom(ctx, inputs, 13);
        const drop = new Set(axes === null ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : axes.map((a) => normalizeAxis(a, rank, ctx.label)));
        for (const a of drop) if (x.shape[a] !== 1) throw nodeError(ctx.label, `cannot squeeze axis ${a} of size ${x.shape[a]} (shape [${x.shape.join(', ')}])`);
        return viewKernel(x, x.shape.filter((_, i) => !drop.has(i)));
      },
    };
  },
};

const unsqueeze: OpDef = {
  load(ctx) {
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        const axes = axesFrom(ctx, inputs, 13);
        if (axes === null) throw nodeError(ctx.label, 'needs axes');
        const rank = x.shape.length + axes.length;
        const set = new Set(axes.map((a) => normalizeAxis(a, rank, ctx.label)));
        if (set.size !== axes.length) throw nodeError(ctx.label, `axes ${JSON.stringify(axes)} repeat an axis`);
        const out: number[] = [];
        let k = 0;
        for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : x.shape[k++]!);
        return viewKernel(x, out);
      },
    };
  },
};

const identity: OpDef = {
  load() {
    return { specialize: (inputs) => viewKernel(inputs[0]!, inputs[0]!.shape) };
  },
};

/** Dropout in inference: the identity (and an all-true mask when that output is asked for). */
const dropout: OpDef = {
  load(ctx) {
    const wantsMask = ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== '';
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        if (ctx.opset >= 12 && inputs[2]?.value !== null && inputs[2] !== undefined && inputs[2].value.data[0] !== 0) {
          throw nodeError(ctx.label, 'training_mode is true; sepconv runs ONNX graphs for inference only');
        }
        const view = viewKernel(x, x.shape);
        if (!wantsMask) return view;
        const mask = allocValue('bool', x.shape, 'Dropout mask');
        (mask.data as Uint8Array).fill(1);
        return { outputs: [view.outputs[0]!, info('bool', x.shape, mask)], run: (ins) => [...view.run(ins), mask], plan: () => planned((ins) => [...view.run(ins), mask], [0, null]) };
      },
    };
  },
};

/** out = x permuted by `perm`: trailing axes that stay in place are copied as contiguous blocks. */
function transposeInto(x: ArrayLike<number>, shape: readonly number[], perm: readonly number[], out: { [i: number]: number; length: number }): void {
  const rank = shape.length;
  let keep = 0; // trailing axes in place
  while (keep < rank && perm[rank - 1 - keep] === rank - 1 - keep) keep++;
  const outer = rank - keep;
  let block = 1;
  for (let i = outer; i < rank; i++) block *= shape[i]!;
  const inStrides = stridesOf(shape);
  const outShape = perm.slice(0, outer).map((p) => shape[p]!);
  const steps = perm.slice(0, outer).map((p) => inStrides[p]!);
  const n = out.length;
  if (n === 0) return;
  if (outer === 0) {
    for (let i = 0; i < n; i++) out[i] = x[i]!;
    return;
  }
  const index = new Array<number>(outer).fill(0);
  let src = 0;
  const lastStep = steps[outer - 1]!;
  const lastSize = outShape[outer - 1]!;
  for (let o = 0; o < n;) {
    // The innermost permuted axis, block by block.
    let s = src;
    for (let j = 0; j < lastSize; j++, s += lastStep) {
      if (block >= 16 && ArrayBuffer.isView(x) && ArrayBuffer.isView(out)) (out as Float32Array).set((x as Float32Array).subarray(s, s + block), o);
      else for (let k = 0; k < block; k++) out[o + k] = x[s + k]!;
      o += block;
    }
    for (let axis = outer - 2; axis >= 0; axis--) {
      index[axis]!++;
      src += steps[axis]!;
      if (index[axis]! < outShape[axis]!) break;
      src -= steps[axis]! * outShape[axis]!;
      index[axis] = 0;
    }
  }
}

const transpose: OpDef = {
  load(ctx) {
    const permAttr = ctx.attrs.ints('perm');
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        const rank = x.shape.length;
        const perm = permAttr ?? x.shape.map((_, i) => rank - 1 - i);
        if (perm.length !== rank || new Set(perm.map((p) => normalizeAxis(p, rank, ctx.label, 'perm entry'))).size !== rank) {
          throw nodeError(ctx.label, `perm ${JSON.stringify(perm)} is not a permutation of the ${rank} axes`);
        }
        const p = perm.map((a) => (a < 0 ? a + rank : a));
        const outShape = p.map((a) => x.shape[a]!);
        if (p.every((a, i) => a === i)) return viewKernel(x, outShape);
        return computeKernel([info(x.dtype, outShape)], (ins, outs) => transposeInto(ins[0]!.data, x.shape, p, outs[0]!.data));
      },
    };
  },
};

const concat: OpDef = {
  load(ctx) {
    if (!ctx.attrs.has('axis')) throw nodeError(ctx.label, 'needs the axis attribute');
    const axisAttr = ctx.attrs.int('axis', 0);
    return {
      specialize(inputs) {
        const first = inputs[0]!;
        const rank = first.shape.length;
        const axis = normalizeAxis(axisAttr, rank, ctx.label);
        let total = 0;
        for (const x of inputs) {
          if (x.dtype !== first.dtype) throw nodeError(ctx.label, `inputs must have one element type, got ${first.dtype} and ${x.dtype}`, 'type');
          if (x.shape.length !== rank || x.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
            throw nodeError(ctx.label, `input shapes [${first.shape.join(', ')}] and [${x.shape.join(', ')}] differ outside axis ${axis}`);
          }
          total += x.shape[axis]!;
        }
        const outShape = first.shape.slice();
        outShape[axis] = total;
        checkDims(outShape, ctx.label, 'the output');
        const outer = sizeOf(first.shape.slice(0, axis));
        const inner = sizeOf(first.shape.slice(axis + 1));
        const pieces = inputs.map((x) => x.shape[axis]! * inner);
        const row = total * inner;
        return computeKernel([info(first.dtype, outShape)], (ins, outs) => {
          const out = outs[0]!.data;
          let offset = 0;
          for (let k = 0; k < ins.length; k++) {
            const src = ins[k]!.data;
            const piece = pieces[k]!;
            for (let o = 0; o < outer; o++) (out as Float32Array).set((src as Float32Array).subarray(o * piece, (o + 1) * piece), o * row + offset);
            offset += piece;
          }
        });
      },
    };
  },
};

const split: OpDef = {
  load(ctx) {
    const axisAttr = ctx.attrs.int('axis', 0);
    const splitAttr = ctx.opset < 13 ? ctx.attrs.ints('split') : null;
    const numOutputs = ctx.attrs.has('num_outputs') ? ctx.attrs.int('num_outputs', 0) : ctx.node.outputs.length;
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        const axis = normalizeAxis(axisAttr, x.shape.length, ctx.label);
        const dim = x.shape[axis]!;
        let sizes = splitAttr ?? (ctx.opset >= 13 && inputs[1] !== undefined ? constInts(inputs[1], ctx.label, 'split') : null);
        if (sizes === null) {
          const n = numOutputs;
          if (n < 1) throw nodeError(ctx.label, 'has no outputs');
          const each = Math.ceil(dim / n);
          sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(each, dim - i * each)));
          if (ctx.opset < 18 && dim % n !== 0) throw nodeError(ctx.label, `cannot split axis ${axis} of size ${dim} into ${n} equal parts`);
        }
        if (sizes.length !== ctx.node.outputs.length) throw nodeError(ctx.label, `split ${JSON.stringify(sizes)} gives ${sizes.length} parts for ${ctx.node.outputs.length} outputs`);
        if (sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((a, b) => a + b, 0) !== dim) {
          throw nodeError(ctx.label, `split ${JSON.stringify(sizes)} does not add up to axis ${axis} of size ${dim}`);
        }
        const outer = sizeOf(x.shape.slice(0, axis));
        const inner = sizeOf(x.shape.slice(axis + 1));
        const outShapes = sizes.map((s) => {
          const shape = x.shape.slice();
          shape[axis] = s;
          return shape;
        });
        // One outer block (a batch-1 channel split): every part is a contiguous range, a view.
        if (outer === 1) {
          let offset = 0;
          return rangeViewKernel(x, outShapes.map((shape, k) => {
            const part = { shape, offset };
            offset += sizes![k]! * inner;
            return part;
          }));
        }
        return computeKernel(outShapes.map((s) => info(x.dtype, s)), (ins, outs) => {
          const src = ins[0]!.data as Float32Array;
          const row = dim * inner;
          let offset = 0;
          for (let k = 0; k < outs.length; k++) {
            const piece = sizes![k]! * inner;
            const out = outs[k]!.data as Float32Array;
            for (let o = 0; o < outer; o++) out.set(src.subarray(o * row + offset, o * row + offset + piece), o * piece);
            offset += piece;
          }
        });
      },
    };
  },
};

/** Per-axis start, step and count of a strided selection, and the copy it describes. */
interface Selection {
  readonly outShape: number[];
  readonly starts: number[];
  readonly steps: number[];
}

/**
 * The element offset of a selection that is one contiguous range of its input (every axis before
 * the first narrowed one has extent 1, every axis after it is whole, steps 1), or null.
 */
function contiguousRange(shape: readonly number[], sel: Selection): number | null {
  const rank = shape.length;
  let first = 0;
  while (first < rank && sel.outShape[first] === shape[first] && sel.steps[first] === 1) first++;
  if (first === rank) return 0; // the whole tensor
  if (sel.steps[first] !== 1 || sel.outShape[first] === 0) return null;
  for (let a = 0; a < first; a++) if (shape[a] !== 1) return null;
  for (let a = first + 1; a < rank; a++) if (sel.outShape[a] !== shape[a] || sel.steps[a] !== 1) return null;
  return sel.starts[first]! * stridesOf(shape)[first]!;
}

function copySelection(x: ArrayLike<number>, shape: readonly number[], sel: Selection, out: { [i: number]: number; length: number }): void {
  const rank = shape.length;
  const n = out.length;
  if (n === 0) return;
  const strides = stridesOf(shape);
  if (rank === 0) {
    out[0] = x[0]!;
    return;
  }
  let base = 0;
  for (let a = 0; a < rank; a++) base += sel.starts[a]! * strides[a]!;
  const inner = sel.outShape[rank - 1]!;
  const innerStep = sel.steps[rank - 1]! * strides[rank - 1]!;
  const index = new Array<number>(rank).fill(0);
  let src = base;
  for (let o = 0; o < n; o += inner) {
    if (innerStep === 1 && inner >= 16 && ArrayBuffer.isView(x) && ArrayBuffer.isView(out)) (out as Float32Array).set((x as Float32Array).subarray(src, src + inner), o);
    else for (let k = 0, s = src; k < inner; k++, s += innerStep) out[o + k] = x[s]!;
    for (let axis = rank - 2; axis >= 0; axis--) {
      const step = sel.steps[axis]! * strides[axis]!;
      index[axis]!++;
      src += step;
      if (index[axis]! < sel.outShape[axis]!) break;
      src -= step * sel.outShape[axis]!;
      index[axis] = 0;
    }
  }
}

const slice: OpDef = {
  load(ctx) {
    const old = ctx.opset < 10;
    const attrStarts = old ? ctx.attrs.ints('starts') : null;
    const attrEnds = old ? ctx.attrs.ints('ends') : null;
    const attrAxes = old ? ctx.attrs.ints('axes') : null;
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        const rank = x.shape.length;
        const starts = attrStarts ?? constInts(inputs[1], ctx.label, 'starts');
        const ends = attrEnds ?? constInts(inputs[2], ctx.label, 'ends');
        const axes = old ? attrAxes ?? starts.map((_, i) => i) : inputs[3] !== undefined ? constInts(inputs[3], ctx.label, 'axes') : starts.map((_, i) => i);
        const steps = !old && inputs[4] !== undefined ? constInts(inputs[4], ctx.label, 'steps') : starts.map(() => 1);
        if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
          throw nodeError(ctx.label, `starts, ends, axes and steps must have one length, got ${starts.length}, ${ends.length}, ${axes.length}, ${steps.length}`);
        }
        const sel: Selection = { outShape: x.shape.slice(), starts: new Array<number>(rank).fill(0), steps: new Array<number>(rank).fill(1) };
        const seen = new Set<number>();
        for (let i = 0; i < starts.length; i++) {
          const axis = normalizeAxis(axes[i]!, rank, ctx.label);
          if (seen.has(axis)) throw nodeError(ctx.label, `axis ${axis} appears twice`);
          seen.add(axis);
          const dim = x.shape[axis]!;
          const step = steps[i]!;
          if (step === 0) throw nodeError(ctx.label, 'steps must not be 0');
          let start = starts[i]!;
          let end = ends[i]!;
          start = start < 0 ? start + dim : start;
          end = end < 0 ? end + dim : end;
          if (step > 0) {
            start = Math.min(Math.max(start, 0), dim);
            end = Math.min(Math.max(end, 0), dim);
          } else {
            start = Math.min(Math.max(start, 0), dim - 1);
            end = Math.min(Math.max(end, -1), dim - 1);
          }
          const count = step > 0 ? Math.max(0, Math.ceil((end - start) / step)) : Math.max(0, Math.ceil((start - end) / -step));
          sel.outShape[axis] = count;
          sel.starts[axis] = count === 0 ? 0 : start;
          sel.steps[axis] = step;
        }
        const range = contiguousRange(x.shape, sel);
        if (range !== null) return rangeViewKernel(x, [{ shape: sel.outShape, offset: range }]);
        return computeKernel([info(x.dtype, sel.outShape)], (ins, outs) => copySelection(ins[0]!.data, x.shape, sel, outs[0]!.data));
      },
    };
  },
};

const gather: OpDef = {
  load(ctx) {
    const axisAttr = ctx.attrs.int('axis', 0);
    return {
      specialize(inputs) {
        const [x, idx] = inputs as [Info, Info];
        if (idx.dtype !== 'int64') throw nodeError(ctx.label, `indices must be integers, got ${idx.dtype}`, 'type');
        const axis = normalizeAxis(axisAttr, x.shape.length, ctx.label);
        const dim = x.shape[axis]!;
        const outShape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
        checkDims(outShape, ctx.label, 'the output');
        const outer = sizeOf(x.shape.slice(0, axis));
        const inner = sizeOf(x.shape.slice(axis + 1));
        const count = sizeOf(idx.shape);
        return computeKernel([info(x.dtype, outShape)], (ins, outs) => {
          const src = ins[0]!.data as Float32Array;
          const ind = ins[1]!.data;
          const out = outs[0]!.data as Float32Array;
          for (let k = 0; k < count; k++) {
            const raw = ind[k]!;
            if (raw < -dim || raw >= dim) throw nodeError(ctx.label, `index ${raw} is out of range for axis ${axis} of size ${dim}`);
          }
          for (let o = 0; o < outer; o++) {
            for (let k = 0; k < count; k++) {
              const raw = ind[k]!;
              const j = raw < 0 ? raw + dim : raw;
              out.set(src.subarray((o * dim + j) * inner, (o * dim + j + 1) * inner), (o * count + k) * inner);
            }
          }
        });
      },
    };
  },
};

const expand: OpDef = {
  load(ctx) {
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        const target = constInts(inputs[1], ctx.label, 'shape');
        const outShape = broadcastShapes([x.shape, target]);
        if (outShape === null) throw nodeError(ctx.label, `cannot expand [${x.shape.join(', ')}] to ${JSON.stringify(target)}`);
        checkDims(outShape, ctx.label, 'the output');
        const strides = broadcastStrides(x.shape, outShape);
        return computeKernel([info(x.dtype, outShape)], (ins, outs) => {
          broadcastCopy(ins[0]!.data, strides, outShape, outs[0]!.data);
        });
      },
    };
  },
};

function broadcastCopy(x: ArrayLike<number>, strides: readonly number[], outShape: readonly number[], out: { [i: number]: number; length: number }): void {
  const rank = outShape.length;
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = x[src]!;
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]!++;
      src += strides[axis]!;
      if (index[axis]! < outShape[axis]!) break;
      src -= strides[axis]! * outShape[axis]!;
      index[axis] = 0;
    }
  }
}

const tile: OpDef = {
  load(ctx) {
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        const repeats = constInts(inputs[1], ctx.label, 'repeats');
        if (repeats.length !== x.shape.length || repeats.some((r) => !Number.isInteger(r) || r < 0)) {
          throw nodeError(ctx.label, `repeats ${JSON.stringify(repeats)} must be ${x.shape.length} non-negative integers`);
        }
        const outShape = x.shape.map((d, i) => d * repeats[i]!);
        checkDims(outShape, ctx.label, 'the output');
        const inStrides = stridesOf(x.shape);
        return computeKernel([info(x.dtype, outShape)], (ins, outs) => {
          const src = ins[0]!.data;
          const out = outs[0]!.data;
          const rank = outShape.length;
          const index = new Array<number>(rank).fill(0);
          for (let o = 0; o < out.length; o++) {
            let s = 0;
            for (let a = 0; a < rank; a++) s += (index[a]! % x.shape[a]!) * inStrides[a]!;
            out[o] = src[s]!;
            for (let a = rank - 1; a >= 0; a--) {
              if (++index[a]! < outShape[a]!) break;
              index[a] = 0;
            }
          }
        });
      },
    };
  },
};

const cast: OpDef = {
  load(ctx) {
    if (!ctx.attrs.has('to')) throw nodeError(ctx.label, 'needs the "to" attribute');
    const to = ctx.attrs.int('to', 0);
    const target = dtypeOf(to);
    if (target === null) throw nodeError(ctx.label, `casts to ${elemTypeName(to)}, which sepconv does not compute with`, 'type');
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        if (x.dtype === target) return viewKernel(x, x.shape);
        return computeKernel([info(target, x.shape)], (ins, outs) => {
          const src = ins[0]!.data;
          const out = outs[0]!.data;
          if (target === 'bool') for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 1 : 0;
          else if (target === 'int64') for (let i = 0; i < src.length; i++) out[i] = Number.isFinite(src[i]) ? Math.trunc(src[i]!) : 0;
          else for (let i = 0; i < src.length; i++) out[i] = src[i]!;
        });
      },
    };
  },
};

/** A Constant node's value, from whichever attribute holds it. */
export function constantValue(ctx: LoadContext): OValue {
  const a = ctx.attrs;
  const t = a.tensor('value');
  if (t !== null) return t;
  if (a.has('value_float')) return { dtype: 'float32', shape: [], data: Float32Array.of(a.float('value_float', 0)) };
  if (a.has('value_floats')) {
    const v = a.floats('value_floats')!;
    return { dtype: 'float32', shape: [v.length], data: Float32Array.from(v) };
  }
  if (a.has('value_int')) return intValue([a.int('value_int', 0)], []);
  if (a.has('value_ints')) return intValue(a.ints('value_ints')!);
  throw nodeError(ctx.label, 'has no value sepconv reads (value, value_float(s) or value_int(s); sparse and string values are not supported)', 'type');
}

const constant: OpDef = {
  load(ctx) {
    const value = constantValue(ctx);
    return { specialize: () => constantKernel([value]) };
  },
};

const constantOfShape: OpDef = {
  load(ctx) {
    const t = ctx.attrs.tensor('value');
    if (t !== null && sizeOf(t.shape) !== 1) throw nodeError(ctx.label, `value must hold one element, got shape [${t.shape.join(', ')}]`);
    const dtype: DType = t?.dtype ?? 'float32';
    const fill = t === null ? 0 : Number(t.data[0]);
    return {
      specialize(inputs) {
        const shape = constInts(inputs[0], ctx.label, 'shape');
        checkDims(shape, ctx.label, 'the shape');
        return computeKernel([info(dtype, shape)], (_, outs) => outs[0]!.data.fill(fill));
      },
    };
  },
};

const range: OpDef = {
  load(ctx) {
    return {
      specialize(inputs) {
        const [s, l, d] = inputs.map((x, i) => {
          if (x?.value === null || x === undefined) throw nodeError(ctx.label, `input ${i} must be known when the graph is specialised`);
          return Number(x.value.data[0]);
        }) as [number, number, number];
        const dtype = inputs[0]!.dtype;
        if (d === 0) throw nodeError(ctx.label, 'delta must not be 0');
        const n = Math.max(0, Math.ceil((l - s) / d));
        checkDims([n], ctx.label, 'the output');
        return computeKernel([info(dtype, [n])], (_, outs) => {
          const out = outs[0]!.data;
          for (let i = 0; i < n; i++) out[i] = s + i * d;
        });
      },
    };
  },
};

/** DepthToSpace (DCR or CRD) and SpaceToDepth: a 6-D view of the input, permuted. */
function blockRearrange(depthToSpace: boolean): OpDef {
  return {
    load(ctx) {
      const b = ctx.attrs.int('blocksize', 0);
      if (!Number.isInteger(b) || b < 1 || b > 1 << 16) throw nodeError(ctx.label, `blocksize must be a positive integer, got ${b}`);
      const mode = depthToSpace ? ctx.attrs.stringIn('mode', 'DCR', ['DCR', 'CRD'] as const) : 'DCR';
      return {
        specialize(inputs) {
          const x = inputs[0]!;
          if (x.shape.length !== 4) throw nodeError(ctx.label, `input must be 4-D [N, C, H, W], got [${x.shape.join(', ')}]`);
          const [n, c, h, w] = x.shape as [number, number, number, number];
          let view: number[];
          let perm: number[];
          let outShape: number[];
          if (depthToSpace) {
            if (c % (b * b) !== 0) throw nodeError(ctx.label, `channels ${c} are not divisible by blocksize² = ${b * b}`);
            const d = c / (b * b);
            outShape = [n, d, h * b, w * b];
            [view, perm] = mode === 'DCR' ? [[n, b, b, d, h, w], [0, 3, 4, 1, 5, 2]] : [[n, d, b, b, h, w], [0, 1, 4, 2, 5, 3]];
          } else {
            if (h % b !== 0 || w % b !== 0) throw nodeError(ctx.label, `height ${h} and width ${w} must be divisible by blocksize ${b}`);
            outShape = [n, c * b * b, h / b, w / b];
            view = [n, c, h / b, b, w / b, b];
            perm = [0, 3, 5, 1, 2, 4];
          }
          return computeKernel([info(x.dtype, outShape)], (ins, outs) => transposeInto(ins[0]!.data, view, perm, outs[0]!.data));
        },
      };
    },
  };
}

export const SHAPE_OPS: Record<string, OpDef> = {
  DepthToSpace: blockRearrange(true),
  SpaceToDepth: blockRearrange(false),
  Shape: shapeOp,
  Size: sizeOp,
  Reshape: reshape,
  Flatten: flatten,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Identity: identity,
  Dropout: dropout,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  Expand: expand,
  Tile: tile,
  Cast: cast,
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Range: range,
};

