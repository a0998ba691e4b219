/**
 * Reusable scratch buffers: a plan keeps one Scratch, so repeated calls of one shape allocate
 * nothing. Each slot holds one buffer that only grows.
 */
export const SLOT_PADDED = 0;
export const SLOT_COLUMNS = 1;

export class Scratch {
  private readonly slots: Float32Array[] = [];

  /** A buffer of at least `size` floats for `slot` (contents unspecified). */
  get(slot: number, size: number): Float32Array {
    let buffer = this.slots[slot];
    if (buffer === undefined || buffer.length < size) {
      buffer = new Float32Array(size);
      this.slots[slot] = buffer;
    }
    return buffer;
  }

  /** Bytes currently held. */
  get bytes(): number {
    let total = 0;
    for (const buffer of this.slots) if (buffer) total += buffer.byteLength;
    return total;
  }
}
