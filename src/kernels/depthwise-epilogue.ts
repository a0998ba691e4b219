/**
 * The activation step of the depthwise kernels' stores, in a form that suits their inner loops.
 * Same results as `activate` in epilogue.ts, except that relu/relu6 give +0 for -0.
 *
 * `max(v, 0)` is computed as `(v + |v|) / 2`, which is exact in float64 and has no
 * data-dependent branch: with `v < 0 ? 0 : v` the CPU mispredicts on about half the outputs and
 * the 3×3 kernels ran 3× slower (measured, V8 11 / Zen 4). The upper bound of relu6 is a branch,
 * rarely taken. `-Infinity` is the one input the formula gets wrong (it gives NaN), hence the
 * well-predicted test. Callers pass `hi` through unary plus (a float, never a small integer) so
 * the result is not boxed.
 */
export function clampedOutput(v: number, clamp: boolean, hi: number): number {
  if (!clamp) return v;
  const r = v === -Infinity ? 0 : (v + Math.abs(v)) * 0.5;
  return r > hi ? hi : r;
}
