/**
 * Strict command-line flag parsing: every flag is declared with its type and range, anything
 * else (unknown flags, missing or malformed values, repeated flags, stray arguments) is a
 * UsageError whose message names the flag, the value received and what was expected.
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagSpec =
  | { readonly type: 'boolean'; readonly help: string }
  | { readonly type: 'int'; readonly min: number; readonly max?: number; readonly help: string; readonly default?: number }
  | { readonly type: 'number'; readonly min: number; readonly max?: number; readonly exclusiveMin?: boolean; readonly help: string; readonly default?: number }
  | { readonly type: 'pair'; readonly min: number; readonly help: string; readonly default?: [number, number] }
  | { readonly type: 'string'; readonly help: string; readonly choices?: readonly string[]; readonly default?: string; readonly valueName?: string };

export type FlagSpecs = Record<string, FlagSpec>;

export type FlagValue = boolean | number | string | [number, number];

function parseInteger(text: string, flag: string, min: number, max: number | undefined, expected: string): number {
  if (!/^[+-]?\d+$/.test(text)) throw new UsageError(`--${flag} must be ${expected}, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
    throw new UsageError(`--${flag} must be ${expected}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function rangeText(min: number, max: number | undefined): string {
  if (max !== undefined) return `an integer from ${min} to ${max}`;
  return min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
}

function parseValue(flag: string, spec: FlagSpec, text: string): FlagValue {
  switch (spec.type) {
    case 'boolean':
      throw new UsageError(`--${flag} takes no value, got ${JSON.stringify(text)}`);
    case 'int':
      return parseInteger(text, flag, spec.min, spec.max, rangeText(spec.min, spec.max));
    case 'number': {
      const value = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) ? Number(text) : NaN;
      const aboveMin = spec.exclusiveMin ? value > spec.min : value >= spec.min;
      if (!Number.isFinite(value) || !aboveMin || (spec.max !== undefined && value > spec.max)) {
        const bound = `${spec.exclusiveMin ? '>' : '>='} ${spec.min}${spec.max !== undefined ? ` and <= ${spec.max}` : ''}`;
        throw new UsageError(`--${flag} must be a number ${bound}, got ${JSON.stringify(text)}`);
      }
      return value;
    }
    case 'pair': {
      const expected = `${rangeText(spec.min, undefined)} or a pair HxW of them (e.g. 3 or 3x5)`;
      const parts = text.split(/x/i);
      try {
        if (parts.length === 1) {
          const v = parseInteger(text, flag, spec.min, undefined, expected);
          return [v, v];
        }
        if (parts.length === 2) {
          return [parseInteger(parts[0]!, flag, spec.min, undefined, expected), parseInteger(parts[1]!, flag, spec.min, undefined, expected)];
        }
      } catch {
        // Reported below with the whole value rather than the failing half.
      }
      throw new UsageError(`--${flag} must be ${expected}, got ${JSON.stringify(text)}`);
    }
    case 'string':
      if (text === '') throw new UsageError(`--${flag} must not be empty`);
      if (spec.choices && !spec.choices.includes(text)) {
        throw new UsageError(`--${flag} must be one of ${spec.choices.join(', ')}, got ${JSON.stringify(text)}`);
      }
      return text;
  }
}

/**
 * Parses `--name value`, `--name=value` and boolean `--name`. Flags left out take their
 * declared default (booleans: false); flags without a default are absent from the result.
 */
export function parseFlags(args: readonly string[], specs: FlagSpecs): Record<string, FlagValue> {
  const result: Record<string, FlagValue> = {};
  const seen = new Set<string>();
  const known = Object.keys(specs).map((name) => `--${name}`).join(', ');
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--') || arg === '--') {
      throw new UsageError(`unexpected argument ${JSON.stringify(arg)}; flags are ${known}`);
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const spec = Object.prototype.hasOwnProperty.call(specs, name) ? specs[name] : undefined;
    if (spec === undefined) {
      throw new UsageError(`unknown flag --${name}; expected one of ${known}`);
    }
    if (seen.has(name)) throw new UsageError(`--${name} is given more than once`);
    seen.add(name);
    if (spec.type === 'boolean') {
      if (eq >= 0) parseValue(name, spec, arg.slice(eq + 1));
      result[name] = true;
      continue;
    }
    let text: string;
    if (eq >= 0) text = arg.slice(eq + 1);
    else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value (${spec.help})`);
      text = next;
      i++;
    }
    result[name] = parseValue(name, spec, text);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (name in result) continue;
    if (spec.type === 'boolean') result[name] = false;
    else if (spec.default !== undefined) result[name] = spec.default;
  }
  return result;
}

/** The flag list of a command's help text. */
export function describeFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const value = spec.type === 'boolean' ? '' : spec.type === 'pair' ? ' <n|HxW>' : spec.type === 'string' ? ` <${spec.valueName ?? 'text'}>` : spec.type === 'number' ? ' <x>' : ' <n>';
    const def =
      spec.type !== 'boolean' && spec.default !== undefined
        ? ` (default ${Array.isArray(spec.default) ? (spec.default[0] === spec.default[1] ? spec.default[0] : spec.default.join('x')) : spec.default})`
        : '';
    return [`  --${name}${value}`, `${spec.help}${def}`] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${left.padEnd(width)}  ${right}`).join('\n');
}

/** Where a command's output goes (process streams and files, or a test's capture). */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  writeFile(path: string, content: string): void;
}
