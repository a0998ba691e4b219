/**
 * Reusable scratch buffers: a plan keeps one Scratch, so repeated calls of one shape allocate
 * nothing. Each slot holds one buffer that only grows.
 */
/** The mode-padded copy of the input (non-zero padding modes). */
export const SLOT_PADDED = 0;
/** The packed panel of B that the GEMM kernels stream over. */
export const SLOT_PANEL = 1;
/** Backward: the gradient with respect to the mode-padded input, before it is folded back. */
export const SLOT_PADDED_GRADIENT = 2;
/** Backward: a gradient computed here first, then added into the caller's (`accumulate`). */
export const SLOT_GRADIENT_STAGING = 3;
/** Backward: a second packed operand (the transposed panels of the gradient GEMMs). */
export const SLOT_PANEL_2 = 4;
/** Backward: the filters rearranged for gradInput (rotated by 180°, or transposed). */
export const SLOT_FILTERS = 5;
/** Backward: a block of gradient columns (dCol = Wᵀ·dY) before it is scattered onto gradInput. */
export const SLOT_COLUMNS = 6;
/** Transposed convolution: its input zero-extended when outputPadding ≥ stride (see geometry.ts). */
export const SLOT_EXTENDED_INPUT = 7;
/** Transposed convolution: its gradInput before the extra rows/columns are cropped. */
export const SLOT_UNCROPPED_GRADIENT = 8;

// Float64 slots (a separate numbering, see getFloat64).
/** The float64 accumulators of one block of C rows. */
export const SLOT_ACCUMULATORS = 0;
/** Backward: float64 running sums of a gradient (gradWeight over the batch, one gradInput image). */
export const SLOT_GRADIENT_SUMS = 1;

export class Scratch {
  private readonly slots: Float32Array[] = [];
  private readonly wideSlots: Float64Array[] = [];

  /** A buffer of at least `size` floats for `slot` (contents unspecified). */
  get(slot: number, size: number): Float32Array {
    let buffer = this.slots[slot];
    if (buffer === undefined || buffer.length < size) {
      buffer = new Float32Array(size);
      this.slots[slot] = buffer;
    }
    return buffer;
  }

  /** A float64 buffer of at least `size` elements for `slot` (contents unspecified). */
  getFloat64(slot: number, size: number): Float64Array {
    let buffer = this.wideSlots[slot];
    if (buffer === undefined || buffer.length < size) {
      buffer = new Float64Array(size);
      this.wideSlots[slot] = buffer;
    }
    return buffer;
  }

  /** Bytes currently held. */
  get bytes(): number {
    let total = 0;
    for (const buffer of this.slots) if (buffer) total += buffer.byteLength;
    for (const buffer of this.wideSlots) if (buffer) total += buffer.byteLength;
    return total;
  }
}
