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

export const NORMALIZATION_OPS: Record<string, OpDef> = { BatchNormalization: batchNorm };
