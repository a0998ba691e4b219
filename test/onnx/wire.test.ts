/** The protobuf wire format: varints (10-byte negatives), packed and unpacked repeated fields, bounds. */
import { describe, expect, it } from 'vitest';
import { WireReader, WireWriter } from '../../src/onnx/wire.js';

function reader(bytes: Uint8Array): WireReader {
  return new WireReader(bytes, 0, bytes.length, 'test message');
}

describe('protobuf wire format', () => {
  it('varints round-trip, negatives as 10-byte two\'s complement', () => {
    const values = [0, 1, 127, 128, 300, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1, -1, -2, -(2 ** 31), -123456789012, -(2 ** 53) + 1];
    for (const v of values) {
      const w = new WireWriter();
      w.rawVarint(v);
      const bytes = w.finish();
      if (v < 0) expect(bytes.length).toBe(10);
      const r = reader(bytes);
      expect(r.varint()).toBe(v);
      expect(r.done).toBe(true);
    }
    // -1 is ff ff ff ff ff ff ff ff ff 01, as protoc writes it.
    const w = new WireWriter();
    w.rawVarint(-1);
    expect(Array.from(w.finish())).toEqual([255, 255, 255, 255, 255, 255, 255, 255, 255, 1]);
    // INT64_MAX decodes to the nearest double.
    expect(reader(Uint8Array.of(255, 255, 255, 255, 255, 255, 255, 255, 127)).varint()).toBe(2 ** 63);
  });

  it('repeated fields packed and unpacked give the same values', () => {
    const packed = new WireWriter();
    packed.packedVarints(8, [3, -1, 7]);
    const unpacked = new WireWriter();
    for (const v of [3, -1, 7]) unpacked.varintField(8, v);
    for (const bytes of [packed.finish(), unpacked.finish()]) {
      const r = reader(bytes);
      const out: number[] = [];
      while (!r.done) {
        const [field, wire] = r.tag();
        expect(field).toBe(8);
        r.repeatedVarint(wire, out, 100);
      }
      expect(out).toEqual([3, -1, 7]);
    }
    const floats = new WireWriter();
    floats.bytesField(7, new Uint8Array(Float32Array.of(1.5, -2).buffer));
    const r = reader(floats.finish());
    const [, wire] = r.tag();
    const out: number[] = [];
    r.repeatedFloat(wire, out, 10);
    expect(out).toEqual([1.5, -2]);
  });

  it('malformed input names the message and never reads past the end', () => {
    expect(() => reader(Uint8Array.of(0x80, 0x80)).varint()).toThrow(/onnx: malformed file: test message: a varint runs past the end/);
    expect(() => reader(new Uint8Array(11).fill(0x80)).varint()).toThrow(/longer than 10 bytes/);
    const r = reader(Uint8Array.of(0x0a, 0x05, 1, 2));
    r.tag();
    expect(() => r.lengthDelimited()).toThrow(/declares 5 bytes but only 2 remain/);
    const g = reader(Uint8Array.of(0x0b));
    const [, wire] = g.tag();
    expect(() => g.skip(wire)).toThrow(/wire type 3/);
    expect(() => reader(Uint8Array.of(0x00)).tag()).toThrow(/field number 0/);
    const many = new WireWriter();
    many.packedVarints(1, [1, 2, 3]);
    const m = reader(many.finish());
    const [, w2] = m.tag();
    expect(() => m.repeatedVarint(w2, [], 2)).toThrow(/more than 2 values/);
  });
});
