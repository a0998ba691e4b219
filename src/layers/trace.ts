/**
 * How a container's children are called, as shapes only. A plain container runs its children one
 * after another in registration order; a block whose forward branches (a residual add, a
 * squeeze-excitation scale, a channel split and concat, a functional global pool) describes its
 * calls with `traceChildren`, so summaries, profiles and shape errors can follow it.
 */
import { describeValue } from '../tensor.js';
import type { Module } from './module.js';

/** Calls child `name` on an input of shape `inputShape` and gives its output shape. */
export type ChildCall = (name: string, inputShape: readonly number[]) => readonly number[];

export interface TracedModule {
  /** Calls `call` once per child invocation of forward, in order, and returns the output shape. */
  traceChildren(inputShape: readonly number[], call: ChildCall): readonly number[];
}

export function isTraced(m: Module): m is Module & TracedModule {
  return typeof (m as Partial<TracedModule>).traceChildren === 'function';
}

/** The children's calls of `module` on `inputShape`: its own description, or the plain chain. */
export function traceCalls(module: Module, inputShape: readonly number[], call: ChildCall): readonly number[] {
  if (isTraced(module)) return module.traceChildren(inputShape, call);
  let shape = inputShape;
  for (const [name] of module.namedChildren()) shape = call(name, shape);
  return shape;
}

/** A shape problem found at a leaf: `layerPath` names the leaf (dotted, as in state-dict keys). */
export class LayerShapeError extends RangeError {
  constructor(
    readonly modelName: string,
    readonly inputShape: readonly number[],
    readonly layerPath: string,
    readonly layerType: string,
    readonly layerInputShape: readonly number[],
    readonly detail: string,
  ) {
    super(
      `${modelName}: input shape ${describeValue(inputShape)} does not fit the network: at layer ${JSON.stringify(layerPath)} (${layerType}) on input ${describeValue(layerInputShape)}: ${detail}`,
    );
    this.name = 'RangeError';
  }
}

/**
 * The output shape of `model` for `inputShape`, walking every leaf through `traceCalls`; a leaf
 * that rejects its input is named in a LayerShapeError (e.g. the convolution where the spatial
 * size drops below 1).
 */
export function tracedOutputShape(model: Module, inputShape: readonly number[], modelName = model.constructor.name): number[] {
  const visit = (module: Module, path: string, shape: readonly number[]): readonly number[] => {
    if (module.namedChildren().length === 0) {
      try {
        return module.outputShape(shape);
      } catch (error) {
        if (!(error instanceof RangeError) || error instanceof LayerShapeError) throw error;
        throw new LayerShapeError(modelName, inputShape.slice(), path, module.constructor.name, shape.slice(), error.message);
      }
    }
    return traceCalls(module, shape, (name, childShape) => {
      const child = module.namedChildren().find(([n]) => n === name);
      if (child === undefined) throw new Error(`${module.constructor.name} traced a call to a child it does not have: ${JSON.stringify(name)}`);
      return visit(child[1], path === '' ? name : `${path}.${name}`, childShape);
    });
  };
  return visit(model, '', inputShape).slice();
}
