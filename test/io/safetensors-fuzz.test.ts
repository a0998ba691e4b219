/**
 * A mutation fuzzer for the safetensors parser, with a fixed seed and a time bound. Each case
 * mutates a valid file (bytes flipped, set or cut, the length prefix changed, header text spliced:
 * duplicate and "__proto__" names, deep nesting, hostile numbers, other dtypes, shifted offsets).
 * The parser must either return tensors that satisfy the format's invariants or throw a
 * SafetensorsError with a short message: never another error, never a stack overflow or an engine
 * message, never a huge allocation (the header and data sizes bound every allocation).
 */
import { describe, expect, it } from 'vitest';
import { SafetensorsError, isInt64Tensor, parseSafetensors, saveSafetensors } from '../../src/index.js';
import { rng } from '../helpers.js';

const SEED = 20261205;
const TIME_BUDGET_MS = 2500;
const MAX_CASES = 40000;

function header(text: string, data: Uint8Array): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + bytes.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(bytes.length), true);
  out.set(bytes, 8);
  out.set(data, 8 + bytes.length);
  return out;
}

/** Valid files to start from: written by saveSafetensors, and by hand with every loadable dtype. */
function corpus(): Uint8Array[] {
  const f32 = (n: number, k: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k));
  return [
    saveSafetensors({ 'a.weight': { shape: [2, 3], data: f32(6, 1) }, 'a.bias': { shape: [2], data: f32(2, 2) } }, { format: 'pt' }),
    saveSafetensors({ n: { shape: [], data: new BigInt64Array([7n]) }, w: { shape: [1, 1, 3, 3], data: f32(9, 3) } }),
    saveSafetensors({ ['__proto__']: { shape: [1], data: f32(1, 4) }, constructor: { shape: [2, 1], data: f32(2, 5) } }),
    header(
      '{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},' +
        '"d":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},"u":{"dtype":"U8","shape":[3],"data_offsets":[16,19]},"__metadata__":{"k":"v"}}',
      new Uint8Array([0, 0x3c, 0, 0xc0, 0x80, 0x3f, 0, 0xbf, 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f, 1, 2, 3]),
    ),
  ];
}

const INTERESTING_BYTES = [0, 0xff, 0x7f, 0x80, 0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x2d, 0x30, 0x39, 0x5c, 0x20];
const SPLICES = [
  '1e309', '-1', '9007199254740993', '1.5', '0', '[]', '{}', 'null', 'true', '"F32"', '"I64"', '"U64"', '"F8_E4M3"', '"__proto__"',
  '[' .repeat(3000) + ']'.repeat(3000), '{"a":'.repeat(2000) + '1' + '}'.repeat(2000), '"\\ud800"', '"\\u0000"', '[4294967296,4294967300]',
  '[0,18446744073709551616]', '"' + 'x'.repeat(5000) + '"',
];

function mutate(file: Uint8Array, random: () => number): Uint8Array {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const at = (length: number): number => Math.floor(random() * Math.max(1, length));
  let bytes: Uint8Array = file.slice();
  const rounds = 1 + Math.floor(random() * 3);
  for (let r = 0; r < rounds; r++) {
    const view = new DataView(bytes.buffer);
    const headerLength = bytes.length >= 8 ? Number(view.getBigUint64(0, true)) : 0;
    switch (Math.floor(random() * 9)) {
      case 0: { // flip a bit
        if (bytes.length > 0) bytes[at(bytes.length)]! ^= 1 << Math.floor(random() * 8);
        break;
      }
      case 1: { // set a byte to an interesting value
        if (bytes.length > 0) bytes[at(bytes.length)] = pick(INTERESTING_BYTES);
        break;
      }
      case 2: { // truncate
        bytes = bytes.slice(0, at(bytes.length));
        break;
      }
      case 3: { // append junk
        const extra = Uint8Array.from({ length: 1 + at(16) }, () => Math.floor(random() * 256));
        const grown = new Uint8Array(bytes.length + extra.length);
        grown.set(bytes);
        grown.set(extra, bytes.length);
        bytes = grown;
        break;
      }
      case 4: { // change the length prefix
        if (bytes.length >= 8) {
          const choices = [0n, 1n, BigInt(headerLength + 1), BigInt(Math.max(0, headerLength - 1)), 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n, 100_000_001n];
          view.setBigUint64(0, pick(choices), true);
        }
        break;
      }
      default: { // splice the header text: replace a token, duplicate an entry, or insert a hostile value
        if (bytes.length < 8 || headerLength > bytes.length - 8) break;
        let text = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
        const data = bytes.subarray(8 + headerLength);
        const kind = Math.floor(random() * 4);
        if (kind === 0) {
          const tokens = [...text.matchAll(/-?\d+(?:\.\d+)?|"[^"]*"|\[[^[\]]*\]/g)];
          if (tokens.length > 0) {
            const t = pick(tokens);
            text = text.slice(0, t.index) + pick(SPLICES) + text.slice(t.index! + t[0].length);
          }
        } else if (kind === 1) {
          const entry = /"([^"]+)":\{"dtype"[^}]*\}/.exec(text);
          if (entry) text = text.replace('{', `{${entry[0]},`);
        } else if (kind === 2) {
          text = text.replace('{', `{"${pick(['__proto__', 'constructor', '__metadata__', 'toString', ''])}":${pick(SPLICES)},`);
        } else {
          const shifted = text.replace(/"data_offsets":\[(\d+),(\d+)\]/, (_, a: string, b: string) => `"data_offsets":[${Number(a) + pick([-8, -1, 1, 4, 8])},${Number(b) + pick([-8, -1, 0, 1, 8])}]`);
          text = shifted;
        }
        bytes = header(text, data);
        break;
      }
    }
  }
  return bytes;
}

/** What every successful parse must satisfy. */
function checkResult(result: ReturnType<typeof parseSafetensors>): void {
  expect(Object.getPrototypeOf(result.tensors)).toBe(null);
  for (const name of Object.keys(result.tensors)) {
    const t = result.tensors[name]!;
    expect(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)).toBe(true);
    expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
    expect(t.data instanceof Float32Array || isInt64Tensor(t)).toBe(true);
  }
  if (result.metadata !== null) expect(Object.values(result.metadata).every((v) => typeof v === 'string')).toBe(true);
  // What loaded saves and loads again to the same tensors.
  const again = parseSafetensors(saveSafetensors(result.tensors, result.metadata ?? undefined));
  expect(Object.keys(again.tensors).sort()).toEqual(Object.keys(result.tensors).sort());
}

describe('safetensors mutation fuzzer (fixed seed, time-bounded)', () => {
  it(`every mutated file parses to valid tensors or throws a short SafetensorsError (seed ${SEED})`, () => {
    const random = rng(SEED);
    const files = corpus();
    for (const file of files) checkResult(parseSafetensors(file, { skipUnsupported: true }));
    const start = performance.now();
    let cases = 0;
    let parsed = 0;
    const failures: string[] = [];
    while (cases < MAX_CASES && performance.now() - start < TIME_BUDGET_MS) {
      const bytes = mutate(files[cases % files.length]!, random);
      cases++;
      try {
        const result = parseSafetensors(bytes, { skipUnsupported: random() < 0.5 });
        checkResult(result);
        parsed++;
      } catch (error) {
        const message = (error as Error).message;
        if (!(error instanceof SafetensorsError) || message.length > 600) {
          if (failures.length < 5) failures.push(`case ${cases}: ${(error as Error).name}: ${message.slice(0, 300)}`);
        }
      }
    }
    // The count is part of the report: how many hostile files were tried and handled.
    console.log(`safetensors fuzzer: ${cases} mutated files, ${parsed} parsed, ${cases - parsed} rejected with a SafetensorsError, ${failures.length} mishandled`);
    expect(failures).toEqual([]);
    expect(cases).toBeGreaterThan(500);
    expect(parsed).toBeGreaterThan(0);
  });
});
