/**
 * The torchvision zoo against torchvision 0.14 itself: every variant's state-dict keys, shapes and
 * int64 buffers, parameter count and MACs (test/fixtures/zoo-torchvision.json, written by
 * tools/zoo-fixtures.py), logits of every variant at an odd input size with hashed weights, and the
 * two golden models with random torchvision state dicts (../shared/golden/models).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  efficientnetB0, mnasnet, mobilenetV2, mobilenetV3Large, mobilenetV3Small, shufflenetV2, loadSafetensors, summary, isInt64Tensor, foldBatchNorm,
  type Module, type Tensor,
} from '../../src/index.js';
import { withShapeOnlyParameters } from '../../src/layers/init.js';
import { readFloat32, sharedData } from '../helpers.js';
import { hashedStateDict, hashedTensor } from './zoo-weights.js';

interface FixtureModel {
  name: string;
  family: string;
  options: Record<string, number>;
  shapes: number[][];
  int64: number[];
  params: number;
  macs: number;
  logits: number[];
}
interface Fixture {
  families: Record<string, string[]>;
  logits: { input: number[]; numClasses: number };
  models: FixtureModel[];
}

const fixture = JSON.parse(readFileSync(resolve(import.meta.dirname, '../fixtures/zoo-torchvision.json'), 'utf8')) as Fixture;

function build(family: string, options: Record<string, number>): Module {
  switch (family) {
    case 'mobilenet_v2': return mobilenetV2(options);
    case 'mobilenet_v3_large': return mobilenetV3Large(options);
    case 'mobilenet_v3_small': return mobilenetV3Small(options);
    case 'shufflenet_v2': return shufflenetV2(options as { width: 0.5 | 1 | 1.5 | 2 });
    case 'mnasnet': return mnasnet(options);
    case 'efficientnet_b0': return efficientnetB0(options);
    default: throw new Error(`unknown family ${family}`);
  }
}

function expectLogitsClose(actual: Tensor, expected: ArrayLike<number>, label: string): void {
  expect(actual.data.length, label).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const ref = expected[i]!;
    const err = Math.abs(actual.data[i]! - ref) / (1 + Math.abs(ref));
    if (!(err <= worst)) worst = err;
  }
  // The bar on both tiers. The wasm tier accumulates in float32 lanes; its worst case here
  // is mobilenet_v3_large at 6.2e-5 (BatchNorm folded, compiled), the JS tier's 2.2e-5.
  expect(worst, `${label}: worst |y - ref| / (1 + |ref|)`).toBeLessThanOrEqual(1e-4);
}

describe('zoo structure matches torchvision 0.14', () => {
  it('covers every factory', () => {
    expect(new Set(fixture.models.map((m) => m.family))).toEqual(new Set(Object.keys(fixture.families)));
    expect(fixture.models.length).toBe(15);
  });

  for (const m of fixture.models) {
    it(`${m.name}: keys, shapes, int64 buffers, parameters and MACs at 224`, () => {
      const model = withShapeOnlyParameters(() => build(m.family, m.options));
      const keys = fixture.families[m.family]!;
      const state = model.stateDict();
      expect(Object.keys(state)).toEqual(keys);
      expect(keys.map((k) => state[k]!.shape)).toEqual(m.shapes);
      expect(keys.flatMap((k, i) => (isInt64Tensor(state[k]!) ? [i] : []))).toEqual(m.int64);
      expect(model.numParameters()).toBe(m.params);
      const s = summary(model, [1, 3, 224, 224]);
      expect(s.totals.macs).toBe(m.macs);
      expect(s.totals.params).toBe(m.params);
      expect(s.uncosted).toEqual([]);
    });
  }

  it('quotes the issue figures', () => {
    const byName = Object.fromEntries(fixture.models.map((m) => [m.name, [m.macs, m.params]]));
    expect(byName.mobilenet_v2).toEqual([300_774_272, 3_504_872]);
    expect(byName.mobilenet_v3_large).toEqual([216_589_760, 5_483_032]);
    expect(byName.mobilenet_v3_small).toEqual([56_510_400, 2_542_856]);
    expect(byName.shufflenet_v2_x1_0).toEqual([144_907_992, 2_278_604]);
    expect(byName.mnasnet0_5).toEqual([104_455_968, 2_218_512]);
    expect(byName.efficientnet_b0).toEqual([385_814_752, 5_288_548]);
  });
});

describe('zoo logits match torchvision (float64) with hashed weights at an odd input size', () => {
  const input = hashedTensor('input', fixture.logits.input);
  for (const m of fixture.models) {
    it(`${m.name}: forward and compiled plan`, () => {
      const model = build(m.family, { ...m.options, numClasses: fixture.logits.numClasses });
      model.loadStateDict(hashedStateDict(model));
      expectLogitsClose(model.forward(input), m.logits, `${m.name} forward`);
      const compiled = model.compile(fixture.logits.input);
      expectLogitsClose(compiled.run(input), m.logits, `${m.name} compiled`);
      expectLogitsClose(compiled.run(input), m.logits, `${m.name} compiled, second run`);
      expectLogitsClose(foldBatchNorm(model).compile(fixture.logits.input).run(input), m.logits, `${m.name} BatchNorm folded, compiled`);
    });
  }
});

const goldenModels = sharedData('golden/models');

describe.skipIf(!goldenModels.present)(`golden torchvision models ${goldenModels.needs}`, () => {
  const cases: [string, () => Module][] = [
    ['mobilenet_v2_w0.5_160', () => mobilenetV2({ widthMult: 0.5 })],
    ['shufflenet_v2_x0_5_160', () => shufflenetV2({ width: 0.5 })],
  ];
  for (const [folder, make] of cases) {
    it(`${folder}: the torchvision state dict loads as it is (int64 included) and the logits match`, async () => {
      const dir = resolve(goldenModels.path, folder);
      if (!existsSync(dir)) throw new Error(`golden model data not found at ${dir}`);
      const manifest = JSON.parse(readFileSync(resolve(dir, 'manifest.json'), 'utf8')) as {
        input: { shape: number[]; file: string }; output: { shape: number[]; file: string }; params: number; stateDictKeys: number; macs: number;
      };
      const dict = loadSafetensors(readFileSync(resolve(dir, 'weights.safetensors')));
      expect(Object.keys(dict).length).toBe(manifest.stateDictKeys);
      expect(Object.values(dict).some((t) => isInt64Tensor(t))).toBe(true);
      const model = make();
      model.loadStateDict(dict);
      expect(model.numParameters()).toBe(manifest.params);
      expect(summary(model, manifest.input.shape).totals.macs).toBe(manifest.macs);
      const input: Tensor = { shape: manifest.input.shape, data: readFloat32(resolve(dir, manifest.input.file)) };
      const expected = readFloat32(resolve(dir, manifest.output.file));
      expectLogitsClose(model.forward(input), expected, `${folder} forward`);
      expectLogitsClose(model.compile(manifest.input.shape).run(input), expected, `${folder} compiled`);
      expectLogitsClose(await model.forwardAsync(input), expected, `${folder} forwardAsync`);
    });
  }
});
