/**
 * A restricted reader of Python pickles (protocols 0 to 5), for files from outside.
 *
 * Nothing in a pickle is ever executed. The machine builds plain data itself (None, booleans,
 * ints, floats, str, bytes, lists, tuples, dicts, sets); every other object a pickle names — a
 * "global" such as `collections.OrderedDict` or `torch._utils._rebuild_tensor_v2` — is handed to
 * the caller's `resolveGlobal`, which either returns a `PickleCallable` written in TypeScript or
 * throws. A caller that allow-lists a few names therefore refuses `posix.system`, `builtins.eval`
 * or a pickled class at the opcode that names it, before the first call is made.
 *
 * Python values become: None → null, bool → boolean, int → number (bigint beyond 2^53), float →
 * number, str → string, bytes/bytearray → Uint8Array, list/tuple/set → array, dict → an object
 * without a prototype whose keys are the dict's keys as strings (so "__proto__" is a key like any
 * other). Time is linear in the input and memory bounded by a multiple of it: every length is
 * checked against the bytes present, and nothing is recursive.
 */
import { describeValue } from '../checks.js';

export class PickleError extends Error {
  constructor(message: string) {
    super(`pickle: ${message}`);
    this.name = 'PickleError';
  }
}

/** What `resolveGlobal` returns: an object the pickle may call (REDUCE, NEWOBJ) and update (BUILD). */
export interface PickleCallable {
  /** `module.name`, for messages. */
  readonly qualifiedName: string;
  /** REDUCE / NEWOBJ: the call with its positional arguments. */
  call(args: unknown[]): unknown;
}

export interface UnpickleHooks {
  /** A global named by GLOBAL, STACK_GLOBAL or INST/OBJ: a value to push, or a thrown refusal. */
  resolveGlobal(module: string, name: string): unknown;
  /** A persistent id (PERSID, BINPERSID): the object it stands for. Without it, persistent ids are an error. */
  persistentLoad?(pid: unknown): unknown;
  /** BUILD on `object` with `state`: the object that replaces it on the stack. By default an error. */
  build?(object: unknown, state: unknown): unknown;
}

export interface UnpickleResult {
  readonly value: unknown;
  /** The offset just past the STOP opcode (several pickles may follow each other). */
  readonly end: number;
}

/** The most positional arguments a call (REDUCE, NEWOBJ, OBJ, INST) may pass. */
export const MAX_CALL_ARGUMENTS = 16;

/** Longest integer a LONG opcode may carry, in bytes (a checkpoint holds none near this). */
const MAX_LONG_BYTES = 4096;

const latin1 = (bytes: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
};

/** A dict as data: an object without a prototype, so "__proto__" is an own key like any other. */
export function newDict(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

/** True for the dicts this reader builds. */
export function isDict(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === null;
}

export function setDictItem(dict: Record<string, unknown>, key: unknown, value: unknown): void {
  let k: string;
  if (typeof key === 'string') k = key;
  else if (typeof key === 'number' || typeof key === 'bigint') k = String(key);
  else if (typeof key === 'boolean') k = key ? 'True' : 'False';
  else if (key === null) k = 'None';
  else throw new PickleError(`a dict key must be a str, int, float, bool or None; got ${describeValue(key)}`);
  // A plain assignment: the dict has no prototype, so no setter (not even __proto__'s) intervenes.
  dict[k] = value;
}

/** A little-endian two's-complement integer (LONG1, LONG4), built from hex in linear time. */
function bigIntFromSigned(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let hex = '';
  for (let i = bytes.length - 1; i >= 0; i--) hex += (bytes[i]! < 16 ? '0' : '') + bytes[i]!.toString(16);
  let n = BigInt(`0x${hex}`);
  if (bytes[bytes.length - 1]! & 0x80) n -= 1n << BigInt(8 * bytes.length);
  return toIntValue(n);
}

/** A Python int as JavaScript: a number when it is a safe integer, else a bigint. */
export function toIntValue(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** Python's `repr` string escapes, for the protocol-0 STRING opcode. */
function unescapeString(text: string, at: number): string {
  const quoteChar = text[0];
  if (text.length < 2 || (quoteChar !== "'" && quoteChar !== '"') || text[text.length - 1] !== quoteChar) {
    throw new PickleError(`STRING at offset ${at}: the argument is not a quoted string`);
  }
  const body = text.slice(1, -1);
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (e !== undefined && Object.prototype.hasOwnProperty.call(simple, e)) {
      out += simple[e];
    } else {
      out += `\\${e ?? ''}`;
    }
  }
  return out;
}

/** `raw-unicode-escape`, for the protocol-0 UNICODE opcode. */
function unescapeRawUnicode(bytes: Uint8Array): string {
  const text = latin1(bytes);
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, four: string | undefined, eight: string | undefined) => {
    const code = parseInt(four ?? eight!, 16);
    if (code > 0x10ffff) throw new PickleError(`UNICODE: code point 0x${code.toString(16)} is out of range`);
    return String.fromCodePoint(code);
  });
}

function callableName(value: unknown): string {
  if (typeof value === 'object' && value !== null && typeof (value as PickleCallable).call === 'function' && typeof (value as PickleCallable).qualifiedName === 'string') {
    return (value as PickleCallable).qualifiedName;
  }
  return describeValue(value);
}

function asCallable(value: unknown, opcode: string, at: number): PickleCallable {
  if (typeof value === 'object' && value !== null && typeof (value as PickleCallable).call === 'function' && typeof (value as PickleCallable).qualifiedName === 'string') {
    return value as PickleCallable;
  }
  throw new PickleError(`${opcode} at offset ${at}: ${describeValue(value)} is not callable`);
}

/**
 * Runs one pickle starting at `start` and returns its value and where it ended. Throws a
 * PickleError naming the opcode and offset for anything malformed or not allowed.
 */
export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks, start = 0): UnpickleResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const length = bytes.length;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let pos = start;
  let opAt = start;
  let opName = '';

  const fail = (message: string): never => {
    throw new PickleError(`${opName} at offset ${opAt}: ${message}`);
  };
  const need = (n: number, what: string): void => {
    if (n > length - pos) fail(`the ${what} needs ${n} bytes, but only ${length - pos} remain (the pickle is truncated)`);
  };
  const u8 = (): number => {
    need(1, 'argument');
    return bytes[pos++]!;
  };
  const u16 = (): number => {
    need(2, 'argument');
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4, 'argument');
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4, 'argument');
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8, 'argument');
    const low = view.getUint32(pos, true);
    const high = view.getUint32(pos + 4, true);
    pos += 8;
    if (high >= 0x200000) fail(`a length of ${high} × 2^32 + ${low} bytes`);
    return high * 4294967296 + low;
  };
  const take = (n: number, what: string): Uint8Array => {
    need(n, what);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('the text argument has no terminating newline (the pickle is truncated)');
    const text = latin1(bytes.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const decodeUtf8 = (raw: Uint8Array): string => {
    try {
      return utf8.decode(raw);
    } catch {
      return fail(`the ${raw.length}-byte string is not valid UTF-8`);
    }
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('the stack is empty');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('the stack is empty');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const previous = marks.pop();
    if (previous === undefined) fail('no MARK precedes it');
    stack = previous!;
    return items;
  };
  const memoGet = (key: number): unknown => {
    if (!memo.has(key)) fail(`memo entry ${key} was never stored`);
    return memo.get(key);
  };
  const memoPut = (key: number): void => {
    memo.set(key, top());
  };
  const global = (module: string, name: string): unknown => {
    // Python 2 names, as pickle's fix_imports maps them.
    if (module === '__builtin__') module = 'builtins';
    else if (module === 'copy_reg') module = 'copyreg';
    return hooks.resolveGlobal(module, name);
  };
  const appendTo = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target)) fail(`cannot append to ${describeValue(target)}`);
    for (const item of items) (target as unknown[]).push(item);
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!isDict(target)) fail(`cannot set items on ${describeValue(target)}`);
    if (items.length % 2 !== 0) fail(`an odd number (${items.length}) of keys and values`);
    for (let i = 0; i < items.length; i += 2) setDictItem(target as Record<string, unknown>, items[i], items[i + 1]);
  };
  const persistent = (pid: unknown): unknown => {
    if (hooks.persistentLoad === undefined) fail('this pickle refers to persistent objects, which nothing here can supply');
    return hooks.persistentLoad!(pid);
  };
  const call = (callable: unknown, args: unknown): unknown => {
    if (!Array.isArray(args)) fail(`the arguments of ${callableName(callable)} must be a tuple, got ${describeValue(args)}`);
    // No callable a reader allows takes many arguments; the bound keeps a memoized long tuple,
    // passed again and again, from costing its length each time.
    if ((args as unknown[]).length > MAX_CALL_ARGUMENTS) fail(`${(args as unknown[]).length} arguments for ${callableName(callable)}, more than ${MAX_CALL_ARGUMENTS}`);
    return asCallable(callable, opName, opAt).call((args as unknown[]).slice());
  };

  while (true) {
    opAt = pos;
    if (pos >= length) {
      opName = 'end of data';
      fail('the pickle ends without a STOP opcode (it is truncated)');
    }
    const code = bytes[pos++]!;
    switch (code) {
      case 0x80: // PROTO
        opName = 'PROTO';
        if (u8() > 5) fail(`protocol ${bytes[pos - 1]} is newer than 5`);
        break;
      case 0x95: // FRAME: a length hint only
        opName = 'FRAME';
        u64();
        break;
      case 0x2e: // STOP
        opName = 'STOP';
        if (marks.length !== 0) fail('a MARK is still open');
        if (stack.length !== 1) fail(`the stack holds ${stack.length} values, not 1`);
        return { value: stack[0], end: pos };
      case 0x28: // MARK
        opName = 'MARK';
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        opName = 'POP';
        pop();
        break;
      case 0x31: // POP_MARK
        opName = 'POP_MARK';
        popMark();
        break;
      case 0x32: // DUP
        opName = 'DUP';
        stack.push(top());
        break;
      // ---- constants and numbers
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        opName = 'BININT';
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        opName = 'BININT1';
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        opName = 'BININT2';
        stack.push(u16());
        break;
      case 0x8a: { // LONG1
        opName = 'LONG1';
        stack.push(bigIntFromSigned(take(u8(), 'integer')));
        break;
      }
      case 0x8b: { // LONG4
        opName = 'LONG4';
        const n = u32();
        if (n > MAX_LONG_BYTES) fail(`a ${n}-byte integer is longer than the ${MAX_LONG_BYTES} bytes accepted`);
        stack.push(bigIntFromSigned(take(n, 'integer')));
        break;
      }
      case 0x49: { // INT (text); "00" and "01" are False and True
        opName = 'INT';
        const text = line().trim();
        if (text === '00') stack.push(false);
        else if (text === '01') stack.push(true);
        else if (/^[+-]?\d{1,1000}$/.test(text)) stack.push(toIntValue(BigInt(text)));
        else fail(`${JSON.stringify(text.slice(0, 40))} is not an integer`);
        break;
      }
      case 0x4c: { // LONG (text), with an optional trailing L
        opName = 'LONG';
        const text = line().trim().replace(/L$/, '');
        if (!/^[+-]?\d{1,1000}$/.test(text)) fail(`${JSON.stringify(text.slice(0, 40))} is not an integer`);
        stack.push(toIntValue(BigInt(text)));
        break;
      }
      case 0x47: // BINFLOAT: big-endian float64
        opName = 'BINFLOAT';
        need(8, 'argument');
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x46: { // FLOAT (text)
        opName = 'FLOAT';
        const text = line().trim();
        // Python's repr: digits, or inf / -inf / nan.
        const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
        const value = special !== null ? (special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(text);
        if (text === '' || (special === null && !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text))) fail(`${JSON.stringify(text.slice(0, 40))} is not a float`);
        stack.push(value);
        break;
      }
      // ---- strings and bytes
      case 0x58: // BINUNICODE
        opName = 'BINUNICODE';
        stack.push(decodeUtf8(take(u32(), 'string')));
        break;
      case 0x8c: // SHORT_BINUNICODE
        opName = 'SHORT_BINUNICODE';
        stack.push(decodeUtf8(take(u8(), 'string')));
        break;
      case 0x8d: // BINUNICODE8
        opName = 'BINUNICODE8';
        stack.push(decodeUtf8(take(u64(), 'string')));
        break;
      case 0x56: // UNICODE (text, raw-unicode-escape)
        opName = 'UNICODE';
        {
          const end = bytes.indexOf(0x0a, pos);
          if (end < 0) fail('the text argument has no terminating newline (the pickle is truncated)');
          stack.push(unescapeRawUnicode(bytes.subarray(pos, end)));
          pos = end + 1;
        }
        break;
      // Python 2 `str` (protocols 0-2): read as text, as Python 3 does with encoding="latin1".
      case 0x54: // BINSTRING
        opName = 'BINSTRING';
        {
          const n = i32();
          if (n < 0) fail(`negative length ${n}`);
          stack.push(latin1(take(n, 'string')));
        }
        break;
      case 0x55: // SHORT_BINSTRING
        opName = 'SHORT_BINSTRING';
        stack.push(latin1(take(u8(), 'string')));
        break;
      case 0x53: // STRING (text)
        opName = 'STRING';
        stack.push(unescapeString(line(), opAt));
        break;
      case 0x42: // BINBYTES
        opName = 'BINBYTES';
        stack.push(take(u32(), 'bytes').slice());
        break;
      case 0x43: // SHORT_BINBYTES
        opName = 'SHORT_BINBYTES';
        stack.push(take(u8(), 'bytes').slice());
        break;
      case 0x8e: // BINBYTES8
        opName = 'BINBYTES8';
        stack.push(take(u64(), 'bytes').slice());
        break;
      case 0x96: // BYTEARRAY8
        opName = 'BYTEARRAY8';
        stack.push(take(u64(), 'bytes').slice());
        break;
      // ---- containers
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x85: // TUPLE1
        opName = 'TUPLE1';
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        opName = 'TUPLE2';
        const b = pop();
        const a = pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: { // TUPLE3
        opName = 'TUPLE3';
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x74: { // TUPLE
        opName = 'TUPLE';
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: { // LIST
        opName = 'LIST';
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x61: { // APPEND
        opName = 'APPEND';
        const item = pop();
        appendTo(top(), [item]);
        break;
      }
      case 0x65: { // APPENDS
        opName = 'APPENDS';
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(newDict());
        break;
      case 0x64: { // DICT
        opName = 'DICT';
        const items = popMark();
        const dict = newDict();
        setItems(dict, items);
        stack.push(dict);
        break;
      }
      case 0x73: { // SETITEM
        opName = 'SETITEM';
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: { // SETITEMS
        opName = 'SETITEMS';
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push([]);
        break;
      case 0x90: { // ADDITEMS
        opName = 'ADDITEMS';
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x91: { // FROZENSET
        opName = 'FROZENSET';
        const items = popMark();
        stack.push(items);
        break;
      }
      // ---- memo
      case 0x70: { // PUT (text)
        opName = 'PUT';
        const text = line();
        if (!/^\d{1,10}$/.test(text)) fail(`${JSON.stringify(text.slice(0, 40))} is not a memo index`);
        memoPut(Number(text));
        break;
      }
      case 0x71: // BINPUT
        opName = 'BINPUT';
        memoPut(u8());
        break;
      case 0x72: // LONG_BINPUT
        opName = 'LONG_BINPUT';
        memoPut(u32());
        break;
      case 0x94: // MEMOIZE
        opName = 'MEMOIZE';
        memoPut(memo.size);
        break;
      case 0x67: { // GET (text)
        opName = 'GET';
        const text = line();
        if (!/^\d{1,10}$/.test(text)) fail(`${JSON.stringify(text.slice(0, 40))} is not a memo index`);
        stack.push(memoGet(Number(text)));
        break;
      }
      case 0x68: // BINGET
        opName = 'BINGET';
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        opName = 'LONG_BINGET';
        stack.push(memoGet(u32()));
        break;
      // ---- globals, calls, objects: everything goes through the caller's hooks
      case 0x63: { // GLOBAL "module\nname\n"
        opName = 'GLOBAL';
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        opName = 'STACK_GLOBAL';
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail(`module and name must be strings, got ${describeValue(module)} and ${describeValue(name)}`);
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x69: { // INST "module\nname\n": MARK args INST
        opName = 'INST';
        const module = line();
        const name = line();
        const args = popMark();
        stack.push(call(global(module, name), args));
        break;
      }
      case 0x6f: { // OBJ: MARK cls args OBJ
        opName = 'OBJ';
        const items = popMark();
        if (items.length === 0) fail('no class between MARK and OBJ');
        stack.push(call(items[0], items.slice(1)));
        break;
      }
      case 0x52: { // REDUCE
        opName = 'REDUCE';
        const args = pop();
        const callable = pop();
        stack.push(call(callable, args));
        break;
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args)
        opName = 'NEWOBJ';
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args));
        break;
      }
      case 0x92: { // NEWOBJ_EX: keyword arguments are not accepted
        opName = 'NEWOBJ_EX';
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!isDict(kwargs) || Object.keys(kwargs).length > 0) fail(`keyword arguments for ${callableName(cls)} are not supported`);
        stack.push(call(cls, args));
        break;
      }
      case 0x62: { // BUILD
        opName = 'BUILD';
        const state = pop();
        const object = pop();
        if (hooks.build === undefined) fail(`cannot set the state of ${describeValue(object)}`);
        stack.push(hooks.build!(object, state));
        break;
      }
      case 0x50: // PERSID (text)
        opName = 'PERSID';
        stack.push(persistent(line()));
        break;
      case 0x51: // BINPERSID
        opName = 'BINPERSID';
        stack.push(persistent(pop()));
        break;
      case 0x82:
      case 0x83:
      case 0x84:
        opName = 'EXT';
        fail('the extension registry (copyreg) is not supported');
        break;
      case 0x97:
      case 0x98:
        opName = code === 0x97 ? 'NEXT_BUFFER' : 'READONLY_BUFFER';
        fail('out-of-band buffers are not supported');
        break;
      default:
        opName = `opcode 0x${code.toString(16).padStart(2, '0')}`;
        fail('not a pickle opcode (the data is corrupt or not a pickle)');
    }
  }
}
