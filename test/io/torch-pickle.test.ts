/**
 * The pickle reader opcode by opcode: each snippet with the value Python's pickle.loads gives for
 * it (checked by hand), and the opcodes that reach the caller's hooks (globals, calls, BUILD,
 * persistent ids).
 */
import { describe, expect, it } from 'vitest';
import { PickleError, unpickle, type UnpickleHooks } from '../../src/io/pickle.js';

function bytes(...parts: (number | string | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}
const u64 = (n: number): Uint8Array => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);

const calls: string[] = [];
const hooks: UnpickleHooks = {
  resolveGlobal: (module, name) => ({ qualifiedName: `${module}.${name}`, call: (args: unknown[]) => ({ called: `${module}.${name}`, args }) }),
  persistentLoad: (pid) => ({ pid }),
  build: (object, state) => {
    calls.push(`build ${JSON.stringify(state)}`);
    return object;
  },
};
const load = (b: Uint8Array): unknown => unpickle(b, hooks).value;
const dict = (entries: Record<string, unknown>): Record<string, unknown> => Object.assign(Object.create(null) as Record<string, unknown>, entries);

describe('pickle opcodes (values as Python\'s pickle.loads gives them)', () => {
  const cases: [string, Uint8Array, unknown][] = [
    ['POP', bytes(0x80, 2, 'K', 1, 'K', 2, '0.'), 1],
    ['POP_MARK', bytes(0x80, 2, 'K', 1, '(K', 2, 'K', 3, '1.'), 1],
    ['STRING with escapes', bytes("S'a\\x41\\n'\n."), 'aA\n'],
    ['SHORT_BINSTRING', bytes('U', 3, 'abc.'), 'abc'],
    ['BINSTRING', bytes('T', 3, 0, 0, 0, 'abc.'), 'abc'],
    ['SHORT_BINBYTES', bytes(0x80, 3, 'C', 2, 0, 0xff, '.'), new Uint8Array([0, 255])],
    ['BINBYTES8', bytes(0x80, 4, 0x8e, u64(2), 1, 2, '.'), new Uint8Array([1, 2])],
    ['BYTEARRAY8', bytes(0x80, 5, 0x96, u64(1), 7, '.'), new Uint8Array([7])],
    ['LONG4', bytes(0x80, 2, 0x8b, 2, 0, 0, 0, 0xff, 0x7f, '.'), 32767],
    ['LONG1 negative', bytes(0x80, 2, 0x8a, 1, 0xff, '.'), -1],
    ['LONG1 of no bytes', bytes(0x80, 2, 0x8a, 0, '.'), 0],
    ['LONG (text) beyond 2^53', bytes('L-12345678901234567890L\n.'), -12345678901234567890n],
    ['FRAME, SHORT_BINUNICODE, MEMOIZE, BINGET', bytes(0x80, 4, 0x95, u64(8), 0x8c, 1, 'a', 0x94, 'h', 0, 0x86, '.'), ['a', 'a']],
    ['EMPTY_SET, ADDITEMS', bytes(0x80, 4, 0x8f, '(K', 1, 'K', 2, 0x90, '.'), [1, 2]],
    ['FROZENSET', bytes(0x80, 4, '(K', 1, 0x91, '.'), [1]],
    ['DICT (text)', bytes("(S'a'\nI1\nd."), dict({ a: 1 })],
    ['LIST (text)', bytes('(I1\nI2\nl.'), [1, 2]],
    ['TUPLE (text)', bytes('(I1\nt.'), [1]],
    ['INT 01 is True', bytes('I01\n.'), true],
    ['FLOAT (text)', bytes('F2.5\n.'), 2.5],
    ['FLOAT nan', bytes('Fnan\n.'), NaN],
    ['FLOAT -inf', bytes('F-inf\n.'), -Infinity],
    ['FLOAT with an exponent', bytes('F1e-05\n.'), 1e-5],
    ['UNICODE raw-unicode-escape', bytes('V\\u00e9\n.'), 'é'],
    ['BINFLOAT', bytes(0x80, 2, 'G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, '.'), 1.5],
    ['BININT negative', bytes(0x80, 2, 'J', 0xff, 0xff, 0xff, 0xff, '.'), -1],
    ['BINUNICODE8', bytes(0x80, 4, 0x8d, u64(2), 'hi.'), 'hi'],
    ['PERSID (text)', bytes('Pabc\n.'), { pid: 'abc' }],
    ['INST', bytes('(I1\nimod\nname\n.'), { called: 'mod.name', args: [1] }],
    ['OBJ', bytes('(cmod\nname\nI1\no.'), { called: 'mod.name', args: [1] }],
    ['NEWOBJ_EX without keywords', bytes(0x80, 4, 'cmod\nname\n)}', 0x92, '.'), { called: 'mod.name', args: [] }],
    ['STACK_GLOBAL, NEWOBJ', bytes(0x80, 4, 0x8c, 1, 'm', 0x8c, 1, 'n', 0x93, 'K', 5, 0x85, 0x81, '.'), { called: 'm.n', args: [5] }],
  ];
  for (const [name, pickle, expected] of cases) {
    it(name, () => {
      expect(load(pickle)).toEqual(expected);
    });
  }

  it('DUP pushes the same object; GET/PUT (text) make a list that holds itself', () => {
    const pair = load(bytes(0x80, 2, ']2', 0x86, '.')) as unknown[][];
    expect(pair[0]).toBe(pair[1]);
    const cyclic = load(bytes('(lp0\ng0\na.')) as unknown[];
    expect(cyclic[0]).toBe(cyclic);
  });

  it('BUILD hands object and state to the hook', () => {
    calls.length = 0;
    expect(load(bytes(0x80, 2, '}', '}', 'X', 1, 0, 0, 0, 'k', 'K', 1, 's', 'b', '.'))).toEqual(dict({}));
    expect(calls).toEqual(['build {"k":1}']);
  });

  it('refusals: a newer protocol, keywords in NEWOBJ_EX, persistent ids without a hook, BUILD without one', () => {
    expect(() => load(bytes(0x80, 6, 'N.'))).toThrow(/PROTO at offset 0: protocol 6 is newer than 5/);
    expect(() => load(bytes(0x80, 4, 'cmod\nname\n)}', 0x8c, 1, 'k', 'K', 1, 's', 0x92, '.'))).toThrow(/keyword arguments for mod\.name/);
    expect(() => unpickle(bytes('Pabc\n.'), { resolveGlobal: () => null })).toThrow(PickleError);
    expect(() => unpickle(bytes(0x80, 2, '}}b.'), { resolveGlobal: () => null })).toThrow(/BUILD at offset 4: cannot set the state/);
    expect(() => load(bytes(0x80, 2, 'K', 1, 'K', 2, 'R.'))).toThrow(/REDUCE at offset 6: the arguments of 1 must be a tuple/);
    expect(() => load(bytes(0x80, 2, 'K', 1, ')R.'))).toThrow(/REDUCE at offset 5: 1 is not callable/);
    expect(() => load(bytes('F0x10\n.'))).toThrow(/FLOAT at offset 0: "0x10" is not a float/);
    expect(() => load(bytes('I12x\n.'))).toThrow(/INT at offset 0: "12x" is not an integer/);
    expect(() => load(bytes('N'))).toThrow(/ends without a STOP/);
  });
});
