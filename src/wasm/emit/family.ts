// What a kernel family file is given and what it gives back (see module.ts for the scheme).
import type { FunctionBuilder, ModuleBuilder } from './emit.js';

/** Which module is being generated. One family emits into every variant. */
export interface KernelVariant {
  /** Relaxed SIMD allowed (f32x4.relaxed_madd); the module fails to compile where unsupported. */
  readonly relaxed: boolean;
  /** The imported memory is shared (the worker pool); kernels need not care. */
  readonly shared: boolean;
}

/** A family of kernels: one file, exports whose names start with `name`. */
export interface KernelFamily {
  /** Prefix of every function the family exports, e.g. 'gemm'. */
  readonly name: string;
  /** Adds the family's functions (exported or internal) to `module`. */
  emit(module: ModuleBuilder, variant: KernelVariant): void;
}

/**
 * Pushes a·b + acc (f32x4): relaxed_madd in the relaxed variant (fused or not, depending on the
 * machine), mul then add otherwise. Every vector multiply-add of a kernel goes through this, so
 * the variant switch lives in one place. Each push callback appends the code producing one operand.
 */
export function multiplyAdd(
  f: FunctionBuilder,
  variant: KernelVariant,
  pushA: (f: FunctionBuilder) => void,
  pushB: (f: FunctionBuilder) => void,
  pushAcc: (f: FunctionBuilder) => void,
): FunctionBuilder {
  pushA(f);
  pushB(f);
  if (variant.relaxed) {
    pushAcc(f);
    return f.f32x4RelaxedMadd();
  }
  f.f32x4Mul();
  pushAcc(f);
  return f.f32x4Add();
}
