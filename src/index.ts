// The public API of sepconv: re-exports only.
export { tensor, zeros, shapeSize, asTensor, isNdArrayView } from './tensor.js';
export type { Tensor, TensorLike, NdArrayView, AllocOptions } from './tensor.js';
export { conv2dGeometry, convOutputSize, resolvePadding, resolvePair } from './kernels/geometry.js';
export type { Conv2dGeometry, GeometryOptions, Padding, ExplicitPadding, PaddingMode, IntPair } from './kernels/geometry.js';
export type { Activation } from './kernels/epilogue.js';
export type { Conv2dOptions } from './kernels/validate.js';
export { conv2d, depthwiseConv2d, pointwiseConv2d, selectKernelPath } from './kernels/conv2d.js';
export type { KernelPath, DepthwiseConv2dOptions, PointwiseConv2dOptions } from './kernels/conv2d.js';
export { referenceConv2d } from './kernels/reference.js';
export { prepareConv2d, Conv2dPlan } from './kernels/plan.js';
export type { PrepareConv2dOptions } from './kernels/plan.js';
