/**
 * 64-bit integer tensors: what PyTorch saves as int64 (`torch.long`), notably BatchNorm's
 * `num_batches_tracked` count. sepconv computes in float32 only; int64 tensors exist so such
 * counts load, are kept exactly and are saved back as `I64`.
 */
import { checkShape, describeValue, shapeSize, type Tensor, type TensorLike } from './tensor.js';

export interface Int64Tensor {
  readonly shape: readonly number[];
  readonly data: BigInt64Array;
}

/** A value of a state dict or a safetensors file: float32 (computed with) or int64 (a count). */
export type StateTensor = Tensor | Int64Tensor;

/** What `loadStateDict` and `saveSafetensors` accept as a value. */
export type StateTensorLike = TensorLike | Int64Tensor;

export function isInt64Tensor(x: unknown): x is Int64Tensor {
  return typeof x === 'object' && x !== null && (x as { data?: unknown }).data instanceof BigInt64Array;
}

/** Checks an int64 tensor's shape and data length, and returns it. */
export function asInt64Tensor(x: Int64Tensor, name: string): Int64Tensor {
  checkShape(x.shape, name, 0);
  const size = shapeSize(x.shape);
  if (x.data.length !== size) {
    throw new RangeError(`${name}.data.length must equal the product of ${name}.shape ${describeValue(x.shape)} = ${size}, got ${x.data.length}`);
  }
  return x;
}
