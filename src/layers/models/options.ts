/** Option reading shared by the zoo's factories: classes, dropout and initialisation. */
import { readInteger, readNumber } from '../../checks.js';
import { checkParameterElements, resolveGenerator, type Generator, type InitOptions } from '../init.js';

export interface ZooOptions extends InitOptions {
  /** Classifier outputs (1000 for ImageNet). */
  numClasses?: number;
  /** The classifier's dropout probability (kept for PyTorch parity; inference is eval mode). */
  dropout?: number;
}

export const ZOO_OPTION_NAMES = ['numClasses', 'dropout', 'seed', 'generator'] as const;

export interface ResolvedZooOptions {
  numClasses: number;
  dropout: number;
  generator: Generator;
}

/**
 * Reads the shared options and checks the classifier's weight size (`features × numClasses`)
 * before anything is built.
 */
export function readZooOptions(options: Partial<ZooOptions>, fn: string, features: number, defaultDropout: number): ResolvedZooOptions {
  const numClasses = readInteger(options.numClasses, `${fn}: numClasses`, 1000);
  const dropout = readNumber(options.dropout, `${fn}: dropout`, defaultDropout, { min: 0, max: 1 });
  checkParameterElements(features * numClasses, `${fn}: the classifier weight (numClasses)`);
  return { numClasses, dropout, generator: resolveGenerator(options) };
}
