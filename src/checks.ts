/**
 * The checks every public entry point shares, in a module that imports nothing, so `tensor.ts`,
 * the kernels and the layers can all use it:
 *
 * - `describeValue`: a bounded rendering of a received value for error messages (never recurses
 *   more than a few levels, never echoes more than a few items or characters, survives cycles,
 *   throwing getters and proxies), so a message stays short whatever the caller passed;
 * - `readOptions` / `ownProperty`: options, padding objects and parsed records are read through
 *   their own properties only, so nothing on `Object.prototype` (or another inherited object)
 *   changes what a call does;
 * - size limits (`MAX_ELEMENTS`, `MAX_DIMENSION`) checked by `checkElements` before anything is
 *   allocated, with a RangeError naming the parameter, the size it implies and the limit;
 * - typed option readers (`readBoolean`, `readNumber`, `readInteger`, `readEnum`) that reject a
 *   wrong type instead of coercing it (`'no'` is not a boolean).
 */

/**
 * The most elements sepconv allocates in one array (2^28 float32 = 1 GiB). Outputs, scratch,
 * parameters, padded copies, gathered views and index tables are all checked against it before
 * they are allocated.
 */
export const MAX_ELEMENTS = 2 ** 28;

/**
 * The largest accepted dimension, kernel size, stride, padding or dilation (2^32 − 1, the longest
 * typed array). Every shape formula then stays exact in float64: no intermediate reaches 2^53
 * unless it already proves the shape impossible.
 */
export const MAX_DIMENSION = 2 ** 32 - 1;

/** The most dimensions a shape may have (PyTorch's limit is 25 for most operations; 64 leaves room). */
export const MAX_RANK = 64;

/** Worker pools accept at most this many threads per hardware thread. */
export const MAX_THREADS_PER_CORE = 4;

/** Worker pools never take more threads than this, whatever the core count. */
export const MAX_POOL_THREADS = 1024;

// ---------------------------------------------------------------------------------------------
// Bounded value descriptions

const MAX_ITEMS = 6;
const MAX_STRING = 40;
const MAX_DEPTH = 2;
const MAX_DESCRIPTION = 120;

function describeString(s: string): string {
  const shown = s.length > MAX_STRING ? `${s.slice(0, MAX_STRING)}…` : s;
  const quoted = JSON.stringify(shown);
  return s.length > MAX_STRING ? `${quoted} (${s.length} characters)` : quoted;
}

function className(value: object): string {
  const proto = Object.getPrototypeOf(value) as { constructor?: unknown } | null;
  if (proto === null) return 'object (null prototype)';
  const ctor = Object.prototype.hasOwnProperty.call(proto, 'constructor') ? proto.constructor : undefined;
  const name = typeof ctor === 'function' ? (ctor as { name?: unknown }).name : undefined;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? describeName(name) : 'object';
}

function describeName(name: string): string {
  return name.length > MAX_STRING ? `${name.slice(0, MAX_STRING)}…` : name;
}

function describeBounded(value: unknown, depth: number, seen: object[]): string {
  switch (typeof value) {
    case 'string':
      return describeString(value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`.length > MAX_STRING ? 'a bigint' : `${value}n`;
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
  }
  if (value === null) return 'null';
  const object = value as object;
  if (ArrayBuffer.isView(object)) {
    const length = (object as { length?: unknown }).length;
    return typeof length === 'number' ? `${className(object)}(${length})` : className(object);
  }
  if (!Array.isArray(object)) return className(object);
  if (seen.includes(object)) return '[circular]';
  const length = object.length;
  if (depth >= MAX_DEPTH) return `[array of ${length}]`;
  seen.push(object);
  const parts: string[] = [];
  const shown = Math.min(length, MAX_ITEMS);
  for (let i = 0; i < shown; i++) {
    parts.push(Object.prototype.hasOwnProperty.call(object, i) ? describeBounded(object[i], depth + 1, seen) : '<empty>');
  }
  seen.pop();
  if (length > shown) parts.push(`… (${length} items)`);
  return `[${parts.join(', ')}]`;
}

/**
 * A short, readable rendering of a received value for error messages: at most ~120 characters,
 * arrays cut after a few items and two levels, cycles marked, objects named by their class.
 * Never throws (a hostile proxy or getter is described generically).
 */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = describeBounded(value, 0, []);
  } catch {
    return 'a value that cannot be inspected';
  }
  return text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION)}…` : text;
}

/** An option or key name for a message: quoted and cut to a bounded length. */
export function describeKey(key: string): string {
  return describeString(key);
}

// ---------------------------------------------------------------------------------------------
// Own-property reading

const hasOwn = (object: object, key: PropertyKey): boolean => Object.prototype.hasOwnProperty.call(object, key);

/** `object[key]` if `key` is an own property of `object`, else undefined (inherited values are never read). */
export function ownProperty(object: object, key: PropertyKey): unknown {
  return hasOwn(object, key) ? (object as Record<PropertyKey, unknown>)[key] : undefined;
}

/**
 * A field of a caller's data object (a tensor's `shape`/`data`, a view's `stride`/`offset`): its own
 * property, or one its class defines (getters on a prototype), but never one found on
 * `Object.prototype`, so a polluted prototype cannot turn every tensor into something else.
 */
export function dataField(object: object, key: string): unknown {
  let owner: object | null = object;
  for (let depth = 0; owner !== null && depth < 64; depth++) {
    if (owner === Object.prototype) return undefined;
    if (hasOwn(owner, key)) return (object as Record<string, unknown>)[key];
    owner = Object.getPrototypeOf(owner) as object | null;
  }
  return undefined;
}

/** True when `value` is a non-null, non-array object (a candidate options object). */
export function isOptionsObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads an options object through its own properties only and returns them as a null-prototype
 * record (a snapshot: each getter runs once). Throws a TypeError when `options` is not an object,
 * when it has an own key outside `allowed`, or when it inherits an enumerable name from an object
 * other than `Object.prototype` (`Object.create({ padding: 1 })`,`{ __proto__: { padd: 1 } }`):
 * inherited names are not options. Names on `Object.prototype` itself are ignored, so a polluted
 * global prototype changes nothing. `undefined` for `options` reads as `{}`. The type parameter
 * only names the caller's option interface: the values are not checked here.
 */
export function readOptions<T extends object = Record<string, unknown>>(
  options: unknown, allowed: readonly string[], fn: string, noun: 'option' | 'field' = 'option',
): Partial<T> {
  const record = Object.create(null) as Record<string, unknown>;
  if (options === undefined) return record as Partial<T>;
  if (!isOptionsObject(options)) {
    throw new TypeError(`${fn}: ${noun === 'option' ? 'options' : 'spec'} must be an object, got ${describeValue(options)}`);
  }
  const expected = (): string => (allowed.length === 0 ? 'no options are accepted' : `expected one of ${allowed.join(', ')}`);
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      const value = (options as Record<string, unknown>)[key];
      if (value === undefined) continue;
      throw new TypeError(`${fn}: unknown ${noun} ${describeKey(key)}; ${expected()}`);
    }
    record[key] = (options as Record<string, unknown>)[key];
  }
  let proto = Object.getPrototypeOf(options) as object | null;
  for (let depth = 0; proto !== null && proto !== Object.prototype && depth < 64; depth++) {
    for (const key of Object.keys(proto)) {
      if (hasOwn(options, key)) continue;
      throw new TypeError(
        `${fn}: ${noun} ${describeKey(key)} is inherited, not an own property; pass a plain object (${expected()})`,
      );
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  if (!isPlainObject(options)) {
    // A class instance (its getters live on its prototype), a boxed number, a Map, a Date: none is
    // read as a set of options, and reading them as {} would silently use the defaults.
    throw new TypeError(`${fn}: ${noun === 'option' ? 'options' : 'spec'} must be a plain object ({ ... }), got ${describeValue(options)}`);
  }
  return record as Partial<T>;
}

/**
 * An object literal (or `Object.create(null)`): its prototype is `Object.prototype` (of this realm
 * or another one, as in a worker or an iframe) or null.
 */
export function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === null || proto === Object.prototype) return true;
  return Object.getPrototypeOf(proto) === null && Object.prototype.toString.call(value) === '[object Object]' && hasOwn(proto, 'hasOwnProperty');
}

/** `checkOptionNames` semantics without the snapshot: throws as `readOptions` does. */
export function checkOptionNames(options: unknown, allowed: readonly string[], fn: string): void {
  if (!isOptionsObject(options)) {
    throw new TypeError(`${fn}: options must be an object, got ${describeValue(options)}`);
  }
  readOptions(options, allowed, fn);
}

/**
 * An option's value, or `fallback` when it was not given (undefined). `null` is not "not given":
 * it reaches the option's own check and is rejected there, unless null has a meaning (PyTorch's
 * None, such as a pool's `stride`).
 */
export function optional<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

/**
 * Throws a TypeError unless `value` is an object (not an array) with every one of `fields` as an
 * own property: the check a function taking a result object (a summary, a profile, a
 * comparison) makes before reading it. `what` describes where such an object comes from.
 */
export function checkResultObject(value: unknown, name: string, what: string, fields: readonly string[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !fields.every((field) => hasOwn(value, field))) {
    throw new TypeError(`${name} must be ${what}, got ${describeValue(value)}`);
  }
}

/** Element `i` of a caller's array if it is an own element (holes never read `Array.prototype`). */
export function ownElement(array: readonly unknown[], i: number): unknown {
  return hasOwn(array, i) ? array[i] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Typed readers

/** `value` if it is a boolean, `fallback` if undefined, else a TypeError naming `name`. */
export function readBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describeValue(value)}`);
  return value;
}

export interface NumberRange {
  /** Smallest allowed value (inclusive unless `minExclusive`). */
  min?: number;
  minExclusive?: boolean;
  /** Largest allowed value (inclusive unless `maxExclusive`). */
  max?: number;
  maxExclusive?: boolean;
}

function rangeText(range: NumberRange): string {
  const lo = range.min === undefined ? '' : `${range.minExclusive ? '>' : '>='} ${range.min}`;
  const hi = range.max === undefined ? '' : `${range.maxExclusive ? '<' : '<='} ${range.max}`;
  return lo && hi ? `${lo} and ${hi}` : lo || hi;
}

function numberKind(range: NumberRange): string {
  if (range.min === 0 && range.max === undefined) return range.minExclusive ? 'a positive number' : 'a non-negative number';
  const limits = rangeText(range);
  return `a finite number${limits ? ` ${limits}` : ''}`;
}

function inRange(value: number, range: NumberRange): boolean {
  if (range.min !== undefined && (range.minExclusive ? value <= range.min : value < range.min)) return false;
  if (range.max !== undefined && (range.maxExclusive ? value >= range.max : value > range.max)) return false;
  return true;
}

/**
 * A finite number in `range`; `fallback` when undefined. Wrong type → TypeError, non-finite or
 * out of range → RangeError, both naming `name`.
 */
export function readNumber(value: unknown, name: string, fallback: number, range: NumberRange = {}): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a finite number, got ${describeValue(value)}`);
  if (!Number.isFinite(value) || !inRange(value, range)) {
    throw new RangeError(`${name} must be ${numberKind(range)}, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * An integer between `min` (default 1) and `max` (default MAX_DIMENSION); `fallback` when
 * undefined (pass `undefined` to make it required). Wrong type → TypeError; not an integer or
 * out of range → RangeError.
 */
export function readInteger(value: unknown, name: string, fallback?: number, min = 1, max = MAX_DIMENSION): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`${name} must be an integer, got ${describeValue(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    const kind = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer from ${min}`;
    throw new RangeError(`${name} must be ${kind}${min === 1 || min === 0 ? ' up to' : ' to'} ${max}, got ${describeValue(value)}`);
  }
  return value;
}

/** One of `allowed` (compared with ===); `fallback` when undefined; else a RangeError listing them. */
export function readEnum<T>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly unknown[]).includes(value)) {
    const list = allowed.map((a) => (typeof a === 'string' ? `'${a}'` : String(a))).join(', ');
    throw new RangeError(`${name} must be one of ${list}, got ${describeValue(value)}`);
  }
  return value as T;
}

// ---------------------------------------------------------------------------------------------
// Size limits

function formatCount(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : n.toExponential(3);
}

/**
 * Throws a RangeError unless `elements` (what allocating `name` would take) is at most
 * `MAX_ELEMENTS`. Call it before allocating any array whose length a caller controls.
 * Returns `elements`.
 */
export function checkElements(elements: number, name: string): number {
  if (!(elements <= MAX_ELEMENTS)) {
    throw new RangeError(
      `${name} would need ${formatCount(elements)} elements (${formatCount(elements * 4)} bytes as float32), over sepconv's limit of ${MAX_ELEMENTS} elements (2^28) per array`,
    );
  }
  return elements;
}

/** The element count of `shape` (dimensions already checked), checked against `MAX_ELEMENTS`. */
export function checkShapeElements(shape: readonly number[], name: string): number {
  let size = 1;
  for (let i = 0; i < shape.length; i++) size *= shape[i]!;
  if (!(size <= MAX_ELEMENTS)) {
    const dims = shape.length <= 8 ? `[${shape.join(', ')}]` : `of rank ${shape.length}`;
    throw new RangeError(
      `${name} of shape ${dims} would need ${formatCount(size)} elements (${formatCount(size * 4)} bytes as float32), over sepconv's limit of ${MAX_ELEMENTS} elements (2^28) per array`,
    );
  }
  return size;
}

/** A new zeroed Float32Array of `elements`, after `checkElements`. */
export function allocFloat32(elements: number, name: string): Float32Array {
  return new Float32Array(checkElements(elements, name));
}

// ---------------------------------------------------------------------------------------------
// The `backend` option: which kernel tier a call runs on (chosen in ops/backend.ts)

export type Backend = 'wasm' | 'js';
export type BackendChoice = Backend | 'auto';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'wasm', 'js'];

/** Checks a `backend` option value. */
export function checkBackendChoice(choice: unknown, name: string): BackendChoice {
  if (!BACKEND_CHOICES.includes(choice as BackendChoice)) {
    throw new RangeError(`${name} must be one of 'auto', 'wasm', 'js', got ${describeValue(choice)}`);
  }
  return choice as BackendChoice;
}
