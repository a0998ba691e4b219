/**
 * Pooling with PyTorch's options (`kernelSize`, `stride` defaulting to the kernel, `padding`,
 * `dilation`, `ceilMode`), plus explicit `{ top, bottom, left, right }` padding. Max pooling never
 * lets a padded cell win (PyTorch pads with −inf), so explicit padding with the odd cell at the
 * bottom/right reproduces TensorFlow's `'SAME'` pooling.
 */
import { describeValue, shapeSize, type Tensor, type TensorLike } from '../tensor.js';
import { resolvePair, type ExplicitPadding, type IntPair } from '../kernels/geometry.js';
import { checkInput, Module, type PlanStep } from './module.js';
import { checkOptionNames } from '../kernels/validate.js';

export type PoolPadding = IntPair | ExplicitPadding;

export interface PoolGeometry {
  readonly batched: boolean;
  readonly batch: number;
  readonly channels: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly outputShape: number[];
  /** For output row i, the kernel rows [rowTaps[2i], rowTaps[2i+1]) that land on real input rows. */
  readonly rowTaps: Int32Array;
  /** Likewise for output columns. */
  readonly colTaps: Int32Array;
}

function resolvePoolPadding(padding: unknown): { pad: ExplicitPadding; explicit: boolean } {
  if (padding === undefined) return { pad: { top: 0, bottom: 0, left: 0, right: 0 }, explicit: false };
  if (typeof padding === 'number' || Array.isArray(padding)) {
    const [h, w] = resolvePair(padding, 'padding', 0, 0);
    return { pad: { top: h, bottom: h, left: w, right: w }, explicit: false };
  }
  if (typeof padding === 'object' && padding !== null) {
    const p = padding as Record<string, unknown>;
    for (const key of Object.keys(p)) {
      if (!['top', 'bottom', 'left', 'right'].includes(key)) {
        throw new TypeError(`padding has an unknown key ${JSON.stringify(key)}; expected { top, bottom, left, right }`);
      }
    }
    const side = (name: string): number => {
      const v = p[name];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
        throw new RangeError(`padding.${name} must be a non-negative integer, got ${describeValue(v)}`);
      }
      return v;
    };
    return { pad: { top: side('top'), bottom: side('bottom'), left: side('left'), right: side('right') }, explicit: true };
  }
  throw new TypeError(`padding must be an integer, a pair [h, w] or { top, bottom, left, right }, got ${describeValue(padding)}`);
}

/** PyTorch's pooling output size, including the ceil-mode rule that the last window must start inside the input or the leading padding. */
export function poolOutputSize(
  size: number, padBefore: number, padAfter: number, kernel: number, stride: number, dilation: number, ceilMode: boolean,
): number {
  const span = size + padBefore + padAfter - dilation * (kernel - 1) - 1;
  if (span < 0) return 0;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceilMode && (out - 1) * stride >= size + padBefore) out--;
  return out;
}

abstract class Pool2d extends Module {
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  /** Resolved per side. */
  readonly padding: ExplicitPadding;
  readonly dilation: readonly [number, number];
  readonly ceilMode: boolean;

  protected constructor(name: string, kernelSize: unknown, stride: unknown, padding: unknown, dilation: unknown, ceilMode: unknown) {
    super();
    if (kernelSize === undefined) throw new TypeError(`${name}: kernelSize is required`);
    this.kernelSize = resolvePair(kernelSize, 'kernelSize', 1);
    this.stride = stride === undefined || stride === null ? this.kernelSize : resolvePair(stride, 'stride', 1);
    this.dilation = resolvePair(dilation, 'dilation', 1);
    const { pad, explicit } = resolvePoolPadding(padding);
    this.padding = pad;
    if (!explicit) {
      // PyTorch's rule for symmetric padding; explicit padding is checked window by window instead.
      const [kh, kw] = this.kernelSize;
      const effH = this.dilation[0] * (kh - 1) + 1;
      const effW = this.dilation[1] * (kw - 1) + 1;
      if (pad.top > Math.floor(effH / 2) || pad.left > Math.floor(effW / 2)) {
        throw new RangeError(
          `${name}: padding should be at most half of the effective kernel size, got padding [${pad.top}, ${pad.left}] with kernelSize [${kh}, ${kw}] and dilation [${this.dilation.join(', ')}]`,
        );
      }
    }
    if (ceilMode !== undefined && typeof ceilMode !== 'boolean') throw new TypeError(`ceilMode must be a boolean, got ${describeValue(ceilMode)}`);
    this.ceilMode = ceilMode ?? false;
  }

  geometry(inputShape: readonly number[]): PoolGeometry {
    const name = this.constructor.name;
    if (inputShape.length !== 3 && inputShape.length !== 4) {
      throw new RangeError(`${name}: input must be [N, C, H, W] or [C, H, W], got shape ${describeValue(inputShape)}`);
    }
    const batched = inputShape.length === 4;
    const [batch, channels, inHeight, inWidth] = (batched ? inputShape : [1, ...inputShape]) as [number, number, number, number];
    const p = this.padding;
    const outHeight = poolOutputSize(inHeight, p.top, p.bottom, this.kernelSize[0], this.stride[0], this.dilation[0], this.ceilMode);
    const outWidth = poolOutputSize(inWidth, p.left, p.right, this.kernelSize[1], this.stride[1], this.dilation[1], this.ceilMode);
    if (outHeight < 1 || outWidth < 1) {
      throw new RangeError(
        `${name}: output size must be at least 1x1, got ${outHeight}x${outWidth} for input ${inHeight}x${inWidth}, kernelSize [${this.kernelSize.join(', ')}], padding {top: ${p.top}, bottom: ${p.bottom}, left: ${p.left}, right: ${p.right}}`,
      );
    }
    return {
      batched, batch, channels, inHeight, inWidth, outHeight, outWidth,
      outputShape: batched ? [batch, channels, outHeight, outWidth] : [channels, outHeight, outWidth],
      rowTaps: this.windowTaps(inHeight, outHeight, 0, p.top),
      colTaps: this.windowTaps(inWidth, outWidth, 1, p.left),
    };
  }

  /**
   * The range of kernel taps of each window that falls on real cells (so kernels need no bounds
   * checks). Every window must reach at least one real cell, or a max pool would produce −inf.
   */
  private windowTaps(size: number, outSize: number, axis: 0 | 1, padBefore: number): Int32Array {
    const k = this.kernelSize[axis];
    const s = this.stride[axis];
    const d = this.dilation[axis];
    const taps = new Int32Array(2 * outSize);
    for (let o = 0; o < outSize; o++) {
      const start = o * s - padBefore;
      let first = 0;
      while (first < k && start + first * d < 0) first++;
      let end = first;
      while (end < k && start + end * d < size) end++;
      taps[2 * o] = first;
      taps[2 * o + 1] = end;
      if (end === first) {
        throw new RangeError(
          `${this.constructor.name}: output ${axis === 0 ? 'row' : 'column'} ${o} would pool over padding only (input size ${size}, padding before ${padBefore}, kernel ${k}, stride ${s}, dilation ${d}); reduce the padding`,
        );
      }
    }
    return taps;
  }

  outputShape(inputShape: readonly number[]): number[] {
    return this.geometry(inputShape).outputShape;
  }

  override producesNewTensor(): boolean {
    return true;
  }

  protected abstract pool(x: Float32Array, g: PoolGeometry, y: Float32Array): void;

  forward(x: TensorLike): Tensor {
    const input = checkInput(x, this.constructor.name, [3, 4], '[N, C, H, W] or [C, H, W]');
    const g = this.geometry(input.shape);
    const y = new Float32Array(shapeSize(g.outputShape));
    this.pool(input.data, g, y);
    return { shape: g.outputShape, data: y };
  }

  override plan(inputShape: readonly number[]): PlanStep {
    const g = this.geometry(inputShape);
    const out: Tensor = { shape: g.outputShape, data: new Float32Array(shapeSize(g.outputShape)) };
    return {
      outputShape: g.outputShape,
      run: (input) => {
        this.pool(input.data, g, out.data);
        return out;
      },
    };
  }

  protected reprParts(): string[] {
    const p = this.padding;
    const padding =
      p.top === p.bottom && p.left === p.right
        ? p.top === p.left ? `${p.top}` : `(${p.top}, ${p.left})`
        : `{top: ${p.top}, bottom: ${p.bottom}, left: ${p.left}, right: ${p.right}}`;
    const pair = (v: readonly [number, number]): string => (v[0] === v[1] ? `${v[0]}` : `(${v[0]}, ${v[1]})`);
    return [`kernel_size=${pair(this.kernelSize)}`, `stride=${pair(this.stride)}`, `padding=${padding}`];
  }
}

export interface MaxPool2dOptions {
  kernelSize: IntPair;
  /** Defaults to kernelSize. */
  stride?: IntPair | null;
  /** Symmetric (PyTorch, at most half the kernel) or explicit per side (e.g. TensorFlow 'SAME'). */
  padding?: PoolPadding;
  dilation?: IntPair;
  ceilMode?: boolean;
}

/** `nn.MaxPool2d`: max over each window; padded cells never win. NaN propagates, as in PyTorch. */
export class MaxPool2d extends Pool2d {
  constructor(options: MaxPool2dOptions | IntPair) {
    const o = (typeof options === 'number' || Array.isArray(options) ? { kernelSize: options } : options) as MaxPool2dOptions;
    checkOptionNames(o, ['kernelSize', 'stride', 'padding', 'dilation', 'ceilMode'], 'MaxPool2d');
    super('MaxPool2d', o.kernelSize, o.stride, o.padding, o.dilation, o.ceilMode);
  }

  protected pool(x: Float32Array, g: PoolGeometry, y: Float32Array): void {
    const [sh, sw] = this.stride;
    const [dh, dw] = this.dilation;
    const { top, left } = this.padding;
    const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, rowTaps, colTaps } = g;
    const planes = g.batch * g.channels;
    let yi = 0;
    for (let plane = 0; plane < planes; plane++) {
      const base = plane * H * W;
      for (let oy = 0; oy < OH; oy++) {
        const p0 = rowTaps[2 * oy]!;
        const p1 = rowTaps[2 * oy + 1]!;
        const rowStart = base + (oy * sh - top + p0 * dh) * W;
        for (let ox = 0; ox < OW; ox++) {
          const q0 = colTaps[2 * ox]!;
          const q1 = colTaps[2 * ox + 1]!;
          const start = (rowStart + ox * sw - left + q0 * dw) | 0;
          let m: number;
          if (p1 - p0 === 2 && q1 - q0 === 2 && dw === 1) {
            // The common full 2×2 window; `v !== v` lets NaN win, as in PyTorch.
            const below = (start + dh * W) | 0;
            m = x[start]!;
            const b = x[start + 1]!;
            const c = x[below]!;
            const d = x[below + 1]!;
            if (b > m || b !== b) m = b;
            if (c > m || c !== c) m = c;
            if (d > m || d !== d) m = d;
          } else {
            m = -Infinity;
            for (let p = 0; p < p1 - p0; p++) {
              const row = (start + p * dh * W) | 0;
              for (let q = 0; q < q1 - q0; q++) {
                const v = x[row + q * dw]!;
                if (v > m || v !== v) m = v;
              }
            }
          }
          y[yi++] = m;
        }
      }
    }
  }

  override extraRepr(): string {
    const d = this.dilation;
    return [...this.reprParts(), `dilation=${d[0] === d[1] ? d[0] : `(${d[0]}, ${d[1]})`}`, `ceil_mode=${this.ceilMode ? 'True' : 'False'}`].join(', ');
  }
}

export interface AvgPool2dOptions {
  kernelSize: IntPair;
  stride?: IntPair | null;
  padding?: PoolPadding;
  ceilMode?: boolean;
  /** Count padded cells in the divisor (PyTorch's default true; TensorFlow 'SAME' is false). */
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

/** `nn.AvgPool2d` with PyTorch's divisor rules (padding counted unless countIncludePad is false). */
export class AvgPool2d extends Pool2d {
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(options: AvgPool2dOptions | IntPair) {
    const o = (typeof options === 'number' || Array.isArray(options) ? { kernelSize: options } : options) as AvgPool2dOptions;
    checkOptionNames(o, ['kernelSize', 'stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'], 'AvgPool2d');
    super('AvgPool2d', o.kernelSize, o.stride, o.padding, 1, o.ceilMode);
    this.countIncludePad = o.countIncludePad ?? true;
    const divisor = o.divisorOverride ?? null;
    if (divisor !== null && (typeof divisor !== 'number' || !Number.isInteger(divisor) || divisor < 1)) {
      throw new RangeError(`divisorOverride must be a positive integer or null, got ${describeValue(divisor)}`);
    }
    this.divisorOverride = divisor;
  }

  protected pool(x: Float32Array, g: PoolGeometry, y: Float32Array): void {
    const [kh, kw] = this.kernelSize;
    const [sh, sw] = this.stride;
    const { top, bottom, left, right } = this.padding;
    const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
    const planes = g.batch * g.channels;
    const includePad = this.countIncludePad;
    const override = this.divisorOverride;
    let yi = 0;
    for (let plane = 0; plane < planes; plane++) {
      const base = plane * H * W;
      for (let oy = 0; oy < OH; oy++) {
        let hStart = oy * sh - top;
        let hEnd = Math.min(hStart + kh, H + bottom);
        const padH = hEnd - hStart;
        hStart = Math.max(hStart, 0);
        hEnd = Math.min(hEnd, H);
        for (let ox = 0; ox < OW; ox++) {
          let wStart = ox * sw - left;
          let wEnd = Math.min(wStart + kw, W + right);
          const padArea = padH * (wEnd - wStart);
          wStart = Math.max(wStart, 0);
          wEnd = Math.min(wEnd, W);
          let sum = 0;
          for (let iy = hStart; iy < hEnd; iy++) {
            const row = base + iy * W;
            for (let ix = wStart; ix < wEnd; ix++) sum += x[row + ix]!;
          }
          const divisor = override !== null ? override : includePad ? padArea : (hEnd - hStart) * (wEnd - wStart);
          y[yi++] = sum / divisor;
        }
      }
    }
  }

  override extraRepr(): string {
    return [...this.reprParts(), `ceil_mode=${this.ceilMode ? 'True' : 'False'}`, `count_include_pad=${this.countIncludePad ? 'True' : 'False'}`].join(', ');
  }
}

/**
 * `nn.AdaptiveAvgPool2d(outputSize)`: output cell i averages input rows floor(i·H/out) to
 * ceil((i+1)·H/out) − 1 (likewise for columns). `AdaptiveAvgPool2d(1)` is global average pooling.
 */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: readonly [number, number];

  constructor(outputSize: IntPair) {
    super();
    this.outputSize = resolvePair(outputSize, 'outputSize', 1);
  }

  private dims(inputShape: readonly number[]): { batched: boolean; planes: number; H: number; W: number; shape: number[] } {
    if (inputShape.length !== 3 && inputShape.length !== 4) {
      throw new RangeError(`AdaptiveAvgPool2d: input must be [N, C, H, W] or [C, H, W], got shape ${describeValue(inputShape)}`);
    }
    const batched = inputShape.length === 4;
    const [n, c, H, W] = (batched ? inputShape : [1, ...inputShape]) as [number, number, number, number];
    const [oh, ow] = this.outputSize;
    return { batched, planes: n * c, H, W, shape: batched ? [n, c, oh, ow] : [c, oh, ow] };
  }

  outputShape(inputShape: readonly number[]): number[] {
    return this.dims(inputShape).shape;
  }

  override producesNewTensor(): boolean {
    return true;
  }

  private pool(x: Float32Array, planes: number, H: number, W: number, y: Float32Array): void {
    const [oh, ow] = this.outputSize;
    let yi = 0;
    for (let plane = 0; plane < planes; plane++) {
      const base = plane * H * W;
      for (let i = 0; i < oh; i++) {
        const h0 = Math.floor((i * H) / oh);
        const h1 = Math.ceil(((i + 1) * H) / oh);
        for (let j = 0; j < ow; j++) {
          const w0 = Math.floor((j * W) / ow);
          const w1 = Math.ceil(((j + 1) * W) / ow);
          let sum = 0;
          for (let iy = h0; iy < h1; iy++) {
            const row = base + iy * W;
            for (let ix = w0; ix < w1; ix++) sum += x[row + ix]!;
          }
          y[yi++] = sum / ((h1 - h0) * (w1 - w0));
        }
      }
    }
  }

  forward(x: TensorLike): Tensor {
    const input = checkInput(x, 'AdaptiveAvgPool2d', [3, 4], '[N, C, H, W] or [C, H, W]');
    const d = this.dims(input.shape);
    const y = new Float32Array(shapeSize(d.shape));
    this.pool(input.data, d.planes, d.H, d.W, y);
    return { shape: d.shape, data: y };
  }

  override plan(inputShape: readonly number[]): PlanStep {
    const d = this.dims(inputShape);
    const out: Tensor = { shape: d.shape, data: new Float32Array(shapeSize(d.shape)) };
    return {
      outputShape: d.shape,
      run: (input) => {
        this.pool(input.data, d.planes, d.H, d.W, out.data);
        return out;
      },
    };
  }

  override extraRepr(): string {
    const [h, w] = this.outputSize;
    return `output_size=${h === w ? h : `(${h}, ${w})`}`;
  }
}
