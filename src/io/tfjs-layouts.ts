/**
 * Converters between TensorFlow.js layouts and sepconv's (PyTorch's):
 *   conv2d filter    TF.js [kH, kW, Cin, Cout] (HWIO)  ↔  [Cout, Cin, kH, kW]
 *   depthwise filter TF.js [kH, kW, Cin, K]             ↔  [Cin·K, 1, kH, kW]  (channel c·K + q)
 *   activations      NHWC                               ↔  NCHW
 * TF.js's depthwise channel order (c·K + q) is PyTorch's, so every conversion is an axis
 * permutation. All return new tensors; inputs are not modified.
 */
import { describeValue, type Tensor, type TensorLike } from '../tensor.js';
import { asTensor } from '../tensor.js';
import { optional } from '../checks.js';

function rank4(x: TensorLike, name: string, layout: string): [Tensor, number, number, number, number] {
  const t = asTensor(x, name);
  if (t.shape.length !== 4) throw new RangeError(`${name} must be 4-D ${layout}, got shape ${describeValue(t.shape)}`);
  const [a, b, c, d] = t.shape as [number, number, number, number];
  return [t, a, b, c, d];
}

/**
 * out[i0, i1, i2, i3] = in[...] where the output axis k is input axis perm[k]: a general 4-D
 * transpose (numpy `transpose(perm)`).
 */
function transpose4(t: Tensor, perm: readonly [number, number, number, number]): Tensor {
  const shape = t.shape;
  const strides = [shape[1]! * shape[2]! * shape[3]!, shape[2]! * shape[3]!, shape[3]!, 1];
  const outShape = perm.map((p) => shape[p]!);
  const [s0, s1, s2, s3] = perm.map((p) => strides[p]!) as [number, number, number, number];
  const [n0, n1, n2, n3] = outShape as [number, number, number, number];
  const src = t.data;
  const out = new Float32Array(src.length);
  let o = 0;
  for (let a = 0; a < n0; a++) {
    for (let b = 0; b < n1; b++) {
      for (let c = 0; c < n2; c++) {
        const base = a * s0 + b * s1 + c * s2;
        for (let d = 0; d < n3; d++) out[o++] = src[base + d * s3]!;
      }
    }
  }
  return { shape: outShape, data: out };
}

/** TF.js conv2d filter `[kH, kW, Cin, Cout]` → `[Cout, Cin, kH, kW]`. */
export function conv2dFilterFromTfjs(filter: TensorLike): Tensor {
  const [t] = rank4(filter, 'filter', '[kH, kW, Cin, Cout]');
  return transpose4(t, [3, 2, 0, 1]);
}

/** `[Cout, Cin, kH, kW]` → TF.js conv2d filter `[kH, kW, Cin, Cout]`. */
export function conv2dFilterToTfjs(weight: TensorLike): Tensor {
  const [t] = rank4(weight, 'weight', '[Cout, Cin, kH, kW]');
  return transpose4(t, [2, 3, 1, 0]);
}

/** TF.js depthwise filter `[kH, kW, Cin, K]` → `[Cin·K, 1, kH, kW]`. */
export function depthwiseFilterFromTfjs(filter: TensorLike): Tensor {
  const [t, kh, kw, cin, k] = rank4(filter, 'filter', '[kH, kW, Cin, K]');
  const moved = transpose4(t, [2, 3, 0, 1]); // [Cin, K, kH, kW]
  return { shape: [cin * k, 1, kh, kw], data: moved.data };
}

/** `[Cin·K, 1, kH, kW]` → TF.js depthwise filter `[kH, kW, Cin, K]`; `inChannels` gives Cin (default: K = 1). */
export function depthwiseFilterToTfjs(weight: TensorLike, inChannels?: number): Tensor {
  const [t, cout, one, kh, kw] = rank4(weight, 'weight', '[Cin*K, 1, kH, kW]');
  if (one !== 1) throw new RangeError(`weight must be [Cin*K, 1, kH, kW] (depthwise), got shape ${describeValue(t.shape)}`);
  const cin = optional(inChannels, cout);
  if (!Number.isInteger(cin) || cin < 1 || cout % cin !== 0) {
    throw new RangeError(`inChannels must be a positive divisor of weight.shape[0] = ${cout}, got ${describeValue(inChannels)}`);
  }
  const grouped: Tensor = { shape: [cin, cout / cin, kh, kw], data: t.data };
  return transpose4(grouped, [2, 3, 0, 1]);
}

/** NHWC activations → NCHW. */
export function nhwcToNchw(x: TensorLike): Tensor {
  const [t] = rank4(x, 'input', '[N, H, W, C]');
  return transpose4(t, [0, 3, 1, 2]);
}

/** NCHW activations → NHWC. */
export function nchwToNhwc(x: TensorLike): Tensor {
  const [t] = rank4(x, 'input', '[N, C, H, W]');
  return transpose4(t, [0, 2, 3, 1]);
}
