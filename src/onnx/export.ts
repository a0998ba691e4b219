/**
 * `exportOnnx(model, inputShape, { dynamicBatch?, opset? })`: a sepconv model as a standard ONNX
 * file (opset 17 by default, 13–21 accepted), in eval semantics: Dropout and stochastic depth are
 * removed, BatchNorm uses its running statistics. Initializers are named by the state-dict keys
 * (`features.0.0.weight`), nodes by the module path. Every built-in layer, block and zoo model
 * is expressed with standard operators; any other module is an error naming it and its path.
 *
 * The walk follows each module's forward: containers chain their children (or, for the blocks
 * whose forward branches, the block's own rule: the residual add, squeeze-excitation's scale,
 * ShuffleNet's split, concat and channel shuffle), leaves become one node or a few.
 */
import { describeValue, readOptions } from '../checks.js';
import { Hardsigmoid, Hardswish, Identity, LeakyReLU, ReLU, ReLU6, Sigmoid, SiLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { ResidualBlock } from '../layers/blocks/residual.js';
import { ShuffleInvertedResidual } from '../layers/blocks/shuffle.js';
import { SqueezeExcitation } from '../layers/blocks/squeeze-excitation.js';
import { StochasticDepth } from '../layers/blocks/stochastic-depth.js';
import { Conv2d } from '../layers/conv.js';
import { ConvTranspose2d } from '../layers/conv-transpose.js';
import { Dropout } from '../layers/dropout.js';
import { Flatten, Linear } from '../layers/linear.js';
import { ZooModel } from '../layers/models/zoo-model.js';
import { Module } from '../layers/module.js';
import { AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d } from '../layers/pooling.js';
import { isTraced } from '../layers/trace.js';
import { checkShape } from '../tensor.js';
import { encodeModel, type EncodedAttribute, type EncodedNode, type EncodedTensor } from './encode.js';

export interface ExportOnnxOptions {
  /** Name the batch dimension `'batch'` so the file runs with any batch size (default false). */
  dynamicBatch?: boolean;
  /** The default-domain opset written (default 17; 13 to 21). */
  opset?: number;
  /** Graph input and output names (default `'input'` and `'output'`). */
  inputName?: string;
  outputName?: string;
}

interface Value {
  readonly name: string;
  readonly shape: readonly number[];
}

class Exporter {
  readonly nodes: EncodedNode[] = [];
  readonly initializers: EncodedTensor[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(readonly opset: number) {}

  /** A fresh tensor name based on `hint`. */
  fresh(hint: string): string {
    let name = hint;
    while (this.used.has(name)) name = `${hint}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  /** An initializer (named by its state-dict key when it has one). */
  constant(hint: string, dims: readonly number[], data: Float32Array | readonly number[], type: 'float32' | 'int64' = 'float32'): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dims, data: type === 'float32' ? Float32Array.from(data as ArrayLike<number>) : data, type });
    return name;
  }

  node(op: string, inputs: readonly string[], path: string, attributes: Record<string, EncodedAttribute> = {}, outputs = 1): string[] {
    const names = Array.from({ length: outputs }, (_, k) => this.fresh(`${path || 'model'}/${op}${outputs > 1 ? `_${k}` : ''}`));
    this.nodes.push({ op, inputs, outputs: names, name: this.fresh(`${path || 'model'}/${op}#node`), attributes });
    return names;
  }
}

function key(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function padsOf(p: { top: number; bottom: number; left: number; right: number }): number[] {
  return [p.top, p.left, p.bottom, p.right];
}

/** Emits `module` applied to `x` (path: its dotted name) and returns its output. */
function emit(ex: Exporter, module: Module, path: string, x: Value): Value {
  const out = (name: string): Value => ({ name, shape: module.outputShape(x.shape) });
  const one = (op: string, attrs: Record<string, EncodedAttribute> = {}, extra: string[] = []): Value => out(ex.node(op, [x.name, ...extra], path, attrs)[0]!);

  if (module instanceof Conv2d) {
    let input = x;
    const pads = padsOf(module.padding);
    let convPads = pads;
    if (module.paddingMode !== 'zeros' && pads.some((p) => p > 0)) {
      const mode = module.paddingMode === 'reflect' ? 'reflect' : module.paddingMode === 'replicate' ? 'edge' : 'wrap';
      if (mode === 'wrap' && ex.opset < 19) throw new RangeError(`exportOnnx: ${path || 'the model'} (Conv2d) pads circularly, which ONNX's Pad has from opset 19; pass { opset: 19 }`);
      const padValues = [0, 0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!];
      const padded = ex.node('Pad', [x.name, ex.constant(`${path}.pads`, [8], padValues, 'int64')], path, { mode })[0]!;
      input = { name: padded, shape: [x.shape[0]!, x.shape[1]!, x.shape[2]! + pads[0]! + pads[2]!, x.shape[3]! + pads[1]! + pads[3]!] };
      convPads = [0, 0, 0, 0];
    }
    const inputs = [input.name, ex.constant(key(path, 'weight'), module.weight.shape, module.weight.data)];
    if (module.bias !== null) inputs.push(ex.constant(key(path, 'bias'), module.bias.shape, module.bias.data));
    const y = ex.node('Conv', inputs, path, {
      kernel_shape: [...module.kernelSize], strides: [...module.stride], pads: convPads, dilations: [...module.dilation], group: module.groups,
    })[0]!;
    return out(y);
  }
  if (module instanceof ConvTranspose2d) {
    const inputs = [x.name, ex.constant(key(path, 'weight'), module.weight.shape, module.weight.data)];
    if (module.bias !== null) inputs.push(ex.constant(key(path, 'bias'), module.bias.shape, module.bias.data));
    const p = module.padding;
    return out(ex.node('ConvTranspose', inputs, path, {
      kernel_shape: [...module.kernelSize], strides: [...module.stride], pads: [p[0], p[1], p[0], p[1]], dilations: [...module.dilation], group: module.groups,
      output_padding: [...module.outputPadding],
    })[0]!);
  }
  if (module instanceof BatchNorm2d) {
    if (!module.trackRunningStats) throw new TypeError(`exportOnnx: ${path || 'the model'} (BatchNorm2d) has no running statistics (trackRunningStats false): its eval output depends on the batch`);
    const c = module.numFeatures;
    const ones = new Float32Array(c).fill(1);
    const inputs = [
      ex.constant(key(path, 'weight'), [c], module.weight?.data ?? ones),
      ex.constant(key(path, 'bias'), [c], module.bias?.data ?? new Float32Array(c)),
      ex.constant(key(path, 'running_mean'), [c], module.runningMean.data),
      ex.constant(key(path, 'running_var'), [c], module.runningVar.data),
    ];
    return one('BatchNormalization', { epsilon: { float: module.eps } }, inputs);
  }
  if (module instanceof ReLU) return one('Relu');
  if (module instanceof ReLU6) {
    return one('Clip', {}, [ex.constant(`${path}.min`, [], [0]), ex.constant(`${path}.max`, [], [6])]);
  }
  if (module instanceof LeakyReLU) return one('LeakyRelu', { alpha: { float: module.negativeSlope } });
  if (module instanceof Sigmoid) return one('Sigmoid');
  if (module instanceof Hardsigmoid) return one('HardSigmoid', { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
  if (module instanceof Hardswish) {
    if (ex.opset >= 14) return one('HardSwish');
    const gate = ex.node('HardSigmoid', [x.name], path, { alpha: { float: 1 / 6 }, beta: { float: 0.5 } })[0]!;
    return out(ex.node('Mul', [x.name, gate], path)[0]!);
  }
  if (module instanceof SiLU) {
    const gate = ex.node('Sigmoid', [x.name], path)[0]!;
    return out(ex.node('Mul', [x.name, gate], path)[0]!);
  }
  if (module instanceof Identity || module instanceof Dropout || module instanceof StochasticDepth) return x;
  if (module instanceof MaxPool2d || module instanceof AvgPool2d) {
    const attrs: Record<string, EncodedAttribute> = {
      kernel_shape: [...module.kernelSize], strides: [...module.stride], pads: padsOf(module.padding), ceil_mode: module.ceilMode ? 1 : 0,
    };
    if (module instanceof MaxPool2d) {
      if (module.dilation[0] !== 1 || module.dilation[1] !== 1) attrs.dilations = [...module.dilation];
      return one('MaxPool', attrs);
    }
    if (module.divisorOverride !== null) throw new TypeError(`exportOnnx: ${path || 'the model'} (AvgPool2d) has a divisorOverride, which ONNX cannot express`);
    attrs.count_include_pad = module.countIncludePad ? 1 : 0;
    return one('AveragePool', attrs);
  }
  if (module instanceof AdaptiveAvgPool2d || module instanceof AdaptiveMaxPool2d) {
    const y = module.outputShape(x.shape);
    const [h, w] = [x.shape[x.shape.length - 2]!, x.shape[x.shape.length - 1]!];
    const [oh, ow] = [y[y.length - 2]!, y[y.length - 1]!];
    const max = module instanceof AdaptiveMaxPool2d;
    if (oh === 1 && ow === 1) return one(max ? 'GlobalMaxPool' : 'GlobalAveragePool');
    if (h % oh === 0 && w % ow === 0) {
      const k = [h / oh, w / ow];
      return one(max ? 'MaxPool' : 'AveragePool', { kernel_shape: k, strides: k });
    }
    throw new TypeError(`exportOnnx: ${path || 'the model'} (${module.constructor.name}) pools ${h}x${w} to ${oh}x${ow}, which is no fixed window; ONNX has no adaptive pooling`);
  }
  if (module instanceof Linear) {
    if (x.shape.length === 2) {
      const w = ex.constant(key(path, 'weight'), module.weight.shape, module.weight.data);
      const b = module.bias === null ? [] : [ex.constant(key(path, 'bias'), module.bias.shape, module.bias.data)];
      return one('Gemm', { transB: 1 }, [w, ...b]);
    }
    // [..., in] @ Wᵀ: MatMul with the transposed weight, then the bias.
    const [o, i] = module.weight.shape as [number, number];
    const wt = new Float32Array(o * i);
    for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) wt[c * o + r] = module.weight.data[r * i + c]!;
    let y = ex.node('MatMul', [x.name, ex.constant(`${key(path, 'weight')}_transposed`, [i, o], wt)], path)[0]!;
    if (module.bias !== null) y = ex.node('Add', [y, ex.constant(key(path, 'bias'), module.bias.shape, module.bias.data)], path)[0]!;
    return out(y);
  }
  if (module instanceof Flatten) {
    const rank = x.shape.length;
    const start = module.startDim < 0 ? module.startDim + rank : module.startDim;
    const end = module.endDim < 0 ? module.endDim + rank : module.endDim;
    // ONNX's Flatten always gives 2-D [prefix, rest]: PyTorch's flatten(1) only.
    if (start === 1 && end === rank - 1) return one('Flatten', { axis: 1 });
    const shape = module.outputShape(x.shape);
    // Leading axes copied (0), so a dynamic batch stays dynamic.
    const target = shape.map((d, i) => (i < start ? 0 : d));
    return out(ex.node('Reshape', [x.name, ex.constant(`${path}.shape`, [target.length], target, 'int64')], path)[0]!);
  }
  if (module instanceof ResidualBlock) {
    const body = emit(ex, module.body, key(path, module.namedChildren().find(([, m]) => m === module.body)![0]), x);
    if (!module.useResConnect) return body;
    return { name: ex.node('Add', [body.name, x.name], path)[0]!, shape: body.shape };
  }
  if (module instanceof SqueezeExcitation) {
    let s = x;
    for (const name of ['avgpool', 'fc1', 'activation', 'fc2', 'scale_activation']) {
      const child = module.namedChildren().find(([n]) => n === name)![1];
      s = emit(ex, child, key(path, name), s);
    }
    return { name: ex.node('Mul', [x.name, s.name], path)[0]!, shape: x.shape };
  }
  if (module instanceof ShuffleInvertedResidual) return emitShuffle(ex, module, path, x);
  if (module instanceof ZooModel) {
    let y = x;
    for (const stage of (module as unknown as { stages: readonly ({ child: string } | 'mean' | 'flatten')[] }).stages) {
      if (stage === 'mean') {
        // axes: an attribute up to opset 17, an input from 18.
        const mean = ex.opset >= 18
          ? ex.node('ReduceMean', [y.name, ex.constant(`${path}.mean_axes`, [2], [2, 3], 'int64')], path, { keepdims: 0 })
          : ex.node('ReduceMean', [y.name], path, { axes: [2, 3], keepdims: 0 });
        y = { name: mean[0]!, shape: [y.shape[0]!, y.shape[1]!] };
      }
      else if (stage === 'flatten') y = { name: ex.node('Flatten', [y.name], path, { axis: 1 })[0]!, shape: [y.shape[0]!, y.shape[1]!] };
      else y = emit(ex, module.namedChildren().find(([n]) => n === stage.child)![1], key(path, stage.child), y);
    }
    return y;
  }
  const children = module.namedChildren();
  if (children.length > 0 && !isTraced(module)) {
    // A plain container (Sequential, MobileNetV1, the seed's blocks): children in registration order.
    let y = x;
    for (const [name, child] of children) y = emit(ex, child, key(path, name), y);
    return y;
  }
  throw new TypeError(`exportOnnx: cannot express ${path === '' ? 'the model' : JSON.stringify(path)} (${module.constructor.name}) in ONNX; exportable: the built-in layers, blocks and zoo models`);
}

/** ShuffleNetV2's block: split or both branches, concat, then the channel shuffle of two groups. */
function emitShuffle(ex: Exporter, module: ShuffleInvertedResidual, path: string, x: Value): Value {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  let a: Value;
  let b: Value;
  if (module.stride === 1) {
    const half = c / 2;
    const [x1, x2] = ex.node('Split', [x.name, ex.constant(`${path}.split`, [2], [half, half], 'int64')], path, { axis: 1 }, 2) as [string, string];
    a = { name: x1, shape: [n, half, h, w] };
    b = emit(ex, module.branch2, key(path, 'branch2'), { name: x2, shape: [n, half, h, w] });
  } else {
    a = emit(ex, module.branch1, key(path, 'branch1'), x);
    b = emit(ex, module.branch2, key(path, 'branch2'), x);
  }
  const [, ca, oh, ow] = a.shape as [number, number, number, number];
  const total = ca + b.shape[1]!;
  const cat = ex.node('Concat', [a.name, b.name], path, { axis: 1 })[0]!;
  const grouped = ex.node('Reshape', [cat, ex.constant(`${path}.shuffle_shape`, [5], [0, 2, total / 2, oh, ow], 'int64')], path)[0]!;
  const swapped = ex.node('Transpose', [grouped], path, { perm: [0, 2, 1, 3, 4] })[0]!;
  const y = ex.node('Reshape', [swapped, ex.constant(`${path}.unshuffle_shape`, [4], [0, total, oh, ow], 'int64')], path)[0]!;
  return { name: y, shape: [n, total, oh, ow] };
}

/**
 * The model as an ONNX file (`Uint8Array`), for inputs of `inputShape` (`[N, C, H, W]`; with
 * `dynamicBatch` any N). The model must be in eval mode semantics: Dropout is left out and
 * BatchNorm uses its running statistics whatever `model.training` is.
 */
export function exportOnnx(model: Module, inputShape: readonly number[], options: ExportOnnxOptions = {}): Uint8Array {
  if (!(model instanceof Module)) throw new TypeError(`exportOnnx: model must be a sepconv Module, got ${describeValue(model)}`);
  checkShape(inputShape, 'exportOnnx', 1, 'exportOnnx: inputShape');
  const o = readOptions<ExportOnnxOptions>(options, ['dynamicBatch', 'opset', 'inputName', 'outputName'], 'exportOnnx');
  const opset = o.opset === undefined ? 17 : o.opset;
  if (typeof opset !== 'number' || !Number.isInteger(opset) || opset < 13 || opset > 21) {
    throw new RangeError(`exportOnnx: opset must be an integer from 13 to 21, got ${describeValue(o.opset)}`);
  }
  if (o.dynamicBatch !== undefined && typeof o.dynamicBatch !== 'boolean') throw new TypeError(`exportOnnx: dynamicBatch must be a boolean, got ${describeValue(o.dynamicBatch)}`);
  for (const n of ['inputName', 'outputName'] as const) {
    if (o[n] !== undefined && (typeof o[n] !== 'string' || o[n] === '')) throw new TypeError(`exportOnnx: ${n} must be a non-empty string, got ${describeValue(o[n])}`);
  }
  const inputName = o.inputName ?? 'input';
  const outputName = o.outputName ?? 'output';
  model.outputShape(inputShape); // the shape must fit before anything is emitted
  const ex = new Exporter(opset);
  ex.fresh(inputName);
  const y = emit(ex, model, '', { name: inputName, shape: inputShape.slice() });
  // The graph output gets its own name through an Identity (also when the model is the identity).
  ex.fresh(outputName);
  ex.nodes.push({ op: 'Identity', inputs: [y.name], outputs: [outputName], name: ex.fresh('output#node') });
  const batch = (shape: readonly number[]): (number | string)[] => (o.dynamicBatch === true ? ['batch', ...shape.slice(1)] : shape.slice());
  return encodeModel({
    irVersion: 8,
    producerName: 'sepconv',
    opset,
    nodes: ex.nodes,
    initializers: ex.initializers,
    inputs: [{ name: inputName, shape: batch(inputShape) }],
    outputs: [{ name: outputName, shape: batch(y.shape) }],
    graphName: model.constructor.name,
  });
}
