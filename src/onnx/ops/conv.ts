/**
 * Conv and ConvTranspose. A Conv node becomes a sepconv `Conv2d` layer holding the node's
 * weights, so it runs through the same prepared plans, kernel paths and fused epilogues as the
 * zoo on both tiers; a following BatchNormalization is folded into it and a Relu / Clip(0, 6)
 * becomes its fused activation when the graph is loaded (see fuse.ts). 1-D convolutions run as
 * 2-D ones over a height of 1. ConvTranspose becomes a `ConvTranspose2d` layer.
 */
import { conv2d } from '../../ops/conv2d.js';
import { convTranspose2d, type ConvTranspose2dOptions } from '../../ops/conv-transpose.js';
import { Conv2d, type FusedActivation } from '../../layers/conv.js';
import { ConvTranspose2d } from '../../layers/conv-transpose.js';
import { convTranspose2dGeometry, type ExplicitPadding } from '../../geometry.js';
import { planOutput } from '../../layers/plan-memory.js';
import type { Tensor } from '../../tensor.js';
import type { OValue } from '../values.js';
import { info, layerWithWeights, nodeError, planned, tensorWrapper, wrapper, type Kernel, type LoadContext, type OpDef, type SpecializeEnv } from './op.js';

/** A Conv node's layer: a Conv2d with the activation the graph fused into it. */
export class OnnxConv2d extends Conv2d {
  activation: FusedActivation | undefined = undefined;
}

interface ConvAttributes {
  readonly spatial: 1 | 2;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly dilation: [number, number];
  readonly group: number;
  readonly autoPad: 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
  /** [top, left, bottom, right] (ONNX order), for NOTSET. */
  readonly pads: [number, number, number, number];
}

/** Reads the attributes Conv and ConvTranspose share, checked against the weight's shape. */
function convAttributes(ctx: LoadContext, weightShape: readonly number[]): ConvAttributes {
  const a = ctx.attrs;
  const spatial = weightShape.length - 2;
  if (spatial !== 1 && spatial !== 2) {
    throw nodeError(ctx.label, `weight must be 3-D or 4-D ([out, in/group, kH, kW]; 2-D and 1-D convolutions are supported), got shape [${weightShape.join(', ')}]`);
  }
  const pair = (name: string, values: number[] | null, fallback: number, min: number): [number, number] => {
    const v = values ?? new Array<number>(spatial).fill(fallback);
    if (v.length !== spatial || v.some((x) => !Number.isInteger(x) || x < min || x > 1 << 20)) {
      throw nodeError(ctx.label, `attribute ${JSON.stringify(name)} must be ${spatial} integers ≥ ${min}, got ${JSON.stringify(v)}`);
    }
    return spatial === 1 ? [1, v[0]!] : [v[0]!, v[1]!];
  };
  const kernelShape = a.ints('kernel_shape');
  const kernel: [number, number] = spatial === 1 ? [1, weightShape[2]!] : [weightShape[2]!, weightShape[3]!];
  if (kernelShape !== null && (kernelShape.length !== spatial || kernelShape.some((k, i) => k !== weightShape[2 + i]))) {
    throw nodeError(ctx.label, `kernel_shape ${JSON.stringify(kernelShape)} does not match the weight's shape [${weightShape.join(', ')}]`);
  }
  const padsAttr = a.ints('pads');
  if (padsAttr !== null && (padsAttr.length !== 2 * spatial || padsAttr.some((p) => !Number.isInteger(p) || p < 0 || p > 1 << 20))) {
    throw nodeError(ctx.label, `attribute "pads" must be ${2 * spatial} non-negative integers, got ${JSON.stringify(padsAttr)}`);
  }
  const p = padsAttr ?? new Array<number>(2 * spatial).fill(0);
  const pads: [number, number, number, number] = spatial === 1 ? [0, p[0]!, 0, p[1]!] : [p[0]!, p[1]!, p[2]!, p[3]!];
  const group = a.int('group', 1);
  if (!Number.isInteger(group) || group < 1) throw nodeError(ctx.label, `group must be a positive integer, got ${group}`);
  return {
    spatial,
    kernel,
    stride: pair('strides', a.ints('strides'), 1, 1),
    dilation: pair('dilations', a.ints('dilations'), 1, 1),
    group,
    autoPad: a.stringIn('auto_pad', 'NOTSET', ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'] as const),
    pads,
  };
}

function floatConstant(ctx: LoadContext, i: number, what: string): OValue & { dtype: 'float32' } {
  const v = ctx.constant(i);
  if (v === null) throw nodeError(ctx.label, `the ${what} must be an initializer or a constant (sepconv runs fixed weights)`, 'type');
  if (v.dtype !== 'float32') throw nodeError(ctx.label, `the ${what} must be float, got ${v.dtype}`, 'type');
  return v;
}

/** Padding of one axis for auto_pad SAME_* (total split with the odd cell after for UPPER, before for LOWER). */
function samePadding(size: number, kernel: number, stride: number, dilation: number, upper: boolean): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max(0, (out - 1) * stride + dilation * (kernel - 1) + 1 - size);
  const small = Math.floor(total / 2);
  return upper ? [small, total - small] : [total - small, small];
}

function explicitPadding(at: ConvAttributes, h: number, w: number): ExplicitPadding {
  if (at.autoPad === 'VALID') return { top: 0, bottom: 0, left: 0, right: 0 };
  if (at.autoPad === 'NOTSET') return { top: at.pads[0], left: at.pads[1], bottom: at.pads[2], right: at.pads[3] };
  const upper = at.autoPad === 'SAME_UPPER';
  const [top, bottom] = samePadding(h, at.kernel[0], at.stride[0], at.dilation[0], upper);
  const [left, right] = samePadding(w, at.kernel[1], at.stride[1], at.dilation[1], upper);
  return { top, bottom, left, right };
}

/** The rank-4 view of a 1-D convolution's input/output (`[N, C, L]` → `[N, C, 1, L]`). */
function as4d(shape: readonly number[], spatial: 1 | 2): number[] {
  return spatial === 1 ? [shape[0]!, shape[1]!, 1, shape[2]!] : shape.slice();
}

const convOp: OpDef = {
  load(ctx) {
    const weight = floatConstant(ctx, 1, 'weight');
    const at = convAttributes(ctx, weight.shape);
    const bias = ctx.has(2) ? floatConstant(ctx, 2, 'bias') : null;
    const [outChannels, inPerGroup] = weight.shape as [number, number];
    if (outChannels < 1 || inPerGroup < 1 || at.kernel[0] < 1 || at.kernel[1] < 1) throw nodeError(ctx.label, `weight has an empty dimension: [${weight.shape.join(', ')}]`);
    if (outChannels % at.group !== 0) throw nodeError(ctx.label, `the weight's ${outChannels} output channels are not divisible by group ${at.group}`);
    if (bias !== null && (bias.shape.length !== 1 || bias.shape[0] !== outChannels)) {
      throw nodeError(ctx.label, `bias must have shape [${outChannels}], got [${bias.shape.join(', ')}]`);
    }
    // The layer's padding is the NOTSET one; SAME_* paddings, which depend on the input size, are resolved per shape.
    const layer = layerWithWeights(ctx.label, () => new OnnxConv2d({
      inChannels: inPerGroup * at.group,
      outChannels,
      kernelSize: at.kernel,
      stride: at.stride,
      dilation: at.dilation,
      groups: at.group,
      padding: at.autoPad === 'NOTSET' ? { top: at.pads[0], left: at.pads[1], bottom: at.pads[2], right: at.pads[3] } : 0,
      bias: bias !== null,
    }), weight.data, bias?.data ?? null);
    return {
      module: layer,
      specialize(inputs, env) {
        const x = inputs[0]!;
        if (x.dtype !== 'float32') throw nodeError(ctx.label, `input must be float, got ${x.dtype}`, 'type');
        if (x.shape.length !== at.spatial + 2) throw nodeError(ctx.label, `input must be ${at.spatial + 2}-D for a weight of shape [${weight.shape.join(', ')}], got [${x.shape.join(', ')}]`);
        const shape4 = as4d(x.shape, at.spatial);
        const padding = explicitPadding(at, shape4[2]!, shape4[3]!);
        const p = layer.padding;
        // A SAME padding that differs from the layer's: a copy of the layer sharing its parameters.
        const run: Conv2d = p.top === padding.top && p.bottom === padding.bottom && p.left === padding.left && p.right === padding.right
          ? layer : Object.assign(Object.create(Object.getPrototypeOf(layer) as object) as OnnxConv2d, layer, { padding });
        let out4: number[];
        try {
          out4 = run.outputShape(shape4);
        } catch (error) {
          throw nodeError(ctx.label, (error as Error).message);
        }
        const outShape = at.spatial === 1 ? [out4[0]!, out4[1]!, out4[3]!] : out4;
        return convKernel(run, layer, shape4, outShape, env);
      },
    };
  },
};

function convKernel(run: Conv2d, layer: OnnxConv2d, shape4: readonly number[], outShape: readonly number[], env: SpecializeEnv): Kernel {
  const reshape = (v: OValue, shape: readonly number[]): Tensor => ({ shape, data: v.data as Float32Array });
  return {
    outputs: [info('float32', outShape)],
    run(inputs) {
      const options = { ...run.convOptions(layer.activation), ...(env.backend === undefined ? {} : { backend: env.backend }) };
      const y = conv2d(reshape(inputs[0]!, shape4), run.weight, options);
      return [{ dtype: 'float32', shape: outShape, data: y.data }];
    },
    plan() {
      // The layer's own plan: weights packed once (in wasm memory on the wasm tier), the output
      // from the compile's activation memory, a weight reload seen before the next run.
      const step = layer.activation === undefined ? run.plan(shape4) : run.planFused(shape4, layer.activation);
      const out = typeof step.output === 'object' && step.output !== null ? step.output.data : null;
      const input = tensorWrapper(shape4);
      const output = wrapper('float32', outShape);
      const result: OValue[] = [];
      return planned((inputs) => {
        result[0] = output(step.run(input(inputs[0]!.data as Float32Array)).data);
        return result;
      }, [out]);
    },
  };
}

const convTransposeOp: OpDef = {
  load(ctx) {
    const weight = floatConstant(ctx, 1, 'weight');
    const at = convAttributes(ctx, weight.shape);
    const bias = ctx.has(2) ? floatConstant(ctx, 2, 'bias') : null;
    const [inChannels, outPerGroup] = weight.shape as [number, number];
    const outChannels = outPerGroup * at.group;
    if (inChannels % at.group !== 0) throw nodeError(ctx.label, `the weight's ${inChannels} input channels are not divisible by group ${at.group}`);
    if (bias !== null && (bias.shape.length !== 1 || bias.shape[0] !== outChannels)) {
      throw nodeError(ctx.label, `bias must have shape [${outChannels}], got [${bias.shape.join(', ')}]`);
    }
    const outputPaddingAttr = ctx.attrs.ints('output_padding');
    const outputShapeAttr = ctx.attrs.ints('output_shape');
    const op = outputPaddingAttr === null ? [0, 0] : at.spatial === 1 ? [0, outputPaddingAttr[0] ?? 0] : outputPaddingAttr;
    if (op.length !== 2 || op.some((v) => !Number.isInteger(v) || v < 0)) throw nodeError(ctx.label, `output_padding must be ${at.spatial} non-negative integers, got ${JSON.stringify(outputPaddingAttr)}`);
    // The layer holds the node's parameters (the module tree, the state dict); the padding of
    // each shape is passed to the kernel directly.
    const layer = layerWithWeights(ctx.label, () => new ConvTranspose2d({
      inChannels, outChannels, kernelSize: at.kernel, stride: at.stride, dilation: at.dilation, groups: at.group, bias: bias !== null,
    }), weight.data, bias?.data ?? null);
    return {
      module: layer,
      specialize(inputs) {
        const x = inputs[0]!;
        if (x.dtype !== 'float32') throw nodeError(ctx.label, `input must be float, got ${x.dtype}`, 'type');
        if (x.shape.length !== at.spatial + 2) throw nodeError(ctx.label, `input must be ${at.spatial + 2}-D, got [${x.shape.join(', ')}]`);
        const shape4 = as4d(x.shape, at.spatial);
        const sizes = [shape4[2]!, shape4[3]!];
        // Pads per side [begin, end] for each axis, from output_shape / auto_pad / pads.
        const padsFor = (axis: 0 | 1): [number, number] => {
          const full = at.stride[axis] * (sizes[axis]! - 1) + op[axis]! + (at.kernel[axis] - 1) * at.dilation[axis] + 1;
          let target: number | null = null;
          if (outputShapeAttr !== null) target = at.spatial === 1 ? outputShapeAttr[outputShapeAttr.length - 1]! : outputShapeAttr[outputShapeAttr.length - 2 + axis]!;
          else if (at.autoPad === 'SAME_UPPER' || at.autoPad === 'SAME_LOWER') target = sizes[axis]! * at.stride[axis];
          if (target === null) return at.autoPad === 'VALID' ? [0, 0] : axis === 0 ? [at.pads[0], at.pads[2]] : [at.pads[1], at.pads[3]];
          const total = full - target;
          if (total < 0) throw nodeError(ctx.label, `output_shape ${JSON.stringify(outputShapeAttr)} is larger than the full transposed convolution (${full})`);
          const half = Math.floor(total / 2);
          return at.autoPad === 'SAME_UPPER' ? [half, total - half] : [total - half, half];
        };
        const [ph, pw] = [padsFor(0), padsFor(1)];
        // The layer pads symmetrically: take the smaller side there and crop the rest.
        const sym: [number, number] = [Math.min(ph[0], ph[1]), Math.min(pw[0], pw[1])];
        const crop = { top: ph[0] - sym[0], bottom: ph[1] - sym[0], left: pw[0] - sym[1], right: pw[1] - sym[1] };
        const options: ConvTranspose2dOptions = { stride: at.stride, padding: sym, outputPadding: [op[0]!, op[1]!], dilation: at.dilation, groups: at.group };
        let full4: number[];
        try {
          full4 = convTranspose2dGeometry(shape4, layer.weight.shape, options).outputShape.slice();
        } catch (error) {
          throw nodeError(ctx.label, (error as Error).message);
        }
        const out4 = [full4[0]!, full4[1]!, full4[2]! - crop.top - crop.bottom, full4[3]! - crop.left - crop.right];
        if (out4[2]! < 1 || out4[3]! < 1) throw nodeError(ctx.label, `the output would be empty (${out4[2]}x${out4[3]})`);
        const outShape = at.spatial === 1 ? [out4[0]!, out4[1]!, out4[3]!] : out4;
        const cropped = crop.top + crop.bottom + crop.left + crop.right > 0;
        const cropInto = (full: Float32Array, out: Float32Array): void => {
          const planes = out4[0]! * out4[1]!;
          const [H, W] = [full4[2]!, full4[3]!];
          const [h, w] = [out4[2]!, out4[3]!];
          for (let p = 0; p < planes; p++) {
            for (let r = 0; r < h; r++) out.set(full.subarray((p * H + r + crop.top) * W + crop.left, (p * H + r + crop.top) * W + crop.left + w), (p * h + r) * w);
          }
        };
        const input4 = (v: OValue): Tensor => ({ shape: shape4, data: v.data as Float32Array });
        return {
          outputs: [info('float32', outShape)],
          run(ins) {
            const y = convTranspose2d(input4(ins[0]!), layer.weight, { ...options, bias: layer.bias });
            if (!cropped) return [{ dtype: 'float32', shape: outShape, data: y.data }];
            const out = new Float32Array(out4.reduce((a, b) => a * b, 1));
            cropInto(y.data, out);
            return [{ dtype: 'float32', shape: outShape, data: out }];
          },
          plan() {
            const full = planOutput(full4, 'ConvTranspose output');
            const out = cropped ? planOutput(out4, 'ConvTranspose cropped output') : full;
            return planned((ins) => {
              convTranspose2d(input4(ins[0]!), layer.weight, { ...options, bias: layer.bias, out: full });
              if (cropped) cropInto(full.data, out.data);
              return [{ dtype: 'float32', shape: outShape, data: out.data }];
            }, [out.data]);
          },
        };
      },
    };
  },
};


export const CONV_OPS: Record<string, OpDef> = { Conv: convOp, ConvTranspose: convTransposeOp };

