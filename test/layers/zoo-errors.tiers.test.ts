/** Bad input to the zoo: options, widths, input shapes and state dicts of another architecture or width. */
import { describe, expect, it } from 'vitest';
import {
  efficientnetB0, LayerShapeError, mnasnet, mobilenetV2, mobilenetV3Large, mobilenetV3Small, shufflenetV2, StateDictError, channelShuffle,
  makeDivisible,
} from '../../src/index.js';
import { withShapeOnlyParameters } from '../../src/layers/init.js';

describe('zoo options', () => {
  it('refuses unknown options, naming them and the accepted ones', () => {
    expect(() => mobilenetV2({ width: 1 } as never)).toThrow(/mobilenetV2: unknown option "width"; expected one of widthMult, numClasses/);
    expect(() => mobilenetV3Large({ widthMult: 1 } as never)).toThrow(/mobilenetV3Large: unknown option "widthMult"/);
    expect(() => mobilenetV3Small({ alpha: 1 } as never)).toThrow(/mobilenetV3Small: unknown option "alpha"/);
    expect(() => shufflenetV2({ dropout: 0.1 } as never)).toThrow(/shufflenetV2: unknown option "dropout"/);
    expect(() => mnasnet({ widthMult: 1 } as never)).toThrow(/mnasnet: unknown option "widthMult"/);
    expect(() => efficientnetB0({ width: 1 } as never)).toThrow(/efficientnetB0: unknown option "width"/);
    expect(() => mobilenetV2(Object.create({ widthMult: 0.5 }) as never)).toThrow(/inherited/);
  });

  it('refuses width multipliers that are not positive finite numbers, and unknown ShuffleNetV2 widths', () => {
    for (const bad of [0, -1, Number.NaN, Infinity]) {
      expect(() => mobilenetV2({ widthMult: bad })).toThrow(RangeError);
      expect(() => mnasnet({ alpha: bad })).toThrow(RangeError);
    }
    expect(() => mobilenetV2({ widthMult: '1' as never })).toThrow(TypeError);
    expect(() => mobilenetV2({ widthMult: 0 })).toThrow(/mobilenetV2: widthMult must be a positive number, got 0/);
    expect(() => shufflenetV2({ width: 0.75 as never })).toThrow(/shufflenetV2: width must be one of 0.5, 1, 1.5, 2, got 0.75/);
    expect(() => mobilenetV2({ numClasses: 0 })).toThrow(/mobilenetV2: numClasses must be a positive integer/);
    expect(() => mobilenetV2({ dropout: 1.5 })).toThrow(/mobilenetV2: dropout/);
    expect(() => efficientnetB0({ stochasticDepthProb: -0.1 })).toThrow(/stochasticDepthProb/);
  });

  it('never gives zero channels: tiny multipliers round up to 8 channels, as torchvision does', () => {
    expect(makeDivisible(1e-6 * 32, 8)).toBe(8);
    const tiny = withShapeOnlyParameters(() => mobilenetV2({ widthMult: 1e-6 }));
    expect(tiny.stateDict()['features.0.0.weight']!.shape).toEqual([8, 3, 3, 3]);
    expect(tiny.stateDict()['features.17.conv.2.weight']!.shape).toEqual([8, 48, 1, 1]);
    expect(tiny.stateDict()['classifier.1.weight']!.shape).toEqual([1000, 1280]);
    const tinyMnas = withShapeOnlyParameters(() => mnasnet({ alpha: 1e-6 }));
    expect(tinyMnas.stateDict()['layers.0.weight']!.shape).toEqual([8, 3, 3, 3]);
  });

  it('refuses multipliers and class counts whose weights exceed the size limit before building anything', () => {
    expect(() => mobilenetV2({ widthMult: 1e9 })).toThrow(/mobilenetV2: the last 1×1 convolution weight \(widthMult\) would need/);
    expect(() => mnasnet({ alpha: 1e9 })).toThrow(/mnasnet: the last 1×1 convolution weight \(alpha\)/);
    expect(() => efficientnetB0({ numClasses: 1e6 })).toThrow(/efficientnetB0: the classifier weight \(numClasses\)/);
  });
});

describe('zoo input shapes', () => {
  const model = mobilenetV2({ widthMult: 0.5, seed: 1 });

  it('accepts any input of at least 1×1, as torchvision (min_size (1, 1))', () => {
    expect(model.outputShape([2, 3, 1, 1])).toEqual([2, 1000]);
    expect(model.outputShape([1, 3, 67, 31])).toEqual([1, 1000]);
    expect(shufflenetV2({ width: 0.5 }).outputShape([1, 3, 1, 1])).toEqual([1, 1000]);
  });

  it('names the layer that rejects an input', () => {
    const expectLayer = (shape: number[], layer: string, detail: RegExp): void => {
      let error: unknown;
      try {
        model.outputShape(shape);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LayerShapeError);
      expect(error).toBeInstanceOf(RangeError);
      expect((error as LayerShapeError).layerPath).toBe(layer);
      expect((error as Error).message).toMatch(detail);
    };
    expectLayer([1, 4, 32, 32], 'features.0.0', /mobilenetV2: input shape \[1, 4, 32, 32\] does not fit the network: at layer "features.0.0" \(Conv2d\).*expected input with 3 channels/);
    expectLayer([1, 3, 0, 0], 'features.0.0', /at layer "features.0.0" \(Conv2d\) on input \[1, 3, 0, 0\]/);
    expect(() => model.outputShape([3, 32, 32])).toThrow(/mobilenetV2: input must be \[N, C, H, W\], got shape \[3, 32, 32\]/);
    expect(() => model.compile([1, 4, 32, 32])).toThrow(/at layer "features.0.0"/);
    expect(() => model.forward({ shape: [1, 4, 8, 8], data: new Float32Array(256) })).toThrow(/at layer "features.0.0"/);
  });

  it('a block used alone names its own children', () => {
    const block = mobilenetV2({ widthMult: 0.5 }).features.at(2);
    expect(() => block.outputShape([1, 9, 8, 8])).toThrow(/at layer "conv.0.0" \(Conv2d\)/);
  });
});

describe('zoo state dicts from another architecture or width', () => {
  it('lists the mismatched keys and shapes and changes nothing', () => {
    const model = mobilenetV2({ seed: 1 });
    const before = model.stateDict();
    let error: unknown;
    try {
      model.loadStateDict(mobilenetV2({ widthMult: 0.5, seed: 2 }).stateDict());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StateDictError);
    const e = error as StateDictError;
    expect(e.mismatchedKeys).toContain('features.0.0.weight');
    expect(e.message).toMatch(/size mismatch for "features.0.0.weight": copying a tensor with shape \[16, 3, 3, 3\] from the dict, the shape in the current model is \[32, 3, 3, 3\]/);
    expect(e.missingKeys).toEqual([]);
    const after = model.stateDict();
    const changed = Object.keys(before).filter((key) => {
      const a = after[key]!.data;
      const b = before[key]!.data;
      return a.length !== b.length || a.some((v, i) => !Object.is(v, b[i]));
    });
    expect(changed).toEqual([]);
  });

  it('lists missing and unexpected keys for another architecture', () => {
    const model = mobilenetV3Small({ seed: 1 });
    let error: unknown;
    try {
      model.loadStateDict(shufflenetV2({ width: 0.5, seed: 2 }).stateDict());
    } catch (e) {
      error = e;
    }
    const e = error as StateDictError;
    expect(e).toBeInstanceOf(StateDictError);
    expect(e.missingKeys).toContain('features.1.block.1.fc1.weight');
    expect(e.unexpectedKeys).toContain('conv5.1.running_var');
    expect(e.message).toMatch(/nothing was changed/);
  });
});

describe('channelShuffle', () => {
  it('is torchvision channel_shuffle: output channel j·groups + g is input channel g·(C/groups) + j', () => {
    const x = { shape: [2, 6, 1, 2], data: Float32Array.from({ length: 24 }, (_, i) => i) };
    const y = channelShuffle(x, 3);
    // Sample 0 channels [0..5] → [0, 2, 4, 1, 3, 5].
    expect(Array.from(y.data.subarray(0, 12))).toEqual([0, 1, 4, 5, 8, 9, 2, 3, 6, 7, 10, 11]);
    expect(Array.from(y.data.subarray(12))).toEqual([12, 13, 16, 17, 20, 21, 14, 15, 18, 19, 22, 23]);
    expect(() => channelShuffle(x, 4)).toThrow(/groups must be a positive integer dividing the 6 channels, got 4/);
  });
});
