/**
 * Pad: constant, reflect (edge not repeated), edge and wrap modes, pads as the attribute (before
 * opset 11) or an input (from 11, with the optional constant value and, from 18, axes). Negative
 * pads crop. Every output index along each axis maps to an input index (or −1: the constant),
 * computed once per shape.
 */
import { stridesOf } from '../values.js';
import { computeKernel, constInts, info, nodeError, normalizeAxis, type OpDef } from './op.js';

type PadMode = 'constant' | 'reflect' | 'edge' | 'wrap';

function sourceIndex(mode: PadMode, i: number, size: number): number {
  if (i >= 0 && i < size) return i;
  if (mode === 'constant') return -1;
  if (mode === 'edge') return i < 0 ? 0 : size - 1;
  if (mode === 'wrap') return ((i % size) + size) % size;
  if (size === 1) return 0;
  const period = 2 * (size - 1);
  let j = ((i % period) + period) % period;
  if (j >= size) j = period - j;
  return j;
}

const pad: OpDef = {
  load(ctx) {
    const mode = ctx.attrs.stringIn('mode', 'constant', ['constant', 'reflect', 'edge', 'wrap'] as const);
    const attrPads = ctx.opset < 11 ? ctx.attrs.ints(ctx.opset < 2 ? 'paddings' : 'pads') : null;
    const attrValue = ctx.attrs.float('value', 0);
    return {
      specialize(inputs) {
        const x = inputs[0]!;
        const rank = x.shape.length;
        if (rank === 0) throw nodeError(ctx.label, 'cannot pad a scalar');
        let pads = attrPads ?? constInts(inputs[1], ctx.label, 'pads');
        let value = attrValue;
        if (ctx.opset >= 11 && inputs[2] !== undefined) {
          if (inputs[2].value === null) throw nodeError(ctx.label, 'constant_value must be known when the graph is specialised');
          value = Number(inputs[2].value.data[0] ?? 0);
        }
        if (ctx.opset >= 18 && inputs[3] !== undefined) {
          const axes = constInts(inputs[3], ctx.label, 'axes').map((a) => normalizeAxis(a, rank, ctx.label));
          if (pads.length !== 2 * axes.length) throw nodeError(ctx.label, `pads has ${pads.length} values for ${axes.length} axes`);
          const full = new Array<number>(2 * rank).fill(0);
          axes.forEach((a, k) => {
            full[a] = pads[k]!;
            full[rank + a] = pads[axes.length + k]!;
          });
          pads = full;
        }
        if (pads.length !== 2 * rank) throw nodeError(ctx.label, `pads must have ${2 * rank} values for a ${rank}-D input, got ${pads.length}`);
        const outShape = x.shape.map((d, a) => d + pads[a]! + pads[rank + a]!);
        if (outShape.some((d) => !Number.isInteger(d) || d < 0 || d > 1 << 24)) throw nodeError(ctx.label, `pads ${JSON.stringify(pads)} give an invalid output shape [${outShape.join(', ')}]`);
        for (let a = 0; a < rank; a++) {
          const d = x.shape[a]!;
          if (mode === 'reflect' && (pads[a]! >= d || pads[rank + a]! >= d) && d > 1) {
            throw nodeError(ctx.label, `reflect padding ${pads[a]}/${pads[rank + a]} of axis ${a} must be smaller than its size ${d}`);
          }
          if (mode !== 'constant' && d === 0 && outShape[a]! > 0) throw nodeError(ctx.label, `cannot ${mode}-pad the empty axis ${a}`);
        }
        const maps = outShape.map((n, a) => Int32Array.from({ length: n }, (_, o) => sourceIndex(mode, o - pads[a]!, x.shape[a]!)));
        const strides = stridesOf(x.shape);
        return computeKernel([info(x.dtype, outShape)], (ins, outs) => {
          const src = ins[0]!.data;
          const out = outs[0]!.data;
          const n = out.length;
          if (n === 0) return;
          const inner = outShape[rank - 1]!;
          const last = maps[rank - 1]!;
          const index = new Array<number>(rank).fill(0);
          for (let o = 0; o < n; o += inner) {
            // The source row offset, or −1 when a leading axis is in the constant padding.
            let base = 0;
            for (let a = 0; a < rank - 1; a++) {
              const s = maps[a]![index[a]!]!;
              if (s < 0) {
                base = -1;
                break;
              }
              base += s * strides[a]!;
            }
            if (base < 0) out.fill(value, o, o + inner);
            else for (let k = 0; k < inner; k++) {
              const s = last[k]!;
              out[o + k] = s < 0 ? value : src[base + s]!;
            }
            for (let a = rank - 2; a >= 0; a--) {
              if (++index[a]! < outShape[a]!) break;
              index[a] = 0;
            }
          }
        });
      },
    };
  },
};

export const PAD_OPS: Record<string, OpDef> = { Pad: pad };
