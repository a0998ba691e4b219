/**
 * The weights table's internal consistency: every URL's file name carries the hash prefix stored
 * beside it, every model with weights has its default set, the parameter counts are those of the
 * sepconv models the files load into (and of torchvision's, through the zoo fixture), and every
 * built model answers to its own name. (Against torchvision's own definitions:
 * tools/check-weights-table.py, which needs Python and is not run here.)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WEIGHT_SETS, PRETRAINED_ARCHS, PRETRAINED_WEIGHTS, WEIGHT_SET_NAMES, archOf, buildArch, mobilenetV1, mobilenetV2, pretrainedWeights,
  sha256PrefixOfFileName, shufflenetV2, mnasnet, weightSetsOf,
} from '../../src/index.js';
import { withShapeOnlyParameters } from '../../src/layers/init.js';

const fixture = JSON.parse(readFileSync(resolve(import.meta.dirname, '../fixtures/zoo-torchvision.json'), 'utf8')) as {
  models: { name: string; params: number }[];
};

describe('the weights table', () => {
  it('has at least one weight set per model, and each model\'s default among them', () => {
    for (const arch of PRETRAINED_ARCHS) {
      const sets = PRETRAINED_WEIGHTS.filter((w) => w.arch === arch).map((w) => w.name);
      expect(sets.length, arch).toBeGreaterThan(0);
      expect(sets, arch).toContain(DEFAULT_WEIGHT_SETS[arch]);
      expect(pretrainedWeights(arch).name).toBe(DEFAULT_WEIGHT_SETS[arch]);
    }
    expect(Object.keys(DEFAULT_WEIGHT_SETS).sort()).toEqual([...PRETRAINED_ARCHS].sort());
  });

  it('names every (model, set) pair and every file once', () => {
    const pairs = PRETRAINED_WEIGHTS.map((w) => `${w.arch}/${w.name}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    const files = PRETRAINED_WEIGHTS.map((w) => w.fileName);
    expect(new Set(files).size).toBe(files.length);
    for (const w of PRETRAINED_WEIGHTS) {
      expect(PRETRAINED_ARCHS).toContain(w.arch);
      expect(WEIGHT_SET_NAMES).toContain(w.name);
    }
  });

  it('stores each file name as the last part of its URL and its hash prefix as the name says', () => {
    for (const w of PRETRAINED_WEIGHTS) {
      const url = new URL(w.url);
      expect(url.protocol, w.url).toBe('https:');
      expect(url.host, w.url).toBe('download.pytorch.org');
      expect(url.pathname.split('/').pop(), w.url).toBe(w.fileName);
      expect(w.fileName.endsWith(`-${w.sha256Prefix}.pth`), w.fileName).toBe(true);
      expect(sha256PrefixOfFileName(w.fileName)).toBe(w.sha256Prefix);
      expect(w.sha256Prefix, w.fileName).toMatch(/^[0-9a-f]{8,64}$/);
    }
  });

  it('gives the parameter count of the sepconv model the file loads into, and of torchvision\'s (zoo fixture)', () => {
    const fromFixture = new Map(fixture.models.map((m) => [m.name, m.params]));
    for (const w of PRETRAINED_WEIGHTS) {
      const model = withShapeOnlyParameters(() => buildArch(w.arch));
      expect(model.numParameters(), `${w.arch} ${w.name}`).toBe(w.numParams);
      expect(fromFixture.get(w.arch), `${w.arch} in the zoo fixture`).toBe(w.numParams);
      expect(w.numClasses).toBe(1000);
    }
  });

  it('reports plausible accuracies and torchvision\'s ImageClassification preprocessing', () => {
    for (const w of PRETRAINED_WEIGHTS) {
      const { top1, top5 } = w.accuracy;
      expect(top1, w.fileName).toBeGreaterThan(50);
      expect(top5, w.fileName).toBeGreaterThan(top1);
      expect(top5, w.fileName).toBeLessThanOrEqual(100);
      const p = w.preprocessing;
      expect(p.centerCrop).toBe(224);
      expect([232, 256]).toContain(p.resize);
      expect(['bilinear', 'bicubic']).toContain(p.interpolation);
      expect(p.mean).toEqual([0.485, 0.456, 0.406]);
      expect(p.std).toEqual([0.229, 0.224, 0.225]);
    }
    // The V2 recipes were evaluated at resize 232 and beat V1.
    for (const arch of ['mobilenet_v2', 'mobilenet_v3_large'] as const) {
      const v1 = pretrainedWeights(arch, 'IMAGENET1K_V1');
      const v2 = pretrainedWeights(arch, 'IMAGENET1K_V2');
      expect(v2.preprocessing.resize).toBe(232);
      expect(v2.accuracy.top1).toBeGreaterThan(v1.accuracy.top1);
    }
  });

  it('is frozen', () => {
    const w = PRETRAINED_WEIGHTS[0]!;
    expect(Object.isFrozen(PRETRAINED_WEIGHTS)).toBe(true);
    expect(Object.isFrozen(w)).toBe(true);
    expect(Object.isFrozen(w.preprocessing)).toBe(true);
    expect(Object.isFrozen(w.accuracy)).toBe(true);
    expect(Object.isFrozen(DEFAULT_WEIGHT_SETS)).toBe(true);
  });
});

describe('archOf and buildArch', () => {
  it('maps every built architecture back to its own name', () => {
    for (const arch of PRETRAINED_ARCHS) {
      expect(archOf(withShapeOnlyParameters(() => buildArch(arch)))).toBe(arch);
    }
  });

  it('refuses what is not an architecture or a model', () => {
    expect(() => buildArch('resnet50' as never)).toThrow(/buildArch: arch must be one of mobilenet_v2, .*efficientnet_b0, got "resnet50"/);
    expect(() => buildArch('shufflenet_v2_x0_5', { width: 2 } as never)).toThrow(/buildArch: unknown option "width"/);
    expect(() => archOf({} as never)).toThrow(/archOf: model must be a sepconv Module/);
    expect(() => weightSetsOf('mobilenet_v1' as never)).toThrow(/weightSetsOf: arch must be one of/);
    expect(() => sha256PrefixOfFileName(12 as never)).toThrow(/fileName must be a string/);
    expect(weightSetsOf('mobilenet_v3_large').map((w) => w.name)).toEqual(['IMAGENET1K_V1', 'IMAGENET1K_V2']);
  });

  it('answers null for models without published weights', () => {
    withShapeOnlyParameters(() => {
      expect(archOf(mobilenetV1())).toBeNull();
      expect(archOf(mobilenetV2({ widthMult: 0.5 }))).toBeNull();
      expect(archOf(mnasnet({ alpha: 0.6 }))).toBeNull();
    });
    expect(archOf(withShapeOnlyParameters(() => shufflenetV2({ width: 1.5 })))).toBe('shufflenet_v2_x1_5');
  });
});

describe('pretrainedWeights', () => {
  it('finds a set by name and DEFAULT', () => {
    expect(pretrainedWeights('mobilenet_v2', 'IMAGENET1K_V1').fileName).toBe('mobilenet_v2-b0353104.pth');
    expect(pretrainedWeights('mobilenet_v2').fileName).toBe('mobilenet_v2-7ebf99e0.pth');
    expect(pretrainedWeights('efficientnet_b0', 'DEFAULT').preprocessing.interpolation).toBe('bicubic');
  });

  it('names what exists when the model or the set is unknown', () => {
    expect(() => pretrainedWeights('resnet50')).toThrow(/arch must be one of mobilenet_v2, .*efficientnet_b0, got "resnet50"/);
    expect(() => pretrainedWeights('mobilenet_v3_small', 'IMAGENET1K_V2')).toThrow(/mobilenet_v3_small has weight sets IMAGENET1K_V1, DEFAULT, got "IMAGENET1K_V2"/);
    expect(() => pretrainedWeights('mobilenet_v2', 'imagenet1k_v2')).toThrow(RangeError);
  });
});

describe('sha256PrefixOfFileName', () => {
  it('reads torch hub\'s -<hex>.<ext> suffix with 8 to 64 digits', () => {
    expect(sha256PrefixOfFileName('mnasnet0.5_top1_67.823-3ffadce67e.pth')).toBe('3ffadce67e');
    expect(sha256PrefixOfFileName('my-net-v2-0123abcd.safetensors')).toBe('0123abcd');
    expect(sha256PrefixOfFileName('model-0123abc.pth')).toBeNull(); // 7 digits: too short to check anything
    expect(sha256PrefixOfFileName('model-0123ABCD.pth')).toBeNull(); // torch hub's digests are lowercase
    expect(sha256PrefixOfFileName('model.pth')).toBeNull();
    expect(sha256PrefixOfFileName('model-0123abcd.onnx')).toBeNull();
    expect(sha256PrefixOfFileName(`m-${'a'.repeat(65)}.pth`)).toBeNull();
  });
});
