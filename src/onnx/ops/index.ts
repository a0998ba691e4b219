/** Every operator sepconv imports, by ONNX op_type (default domain), and the internal ones its rewrites create. */
import { CONV_OPS } from './conv.js';
import { ELEMENTWISE_OPS, INTERNAL_ELEMENTWISE_OPS } from './elementwise.js';
import { GEMM_OPS } from './gemm.js';
import { NORMALIZATION_OPS } from './normalization.js';
import type { OpDef } from './op.js';
import { PAD_OPS } from './pad.js';
import { POOL_OPS } from './pool.js';
import { REDUCE_OPS } from './reduce.js';
import { RESIZE_OPS } from './resize.js';
import { SHAPE_OPS } from './shape.js';
import { INTERNAL_SHUFFLE_OPS } from './shuffle.js';

export const ONNX_OPS: Readonly<Record<string, OpDef>> = Object.freeze({
  ...CONV_OPS, ...NORMALIZATION_OPS, ...ELEMENTWISE_OPS, ...POOL_OPS, ...GEMM_OPS, ...REDUCE_OPS, ...SHAPE_OPS, ...RESIZE_OPS, ...PAD_OPS,
});

/** The domain of the nodes sepconv's graph rewrites create. */
export const INTERNAL_DOMAIN = 'sepconv.internal';

export const INTERNAL_OPS: Readonly<Record<string, OpDef>> = Object.freeze({ ...INTERNAL_ELEMENTWISE_OPS, ...INTERNAL_SHUFFLE_OPS });

/** The supported op types, sorted (for error messages and the docs). */
export function supportedOps(): string[] {
  return Object.keys(ONNX_OPS).sort();
}

export function opDefFor(opType: string, domain: string): OpDef | undefined {
  if (domain === INTERNAL_DOMAIN) return Object.prototype.hasOwnProperty.call(INTERNAL_OPS, opType) ? INTERNAL_OPS[opType] : undefined;
  if (domain !== '') return undefined;
  return Object.prototype.hasOwnProperty.call(ONNX_OPS, opType) ? ONNX_OPS[opType] : undefined;
}
