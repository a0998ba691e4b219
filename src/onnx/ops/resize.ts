/**
 * Resize (opsets 10–19) and Upsample (7–9) over the last two axes (or the last one of a 3-D
 * input): nearest (round_prefer_floor, round_prefer_ceil, floor, ceil), linear and cubic, with
 * the coordinate modes half_pixel, pytorch_half_pixel, align_corners, asymmetric and
 * tf_half_pixel_for_nn, sizes or scales. Each output coordinate's taps (input indices and
 * weights) are computed once per shape; an output value is the separable sum over them, rows
 * first, in float64.
 */
import { sizeOf } from '../values.js';
import { computeKernel, constFloats, constInts, info, nodeError, type Info, type OpDef } from './op.js';

type CoordinateMode = 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric' | 'tf_half_pixel_for_nn';
type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';
type Mode = 'nearest' | 'linear' | 'cubic';

export interface ResizeSpec {
  readonly mode: Mode;
  readonly coordinate: CoordinateMode;
  readonly nearest: NearestMode;
  readonly cubicA: number;
  readonly excludeOutside: boolean;
}

/** Taps of one axis: for output index o, `count` input indices and weights at o·count. */
interface AxisTaps {
  readonly count: number;
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

function sourceCoordinate(spec: ResizeSpec, x: number, scale: number, inSize: number, outSize: number): number {
  switch (spec.coordinate) {
    case 'half_pixel': return (x + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel': return outSize > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case 'align_corners': return outSize === 1 ? 0 : (x * (inSize - 1)) / (outSize - 1);
    case 'asymmetric': return x / scale;
    default: return (x + 0.5) / scale;
  }
}

function roundNearest(mode: NearestMode, x: number): number {
  switch (mode) {
    case 'floor': return Math.floor(x);
    case 'ceil': return Math.ceil(x);
    case 'round_prefer_ceil': return Math.round(x);
    default: return x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x);
  }
}

function cubicWeights(t: number, a: number): [number, number, number, number] {
  const w = (d: number): number => {
    const x = Math.abs(d);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
  };
  return [w(t + 1), w(t), w(1 - t), w(2 - t)];
}

export function axisTaps(spec: ResizeSpec, inSize: number, outSize: number, scale: number): AxisTaps {
  const count = spec.mode === 'nearest' ? 1 : spec.mode === 'linear' ? 2 : 4;
  const index = new Int32Array(outSize * count);
  const weight = new Float64Array(outSize * count);
  for (let o = 0; o < outSize; o++) {
    const x = sourceCoordinate(spec, o, scale, inSize, outSize);
    const at = o * count;
    if (spec.mode === 'nearest') {
      index[at] = Math.min(inSize - 1, Math.max(0, roundNearest(spec.nearest, x)));
      weight[at] = 1;
    } else if (spec.mode === 'linear') {
      const c = Math.min(inSize - 1, Math.max(0, x));
      const i0 = Math.floor(c);
      const i1 = Math.min(i0 + 1, inSize - 1);
      index[at] = i0;
      index[at + 1] = i1;
      weight[at] = 1 - (c - i0);
      weight[at + 1] = c - i0;
    } else {
      const i0 = Math.floor(x);
      const ws = cubicWeights(x - i0, spec.cubicA);
      let total = 0;
      for (let k = 0; k < 4; k++) {
        const i = i0 - 1 + k;
        const outside = i < 0 || i >= inSize;
        const w = spec.excludeOutside && outside ? 0 : ws[k]!;
        index[at + k] = Math.min(inSize - 1, Math.max(0, i));
        weight[at + k] = w;
        total += w;
      }
      if (spec.excludeOutside && total !== 0) for (let k = 0; k < 4; k++) weight[at + k] = weight[at + k]! / total;
    }
  }
  return { count, index, weight };
}

/** Resizes every plane of `x` (`planes` planes of inH×inW) into `out` with the given taps. */
function resizePlanes(x: Float32Array, planes: number, inH: number, inW: number, rows: AxisTaps, cols: AxisTaps, out: Float32Array, temp: Float64Array): void {
  const outH = rows.index.length / rows.count;
  const outW = cols.index.length / cols.count;
  for (let p = 0; p < planes; p++) {
    const src = p * inH * inW;
    // Columns first, into temp [inH, outW].
    for (let r = 0; r < inH; r++) {
      const rowBase = src + r * inW;
      for (let c = 0; c < outW; c++) {
        let s = 0;
        for (let k = 0; k < cols.count; k++) s += cols.weight[c * cols.count + k]! * x[rowBase + cols.index[c * cols.count + k]!]!;
        temp[r * outW + c] = s;
      }
    }
    const dst = p * outH * outW;
    for (let r = 0; r < outH; r++) {
      for (let c = 0; c < outW; c++) {
        let s = 0;
        for (let k = 0; k < rows.count; k++) s += rows.weight[r * rows.count + k]! * temp[rows.index[r * rows.count + k]! * outW + c]!;
        out[dst + r * outW + c] = s;
      }
    }
  }
}

/** The kernel for one input shape: output sizes from `sizes` or `scales` (per axis). */
function resizeKernel(label: string, spec: ResizeSpec, x: Info, scales: number[] | null, sizes: number[] | null) {
  const rank = x.shape.length;
  if (x.dtype !== 'float32') throw nodeError(label, `input must be float, got ${x.dtype}`, 'type');
  if (rank < 3) throw nodeError(label, `input must be at least 3-D ([N, C, ..., W]), got [${x.shape.join(', ')}]`);
  const given = sizes ?? scales;
  if (given === null) throw nodeError(label, 'needs scales or sizes');
  if (given.length !== rank) throw nodeError(label, `${sizes !== null ? 'sizes' : 'scales'} has ${given.length} values for a ${rank}-D input`);
  const outShape = x.shape.map((d, i) => (sizes !== null ? sizes[i]! : Math.floor(d * scales![i]!)));
  const scaleOf = (i: number): number => (sizes !== null ? sizes[i]! / x.shape[i]! : scales![i]!);
  const spatial = rank === 3 ? 1 : 2;
  for (let i = 0; i < rank - spatial; i++) {
    if (outShape[i] !== x.shape[i]) throw nodeError(label, `resizes axis ${i} (${x.shape[i]} → ${outShape[i]}); only the last ${spatial === 1 ? 'axis' : 'two axes'} may be resized`);
  }
  for (let i = rank - spatial; i < rank; i++) {
    if (!Number.isInteger(outShape[i]) || outShape[i]! < 1 || outShape[i]! > 1 << 20) throw nodeError(label, `output size ${outShape[i]} of axis ${i} is invalid`);
    if (!(scaleOf(i) > 0)) throw nodeError(label, `scale ${scaleOf(i)} of axis ${i} must be positive`);
  }
  const inH = spatial === 1 ? 1 : x.shape[rank - 2]!;
  const inW = x.shape[rank - 1]!;
  const outH = spatial === 1 ? 1 : outShape[rank - 2]!;
  const outW = outShape[rank - 1]!;
  const rows = spatial === 1 ? axisTaps({ ...spec, mode: 'nearest' }, 1, 1, 1) : axisTaps(spec, inH, outH, scaleOf(rank - 2));
  const cols = axisTaps(spec, inW, outW, scaleOf(rank - 1));
  const planes = sizeOf(x.shape.slice(0, rank - spatial));
  const temp = new Float64Array(inH * outW);
  return computeKernel([info('float32', outShape)], (ins, outs) => {
    resizePlanes(ins[0]!.data as Float32Array, planes, inH, inW, rows, cols, outs[0]!.data as Float32Array, temp);
  });
}

const resize: OpDef = {
  load(ctx) {
    const a = ctx.attrs;
    const opset10 = ctx.opset < 11;
    const mode = a.stringIn('mode', 'nearest', ['nearest', 'linear', 'cubic', 'bilinear', 'bicubic'] as const);
    const spec: ResizeSpec = {
      mode: mode === 'bilinear' ? 'linear' : mode === 'bicubic' ? 'cubic' : mode,
      coordinate: opset10 ? 'asymmetric'
        : a.stringIn('coordinate_transformation_mode', 'half_pixel', ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn', 'tf_crop_and_resize', 'half_pixel_symmetric'] as const) as CoordinateMode,
      nearest: opset10 ? 'floor' : a.stringIn('nearest_mode', 'round_prefer_floor', ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] as const),
      cubicA: a.float('cubic_coeff_a', -0.75),
      excludeOutside: a.int('exclude_outside', 0) === 1,
    };
    if ((spec.coordinate as string) === 'tf_crop_and_resize' || (spec.coordinate as string) === 'half_pixel_symmetric') {
      throw nodeError(ctx.label, `coordinate_transformation_mode ${JSON.stringify(spec.coordinate)} is not supported`);
    }
    if (a.int('antialias', 0) !== 0) throw nodeError(ctx.label, 'antialias is not supported');
    if (a.has('axes')) throw nodeError(ctx.label, 'the axes attribute (opset 18) is not supported');
    if (a.string('keep_aspect_ratio_policy', 'stretch') !== 'stretch') throw nodeError(ctx.label, 'keep_aspect_ratio_policy other than "stretch" is not supported');
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        if (opset10) return resizeKernel(ctx.label, spec, x, constFloats(inputs[1], ctx.label, 'scales'), null);
        const scalesInput = inputs[2];
        const sizesInput = inputs[3];
        const scales = scalesInput !== undefined && scalesInput.shape[0] !== 0 ? constFloats(scalesInput, ctx.label, 'scales') : null;
        const sizes = sizesInput !== undefined && sizesInput.shape[0] !== 0 ? constInts(sizesInput, ctx.label, 'sizes') : null;
        if (scales !== null && sizes !== null) throw nodeError(ctx.label, 'has both scales and sizes; exactly one must be given');
        return resizeKernel(ctx.label, spec, x, scales, sizes);
      },
    };
  },
};

const upsample: OpDef = {
  load(ctx) {
    const mode = ctx.attrs.stringIn('mode', 'nearest', ['nearest', 'linear', 'bilinear'] as const);
    const spec: ResizeSpec = { mode: mode === 'nearest' ? 'nearest' : 'linear', coordinate: 'asymmetric', nearest: 'floor', cubicA: -0.75, excludeOutside: false };
    const attrScales = ctx.opset < 9 ? ctx.attrs.floats('scales') : null;
    return {
      specialize(inputs) {
        return resizeKernel(ctx.label, spec, inputs[0]!, attrScales ?? constFloats(inputs[1], ctx.label, 'scales'), null);
      },
    };
  },
};

export const RESIZE_OPS: Record<string, OpDef> = { Resize: resize, Upsample: upsample };
