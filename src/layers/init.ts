/**
 * Seedable initialisation. Layers draw their initial weights from a Generator, so two models built
 * from the same seed are identical. Without an explicit generator or seed a layer draws from the
 * global default generator, which `manualSeed` reseeds (as `torch.manual_seed` does).
 */
import { checkElements, describeValue, ownProperty, readNumber } from '../checks.js';
import { SHAPE_ONLY_DATA } from './parameter.js';

/** A small deterministic PRNG (sfc32: 128-bit state, passes PractRand to 2^40+ bytes). */
export class Generator {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Resets the state from `seed` (any integer; only its low 53 bits matter). */
  manualSeed(seed: number): this {
    if (typeof seed !== 'number' || !Number.isFinite(seed) || !Number.isInteger(seed)) {
      throw new TypeError(`seed must be an integer, got ${describeValue(seed)}`);
    }
    // splitmix32 spreads a small seed over the whole state; the discarded draws decorrelate it.
    let s = (seed >>> 0) ^ Math.floor(seed / 4294967296);
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.nextUint32();
    return this;
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1) with 32 random bits. */
  random(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Fills `out` with U(low, high) values and returns it. */
  uniform(out: Float32Array, low: number, high: number): Float32Array {
    if (!(out instanceof Float32Array)) throw new TypeError(`uniform: out must be a Float32Array, got ${describeValue(out)}`);
    readNumber(low, 'uniform: low', 0);
    readNumber(high, 'uniform: high', 0, { min: low });
    const span = high - low;
    for (let i = 0; i < out.length; i++) out[i] = low + span * this.random();
    return out;
  }
}

const defaultGenerator = new Generator(0);

/** Reseeds the global generator that layers use when given neither `seed` nor `generator`. */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}

/** The global default generator. */
export function getDefaultGenerator(): Generator {
  return defaultGenerator;
}

export interface InitOptions {
  /** Draw the initial parameters from a new Generator seeded with this value. */
  seed?: number;
  /** Draw the initial parameters from this generator (shared by a whole model, for example). */
  generator?: Generator;
}

/** The generator a layer constructor should use: `generator`, else a fresh one from `seed`, else the default. */
export function resolveGenerator(options: InitOptions | undefined): Generator {
  // Own properties only (a layer may pass the caller's object straight through).
  const own = (key: keyof InitOptions): unknown => (options === undefined || options === null ? undefined : ownProperty(options, key));
  const generator = own('generator');
  if (generator !== undefined) {
    if (!(generator instanceof Generator)) {
      throw new TypeError(`generator must be a Generator instance, got ${describeValue(generator)}`);
    }
    return generator;
  }
  const seed = own('seed');
  if (seed !== undefined) return new Generator(seed as number);
  return defaultGenerator;
}

let shapeOnlyBuilds = 0;
const NO_DATA = SHAPE_ONLY_DATA;

/**
 * The data array of a new parameter or buffer of `elements` values, checked against the size
 * limit. Inside `withShapeOnlyParameters` it is an empty placeholder instead (nothing allocated).
 */
export function parameterData(elements: number, name: string): Float32Array {
  if (shapeOnlyBuilds > 0) return NO_DATA;
  return new Float32Array(checkElements(elements, name));
}

/** `checkElements` for parameters a constructor is about to create; nothing to check in a shape-only build. */
export function checkParameterElements(elements: number, name: string): void {
  if (shapeOnlyBuilds === 0) checkElements(elements, name);
}

/**
 * Runs `build` with every parameter and buffer created through `parameterData` left empty: the
 * modules have their full structure and parameter shapes (what `summary` and cost analysis read)
 * but no weights, like PyTorch's `meta` device. Such a model must not be run or saved; it is
 * for counting only (the CLI's `summary` uses it, so a 1,000,000-class model is not allocated).
 */
export function withShapeOnlyParameters<T>(build: () => T): T {
  shapeOnlyBuilds++;
  try {
    return build();
  } finally {
    shapeOnlyBuilds--;
  }
}

/**
 * PyTorch's default for conv and linear layers: weight and bias ~ U(-1/sqrt(fanIn), +1/sqrt(fanIn))
 * (what `kaiming_uniform_(a=sqrt(5))` and the bias rule amount to). The weight is drawn first.
 */
export function uniformFanIn(data: Float32Array, fanIn: number, generator: Generator): Float32Array {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return generator.uniform(data, -bound, bound);
}
