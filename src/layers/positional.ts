/**
 * PyTorch's positional form of the convolution modules, `Conv2d(inChannels, outChannels,
 * kernelSize, options?)`, beside sepconv's single options object.
 */
import { describeValue } from '../tensor.js';
import { readOptions } from '../checks.js';

const POSITIONAL = ['inChannels', 'outChannels', 'kernelSize'];

/** The arguments of a convolution module's constructor: one options object, or PyTorch's positional form. */
export type ConvModuleArgs<O extends { inChannels: number; outChannels: number; kernelSize: unknown }> =
  | [options: O]
  | [inChannels: number, outChannels: number, kernelSize: O['kernelSize'], options?: Omit<O, 'inChannels' | 'outChannels' | 'kernelSize'>];

/**
 * The options object a constructor called with `args` means: the object itself, or the positional
 * arguments merged into the trailing options (which may not repeat them). `allowed` are the
 * constructor's option names.
 */
export function convModuleOptions(args: readonly unknown[], allowed: readonly string[], fn: string): unknown {
  const [first, outChannels, kernelSize, rest] = args;
  if (typeof first !== 'number') {
    if (args.length > 1) {
      throw new TypeError(`${fn}: pass one options object or (inChannels, outChannels, kernelSize, options?), got ${args.length} arguments starting with ${describeValue(first)}`);
    }
    return first;
  }
  if (args.length < 3 || args.length > 4) {
    throw new TypeError(`${fn}(inChannels, outChannels, kernelSize, options?): expected 3 or 4 arguments, got ${args.length}`);
  }
  const options = readOptions(rest, allowed.filter((name) => !POSITIONAL.includes(name)), fn);
  return { ...options, inChannels: first, outChannels, kernelSize };
}
