/**
 * A learnable tensor: PyTorch's `nn.Parameter`. It is a Tensor (`shape`, `data`) that also carries
 * its gradient `grad` (same shape, float32) and `requiresGrad`. The gradient array is created on
 * first use, so a model used only for inference never pays for it; `backward` adds into it (as
 * PyTorch accumulates `.grad`) and `zeroGrad` clears it.
 */
import { checkShape, describeValue, shapeSize, type Tensor } from '../tensor.js';

/** The placeholder data of parameters built only for their shapes (`withShapeOnlyParameters`). */
export const SHAPE_ONLY_DATA = new Float32Array(0);

export class Parameter implements Tensor {
  readonly shape: number[];
  data: Float32Array;
  /** False freezes the parameter: backward computes no gradient for it and optimizers skip it. */
  requiresGrad = true;
  private gradient: Float32Array | null = null;

  constructor(shape: readonly number[], data: Float32Array) {
    checkShape(shape, 'Parameter', 0, 'Parameter: shape');
    if (!(data instanceof Float32Array)) throw new TypeError(`Parameter: data must be a Float32Array, got ${describeValue(data)}`);
    if (data !== SHAPE_ONLY_DATA && data.length !== shapeSize(shape)) {
      throw new RangeError(`Parameter: data has ${data.length} elements, shape ${describeValue(shape)} needs ${shapeSize(shape)}`);
    }
    this.shape = shape.slice();
    this.data = data;
  }

  /** ∂loss/∂data, accumulated by every backward since the last `zeroGrad` (created zeroed on first read). */
  get grad(): Float32Array {
    if (this.gradient === null || this.gradient.length !== this.data.length) this.gradient = new Float32Array(this.data.length);
    return this.gradient;
  }

  /** The gradient as a Tensor of the parameter's shape (what the backward kernels write into). */
  gradTensor(): Tensor {
    return { shape: this.shape, data: this.grad };
  }

  /** True once a gradient array exists (a backward ran or `grad` was read). */
  get hasGrad(): boolean {
    return this.gradient !== null;
  }

  zeroGrad(): void {
    if (this.gradient !== null) this.gradient.fill(0);
  }
}

/** A new parameter of `shape` over `data`. */
export function parameter(shape: readonly number[], data: Float32Array): Parameter {
  return new Parameter(shape, data);
}
