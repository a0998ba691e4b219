/**
 * Seeded random sweep: hundreds of configurations through `conv2d` (and `depthwiseConv2d` /
 * `pointwiseConv2d` where they fit) against `referenceConv2d`, |y − ref| ≤ 1e-4·(1 + |ref|).
 * Each configuration is generated for one dispatch branch, and the test asserts that the
 * dispatcher really takes that branch; a final test asserts that every branch was hit.
 * Sizes straddle small tiles (1, 2, 3, 4, 7, 8, 9, 15, 16, 17, ...), batch is 1..3 or unbatched.
 */
import { describe, it, expect } from 'vitest';
import {
  conv2d,
  conv2dGeometry,
  depthwiseConv2d,
  pointwiseConv2d,
  referenceConv2d,
  type Activation,
  type KernelPath,
  type Padding,
  type PaddingMode,
} from '../../src/index.js';
import { kernelSetup } from '../../src/kernels/dispatch.js';
import { configOptions, expectClose, pytorchAccepts, pytorchOutputSize, pytorchSides, randomTensor, rng, type Sides, type SpatialConfig } from '../helpers.js';

/** Every branch of selectKernelPath; a Record so that a new branch fails the typecheck here. */
const BRANCHES: Record<KernelPath, true> = {
  depthwise3x3s1: true,
  depthwise3x3s2: true,
  depthwise: true,
  pointwise: true,
  grouped: true,
};
const PER_BRANCH = 100;
const LARGE_PER_BRANCH = 6;

interface Config extends SpatialConfig {
  branch: KernelPath;
  batch: number | null; // null: unbatched [Cin, H, W]
  cin: number;
  cout: number;
  groups: number;
  bias: boolean;
  activation: Activation;
}

/**
 * The dispatch rule as documented in conv2d.ts, restated independently: non-zero padding modes
 * are applied first (a padded copy), so the kernels see zero padding of 0.
 */
function expectedBranch(c: Config): KernelPath {
  const s = c.mode === 'zeros' ? pytorchSides(c) : { top: 0, bottom: 0, left: 0, right: 0 };
  const pads = [s.top, s.bottom, s.left, s.right];
  if (c.groups === c.cin) {
    const is3x3 = c.kh === 3 && c.kw === 3 && c.dilation[0] === 1 && c.dilation[1] === 1 && pads.every((p) => p <= 1);
    if (is3x3 && c.stride[0] === 1 && c.stride[1] === 1) return 'depthwise3x3s1';
    if (is3x3 && c.stride[0] === 2 && c.stride[1] === 2) return 'depthwise3x3s2';
    return 'depthwise';
  }
  return c.kh === 1 && c.kw === 1 && pads.every((p) => p === 0) ? 'pointwise' : 'grouped';
}

function macs(c: Config): number {
  const { ho, wo } = pytorchOutputSize(c);
  return (c.batch ?? 1) * c.cout * ho * wo * (c.cin / c.groups) * c.kh * c.kw;
}

/**
 * `large` configurations (0.2–4M MACs, up to 300 channels, up to 40×40) cross the GEMM's row blocks,
 * reduction blocks and column panels, which the small ones only reach in one dimension at a time.
 */
function generate(branch: KernelPath, count: number, seed: number, large = false): Config[] {
  const random = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const size = large
    ? () => int(10, 40)
    : () => (random() < 0.5 ? pick([1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17]) : int(1, 24));
  const channels = large
    ? () => pick([16, 17, 31, 32, 33, 48, 64, 65, 130, 300])
    : () => (random() < 0.5 ? pick([1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 24, 33]) : int(1, 20));
  const divisors = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
  const modes: PaddingMode[] = ['zeros', 'zeros', 'reflect', 'replicate', 'circular'];
  const activations: Activation[] = ['none', 'relu', 'relu6'];
  const smallPadding = (max: number): Padding =>
    pick<Padding>([
      'same',
      'valid',
      int(0, max),
      [int(0, max), int(0, max)],
      { top: int(0, max), bottom: int(0, max), left: int(0, max), right: int(0, max) },
    ]);
  const configs: Config[] = [];
  let attempts = 0;
  while (configs.length < count) {
    if (++attempts > 200_000) throw new Error(`could not generate ${count} configurations for ${branch}`);
    const i = configs.length;
    const base = {
      branch,
      batch: pick([null, 1, 1, 2, 3]),
      h: size(),
      w: size(),
      bias: random() < 0.6,
      activation: activations[i % 3]!,
      mode: modes[Math.floor(i / 3) % modes.length]!,
    };
    let c: Config;
    if (branch === 'depthwise3x3s1' || branch === 'depthwise3x3s2') {
      const cin = channels();
      const s = branch === 'depthwise3x3s1' ? 1 : 2;
      c = {
        ...base,
        cin,
        cout: cin * int(1, 3),
        groups: cin,
        kh: 3,
        kw: 3,
        stride: [s, s],
        dilation: [1, 1],
        padding: smallPadding(1),
      };
    } else if (branch === 'depthwise') {
      const cin = channels();
      c = {
        ...base,
        cin,
        cout: cin * int(1, 3),
        groups: cin,
        kh: int(1, 7),
        kw: int(1, 7),
        stride: [int(1, 3), int(1, 3)],
        dilation: [int(1, 3), int(1, 3)],
        padding: smallPadding(3),
      };
    } else if (branch === 'pointwise') {
      const cin = channels();
      const groups = random() < 0.7 ? 1 : pick(divisors(cin));
      c = {
        ...base,
        cin,
        cout: groups * (large ? pick([16, 17, 33, 64]) : random() < 0.5 ? pick([1, 4, 7, 8, 9, 15, 16, 17]) : int(1, 12)),
        groups,
        kh: 1,
        kw: 1,
        stride: random() < 0.6 ? [1, 1] : [int(1, 3), int(1, 3)],
        dilation: [int(1, 3), int(1, 3)], // irrelevant for 1×1 but must be accepted
        // Zero padding, or any padding in a non-zero mode (applied as a copy before the kernel).
        padding: base.mode === 'zeros' ? pick<Padding>(['valid', 0, [0, 0], { top: 0, bottom: 0, left: 0, right: 0 }]) : smallPadding(2),
      };
    } else {
      const cin = channels();
      const groups = random() < 0.5 ? 1 : pick(divisors(cin));
      c = {
        ...base,
        cin,
        cout: large ? groups * pick([16, 17, 33]) : groups * int(1, Math.max(1, Math.floor(24 / groups))),
        groups,
        kh: int(1, 7),
        kw: int(1, 7),
        stride: [int(1, 3), int(1, 3)],
        dilation: random() < 0.5 ? [1, 1] : [int(1, 3), int(1, 3)],
        padding: smallPadding(3),
      };
    }
    const work = macs(c);
    if (!pytorchAccepts(c) || expectedBranch(c) !== branch || (large ? work < 200_000 || work > 4_000_000 : work > 150_000)) continue;
    configs.push(c);
  }
  return configs;
}

function describeConfig(c: Config): string {
  const x = c.batch === null ? [c.cin, c.h, c.w] : [c.batch, c.cin, c.h, c.w];
  return (
    `[${c.branch}] x=[${x}] w=[${c.cout},${c.cin / c.groups},${c.kh},${c.kw}] s=${c.stride} d=${c.dilation} ` +
    `p=${JSON.stringify(c.padding)} ${c.mode} g=${c.groups}${c.bias ? ' bias' : ''} ${c.activation}`
  );
}

const hits = new Map<KernelPath, number>();
const seeds: Record<KernelPath, number> = { depthwise3x3s1: 11, depthwise3x3s2: 12, depthwise: 13, pointwise: 14, grouped: 15 };

for (const branch of Object.keys(BRANCHES) as KernelPath[]) {
  describe(`sweep: ${branch}`, () => {
    const random = rng(seeds[branch] * 1000);
    const configs = [...generate(branch, PER_BRANCH, seeds[branch]), ...generate(branch, LARGE_PER_BRANCH, seeds[branch] + 100, true)];
    for (const c of configs) {
      it(describeConfig(c), () => {
        const xShape = c.batch === null ? [c.cin, c.h, c.w] : [c.batch, c.cin, c.h, c.w];
        const x = randomTensor(xShape, random);
        // relu6 cases get a larger range so that some outputs clip at 6.
        if (c.activation === 'relu6') for (let i = 0; i < x.data.length; i++) x.data[i]! *= 4;
        const weight = randomTensor([c.cout, c.cin / c.groups, c.kh, c.kw], random);
        const bias = c.bias ? randomTensor([c.cout], random).data : null;
        const options = configOptions(c, bias);
        const path = kernelSetup(conv2dGeometry(xShape, weight.shape, options)).path;
        expect(path, 'dispatch branch').toBe(c.branch);
        hits.set(path, (hits.get(path) ?? 0) + 1);

        const expected = referenceConv2d(x, weight, options);
        expectClose(conv2d(x, weight, options), expected, 1e-4, describeConfig(c));
        if (c.groups === c.cin) {
          const { groups: _groups, ...rest } = options;
          expectClose(depthwiseConv2d(x, weight, rest), expected, 1e-4, `depthwiseConv2d ${describeConfig(c)}`);
        }
        const s = pytorchSides(c);
        if (c.kh === 1 && c.kw === 1 && s.top + s.bottom + s.left + s.right === 0) {
          const w2 = { shape: [c.cout, c.cin / c.groups], data: weight.data };
          const pointwise = pointwiseConv2d(x, w2, { stride: c.stride, groups: c.groups, bias, activation: c.activation });
          expectClose(pointwise, expected, 1e-4, `pointwiseConv2d ${describeConfig(c)}`);
        }
      });
    }
  });
}

describe('sweep coverage', () => {
  it('every dispatch branch was taken by its configurations', () => {
    for (const branch of Object.keys(BRANCHES) as KernelPath[]) {
      expect(hits.get(branch) ?? 0, branch).toBe(PER_BRANCH + LARGE_PER_BRANCH);
    }
  });
  it('the configurations cover batch sizes, unbatched input, padding forms and modes, strides, dilations, kernels, groups, multipliers, bias and activations', () => {
    const all = (Object.keys(BRANCHES) as KernelPath[]).flatMap((b) => generate(b, PER_BRANCH, seeds[b]));
    const has = (f: (c: Config) => boolean) => all.some(f);
    for (const batch of [null, 1, 2, 3]) expect(has((c) => c.batch === batch), `batch ${batch}`).toBe(true);
    for (const k of [1, 2, 3, 4, 5, 6, 7]) expect(has((c) => c.kh === k) && has((c) => c.kw === k), `kernel ${k}`).toBe(true);
    for (const s of [1, 2, 3]) expect(has((c) => c.stride[0] === s) && has((c) => c.stride[1] === s), `stride ${s}`).toBe(true);
    for (const d of [1, 2, 3]) expect(has((c) => c.dilation[0] === d && c.kh > 1), `dilation ${d}`).toBe(true);
    for (const m of ['zeros', 'reflect', 'replicate', 'circular']) expect(has((c) => c.mode === m), m).toBe(true);
    for (const a of ['none', 'relu', 'relu6']) expect(has((c) => c.activation === a), a).toBe(true);
    expect(has((c) => c.padding === 'same')).toBe(true);
    expect(has((c) => c.padding === 'valid')).toBe(true);
    expect(has((c) => typeof c.padding === 'number' && c.padding > 0)).toBe(true);
    expect(has((c) => Array.isArray(c.padding) && c.padding[0] !== c.padding[1])).toBe(true);
    expect(has((c) => typeof c.padding === 'object' && !Array.isArray(c.padding) && (c.padding as Sides).top !== (c.padding as Sides).bottom)).toBe(true);
    expect(has((c) => c.groups === 1 && c.branch === 'grouped')).toBe(true);
    expect(has((c) => c.groups > 1 && c.groups < c.cin && c.branch === 'grouped')).toBe(true);
    expect(has((c) => c.groups > 1 && c.branch === 'pointwise')).toBe(true);
    for (const k of [1, 2, 3]) expect(has((c) => c.groups === c.cin && c.cout === k * c.cin && c.cin > 1), `multiplier ${k}`).toBe(true);
    expect(has((c) => c.bias) && has((c) => !c.bias)).toBe(true);
    expect(has((c) => c.h % 2 === 1 && c.w % 2 === 0)).toBe(true);
  });
});
