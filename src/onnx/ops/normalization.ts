/**
 * BatchNormalization in inference: y = (x − mean)·scale/√(var + ε) + bias per channel (axis 1),
 * from constant statistics. After a Conv it is folded into the convolution's weights at load
 * (fuse.ts); elsewhere it runs as this per-channel affine map, in place when it can.
 */
import { computeKernel, info, nodeError, type LoadContext, type OpDef } from './op.js';

/** The per-channel affine map of a BatchNormalization node: y = x·scale + shift (float64). */
export function batchNormAffine(ctx: Pick<LoadContext, 'label' | 'constant' | 'attrs' | 'opset' | 'node'>): { scale: Float64Array; shift: Float64Array } {
  const epsilon = ctx.attrs.float('epsilon', 1e-5);
  if (ctx.attrs.int('training_mode', 0) !== 0) throw nodeError(ctx.label, 'training_mode is set; sepconv runs BatchNormalization in inference only');
  if (ctx.opset < 9 && ctx.attrs.int('spatial', 1) !== 1) throw nodeError(ctx.label, 'spatial = 0 is not supported');
  const names = ['scale', 'B', 'input_mean', 'input_var'];
  const values = names.map((name, k) => {
    const v = ctx.constant(k + 1);
    if (v === null) throw nodeError(ctx.label, `${name} must be a constant (inference statistics)`, 'type');
    if (v.dtype !== 'float32') throw nodeError(ctx.label, `${name} must be float, got ${v.dtype}`, 'type');
    return v.data as Float32Array;
  });
  const channels = values[0]!.length;
  if (values.some((v) => v.length !== channels)) throw nodeError(ctx.label, `scale, B, mean and var must have one length, got ${values.map((v) => v.length).join(', ')}`);
  if (ctx.node.outputs.filter((o) => o !== '').length > 1) throw nodeError(ctx.label, 'the training outputs (running mean/var) are not supported');
  const [gamma, beta, mean, variance] = values as [Float32Array, Float32Array, Float32Array, Float32Array];
  const scale = new Float64Array(channels);
  const shift = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    scale[c] = gamma[c]! / Math.sqrt(variance[c]! + epsilon);
    shift[c] = beta[c]! - mean[c]! * scale[c]!;
  }
  return { scale, shift };
}

const batchNorm: OpDef = {
  load(ctx) {
    const { scale, shift } = batchNormAffine(ctx);
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        if (x.dtype !== 'float32') throw nodeError(ctx.label, `input must be float, got ${x.dtype}`, 'type');
        if (x.shape.length < 2 || x.shape[1] !== scale.length) {
          throw nodeError(ctx.label, `input must be [N, ${scale.length}, ...], got [${x.shape.join(', ')}]`);
        }
        const batch = x.shape[0]!;
        const channels = scale.length;
        const inner = x.shape.slice(2).reduce((a, b) => a * b, 1);
        return computeKernel([info('float32', x.shape)], (ins, outs) => {
          const src = ins[0]!.data as Float32Array;
          const out = outs[0]!.data as Float32Array;
          for (let n = 0; n < batch; n++) {
            for (let c = 0; c < channels; c++) {
              const s = scale[c]!;
              const b = shift[c]!;
              const base = (n * channels + c) * inner;
              for (let i = base; i < base + inner; i++) out[i] = src[i]! * s + b;
            }
          }
        }, true);
      },
    };
  },
};

/** A constant float input of `length` values (Scale, B), or the `fill` when omitted. */
function floatInput(ctx: LoadContext, i: number, what: string, required: boolean): Float32Array | null {
  if (!ctx.has(i)) {
    if (required) throw nodeError(ctx.label, `needs the ${what} input`);
    return null;
  }
  const v = ctx.constant(i);
  if (v === null || v.dtype !== 'float32') throw nodeError(ctx.label, `${what} must be a float constant`, 'type');
  return v.data;
}

/** InstanceNormalization: per (image, channel) plane, (x − mean)/√(var + ε)·scale[c] + B[c]. */
const instanceNorm: OpDef = {
  load(ctx) {
    const epsilon = ctx.attrs.float('epsilon', 1e-5);
    const scale = floatInput(ctx, 1, 'scale', true)!;
    const bias = floatInput(ctx, 2, 'B', true)!;
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        if (x.dtype !== 'float32') throw nodeError(ctx.label, `input must be float, got ${x.dtype}`, 'type');
        if (x.shape.length < 3 || x.shape[1] !== scale.length || bias.length !== scale.length) {
          throw nodeError(ctx.label, `input must be [N, ${scale.length}, ...] with scale and B of ${scale.length} values, got [${x.shape.join(', ')}]`);
        }
        const channels = scale.length;
        const planes = x.shape[0]! * channels;
        const size = x.shape.slice(2).reduce((a, b) => a * b, 1);
        return computeKernel([info('float32', x.shape)], (ins, outs) => {
          normalizeRows(ins[0]!.data as Float32Array, outs[0]!.data as Float32Array, planes, size, epsilon, (p) => scale[p % channels]!, (p) => bias[p % channels]!, null, null);
        }, true);
      },
    };
  },
};

/**
 * Normalises `rows` rows of `size` values: (x − mean)/√(var + ε), then per row (`rowScale`,
 * `rowBias`) or per position in the row (`scale`, `bias`). Two passes in float64.
 */
function normalizeRows(
  x: Float32Array, y: Float32Array, rows: number, size: number, epsilon: number,
  rowScale: ((row: number) => number) | null, rowBias: ((row: number) => number) | null,
  scale: Float32Array | null, bias: Float32Array | null,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * size;
    let mean = 0;
    for (let i = 0; i < size; i++) mean += x[base + i]!;
    mean /= size;
    let variance = 0;
    for (let i = 0; i < size; i++) {
      const d = x[base + i]! - mean;
      variance += d * d;
    }
    const inv = 1 / Math.sqrt(variance / size + epsilon);
    const rs = rowScale === null ? 1 : rowScale(r);
    const rb = rowBias === null ? 0 : rowBias(r);
    for (let i = 0; i < size; i++) {
      const n = (x[base + i]! - mean) * inv;
      y[base + i] = scale === null ? n * rs + rb : n * scale[i % scale.length]! + (bias === null ? 0 : bias[i % bias.length]!);
    }
  }
}

/** LayerNormalization (opset 17): over the axes from `axis` on, with Scale and optional B broadcast over them. */
const layerNorm: OpDef = {
  load(ctx) {
    const epsilon = ctx.attrs.float('epsilon', 1e-5);
    const axisAttr = ctx.attrs.int('axis', -1);
    if (ctx.attrs.int('stash_type', 1) !== 1) throw nodeError(ctx.label, 'stash_type other than float32 is not supported');
    if (ctx.node.outputs.slice(1).some((o) => o !== '')) throw nodeError(ctx.label, 'the Mean and InvStdDev outputs are not supported');
    const scale = floatInput(ctx, 1, 'Scale', true)!;
    const bias = floatInput(ctx, 2, 'B', false);
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        if (x.dtype !== 'float32') throw nodeError(ctx.label, `input must be float, got ${x.dtype}`, 'type');
        const rank = x.shape.length;
        const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
        if (axis < 0 || axis >= rank) throw nodeError(ctx.label, `axis ${axisAttr} is out of range for rank ${rank}`);
        const size = x.shape.slice(axis).reduce((a, b) => a * b, 1);
        const rows = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
        // Scale and B broadcast to the normalised axes: a suffix of them (a whole number of repeats).
        for (const [name, v] of [['Scale', scale], ['B', bias]] as const) {
          if (v !== null && (v.length === 0 || size % v.length !== 0)) throw nodeError(ctx.label, `${name} of ${v.length} values does not broadcast over the normalised ${size}`);
        }
        return computeKernel([info('float32', x.shape)], (ins, outs) => {
          normalizeRows(ins[0]!.data as Float32Array, outs[0]!.data as Float32Array, rows, size, epsilon, null, null, scale, bias);
        }, true);
      },
    };
  },
};

export const NORMALIZATION_OPS: Record<string, OpDef> = { BatchNormalization: batchNorm, InstanceNormalization: instanceNorm, LayerNormalization: layerNorm };
