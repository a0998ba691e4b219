/**
 * Pooling: MaxPool and AveragePool run on sepconv's `MaxPool2d` / `AvgPool2d` layers (explicit
 * per-side padding, ceil mode with PyTorch's rule that the last window starts inside the input,
 * AveragePool's count_include_pad); GlobalAveragePool and GlobalMaxPool reduce each plane.
 */
import { AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d, planeSum } from '../../layers/pooling.js';
import type { Module } from '../../layers/module.js';
import type { Tensor } from '../../tensor.js';
import type { OValue } from '../values.js';
import { computeKernel, info, nodeError, planned, tensorWrapper, wrapper, type Kernel, type LoadContext, type OpDef } from './op.js';

interface PoolAttributes {
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly dilation: [number, number];
  readonly autoPad: string;
  readonly pads: [number, number, number, number];
  readonly ceil: boolean;
  readonly spatial: 1 | 2;
}

function poolAttributes(ctx: LoadContext): PoolAttributes {
  const a = ctx.attrs;
  const kernelShape = a.ints('kernel_shape');
  if (kernelShape === null) throw nodeError(ctx.label, 'needs the kernel_shape attribute');
  const spatial = kernelShape.length;
  if (spatial !== 1 && spatial !== 2) throw nodeError(ctx.label, `only 1-D and 2-D pooling is supported, got kernel_shape ${JSON.stringify(kernelShape)}`);
  const pair = (name: string, values: number[] | null, fallback: number, min: number): [number, number] => {
    const v = values ?? new Array<number>(spatial).fill(fallback);
    if (v.length !== spatial || v.some((x) => !Number.isInteger(x) || x < min || x > 1 << 20)) {
      throw nodeError(ctx.label, `attribute ${JSON.stringify(name)} must be ${spatial} integers ≥ ${min}, got ${JSON.stringify(v)}`);
    }
    return spatial === 1 ? [1, v[0]!] : [v[0]!, v[1]!];
  };
  const padsAttr = a.ints('pads');
  if (padsAttr !== null && (padsAttr.length !== 2 * spatial || padsAttr.some((p) => !Number.isInteger(p) || p < 0 || p > 1 << 20))) {
    throw nodeError(ctx.label, `attribute "pads" must be ${2 * spatial} non-negative integers, got ${JSON.stringify(padsAttr)}`);
  }
  const p = padsAttr ?? new Array<number>(2 * spatial).fill(0);
  if (ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== '') throw nodeError(ctx.label, 'the Indices output of MaxPool is not supported');
  return {
    kernel: pair('kernel_shape', kernelShape, 1, 1),
    stride: pair('strides', a.ints('strides'), 1, 1),
    dilation: pair('dilations', a.ints('dilations'), 1, 1),
    autoPad: a.stringIn('auto_pad', 'NOTSET', ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID']),
    pads: spatial === 1 ? [0, p[0]!, 0, p[1]!] : [p[0]!, p[1]!, p[2]!, p[3]!],
    ceil: a.int('ceil_mode', 0) === 1,
    spatial,
  };
}

/** 2-D pooling whose padding does not depend on the input size (its module can describe it). */
function fixedPadding(at: PoolAttributes): boolean {
  return at.spatial === 2 && (at.autoPad === 'NOTSET' || at.autoPad === 'VALID');
}

/** The sepconv pooling module describing a node in summaries, or none when its options do not fit one. */
function describe(build: () => Module): Module | undefined {
  try {
    return build();
  } catch {
    return undefined;
  }
}

function paddingFor(at: PoolAttributes, h: number, w: number): { top: number; bottom: number; left: number; right: number } {
  if (at.autoPad === 'VALID') return { top: 0, bottom: 0, left: 0, right: 0 };
  if (at.autoPad === 'NOTSET') return { top: at.pads[0], left: at.pads[1], bottom: at.pads[2], right: at.pads[3] };
  const side = (size: number, axis: 0 | 1): [number, number] => {
    const out = Math.ceil(size / at.stride[axis]);
    const total = Math.max(0, (out - 1) * at.stride[axis] + at.dilation[axis] * (at.kernel[axis] - 1) + 1 - size);
    const small = Math.floor(total / 2);
    return at.autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
  };
  const [top, bottom] = side(h, 0);
  const [left, right] = side(w, 1);
  return { top, bottom, left, right };
}

/** A kernel running a pooling layer on a 4-D view of the input. */
function layerKernel(layer: Module, label: string, shape: readonly number[], spatial: 1 | 2): Kernel {
  const shape4 = spatial === 1 ? [shape[0]!, shape[1]!, 1, shape[2]!] : shape.slice();
  let out4: number[];
  try {
    out4 = layer.outputShape(shape4);
  } catch (error) {
    throw nodeError(label, (error as Error).message);
  }
  const outShape = spatial === 1 ? [out4[0]!, out4[1]!, out4[3]!] : out4;
  const view = (data: Float32Array): Tensor => ({ shape: shape4, data });
  return {
    outputs: [info('float32', outShape)],
    run: (ins) => [{ dtype: 'float32', shape: outShape, data: layer.forward(view(ins[0]!.data as Float32Array)).data }],
    plan() {
      const step = layer.plan(shape4);
      const out = typeof step.output === 'object' && step.output !== null ? step.output.data : null;
      const input = tensorWrapper(shape4);
      const output = wrapper('float32', outShape);
      const result: OValue[] = [];
      return planned((ins) => {
        result[0] = output(step.run(input(ins[0]!.data as Float32Array)).data);
        return result;
      }, [out]);
    },
  };
}

function checkInput(label: string, dtype: string, shape: readonly number[], rank: number): void {
  if (dtype !== 'float32') throw nodeError(label, `input must be float, got ${dtype}`, 'type');
  if (shape.length !== rank) throw nodeError(label, `input must be ${rank}-D, got shape [${shape.join(', ')}]`);
}

const maxPool: OpDef = {
  load(ctx) {
    const at = poolAttributes(ctx);
    if (ctx.attrs.int('storage_order', 0) !== 0) throw nodeError(ctx.label, 'storage_order 1 is not supported');
    const describedBy = fixedPadding(at) ? describe(() => new MaxPool2d({ kernelSize: at.kernel, stride: at.stride, dilation: at.dilation, padding: paddingFor(at, 0, 0), ceilMode: at.ceil })) : undefined;
    return {
      ...(describedBy === undefined ? {} : { describedBy }),
      specialize(inputs) {
        const x = inputs[0]!;
        checkInput(ctx.label, x.dtype, x.shape, at.spatial + 2);
        const h = at.spatial === 1 ? 1 : x.shape[2]!;
        const w = x.shape[x.shape.length - 1]!;
        let layer: MaxPool2d;
        try {
          layer = new MaxPool2d({ kernelSize: at.kernel, stride: at.stride, dilation: at.dilation, padding: paddingFor(at, h, w), ceilMode: at.ceil });
        } catch (error) {
          throw nodeError(ctx.label, (error as Error).message);
        }
        return layerKernel(layer, ctx.label, x.shape, at.spatial);
      },
    };
  },
};

const averagePool: OpDef = {
  load(ctx) {
    const at = poolAttributes(ctx);
    if (at.dilation[0] !== 1 || at.dilation[1] !== 1) throw nodeError(ctx.label, 'dilated average pooling is not supported');
    const countIncludePad = ctx.attrs.int('count_include_pad', 0) === 1;
    const describedBy = fixedPadding(at) ? describe(() => new AvgPool2d({ kernelSize: at.kernel, stride: at.stride, padding: paddingFor(at, 0, 0), ceilMode: at.ceil, countIncludePad })) : undefined;
    return {
      ...(describedBy === undefined ? {} : { describedBy }),
      specialize(inputs) {
        const x = inputs[0]!;
        checkInput(ctx.label, x.dtype, x.shape, at.spatial + 2);
        const h = at.spatial === 1 ? 1 : x.shape[2]!;
        const w = x.shape[x.shape.length - 1]!;
        let layer: AvgPool2d;
        try {
          layer = new AvgPool2d({ kernelSize: at.kernel, stride: at.stride, padding: paddingFor(at, h, w), ceilMode: at.ceil, countIncludePad });
        } catch (error) {
          throw nodeError(ctx.label, (error as Error).message);
        }
        return layerKernel(layer, ctx.label, x.shape, at.spatial);
      },
    };
  },
};

/** Global pools: one value per (image, channel) plane, kept as [N, C, 1, 1, ...]. */
function globalPool(max: boolean): OpDef {
  return {
    load(ctx) {
      return {
        describedBy: max ? new AdaptiveMaxPool2d(1) : new AdaptiveAvgPool2d(1),
        specialize(inputs) {
          const x = inputs[0]!;
          if (x.dtype !== 'float32') throw nodeError(ctx.label, `input must be float, got ${x.dtype}`, 'type');
          if (x.shape.length < 3) throw nodeError(ctx.label, `input must be at least 3-D [N, C, ...], got [${x.shape.join(', ')}]`);
          const outShape = [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)];
          const planes = x.shape[0]! * x.shape[1]!;
          const size = x.shape.slice(2).reduce((a, b) => a * b, 1);
          if (size === 0) throw nodeError(ctx.label, 'input planes are empty');
          return computeKernel([info('float32', outShape)], (ins, outs) => {
            const src = ins[0]!.data as Float32Array;
            const out = outs[0]!.data as Float32Array;
            for (let p = 0; p < planes; p++) {
              const base = p * size;
              if (max) {
                let m = -Infinity;
                for (let i = 0; i < size; i++) {
                  const v = src[base + i]!;
                  if (v > m || v !== v) m = v;
                  if (m !== m) break;
                }
                out[p] = m;
              } else {
                out[p] = planeSum(src, base, size) / size;
              }
            }
          });
        },
      };
    },
  };
}

export const POOL_OPS: Record<string, OpDef> = {
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalPool(false),
  GlobalMaxPool: globalPool(true),
};
