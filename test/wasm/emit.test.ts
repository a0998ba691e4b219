import { describe, expect, it } from 'vitest';
import { f32, f32Bytes, FunctionBuilder, i32, ModuleBuilder, sleb, uleb, v128 } from '../../src/wasm/emit/emit.js';

const memory = { module: 'env', name: 'memory', initial: 1, shared: false };

function body(build: (f: FunctionBuilder) => void, params: (typeof i32)[] = []): number[] {
  const f = new FunctionBuilder(params, []);
  build(f);
  return f.code;
}

describe('LEB128', () => {
  it.each([
    [0, [0x00]], [1, [0x01]], [127, [0x7f]], [128, [0x80, 0x01]], [300, [0xac, 0x02]], [624485, [0xe5, 0x8e, 0x26]],
    [0xffffffff, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ])('uleb(%i)', (value, bytes) => expect(uleb(value)).toEqual(bytes));

  it.each([
    [0, [0x00]], [63, [0x3f]], [64, [0xc0, 0x00]], [-1, [0x7f]], [-64, [0x40]], [-65, [0xbf, 0x7f]], [-123456, [0xc0, 0xbb, 0x78]],
    [2147483647, [0xff, 0xff, 0xff, 0xff, 0x07]], [-2147483648, [0x80, 0x80, 0x80, 0x80, 0x78]],
  ])('sleb(%i)', (value, bytes) => expect(sleb(value)).toEqual(bytes));

  it('rejects values out of range', () => {
    expect(() => uleb(-1)).toThrow(RangeError);
    expect(() => uleb(2 ** 32)).toThrow(RangeError);
    expect(() => uleb(1.5)).toThrow(RangeError);
    expect(() => sleb(2 ** 31)).toThrow(RangeError);
  });
});

describe('instruction encodings', () => {
  it('scalar instructions', () => {
    expect(body((f) => f.get(0).set(1).tee(200))).toEqual([0x20, 0x00, 0x21, 0x01, 0x22, 0xc8, 0x01]);
    expect(body((f) => f.i32Const(-1).i32Const(64))).toEqual([0x41, 0x7f, 0x41, 0xc0, 0x00]);
    expect(body((f) => f.f32Const(1))).toEqual([0x43, 0x00, 0x00, 0x80, 0x3f]);
    expect(body((f) => f.f32Load(8).f32Store(0).i32Load(4))).toEqual([0x2a, 0x02, 0x08, 0x38, 0x02, 0x00, 0x28, 0x02, 0x04]);
    expect(body((f) => f.block().loop().br(1).brIf(0).end().end())).toEqual([0x02, 0x40, 0x03, 0x40, 0x0c, 0x01, 0x0d, 0x00, 0x0b, 0x0b]);
    expect(body((f) => f.i32Add().i32Sub().i32Mul().i32Shl().i32GeU().i32LtS())).toEqual([0x6a, 0x6b, 0x6c, 0x74, 0x4f, 0x48]);
    expect(body((f) => f.f32Add().f32Mul().f32Max().f32Min())).toEqual([0x92, 0x94, 0x97, 0x96]);
  });

  it('SIMD instructions use the 0xFD prefix and LEB128 sub-opcodes', () => {
    expect(body((f) => f.v128Load(16))).toEqual([0xfd, 0x00, 0x04, 0x10]);
    expect(body((f) => f.v128Load32Splat(4))).toEqual([0xfd, 0x09, 0x02, 0x04]);
    expect(body((f) => f.v128Store(0))).toEqual([0xfd, 0x0b, 0x04, 0x00]);
    expect(body((f) => f.f32x4Splat())).toEqual([0xfd, 0x13]);
    expect(body((f) => f.v128Store32Lane(3, 8))).toEqual([0xfd, 0x5a, 0x02, 0x08, 0x03]);
    expect(body((f) => f.v128Store64Lane(1, 0))).toEqual([0xfd, 0x5b, 0x03, 0x00, 0x01]);
    expect(body((f) => f.f32x4Add().f32x4Sub().f32x4Mul().f32x4Div())).toEqual([0xfd, 0xe4, 0x01, 0xfd, 0xe5, 0x01, 0xfd, 0xe6, 0x01, 0xfd, 0xe7, 0x01]);
    expect(body((f) => f.f32x4Min().f32x4Max().f32x4Pmin().f32x4Pmax())).toEqual([0xfd, 0xe8, 0x01, 0xfd, 0xe9, 0x01, 0xfd, 0xea, 0x01, 0xfd, 0xeb, 0x01]);
    expect(body((f) => f.f32x4Nearest().i32x4Shl().i32x4ShrS().i32x4TruncSatF32x4S())).toEqual([0xfd, 0x6a, 0xfd, 0xab, 0x01, 0xfd, 0xac, 0x01, 0xfd, 0xf8, 0x01]);
    expect(body((f) => f.f32x4RelaxedMadd())).toEqual([0xfd, 0x85, 0x02]);
    expect(body((f) => f.i32Const(1).if(v128).v128Const(new Array(16).fill(0)).else().v128Const(new Array(16).fill(0)).end().drop())).toEqual([0x41, 1, 0x04, 0x7b, 0xfd, 0x0c, ...new Array(16).fill(0), 0x05, 0xfd, 0x0c, ...new Array(16).fill(0), 0x0b, 0x1a]);
    expect(body((f) => f.f32x4Shuffle(1, 2, 3, 4))).toEqual([0xfd, 0x0d, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(body((f) => f.f32x4Const(1, 0, 0, -2))).toEqual([0xfd, 0x0c, ...f32Bytes(1), 0, 0, 0, 0, 0, 0, 0, 0, ...f32Bytes(-2)]);
  });

  it('rejects bad immediates', () => {
    expect(() => body((f) => f.v128Store32Lane(4))).toThrow(RangeError);
    expect(() => body((f) => f.i8x16Shuffle([32, ...new Array(15).fill(0)]))).toThrow(RangeError);
    expect(() => body((f) => f.v128Const([1, 2]))).toThrow(RangeError);
  });

  it('locals are grouped by type in the encoded body', () => {
    const f = new FunctionBuilder([i32], []);
    expect(f.local(i32)).toBe(1);
    expect(f.local(i32)).toBe(2);
    expect(f.local(v128)).toBe(3);
    expect(f.local(i32)).toBe(4);
    // size, 3 groups: 2×i32, 1×v128, 1×i32, then end
    expect(f.encode()).toEqual([8, 3, 2, i32, 1, v128, 1, i32, 0x0b]);
  });

  it('an unclosed block is an error', () => {
    const f = new FunctionBuilder([], []);
    f.block();
    expect(() => f.encode()).toThrow(/unclosed/);
  });
});

describe('ModuleBuilder', () => {
  it('encodes a module byte by byte: header, type, import, function, export, code', () => {
    const m = new ModuleBuilder(memory);
    m.addFunction('id', [i32], [i32], (f) => f.get(0));
    expect(Array.from(m.bytes())).toEqual([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, // type section: (i32) -> i32
      0x02, 0x0f, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x01, // env.memory, min 1
      0x03, 0x02, 0x01, 0x00, // function section
      0x07, 0x06, 0x01, 0x02, 0x69, 0x64, 0x00, 0x00, // export "id" func 0
      0x0a, 0x06, 0x01, 0x04, 0x00, 0x20, 0x00, 0x0b, // code
    ]);
    expect(WebAssembly.validate(m.bytes())).toBe(true);
  });

  it('shared memory limits use flag 0x03 with a maximum', () => {
    const m = new ModuleBuilder({ ...memory, maximum: 300, shared: true });
    const bytes = Array.from(m.bytes());
    const at = bytes.indexOf(0x02, 16); // the memory import kind after the names
    expect(bytes.slice(at, at + 5)).toEqual([0x02, 0x03, 0x01, 0xac, 0x02]);
    expect(() => new ModuleBuilder({ ...memory, shared: true })).toThrow(/maximum/);
  });

  it('deduplicates function types and rejects duplicate names', () => {
    const m = new ModuleBuilder(memory);
    m.addFunction('a', [i32, f32], [], () => {});
    m.addFunction('b', [i32, f32], [], () => {});
    expect(m.bytes()[9]).toBe(0x06); // type section size: count, 0x60, 2, i32, f32, 0 → one type
    expect(() => m.addFunction('a', [], [], () => {})).toThrow(/duplicate/);
  });

  it('built modules run: SIMD arithmetic, pmax keeps NaN on the left operand, lane stores', async () => {
    const m = new ModuleBuilder(memory);
    // out[0..3] = pmax(a, 0) for the vector at 0, written at 16; lane 2 of a + a stored at 32
    m.addFunction('relu', [], [], (f) => {
      f.i32Const(16).i32Const(0).v128Load().f32x4Const(0, 0, 0, 0).f32x4Pmax().v128Store();
      f.i32Const(32).i32Const(0).v128Load().i32Const(0).v128Load().f32x4Add().v128Store32Lane(2);
    });
    m.addFunction('call', [i32], [i32], (f) => f.get(0).i32Const(3).i32Mul().i32Const(-5).i32Add());
    const mem = new WebAssembly.Memory({ initial: 1 });
    const { instance } = await WebAssembly.instantiate(m.bytes() as BufferSource, { env: { memory: mem } });
    const view = new Float32Array(mem.buffer);
    view.set([NaN, -0, -3, 2]);
    (instance.exports.relu as () => void)();
    expect(Array.from(view.subarray(4, 8))).toEqual([NaN, -0, 0, 2]);
    expect(view[8]).toBe(-6);
    expect((instance.exports.call as (x: number) => number)(7)).toBe(16);
  });
});
