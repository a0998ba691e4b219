/**
 * Pooling with PyTorch's options (`kernelSize`, `stride` defaulting to the kernel, `padding`,
 * `dilation`, `ceilMode`), plus explicit `{ top, bottom, left, right }` padding. Max pooling never
 * lets a padded cell win (PyTorch pads with −inf), so explicit padding with the odd cell at the
 * bottom/right reproduces TensorFlow's `'SAME'` pooling.
 */
import { asTensor, checkShape, describeValue, type Tensor, type TensorLike } from '../tensor.js';
import { poolOutputSize, resolveExplicitPadding, resolvePair, type ExplicitPadding, type IntPair } from '../geometry.js';
import { asInt64Tensor, isInt64Tensor, type Int64Tensor } from '../int64.js';

export { poolOutputSize };
import { checkGradientShape, checkInput, Module, reuseBuffer, savedFor } from './module.js';
import { sameShape } from '../tensor.js';
import type { PlanStep } from './compile.js';
import { checkElements, checkShapeElements, readBoolean, readOptions } from '../kernels/validate.js';
import { MAX_DIMENSION } from '../checks.js';
import { planOutput } from './plan-memory.js';

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
  if (typeof padding === 'object' && padding !== null) return { pad: resolveExplicitPadding(padding), explicit: true };
  throw new TypeError(`padding must be an integer, a pair [h, w] or { top, bottom, left, right }, got ${describeValue(padding)}`);
}

/**
 * The input shape checks of every pooling: as in PyTorch, the batch may be 0 (an empty output)
 * but the channels, height and width may not.
 */
function checkPoolInput(inputShape: readonly number[], name: string): void {
  checkShape(inputShape, 'input', 0);
  const rank = inputShape.length;
  for (let axis = rank === 4 ? 1 : 0; axis < rank; axis++) {
    if (inputShape[axis] === 0) {
      throw new RangeError(`${name}: input.shape[${axis}] must be at least 1 (only the batch may be 0), got shape ${describeValue(inputShape)}`);
    }
  }
}

/** Kernel taps `[first, end)` of the window starting at `start` that land on real cells (first ≥ end: none). */
function tapRange(start: number, size: number, kernel: number, dilation: number): [number, number] {
  const first = start >= 0 ? 0 : Math.ceil(-start / dilation);
  const end = Math.min(kernel, Math.ceil((size - start) / dilation));
  return [first, end];
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * The windows of one axis that could pool over padding only, without walking every window or
 * tap (shape-only work stays small whatever the kernel and padding): a window starting at or
 * after 0 reaches a real cell iff it starts before `size`, worst for the last one; a window
 * starting before 0 first reaches 0 or beyond at the offset (start mod dilation), which is a
 * real cell whenever dilation ≤ size, worst for window 0 (the most taps to skip); only with
 * dilation > size do the offsets matter, and they repeat every dilation/gcd(stride, dilation)
 * windows. Returns the first window that reaches no real cell, or -1.
 */
function windowOverPaddingOnly(size: number, outSize: number, kernel: number, stride: number, dilation: number, padBefore: number): number {
  const reaches = (o: number): boolean => {
    const [first, end] = tapRange(o * stride - padBefore, size, kernel, dilation);
    return first < end;
  };
  if (outSize < 1) return -1;
  if (!reaches(0)) return 0;
  if (!reaches(outSize - 1)) return outSize - 1;
  if (dilation > size) {
    const leading = Math.min(outSize, Math.ceil(padBefore / stride));
    const period = dilation / gcd(stride, dilation);
    for (let o = 0; o < Math.min(leading, period); o++) if (!reaches(o)) return o;
  }
  return -1;
}


abstract class Pool2d extends Module {
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  /** Resolved per side. */
  readonly padding: ExplicitPadding;
  readonly dilation: readonly [number, number];
  readonly ceilMode: boolean;
  /**
   * Whether a window may lie on padding only. PyTorch's max pooling allows it (with dilation, a
   * window can step over the whole input) and gives −inf there; explicit padding and average
   * pooling reject such windows instead.
   */
  private readonly emptyWindows: boolean;

  protected constructor(
    name: string, kernelSize: unknown, stride: unknown, padding: unknown, dilation: unknown, ceilMode: unknown, emptyWindows = false,
  ) {
    super();
    if (kernelSize === undefined) throw new TypeError(`${name}: kernelSize is required`);
    this.kernelSize = resolvePair(kernelSize, 'kernelSize', 1);
    this.stride = stride === undefined || stride === null ? this.kernelSize : resolvePair(stride, 'stride', 1);
    this.dilation = resolvePair(dilation, 'dilation', 1);
    const { pad, explicit } = resolvePoolPadding(padding);
    this.padding = pad;
    if (!explicit) {
      // PyTorch's rule for symmetric padding, on the plain kernel size (dilation does not count);
      // explicit padding is checked window by window instead.
      const [kh, kw] = this.kernelSize;
      if (pad.top > Math.floor(kh / 2) || pad.left > Math.floor(kw / 2)) {
        throw new RangeError(
          `${name}: padding should be at most half of the kernel size, got padding [${pad.top}, ${pad.left}] with kernelSize [${kh}, ${kw}]`,
        );
      }
    }
    this.emptyWindows = emptyWindows && !explicit;
    this.ceilMode = readBoolean(ceilMode, `${name}: ceilMode`, false);
  }

  /** Output sizes and checks from the shapes alone, in constant work (no window loop). */
  private outputSizes(inputShape: readonly number[]): Omit<PoolGeometry, 'rowTaps' | 'colTaps'> {
    const name = this.constructor.name;
    checkPoolInput(inputShape, name);
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
    for (const axis of this.emptyWindows ? [] : ([0, 1] as const)) {
      const size = axis === 0 ? inHeight : inWidth;
      const padBefore = axis === 0 ? p.top : p.left;
      const [k, s, d] = [this.kernelSize[axis], this.stride[axis], this.dilation[axis]];
      const o = windowOverPaddingOnly(size, axis === 0 ? outHeight : outWidth, k, s, d, padBefore);
      if (o >= 0) {
        throw new RangeError(
          `${name}: output ${axis === 0 ? 'row' : 'column'} ${o} would pool over padding only (input size ${size}, padding before ${padBefore}, kernel ${k}, stride ${s}, dilation ${d}); reduce the padding`,
        );
      }
    }
    const outputShape = batched ? [batch, channels, outHeight, outWidth] : [channels, outHeight, outWidth];
    return { batched, batch, channels, inHeight, inWidth, outHeight, outWidth, outputShape };
  }

  /** The geometry with its tap tables; the output size is checked against the size limit first. */
  geometry(inputShape: readonly number[]): PoolGeometry {
    const sizes = this.outputSizes(inputShape);
    checkShapeElements(sizes.outputShape, `${this.constructor.name} output`);
    const p = this.padding;
    return {
      ...sizes,
      rowTaps: this.windowTaps(sizes.inHeight, sizes.outHeight, 0, p.top),
      colTaps: this.windowTaps(sizes.inWidth, sizes.outWidth, 1, p.left),
    };
  }

  /**
   * The range of kernel taps of each window that falls on real cells (so kernels need no bounds
   * checks), in constant work per window; `outputSizes` has checked that every window reaches a
   * real cell, unless empty windows are allowed (then first ≥ end for them, and a max pool gives −inf).
   */
  private windowTaps(size: number, outSize: number, axis: 0 | 1, padBefore: number): Int32Array {
    const k = this.kernelSize[axis];
    const s = this.stride[axis];
    const d = this.dilation[axis];
    const taps = new Int32Array(2 * outSize);
    for (let o = 0; o < outSize; o++) {
      const [first, end] = tapRange(o * s - padBefore, size, k, d);
      taps[2 * o] = first;
      taps[2 * o + 1] = end;
    }
    return taps;
  }

  outputShape(inputShape: readonly number[]): number[] {
    return this.outputSizes(inputShape).outputShape;
  }

  override producesNewTensor(): boolean {
    return true;
  }

  protected abstract pool(x: Float32Array, g: PoolGeometry, y: Float32Array): void;

  /** The last train-mode forward's geometry and input shape (null in eval mode). */
  private saved: { inputShape: number[]; g: PoolGeometry } | null = null;
  private trainOutput: Float32Array | null = null;
  private gradInputBuffer: Float32Array | null = null;

  /** The train-mode pooling: `pool`, plus whatever the gradient needs (max pooling's positions). */
  protected poolTraining(x: Float32Array, g: PoolGeometry, y: Float32Array): void {
    this.pool(x, g, y);
  }

  /** Adds each output's gradient into the input cells of its window (dx starts zeroed). */
  protected poolGradient(dy: Float32Array, g: PoolGeometry, dx: Float32Array): void {
    void dy; void g; void dx;
    throw new TypeError(`${this.constructor.name} cannot be trained: it has no backward`);
  }

  forward(x: TensorLike): Tensor {
    const input = checkInput(x, this.constructor.name, [3, 4], '[N, C, H, W] or [C, H, W]');
    if (this.training) {
      // The geometry (with its tap tables) is reused while the input shape repeats.
      const g = this.saved !== null && sameShape(this.saved.inputShape, input.shape) ? this.saved.g : this.geometry(input.shape);
      this.trainOutput = reuseBuffer(this.trainOutput, checkShapeElements(g.outputShape, 'output'));
      this.poolTraining(input.data, g, this.trainOutput);
      this.saved = { inputShape: input.shape.slice(), g };
      return { shape: g.outputShape, data: this.trainOutput };
    }
    this.saved = null;
    const g = this.geometry(input.shape);
    const y = new Float32Array(checkShapeElements(g.outputShape, 'output'));
    this.pool(input.data, g, y);
    return { shape: g.outputShape, data: y };
  }

  override backward(gradOutput: TensorLike): Tensor {
    const { inputShape, g } = savedFor(this.saved, this);
    const dy = asTensor(gradOutput, 'gradOutput');
    checkGradientShape(dy, g.outputShape, this);
    this.gradInputBuffer = reuseBuffer(this.gradInputBuffer, g.batch * g.channels * g.inHeight * g.inWidth);
    this.gradInputBuffer.fill(0);
    this.poolGradient(dy.data, g, this.gradInputBuffer);
    return { shape: inputShape.slice(), data: this.gradInputBuffer };
  }

  override plan(inputShape: readonly number[]): PlanStep {
    const g = this.geometry(inputShape);
    const out = planOutput(g.outputShape, 'output');
    return {
      outputShape: g.outputShape,
      output: out,
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
  /**
   * PyTorch's `return_indices`: `forwardWithIndices` is then the way to call it (`forward` returns
   * the output alone, so the module still chains in a Sequential).
   */
  returnIndices?: boolean;
}

/**
 * `nn.MaxPool2d`: max over each window; padded cells never win. NaN propagates, as in PyTorch. A
 * window that dilation steps over the whole input with (all padding) gives −inf, as in PyTorch.
 */
export class MaxPool2d extends Pool2d {
  readonly returnIndices: boolean;

  constructor(optionsOrKernel: MaxPool2dOptions | IntPair) {
    const options = typeof optionsOrKernel === 'number' || Array.isArray(optionsOrKernel) ? { kernelSize: optionsOrKernel } : optionsOrKernel;
    const o = readOptions<MaxPool2dOptions>(options, ['kernelSize', 'stride', 'padding', 'dilation', 'ceilMode', 'returnIndices'], 'MaxPool2d');
    super('MaxPool2d', o.kernelSize, o.stride, o.padding, o.dilation, o.ceilMode, true);
    this.returnIndices = readBoolean(o.returnIndices, 'MaxPool2d: returnIndices', false);
  }

  /**
   * PyTorch's `output, indices = pool(x)` with `return_indices=True`: `indices` (int64, the output's
   * shape) holds the flat position `h·W + w` of each maximum within its input plane (the first of
   * equal maxima, the last NaN), ready for `MaxUnpool2d`. For an all-padding window it is the
   * position of its first tap, as in PyTorch.
   */
  forwardWithIndices(x: TensorLike): [Tensor, Int64Tensor] {
    const input = checkInput(x, 'MaxPool2d', [3, 4], '[N, C, H, W] or [C, H, W]');
    const g = this.geometry(input.shape);
    const size = checkShapeElements(g.outputShape, 'output');
    const y = new Float32Array(size);
    const positions = new Int32Array(size);
    this.poolWithIndices(input.data, g, y, positions);
    return [{ shape: g.outputShape, data: y }, { shape: g.outputShape.slice(), data: BigInt64Array.from(positions, (v) => BigInt(v)) }];
  }

  /** Where each maximum of the last train-mode forward is (flat positions in its input plane). */
  private positions: Int32Array | null = null;

  protected override poolTraining(x: Float32Array, g: PoolGeometry, y: Float32Array): void {
    if (this.positions === null || this.positions.length !== y.length) this.positions = new Int32Array(y.length);
    this.poolWithIndices(x, g, y, this.positions);
  }

  /** Each output's gradient goes to the input cell that won its window (as PyTorch's max_pool2d_backward). */
  protected override poolGradient(dy: Float32Array, g: PoolGeometry, dx: Float32Array): void {
    scatterToPositions(dy, this.positions!, g.outHeight * g.outWidth, g.inHeight * g.inWidth, dx);
  }

  /** The general loop of `pool`, also recording where each maximum is. */
  private poolWithIndices(x: Float32Array, g: PoolGeometry, y: Float32Array, positions: Int32Array): void {
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
        const firstRow = oy * sh - top + p0 * dh;
        for (let ox = 0; ox < OW; ox++) {
          const q0 = colTaps[2 * ox]!;
          const q1 = colTaps[2 * ox + 1]!;
          const first = firstRow * W + ox * sw - left + q0 * dw;
          let m = -Infinity;
          let at = first;
          for (let p = 0; p < p1 - p0; p++) {
            const row = first + p * dh * W;
            for (let q = 0; q < q1 - q0; q++) {
              const v = x[base + row + q * dw]!;
              if (v > m || v !== v) {
                m = v;
                at = row + q * dw;
              }
            }
          }
          y[yi] = m;
          positions[yi++] = at;
        }
      }
    }
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

  constructor(optionsOrKernel: AvgPool2dOptions | IntPair) {
    const options = typeof optionsOrKernel === 'number' || Array.isArray(optionsOrKernel) ? { kernelSize: optionsOrKernel } : optionsOrKernel;
    const o = readOptions<AvgPool2dOptions>(options, ['kernelSize', 'stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'], 'AvgPool2d');
    super('AvgPool2d', o.kernelSize, o.stride, o.padding, 1, o.ceilMode);
    this.countIncludePad = readBoolean(o.countIncludePad, 'AvgPool2d: countIncludePad', true);
    const divisor = o.divisorOverride ?? null;
    if (divisor !== null && (typeof divisor !== 'number' || !Number.isInteger(divisor) || divisor < 1 || divisor > MAX_DIMENSION)) {
      throw new RangeError(`divisorOverride must be a positive integer up to ${MAX_DIMENSION} or null, got ${describeValue(divisor)}`);
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

  /** The forward's windows and divisors, run backwards: each cell of a window gets dy / divisor. */
  protected override poolGradient(dy: Float32Array, g: PoolGeometry, dx: Float32Array): void {
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
          const divisor = override !== null ? override : includePad ? padArea : (hEnd - hStart) * (wEnd - wStart);
          const share = dy[yi++]! / divisor;
          for (let iy = hStart; iy < hEnd; iy++) {
            const row = base + iy * W;
            for (let ix = wStart; ix < wEnd; ix++) dx[row + ix] += share;
          }
        }
      }
    }
  }

  override extraRepr(): string {
    return [...this.reprParts(), `ceil_mode=${this.ceilMode ? 'True' : 'False'}`, `count_include_pad=${this.countIncludePad ? 'True' : 'False'}`].join(', ');
  }
}

/** An adaptive pooling output size: an integer, or a pair whose null entries keep the input's size. */
export type AdaptiveOutputSize = number | null | readonly [number | null, number | null];

function resolveAdaptiveOutputSize(outputSize: unknown, name: string): [number | null, number | null] {
  if (outputSize === null) return [null, null];
  if (Array.isArray(outputSize) && outputSize.length === 2 && outputSize.some((v) => v === null)) {
    const [h, w] = outputSize as [unknown, unknown];
    const one = (v: unknown, axis: string): number | null => (v === null ? null : resolvePair(v, `${name}: outputSize[${axis}]`, 1)[0]);
    return [one(h, '0'), one(w, '1')];
  }
  return resolvePair(outputSize, `${name}: outputSize`, 1);
}

interface AdaptiveDims {
  readonly planes: number;
  readonly H: number;
  readonly W: number;
  readonly oh: number;
  readonly ow: number;
  readonly shape: number[];
}

/**
 * Shared by the adaptive poolings: output cell i reads input rows floor(i·H/out) to
 * ceil((i+1)·H/out) − 1 (likewise for columns), PyTorch's `start_index`/`end_index`.
 */
abstract class AdaptivePool2d extends Module {
  /** A null entry keeps the input's size along that axis (PyTorch's `None`). */
  readonly outputSize: readonly [number | null, number | null];

  protected constructor(outputSize: unknown) {
    super();
    const name = this.constructor.name;
    this.outputSize = resolveAdaptiveOutputSize(outputSize, name);
    checkElements((this.outputSize[0] ?? 1) * (this.outputSize[1] ?? 1), `${name}: each output plane (outputSize)`);
  }

  protected dims(inputShape: readonly number[]): AdaptiveDims {
    const name = this.constructor.name;
    checkPoolInput(inputShape, name);
    if (inputShape.length !== 3 && inputShape.length !== 4) {
      throw new RangeError(`${name}: input must be [N, C, H, W] or [C, H, W], got shape ${describeValue(inputShape)}`);
    }
    const batched = inputShape.length === 4;
    const [n, c, H, W] = (batched ? inputShape : [1, ...inputShape]) as [number, number, number, number];
    const oh = this.outputSize[0] ?? H;
    const ow = this.outputSize[1] ?? W;
    return { planes: n * c, H, W, oh, ow, shape: batched ? [n, c, oh, ow] : [c, oh, ow] };
  }

  outputShape(inputShape: readonly number[]): number[] {
    return this.dims(inputShape).shape;
  }

  override producesNewTensor(): boolean {
    return true;
  }

  protected abstract pool(x: Float32Array, d: AdaptiveDims, y: Float32Array, positions?: Int32Array): void;

  /** Adds each output's gradient into the input cells of its window (dx starts zeroed). */
  protected abstract poolGradient(dy: Float32Array, d: AdaptiveDims, dx: Float32Array, positions: Int32Array | null): void;

  /** Whether the train-mode forward records the winning positions (max pooling). */
  protected recordsPositions(): boolean {
    return false;
  }

  private saved: { inputShape: number[]; d: AdaptiveDims } | null = null;
  private trainOutput: Float32Array | null = null;
  private positions: Int32Array | null = null;
  private gradInputBuffer: Float32Array | null = null;

  forward(x: TensorLike): Tensor {
    const input = checkInput(x, this.constructor.name, [3, 4], '[N, C, H, W] or [C, H, W]');
    const d = this.dims(input.shape);
    const size = checkShapeElements(d.shape, 'output');
    if (this.training) {
      this.trainOutput = reuseBuffer(this.trainOutput, size);
      if (this.recordsPositions() && (this.positions === null || this.positions.length !== size)) this.positions = new Int32Array(size);
      this.pool(input.data, d, this.trainOutput, this.recordsPositions() ? this.positions! : undefined);
      this.saved = { inputShape: input.shape.slice(), d };
      return { shape: d.shape, data: this.trainOutput };
    }
    this.saved = null;
    const y = new Float32Array(size);
    this.pool(input.data, d, y);
    return { shape: d.shape, data: y };
  }

  override backward(gradOutput: TensorLike): Tensor {
    const { inputShape, d } = savedFor(this.saved, this);
    const dy = asTensor(gradOutput, 'gradOutput');
    checkGradientShape(dy, d.shape, this);
    this.gradInputBuffer = reuseBuffer(this.gradInputBuffer, d.planes * d.H * d.W);
    this.gradInputBuffer.fill(0);
    this.poolGradient(dy.data, d, this.gradInputBuffer, this.positions);
    return { shape: inputShape.slice(), data: this.gradInputBuffer };
  }

  override plan(inputShape: readonly number[]): PlanStep {
    const d = this.dims(inputShape);
    const out = planOutput(d.shape, 'output');
    return {
      outputShape: d.shape,
      output: out,
      run: (input) => {
        this.pool(input.data, d, out.data);
        return out;
      },
    };
  }

  override extraRepr(): string {
    const [h, w] = this.outputSize.map((v) => (v === null ? 'None' : String(v)));
    return `output_size=${h === w && h !== 'None' ? h : `(${h}, ${w})`}`;
  }
}

/**
 * The float64 sum of x[start .. start + length): four partial sums (elements i ≡ 0, 1, 2, 3 mod
 * 4 from start), then (s0 + s1) + (s2 + s3). One running sum is a chain of dependent adds (about
 * 1.3 ns per element, most of EfficientNet's squeeze-excitation time); four run side by side.
 * Float32 values summed in float64 are exact far beyond any plane size a model has, so the
 * order changes nothing a float32 result can show.
 */
export function planeSum(x: Float32Array, start: number, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const end = start + length;
  const quadEnd = start + (length & ~3);
  let i = start;
  for (; i < quadEnd; i += 4) {
    s0 += x[i]!;
    s1 += x[i + 1]!;
    s2 += x[i + 2]!;
    s3 += x[i + 3]!;
  }
  if (i < end) s0 += x[i++]!;
  if (i < end) s1 += x[i++]!;
  if (i < end) s2 += x[i]!;
  return s0 + s1 + (s2 + s3);
}

/**
 * `nn.AdaptiveAvgPool2d(outputSize)`: each output cell averages its window (see AdaptivePool2d).
 * `AdaptiveAvgPool2d(1)` is global average pooling; `[null, 3]` keeps the height.
 */
export class AdaptiveAvgPool2d extends AdaptivePool2d {
  constructor(outputSize: AdaptiveOutputSize) {
    super(outputSize);
  }

  protected pool(x: Float32Array, d: AdaptiveDims, y: Float32Array): void {
    const { planes, H, W, oh, ow } = d;
    if (oh === 1 && ow === 1) {
      for (let plane = 0; plane < planes; plane++) y[plane] = planeSum(x, plane * H * W, H * W) / (H * W);
      return;
    }
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

  protected poolGradient(dy: Float32Array, d: AdaptiveDims, dx: Float32Array): void {
    const { planes, H, W, oh, ow } = d;
    let yi = 0;
    for (let plane = 0; plane < planes; plane++) {
      const base = plane * H * W;
      for (let i = 0; i < oh; i++) {
        const h0 = Math.floor((i * H) / oh);
        const h1 = Math.ceil(((i + 1) * H) / oh);
        for (let j = 0; j < ow; j++) {
          const w0 = Math.floor((j * W) / ow);
          const w1 = Math.ceil(((j + 1) * W) / ow);
          const share = dy[yi++]! / ((h1 - h0) * (w1 - w0));
          for (let iy = h0; iy < h1; iy++) {
            const row = base + iy * W;
            for (let ix = w0; ix < w1; ix++) dx[row + ix] += share;
          }
        }
      }
    }
  }
}

export interface AdaptiveMaxPool2dOptions {
  /** PyTorch's `return_indices`; see `MaxPool2d.forwardWithIndices`. */
  returnIndices?: boolean;
}

/**
 * `nn.AdaptiveMaxPool2d(outputSize)`: the maximum of each adaptive window (NaN wins, the first of
 * equal maxima is kept), with `forwardWithIndices` for PyTorch's `return_indices=True`.
 */
export class AdaptiveMaxPool2d extends AdaptivePool2d {
  readonly returnIndices: boolean;

  constructor(outputSize: AdaptiveOutputSize, options: AdaptiveMaxPool2dOptions = {}) {
    super(outputSize);
    const o = readOptions<AdaptiveMaxPool2dOptions>(options, ['returnIndices'], 'AdaptiveMaxPool2d');
    this.returnIndices = readBoolean(o.returnIndices, 'AdaptiveMaxPool2d: returnIndices', false);
  }

  protected pool(x: Float32Array, d: AdaptiveDims, y: Float32Array, positions?: Int32Array): void {
    const { planes, H, W, oh, ow } = d;
    let yi = 0;
    for (let plane = 0; plane < planes; plane++) {
      const base = plane * H * W;
      for (let i = 0; i < oh; i++) {
        const h0 = Math.floor((i * H) / oh);
        const h1 = Math.ceil(((i + 1) * H) / oh);
        for (let j = 0; j < ow; j++) {
          const w0 = Math.floor((j * W) / ow);
          const w1 = Math.ceil(((j + 1) * W) / ow);
          let m = -Infinity;
          let at = h0 * W + w0;
          for (let iy = h0; iy < h1; iy++) {
            for (let ix = w0; ix < w1; ix++) {
              const v = x[base + iy * W + ix]!;
              if (v > m || v !== v) {
                m = v;
                at = iy * W + ix;
              }
            }
          }
          if (positions !== undefined) positions[yi] = at;
          y[yi++] = m;
        }
      }
    }
  }

  protected override recordsPositions(): boolean {
    return true;
  }

  protected poolGradient(dy: Float32Array, d: AdaptiveDims, dx: Float32Array, positions: Int32Array | null): void {
    scatterToPositions(dy, positions!, d.oh * d.ow, d.H * d.W, dx);
  }

  /** PyTorch's `output, indices = pool(x)`: indices (int64) are flat positions `h·W + w` in each input plane. */
  forwardWithIndices(x: TensorLike): [Tensor, Int64Tensor] {
    const input = checkInput(x, 'AdaptiveMaxPool2d', [3, 4], '[N, C, H, W] or [C, H, W]');
    const d = this.dims(input.shape);
    const size = checkShapeElements(d.shape, 'output');
    const y = new Float32Array(size);
    const positions = new Int32Array(size);
    this.pool(input.data, d, y, positions);
    return [{ shape: d.shape, data: y }, { shape: d.shape.slice(), data: BigInt64Array.from(positions, (v) => BigInt(v)) }];
  }
}

export interface LPPool2dOptions {
  kernelSize: IntPair;
  /** Defaults to kernelSize. */
  stride?: IntPair | null;
  ceilMode?: boolean;
}

/**
 * `nn.LPPool2d(normType, kernelSize, stride, ceilMode)`: the p-norm of each window,
 * (Σ x^p)^(1/p), computed as PyTorch does, `(avg_pool2d(x^p) · kH·kW)^(1/p)` with no padding: a
 * partial window of ceil mode is averaged over its real cells and then scaled by the full kernel
 * area, and a negative sum with an odd p gives NaN (a fractional power of a negative number).
 */
export class LPPool2d extends Pool2d {
  readonly normType: number;

  constructor(normType: number, optionsOrKernel: LPPool2dOptions | IntPair) {
    const options = typeof optionsOrKernel === 'number' || Array.isArray(optionsOrKernel) ? { kernelSize: optionsOrKernel } : optionsOrKernel;
    const o = readOptions<LPPool2dOptions>(options, ['kernelSize', 'stride', 'ceilMode'], 'LPPool2d');
    super('LPPool2d', o.kernelSize, o.stride, 0, 1, o.ceilMode);
    if (typeof normType !== 'number' || !Number.isFinite(normType) || normType <= 0) {
      throw new RangeError(`LPPool2d: normType must be a positive finite number, got ${describeValue(normType)}`);
    }
    this.normType = normType;
  }

  protected pool(x: Float32Array, g: PoolGeometry, y: Float32Array): void {
    const [kh, kw] = this.kernelSize;
    const [sh, sw] = this.stride;
    const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
    const p = this.normType;
    const inverse = 1 / p;
    const planes = g.batch * g.channels;
    let yi = 0;
    for (let plane = 0; plane < planes; plane++) {
      const base = plane * H * W;
      for (let oy = 0; oy < OH; oy++) {
        const hStart = oy * sh;
        const hEnd = Math.min(hStart + kh, H);
        for (let ox = 0; ox < OW; ox++) {
          const wStart = ox * sw;
          const wEnd = Math.min(wStart + kw, W);
          let sum = 0;
          for (let iy = hStart; iy < hEnd; iy++) {
            const row = base + iy * W;
            for (let ix = wStart; ix < wEnd; ix++) sum += x[row + ix]! ** p;
          }
          y[yi++] = ((sum / ((hEnd - hStart) * (wEnd - wStart))) * (kh * kw)) ** inverse;
        }
      }
    }
  }

  override extraRepr(): string {
    const pair = (v: readonly [number, number]): string => (v[0] === v[1] ? `${v[0]}` : `(${v[0]}, ${v[1]})`);
    return `norm_type=${this.normType}, kernel_size=${pair(this.kernelSize)}, stride=${pair(this.stride)}, ceil_mode=${this.ceilMode ? 'True' : 'False'}`;
  }
}

export interface MaxUnpool2dOptions {
  kernelSize: IntPair;
  /** Defaults to kernelSize. */
  stride?: IntPair | null;
  padding?: IntPair;
}

/**
 * `nn.MaxUnpool2d`: the partial inverse of `MaxPool2d`. `forward(x, indices, outputSize?)` writes
 * each input value at its index (a flat `h·W + w` position in its output plane, as
 * `MaxPool2d.forwardWithIndices` gives) into zeros; later values win where indices repeat. The
 * output size defaults to `(H − 1)·stride − 2·padding + kernelSize` and may be given (as
 * `[H, W]` or a whole shape) strictly within `stride` of that default, as in PyTorch.
 */
export class MaxUnpool2d extends Module {
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];

  constructor(optionsOrKernel: MaxUnpool2dOptions | IntPair) {
    super();
    const options = typeof optionsOrKernel === 'number' || Array.isArray(optionsOrKernel) ? { kernelSize: optionsOrKernel } : optionsOrKernel;
    const o = readOptions<MaxUnpool2dOptions>(options, ['kernelSize', 'stride', 'padding'], 'MaxUnpool2d');
    if (o.kernelSize === undefined) throw new TypeError('MaxUnpool2d: kernelSize is required');
    this.kernelSize = resolvePair(o.kernelSize, 'MaxUnpool2d: kernelSize', 1);
    this.stride = o.stride === undefined || o.stride === null ? this.kernelSize : resolvePair(o.stride, 'MaxUnpool2d: stride', 1);
    this.padding = resolvePair(o.padding, 'MaxUnpool2d: padding', 0, 0);
  }

  /** The output shape for an input of shape `inputShape`, at the default or the given output size. */
  outputShape(inputShape: readonly number[], outputSize?: readonly number[]): number[] {
    checkPoolInput(inputShape, 'MaxUnpool2d');
    if (inputShape.length !== 3 && inputShape.length !== 4) {
      throw new RangeError(`MaxUnpool2d: input must be [N, C, H, W] or [C, H, W], got shape ${describeValue(inputShape)}`);
    }
    const rank = inputShape.length;
    const defaults = [0, 1].map((axis) => (inputShape[rank - 2 + axis]! - 1) * this.stride[axis]! - 2 * this.padding[axis]! + this.kernelSize[axis]!);
    let size = defaults;
    if (outputSize !== undefined) {
      if (!Array.isArray(outputSize) || (outputSize.length !== 2 && outputSize.length !== rank)) {
        throw new TypeError(`MaxUnpool2d: outputSize must be [H, W] or a shape of rank ${rank}, got ${describeValue(outputSize)}`);
      }
      size = outputSize.slice(-2) as number[];
      for (let axis = 0; axis < 2; axis++) {
        const [value, low, high] = [size[axis], defaults[axis]! - this.stride[axis]!, defaults[axis]! + this.stride[axis]!];
        if (typeof value !== 'number' || !Number.isInteger(value) || !(value > low && value < high)) {
          throw new RangeError(`MaxUnpool2d: outputSize[${axis}] must be an integer strictly between ${low} and ${high}, got ${describeValue(value)}`);
        }
      }
    }
    if (size[0]! < 1 || size[1]! < 1) {
      throw new RangeError(`MaxUnpool2d: output size must be at least 1x1, got ${size[0]}x${size[1]} for input shape ${describeValue(inputShape)}`);
    }
    return [...inputShape.slice(0, rank - 2), size[0]!, size[1]!];
  }

  override producesNewTensor(): boolean {
    return true;
  }

  forward(x: TensorLike, indices?: Int64Tensor | TensorLike, outputSize?: readonly number[]): Tensor {
    const input = checkInput(x, 'MaxUnpool2d', [3, 4], '[N, C, H, W] or [C, H, W]');
    if (indices === undefined) throw new TypeError('MaxUnpool2d: forward(x, indices, outputSize?) needs the indices MaxPool2d.forwardWithIndices returned');
    const shape = this.outputShape(input.shape, outputSize);
    const positions = indexValues(indices, input.shape);
    const rank = shape.length;
    const outPlane = shape[rank - 2]! * shape[rank - 1]!;
    const inPlane = input.shape[rank - 2]! * input.shape[rank - 1]!;
    for (let i = 0; i < positions.length; i++) {
      const at = positions[i]!;
      if (!(at >= 0 && at < outPlane)) {
        throw new RangeError(`MaxUnpool2d: indices[${i}] = ${at} is outside an output plane of ${outPlane} elements (output shape ${describeValue(shape)})`);
      }
    }
    const y = new Float32Array(checkShapeElements(shape, 'output'));
    const data = input.data;
    for (let i = 0; i < positions.length; i++) y[Math.floor(i / inPlane) * outPlane + positions[i]!] = data[i]!;
    return { shape, data: y };
  }

  override extraRepr(): string {
    const pair = (v: readonly [number, number]): string => (v[0] === v[1] ? `${v[0]}` : `(${v[0]}, ${v[1]})`);
    return `kernel_size=${pair(this.kernelSize)}, stride=${pair(this.stride)}, padding=${pair(this.padding)}`;
  }
}

/** The positions of an indices tensor (int64, or float32 holding integers) of the input's shape, as numbers. */
function indexValues(indices: unknown, shape: readonly number[]): Float64Array {
  const t = isInt64Tensor(indices) ? asInt64Tensor(indices, 'indices') : asTensor(indices, 'indices');
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new RangeError(`MaxUnpool2d: indices must have the input's shape ${describeValue(shape)}, got ${describeValue(t.shape)}`);
  }
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = Number(t.data[i]!);
    if (!Number.isInteger(v)) throw new RangeError(`MaxUnpool2d: indices[${i}] must be an integer, got ${v}`);
    out[i] = v;
  }
  return out;
}

/**
 * Max pooling's gradient: output i of plane p (outputs per plane `outPlane`) adds dy[i] to the
 * input cell positions[i] of that plane (input cells per plane `inPlane`).
 */
function scatterToPositions(dy: Float32Array, positions: Int32Array, outPlane: number, inPlane: number, dx: Float32Array): void {
  for (let i = 0; i < dy.length; i++) {
    const plane = Math.floor(i / outPlane);
    dx[plane * inPlane + positions[i]!] += dy[i]!;
  }
}
