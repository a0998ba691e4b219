/**
 * `summary(model, inputShape)`: one row per leaf module call with its exact cost, plus totals.
 *
 * Shapes are propagated without running the model: a container's children are taken in
 * registration order, each fed the previous one's output shape (what `Sequential` and
 * `DepthwiseSeparableConv2d` do). That order is checked against the container's own
 * `outputShape`, so a container whose forward does something else is reported, not guessed at.
 * Only leaves are costed, so nothing is counted twice; a module that appears at several places
 * (shared weights) has its parameters counted at its first use only, its MACs at every use
 * (it does run every time).
 */
import { checkShape, describeValue, shapeSize } from '../tensor.js';
import { isPlainObject } from '../checks.js';
import { Module } from '../layers/module.js';
import { Conv2d } from '../layers/conv.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { Hardsigmoid, Hardswish, Identity, LeakyReLU, ReLU, ReLU6, Sigmoid, SiLU } from '../layers/activation.js';
import { Dropout } from '../layers/dropout.js';
import { StochasticDepth } from '../layers/blocks/stochastic-depth.js';
import { isTraced, traceCalls } from '../layers/trace.js';
import { Flatten, Linear } from '../layers/linear.js';
import { AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, LPPool2d, MaxPool2d, MaxUnpool2d } from '../layers/pooling.js';
import {
  activationCost,
  adaptiveAvgPool2dCost,
  batchNorm2dCost,
  conv2dCost,
  linearCost,
  pool2dCost,
  reshapeCost,
  sumCounts,
  type CostCounts,
  type LayerCost,
} from './cost.js';
import { sameShape } from '../tensor.js';

/** What a leaf does, for grouping totals: MACs only ever come from 'conv' and 'linear'. */
export type LayerKind = 'conv' | 'linear' | 'batchnorm' | 'activation' | 'pool' | 'reshape' | 'other';

export interface SummaryRow extends CostCounts {
  /** Dotted path as in `namedModules()` / state-dict keys (`features.1.depthwise`). */
  readonly name: string;
  /** The module's class name. */
  readonly type: string;
  readonly kind: LayerKind;
  /** Nesting depth of the leaf (0 when the model itself is a leaf). */
  readonly depth: number;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  /** Trainable parameters; 0 on the later uses of a shared module. */
  readonly params: number;
  /** Buffer values (BatchNorm running statistics); 0 on later uses of a shared module. */
  readonly bufferCount: number;
  /** This row's MACs / the total MACs (0 when the model has none). */
  readonly macShare: number;
  /** Bytes of the output this leaf allocates (0 for views such as Flatten and Identity). */
  readonly outputBytes: number;
  /** True when this module already appeared in an earlier row. */
  readonly shared: boolean;
  /** False when no cost rule knows this module's class: only its parameters are counted. */
  readonly costed: boolean;
}

export interface KindTotal {
  readonly layers: number;
  readonly macs: number;
}

export interface SummaryTotals extends CostCounts {
  readonly byKind: Readonly<Record<LayerKind, KindTotal>>;
  readonly inputBytes: number;
  /** Every leaf output of one forward pass, if each is kept (what a forward allocates). */
  readonly activationBytes: number;
  readonly parameterBytes: number;
  readonly bufferBytes: number;
}

/** The fields a ModelSummary must have for the functions that read one. */
export const SUMMARY_FIELDS = ['modelType', 'inputShape', 'outputShape', 'rows', 'totals'] as const;

export interface ModelSummary {
  readonly modelType: string;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly rows: readonly SummaryRow[];
  readonly totals: SummaryTotals;
  /** Class names of leaves without a cost rule (their MACs are not counted). */
  readonly uncosted: readonly string[];
}

/** A leaf call found by the shape walk, with the module itself (used by `profile`). */
export interface LeafCall {
  readonly name: string;
  readonly module: Module;
  readonly depth: number;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
}

const BYTES = 4;


/** Values of the named tensors a module holds itself: keys without a dot (not through children). */
function ownValues(named: readonly [string, { readonly shape: readonly number[] }][]): number {
  let total = 0;
  for (const [key, t] of named) if (!key.includes('.')) total += shapeSize(t.shape);
  return total;
}

const ownParameterCount = (module: Module): number => ownValues(module.namedParameters());
const ownBufferCount = (module: Module): number => ownValues(module.namedBuffers());

/**
 * The leaf calls of one forward pass in execution order, with their input and output shapes.
 * Throws when `inputShape` does not fit the model (the module's own message) or when a container
 * does not simply chain its children.
 */
export function traceLeaves(model: Module, shapeOrRecord: readonly number[] | Readonly<Record<string, readonly number[]>>): LeafCall[] {
  if (!(model instanceof Module)) throw new TypeError(`model must be a sepconv Module, got ${describeValue(model)}`);
  const inputShape = singleInputShape(shapeOrRecord);
  checkShape(inputShape, 'inputShape', 0, 'inputShape'); // stops at the first hole or bad entry
  if (inputShape.length === 0) throw new RangeError('inputShape must be a non-empty array of non-negative integers, got []');
  const calls: LeafCall[] = [];
  const visit = (module: Module, name: string, depth: number, shape: readonly number[]): readonly number[] => {
    const children = module.namedChildren();
    if (typeof (module as Partial<Module>).outputShape !== 'function') {
      throw new TypeError(
        `summary: ${name === '' ? 'the model' : JSON.stringify(name)} (${module.constructor.name}) has no outputShape(inputShape) method; ` +
          'a Module subclass implements it (the shape its forward returns) so summaries and plans can follow it',
      );
    }
    const declared = module.outputShape(shape);
    if (children.length === 0) {
      calls.push({ name, module, depth, inputShape: shape.slice(), outputShape: declared.slice() });
      return declared;
    }
    if (ownParameterCount(module) > 0) {
      throw new RangeError(
        `summary: ${name === '' ? 'the model' : JSON.stringify(name)} (${module.constructor.name}) has parameters of its own besides children; only leaves can be costed`,
      );
    }
    // Children chained in registration order, unless the module describes its calls itself
    // (residual adds, squeeze-excitation, channel split and concat, functional pooling).
    const byName = new Map(children);
    const current = traceCalls(module, shape, (childName, childShape) => {
      const child = byName.get(childName);
      if (child === undefined) throw new RangeError(`summary: ${module.constructor.name} traced a call to a child it does not have: ${JSON.stringify(childName)}`);
      return visit(child, name === '' ? childName : `${name}.${childName}`, depth + 1, childShape);
    });
    if (!sameShape(current, declared)) {
      throw new RangeError(
        `summary: cannot follow ${name === '' ? 'the model' : JSON.stringify(name)} (${module.constructor.name}): its children ${isTraced(module) ? 'as it traces them' : 'chained in registration order'} give ${describeValue(current)}, but its outputShape is ${describeValue(declared)}`,
      );
    }
    return declared;
  };
  visit(model, '', 0, inputShape);
  return calls;
}

interface LeafCost {
  readonly kind: LayerKind;
  readonly cost: LayerCost;
  readonly costed: boolean;
}

/** The cost rule for one leaf call (documented in cost.ts). */
export function leafCost(module: Module, inputShape: readonly number[], outputShape: readonly number[]): LeafCost {
  if (!(module instanceof Module)) throw new TypeError(`leafCost: module must be a sepconv Module, got ${describeValue(module)}`);
  checkShape(inputShape, 'leafCost', 0, 'leafCost: inputShape');
  checkShape(outputShape, 'leafCost', 0, 'leafCost: outputShape');
  if (module instanceof Conv2d) {
    const cost = conv2dCost({
      inputShape,
      outChannels: module.outChannels,
      kernelSize: module.kernelSize,
      stride: module.stride,
      padding: module.padding,
      dilation: module.dilation,
      groups: module.groups,
      paddingMode: module.paddingMode,
      bias: module.bias !== null,
    });
    return { kind: 'conv', cost, costed: true };
  }
  if (module instanceof Linear) {
    return { kind: 'linear', cost: linearCost({ inputShape, outFeatures: module.outFeatures, bias: module.bias !== null }), costed: true };
  }
  if (module instanceof BatchNorm2d) {
    return { kind: 'batchnorm', cost: batchNorm2dCost({ inputShape, affine: module.affine, trackRunningStats: module.trackRunningStats }), costed: true };
  }
  if (
    module instanceof ReLU || module instanceof ReLU6 || module instanceof LeakyReLU || module instanceof Hardswish || module instanceof Hardsigmoid ||
    module instanceof SiLU || module instanceof Sigmoid
  ) {
    return { kind: 'activation', cost: activationCost(inputShape), costed: true };
  }
  if (module instanceof MaxPool2d || module instanceof AvgPool2d || module instanceof LPPool2d) {
    const cost = pool2dCost({
      inputShape,
      kernelSize: module.kernelSize,
      stride: module.stride,
      padding: module.padding,
      dilation: module.dilation,
      ceilMode: module.ceilMode,
    });
    return { kind: 'pool', cost, costed: true };
  }
  if (module instanceof AdaptiveAvgPool2d || module instanceof AdaptiveMaxPool2d) {
    // The same windows for both; a null output size (keep the input's) is read from the output shape.
    const rank = outputShape.length;
    return { kind: 'pool', cost: adaptiveAvgPool2dCost(inputShape, [outputShape[rank - 2]!, outputShape[rank - 1]!]), costed: true };
  }
  if (module instanceof MaxUnpool2d) {
    // One write per input element into a zeroed output.
    return { kind: 'pool', cost: { ...reshapeCost(outputShape), elementwiseOps: shapeSize(inputShape) }, costed: true };
  }
  if (module instanceof Flatten || module instanceof Identity || module instanceof Dropout || module instanceof StochasticDepth) {
    return { kind: 'reshape', cost: reshapeCost(outputShape), costed: true };
  }
  const params = ownParameterCount(module);
  return {
    kind: 'other',
    cost: { outputShape: outputShape.slice(), params, bufferCount: ownBufferCount(module), macs: 0, flops: 0, biasAdds: 0, elementwiseOps: 0 },
    costed: false,
  };
}

const KINDS: readonly LayerKind[] = ['conv', 'linear', 'batchnorm', 'activation', 'pool', 'reshape', 'other'];

/**
 * One row per leaf module call with output shape, parameters, MACs and share of the total, plus
 * totals (params, MACs, FLOPs, bias adds, element-wise ops, activation and parameter memory).
 * `inputShape` includes the batch dimension, e.g. `[1, 3, 224, 224]`.
 */
/**
 * The input shape of a `{ name: shape }` record with one entry (the form ONNX models take, as in
 * `summary(model, { input: [1, 3, 224, 224] })`), or the shape itself. A summary follows one
 * input through the model: a record of several inputs is refused.
 */
function singleInputShape(shapeOrRecord: unknown): readonly number[] {
  if (Array.isArray(shapeOrRecord) || typeof shapeOrRecord !== 'object' || shapeOrRecord === null || !isPlainObject(shapeOrRecord)) {
    return shapeOrRecord as readonly number[];
  }
  const keys = Object.keys(shapeOrRecord);
  if (keys.length !== 1) {
    throw new RangeError(`inputShape: a record of input shapes must name exactly one input (a summary follows one input), got ${keys.length} (${describeValue(keys)})`);
  }
  return (shapeOrRecord as Record<string, readonly number[]>)[keys[0]!]!;
}

export function summary(model: Module, shapeOrRecord: readonly number[] | Readonly<Record<string, readonly number[]>>): ModelSummary {
  const inputShape = singleInputShape(shapeOrRecord);
  const calls = traceLeaves(model, inputShape);
  const seen = new Set<Module>();
  const draft = calls.map((call) => {
    const { kind, cost, costed } = leafCost(call.module, call.inputShape, call.outputShape);
    if (!sameShape(cost.outputShape, call.outputShape)) {
      throw new Error(
        `summary: the cost rule of ${call.module.constructor.name} gives output ${describeValue(cost.outputShape)} but the module gives ${describeValue(call.outputShape)} at ${JSON.stringify(call.name)}`,
      );
    }
    const actualParams = ownParameterCount(call.module);
    if (cost.params !== actualParams) {
      throw new Error(
        `summary: the cost rule of ${call.module.constructor.name} counts ${cost.params} parameters but the module holds ${actualParams} at ${JSON.stringify(call.name)}`,
      );
    }
    const shared = seen.has(call.module);
    seen.add(call.module);
    const isView = call.module instanceof Flatten || call.module instanceof Identity || call.module instanceof Dropout || call.module instanceof StochasticDepth;
    return {
      name: call.name === '' ? call.module.constructor.name : call.name,
      type: call.module.constructor.name,
      kind,
      depth: call.depth,
      inputShape: call.inputShape,
      outputShape: call.outputShape,
      params: shared ? 0 : cost.params,
      bufferCount: shared ? 0 : cost.bufferCount,
      macs: cost.macs,
      flops: cost.flops,
      biasAdds: cost.biasAdds,
      elementwiseOps: cost.elementwiseOps,
      outputBytes: isView ? 0 : shapeSize(call.outputShape) * BYTES,
      shared,
      costed,
    };
  });
  const counts = sumCounts(draft);
  const { macs } = counts;
  let activationBytes = 0;
  const byKind = Object.fromEntries(KINDS.map((k) => [k, { layers: 0, macs: 0 }])) as Record<LayerKind, { layers: number; macs: number }>;
  for (const row of draft) {
    activationBytes += row.outputBytes;
    byKind[row.kind].layers++;
    byKind[row.kind].macs += row.macs;
  }
  const rows: SummaryRow[] = draft.map((row) => ({ ...row, macShare: macs > 0 ? row.macs / macs : 0 }));
  return {
    modelType: model.constructor.name,
    inputShape: inputShape.slice(),
    outputShape: calls.length > 0 ? calls[calls.length - 1]!.outputShape.slice() : inputShape.slice(),
    rows,
    totals: {
      ...counts,
      byKind,
      inputBytes: shapeSize(inputShape) * BYTES,
      activationBytes,
      parameterBytes: counts.params * BYTES,
      bufferBytes: counts.bufferCount * BYTES,
    },
    uncosted: [...new Set(rows.filter((r) => !r.costed).map((r) => r.type))],
  };
}
