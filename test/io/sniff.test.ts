import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Conv2d, exportOnnx, loadSafetensors } from '../../src/index.js';
import { sniffFormat, wrongFormatHint } from '../../src/sniff.js';
import { goldenDir, sharedData } from '../helpers.js';

const pth = (name: string): Buffer => readFileSync(resolve(goldenDir('pth'), name));
const onnx = sharedData('golden/onnx');
const models = sharedData('golden/models');

describe('sniffFormat', () => {
  it('names each format from its first bytes', () => {
    expect(sniffFormat(Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0]))).toBe('torch-zip');
    expect(sniffFormat(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe('png');
    expect(sniffFormat(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffFormat(new TextEncoder().encode('  <!DOCTYPE html><html>'))).toBe('html');
    expect(sniffFormat(Uint8Array.from([0x08, 0x07, 0x12, 0x07, 0x70]))).toBe('onnx');
    const header = new TextEncoder().encode('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
    const st = new Uint8Array(8 + header.length + 4);
    st[0] = header.length;
    st.set(header, 8);
    expect(sniffFormat(st)).toBe('safetensors');
    expect(sniffFormat(new Uint8Array(0))).toBe('unknown');
    expect(sniffFormat(Uint8Array.from([1, 2, 3]))).toBe('unknown');
  });

  it('gives no hint for the expected format or an unknown one', () => {
    expect(wrongFormatHint(Uint8Array.from([0x50, 0x4b, 0x03, 0x04]), 'torch-zip')).toBeNull();
    expect(wrongFormatHint(Uint8Array.from([9, 9, 9]), 'safetensors')).toBeNull();
    expect(wrongFormatHint(Uint8Array.from([0x50, 0x4b, 0x03, 0x04]), 'safetensors')).toMatch(/loadTorchCheckpoint/);
  });

  it('loadSafetensors on a .pth or an .onnx file names the loader to use', () => {
    expect(() => loadSafetensors(pth('state_dict.pt'))).toThrow(/not a safetensors file: .*zip archive.*loadTorchCheckpoint/);
    expect(() => loadSafetensors(pth('legacy.pt'))).toThrow(/legacy \(pre-1\.6\) torch\.save file/);
    const exported = exportOnnx(new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3 }), [1, 2, 5, 5]);
    expect(() => loadSafetensors(exported)).toThrow(/ONNX model: load it with loadOnnx/);
  });

  it.skipIf(!onnx.present)(`loadSafetensors on an .onnx file from torch.onnx.export names the loader to use ${onnx.needs}`, () => {
    const bytes = readFileSync(resolve(onnx.path, 'seed_separable_op17/model.onnx'));
    expect(() => loadSafetensors(bytes)).toThrow(/ONNX model: load it with loadOnnx/);
  });

  it.skipIf(!models.present)(`a real torchvision .safetensors file sniffs as safetensors ${models.needs}`, () => {
    expect(sniffFormat(readFileSync(resolve(models.path, 'mobilenet_v2_w0.5_160/weights.safetensors')))).toBe('safetensors');
  });
});
