/**
 * `nn.Linear` on the wasm tier: y = x·Wᵀ + b with PyTorch's weight layout `[out, in]`, each row
 * of x one GEMV (gemv.ts) over the weights held in wasm memory, so a classifier reads its weights
 * as whole v128 loads instead of scalar JS. The weights are copied in once (`WasmLinear`), as a
 * compiled model would keep them; inputs and outputs that already live in the runtime's memory
 * are used in place, others staged through a per-instance buffer.
 *
 * Each output value is computed in a fixed order (gemv.ts), so results are bitwise repeatable on
 * one machine and variant, and within float32 rounding of the JS tier's float32 Linear.
 */
import { callKernel, type WasmRuntime } from './runtime.js';

export class WasmLinear {
  private weights: number;
  private bias: number;
  private stage = 0;
  private stageBytes = 0;

  constructor(
    readonly rt: WasmRuntime,
    weight: Float32Array,
    bias: Float32Array | null,
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {
    if (weight.length !== inFeatures * outFeatures) {
      throw new RangeError(`WasmLinear: weight must hold outFeatures × inFeatures = ${outFeatures * inFeatures} values, got ${weight.length}`);
    }
    if (bias !== null && bias.length !== outFeatures) throw new RangeError(`WasmLinear: bias must hold ${outFeatures} values, got ${bias.length}`);
    this.weights = rt.arena.alloc(4 * weight.length, 'linear weights');
    this.bias = bias === null ? 0 : rt.arena.alloc(4 * outFeatures, 'linear bias');
    this.setWeights(weight, bias);
  }

  /** Copies new parameter values in (after an optimizer step, or a state dict load). */
  setWeights(weight: Float32Array, bias: Float32Array | null): void {
    this.rt.write(this.weights, weight);
    if (bias !== null && this.bias !== 0) this.rt.write(this.bias, bias);
  }

  /** y[r, :] = x[r, :]·Wᵀ + b for `rows` rows, clamped to [min, max] (±∞ by default). */
  run(x: Float32Array, rows: number, y: Float32Array, min = -Infinity, max = Infinity): void {
    const rt = this.rt;
    const K = this.inFeatures;
    const N = this.outFeatures;
    let xAddress = rt.addressOf(x);
    const yAddress = rt.addressOf(y);
    const stageX = xAddress < 0;
    const stageY = yAddress < 0;
    const need = (stageX ? 4 * K : 0) + (stageY ? 4 * N : 0);
    if (need > this.stageBytes) {
      if (this.stage !== 0) rt.arena.release(this.stage);
      this.stage = 0;
      this.stageBytes = 0;
      this.stage = rt.arena.alloc(need, 'linear staging');
      this.stageBytes = need;
    }
    const kernel = rt.kernels.gemv_f32;
    for (let r = 0; r < rows; r++) {
      if (stageX) {
        xAddress = this.stage;
        rt.f32().set(x.subarray(r * K, (r + 1) * K), this.stage >>> 2);
      }
      const xr = stageX ? xAddress : xAddress + 4 * r * K;
      const yr = stageY ? this.stage + (stageX ? 4 * K : 0) : yAddress + 4 * r * N;
      callKernel('gemv_f32', () => kernel(N, K, this.weights, K, xr, this.bias, yr, min, max));
      if (stageY) y.set(rt.view(yr, N), r * N);
    }
  }

  /** Bytes of wasm memory held. */
  get bytes(): number {
    return 4 * this.inFeatures * this.outFeatures + (this.bias === 0 ? 0 : 4 * this.outFeatures) + this.stageBytes;
  }

  /** Returns the memory to the arena; the instance must not be used afterwards. */
  dispose(): void {
    const arena = this.rt.arena;
    if (this.weights !== 0) arena.release(this.weights);
    if (this.bias !== 0) arena.release(this.bias);
    if (this.stage !== 0) arena.release(this.stage);
    this.weights = 0;
    this.bias = 0;
    this.stage = 0;
    this.stageBytes = 0;
  }
}
