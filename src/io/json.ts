/**
 * A strict JSON reader for untrusted headers. Unlike `JSON.parse` it rejects duplicate keys
 * (instead of keeping the last), builds objects without a prototype (so a key "__proto__" is an
 * ordinary own key and can never set a prototype) and refuses nesting deeper than a limit
 * (instead of recursing until the stack overflows).
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export class JsonSyntaxError extends Error {
  constructor(message: string, readonly position: number) {
    super(`${message} at position ${position}`);
    this.name = 'JsonSyntaxError';
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
/** A whole JSON string token: no raw control characters, escapes checked by JSON.parse below. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids raw U+0000-U+001F in strings; this class excludes them on purpose.
const STRING = /"(?:[^"\\\u0000-\u001f]|\\.)*"/y;

/** Parses `text`; objects have a null prototype; nesting beyond `maxDepth` levels is an error. */
export function parseJson(text: string, maxDepth: number): JsonValue {
  let pos = 0;

  const skipSpace = (): void => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      pos++;
    }
  };

  const readString = (): string => {
    STRING.lastIndex = pos;
    const match = STRING.exec(text);
    if (match === null) throw new JsonSyntaxError('unterminated or invalid string', pos);
    let value: string;
    try {
      value = JSON.parse(match[0]) as string;
    } catch {
      throw new JsonSyntaxError('invalid escape in string', pos);
    }
    pos += match[0].length;
    return value;
  };

  const readValue = (depth: number): JsonValue => {
    skipSpace();
    const c = text[pos];
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) throw new JsonSyntaxError(`nesting deeper than ${maxDepth} levels`, pos);
      pos++;
      return c === '{' ? readObject(depth + 1) : readArray(depth + 1);
    }
    if (c === '"') return readString();
    if (text.startsWith('true', pos)) return (pos += 4), true;
    if (text.startsWith('false', pos)) return (pos += 5), false;
    if (text.startsWith('null', pos)) return (pos += 4), null;
    NUMBER.lastIndex = pos;
    const match = NUMBER.exec(text);
    if (match === null) throw new JsonSyntaxError(pos >= text.length ? 'unexpected end of input' : `unexpected character ${JSON.stringify(c)}`, pos);
    pos += match[0].length;
    return Number(match[0]);
  };

  const expect = (char: string, what: string): void => {
    skipSpace();
    if (text[pos] !== char) throw new JsonSyntaxError(`expected ${what}`, pos);
    pos++;
  };

  const readObject = (depth: number): JsonObject => {
    const object = Object.create(null) as JsonObject;
    skipSpace();
    if (text[pos] === '}') return pos++, object;
    for (;;) {
      skipSpace();
      if (text[pos] !== '"') throw new JsonSyntaxError('expected a string key', pos);
      const at = pos;
      const key = readString();
      if (Object.prototype.hasOwnProperty.call(object, key)) {
        throw new JsonSyntaxError(`duplicate key ${JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key)}`, at);
      }
      expect(':', '":" after a key');
      object[key] = readValue(depth);
      skipSpace();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      expect('}', '"," or "}" in an object');
      return object;
    }
  };

  const readArray = (depth: number): JsonValue[] => {
    const array: JsonValue[] = [];
    skipSpace();
    if (text[pos] === ']') return pos++, array;
    for (;;) {
      array.push(readValue(depth));
      skipSpace();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      expect(']', '"," or "]" in an array');
      return array;
    }
  };

  const value = readValue(0);
  skipSpace();
  if (pos !== text.length) throw new JsonSyntaxError('unexpected text after the JSON value', pos);
  return value;
}
