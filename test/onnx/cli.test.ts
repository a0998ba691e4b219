/** `sepconv summary model.onnx` and `sepconv run model.onnx` (through main, as the binary runs them). */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, type CliIo } from '../../src/cli/cli.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { loadOnnx } from '../../src/index.js';
import { randomTensor, seeded } from './build.js';

function capture(): CliIo & { out: string; err: string } {
  const io = { out: '', err: '', stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t), writeFile: () => undefined };
  return io;
}

const dir = mkdtempSync(join(tmpdir(), 'sepconv-onnx-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const w = randomTensor([4, 3, 3, 3], 1);
const bytes = encodeModel({
  opset: 17,
  nodes: [
    { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attributes: { pads: [1, 1, 1, 1] }, name: 'conv' },
    { op: 'Relu', inputs: ['c'], outputs: ['r'], name: 'relu' },
    { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['p'], name: 'pool' },
    { op: 'Flatten', inputs: ['p'], outputs: ['y'], name: 'flatten' },
  ],
  initializers: [{ name: 'w', dims: w.shape, data: w.data }],
  inputs: [{ name: 'x', shape: ['batch', 3, 8, 8] }],
  outputs: [{ name: 'y', shape: ['batch', 4] }],
});
const modelPath = join(dir, 'model.onnx');
writeFileSync(modelPath, bytes);

describe('sepconv CLI on ONNX files', () => {
  it('summary prints the per-node table with the conv MACs', async () => {
    const io = capture();
    expect(await main(['summary', modelPath, '--shape', '2,3,8,8'], io)).toBe(0);
    expect(io.out).toContain('ONNX opset 17');
    expect(io.out).toMatch(/conv/);
    const json = capture();
    expect(await main(['summary', modelPath, '--json'], json)).toBe(0);
    expect(JSON.parse(json.out).summary.totals.macs).toBe(4 * 64 * 27);
  });

  it('run reads a raw float32 input and prints the largest outputs and the time', async () => {
    const x = seeded(3 * 64, 5);
    const inputPath = join(dir, 'x.bin');
    writeFileSync(inputPath, new Uint8Array(x.buffer));
    const io = capture();
    expect(await main(['run', modelPath, '--input', inputPath, '--shape', '1,3,8,8', '--top', '2', '--json', '--backend', 'js'], io)).toBe(0);
    const result = JSON.parse(io.out);
    const ref = loadOnnx(bytes).run({ x: { shape: [1, 3, 8, 8], data: x } }).y!;
    const best = Array.from(ref.data.keys()).sort((a, b) => ref.data[b]! - ref.data[a]!).slice(0, 2);
    expect(result.outputs[0].top.map((t: { index: number }) => t.index)).toEqual(best);
    const text = capture();
    expect(await main(['run', modelPath], text)).toBe(0);
    expect(text.out).toMatch(/run [\d.]+ ms \(median of \d+\)/);
  });

  it('usage errors and bad files', async () => {
    const io = capture();
    expect(await main(['run', modelPath, '--shape', '1,3,x'], io)).toBe(2);
    expect(io.err).toMatch(/--shape must be comma-separated/);
    const wrong = capture();
    expect(await main(['run', modelPath, '--input', modelPath], wrong)).toBe(2);
    expect(wrong.err).toMatch(/needs 768/);
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, '<html>404</html>');
    const io2 = capture();
    expect(await main(['run', bad], io2)).toBe(1);
    expect(io2.err).toMatch(/onnx: not an ONNX model/);
    const io3 = capture();
    expect(await main(['run'], io3)).toBe(2);
    const help = capture();
    expect(await main(['run', modelPath, '--help'], help)).toBe(0);
    expect(help.out).toContain('--input');
  });
});
