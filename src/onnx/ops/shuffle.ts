/**
 * ShuffleNet's channel shuffle after its concat, as PyTorch exports it:
 * Concat(a₁…a_g, axis 1) → Reshape [N, g, C/g, H, W] → Transpose [0, 2, 1, 3, 4] → Reshape.
 * fuse.ts replaces the four nodes by one `ConcatShuffle` (internal domain) that writes each
 * input plane straight to its shuffled place: one pass instead of a concat copy and a transpose
 * copy. When the shapes met at specialisation are not that pattern (a reshape that regroups
 * differently), the node runs the four original operators instead.
 */
import type { AttributeValue, NodeProto } from '../proto.js';
import { sizeOf, type OValue } from '../values.js';
import { SHAPE_OPS } from './shape.js';
import { Attributes, computeKernel, constInts, info, nodeError, planned, type Info, type Kernel, type LoadContext, type OpDef, type SpecializeEnv } from './op.js';

/** Resolves a Reshape target (0 copies, −1 infers; allowzero 0) against `shape`, or null. */
function resolveReshape(shape: readonly number[], target: readonly number[]): number[] | null {
  let inferred = -1;
  const out = target.map((d, i) => {
    if (d === 0) return shape[i] ?? -2;
    if (d === -1) {
      inferred = inferred === -1 ? i : -3;
      return 1;
    }
    return d;
  });
  if (inferred === -3 || out.some((d) => d < 0)) return null;
  const size = sizeOf(shape);
  if (inferred >= 0) {
    const known = sizeOf(out);
    if (known === 0 || size % known !== 0) return null;
    out[inferred] = size / known;
  }
  return sizeOf(out) === size ? out : null;
}

function context(base: LoadContext, opType: string, attributes: [string, AttributeValue][]): LoadContext {
  const node: NodeProto = { ...base.node, opType, attributes: new Map(attributes) };
  return { ...base, node, label: base.label.replace(/^ConcatShuffle/, opType), attrs: new Attributes(node.attributes, base.label) };
}

/** The four original operators one after another (the shapes did not fit the fused pattern). */
function unfused(ctx: LoadContext, parts: readonly Info[], shape1: Info, shape2: Info, env: SpecializeEnv): Kernel {
  const concat = SHAPE_OPS.Concat!.load(context(ctx, 'Concat', [['axis', { type: 'int', value: 1 }]])).specialize(parts, env);
  const reshape1 = SHAPE_OPS.Reshape!.load(context(ctx, 'Reshape', [])).specialize([concat.outputs[0]!, shape1], env);
  const transpose = SHAPE_OPS.Transpose!.load(context(ctx, 'Transpose', [['perm', { type: 'ints', value: [0, 2, 1, 3, 4] }]])).specialize([reshape1.outputs[0]!], env);
  const reshape2 = SHAPE_OPS.Reshape!.load(context(ctx, 'Reshape', [])).specialize([transpose.outputs[0]!, shape2], env);
  const chain = [concat, reshape1, transpose, reshape2];
  const extra = (k: number, v: OValue): OValue[] => (k === 1 ? [v, shape1.value!] : k === 3 ? [v, shape2.value!] : [v]);
  return {
    outputs: reshape2.outputs,
    run(ins) {
      let v = concat.run(ins.slice(0, parts.length))[0]!;
      for (let k = 1; k < 4; k++) v = chain[k]!.run(extra(k, v))[0]!;
      return [v];
    },
    plan(mayOverwrite) {
      const steps = chain.map((kernel, k) => kernel.plan(k === 0 ? mayOverwrite.slice(0, parts.length) : [false]));
      return planned((ins) => {
        let v = steps[0]!(ins.slice(0, parts.length))[0]!;
        for (let k = 1; k < 4; k++) v = steps[k]!(extra(k, v))[0]!;
        return [v];
      }, [null]);
    },
  };
}

const concatShuffle: OpDef = {
  load(ctx) {
    const groups = ctx.node.inputs.length - 2;
    return {
      specialize(inputs, env) {
        const parts = inputs.slice(0, groups);
        const shape1 = inputs[groups]!;
        const shape2 = inputs[groups + 1]!;
        const t1 = constInts(shape1, ctx.label, 'first reshape shape');
        const t2 = constInts(shape2, ctx.label, 'second reshape shape');
        const first = parts[0]!;
        const fits = parts.every((p) => p.dtype === 'float32' && p.shape.length === 4 && p.shape.every((d, i) => i === 1 || d === first.shape[i]) && p.shape[1] === first.shape[1]);
        if (!fits) return unfused(ctx, parts, shape1, shape2, env);
        const [n, c, h, w] = first.shape as [number, number, number, number];
        const grouped = resolveReshape([n, groups * c, h, w], t1);
        if (grouped === null || grouped.length !== 5 || grouped[0] !== n || grouped[1] !== groups || grouped[2] !== c || grouped[3] !== h || grouped[4] !== w) {
          return unfused(ctx, parts, shape1, shape2, env);
        }
        const outShape = resolveReshape([n, c, groups, h, w], t2);
        if (outShape === null) throw nodeError(ctx.label, `cannot reshape the shuffled [${n}, ${c}, ${groups}, ${h}, ${w}] to ${JSON.stringify(t2)}`);
        const plane = h * w;
        return computeKernel([info('float32', outShape)], (ins, outs) => {
          const out = outs[0]!.data as Float32Array;
          for (let g = 0; g < groups; g++) {
            const src = ins[g]!.data as Float32Array;
            for (let b = 0; b < n; b++) {
              for (let j = 0; j < c; j++) {
                const from = (b * c + j) * plane;
                const to = ((b * c + j) * groups + g) * plane;
                if (plane >= 16) out.set(src.subarray(from, from + plane), to);
                else for (let k = 0; k < plane; k++) out[to + k] = src[from + k]!;
              }
            }
          }
        });
      },
    };
  },
};

export const INTERNAL_SHUFFLE_OPS: Record<string, OpDef> = { ConcatShuffle: concatShuffle };
