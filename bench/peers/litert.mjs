/**
 * LiteRT.js (`@litertjs/core`, TFLite with the XNNPACK CPU delegate in WebAssembly) as a
 * benchmark peer, run in Node.
 *
 * LiteRT.js is written for browsers and workers: it loads its Emscripten glue with
 * `importScripts` (or a <script> tag) and reads `self.ModuleFactory`. Two shims make it run here:
 * `globalThis.self = globalThis`, and an `importScripts` that evaluates the glue file as CommonJS
 * (vm.compileFunction with module/exports/require), so the glue takes its Node branch and reads
 * its .wasm with node:fs. LiteRT.js picks its build itself: the relaxed-SIMD one where the engine
 * validates relaxed SIMD (Node ≥ 22, or Node 20 with --experimental-wasm-relaxed-simd), else
 * its "compat" build. One thread (no `threads` option, cpuOptions.numThreads 1).
 *
 * Models are TFLite flatbuffers written by bench/tflite.mjs; inputs and outputs are NHWC and
 * converted outside the timed call, as for the TensorFlow.js peer.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { nchwToNhwc, nhwcToNchw, TfliteGraph } from '../tflite.mjs';

const require = createRequire(import.meta.url);

let litert = null;
let variant = null;

/** Loads LiteRT.js once; returns the module. */
export async function loadLitert() {
  if (litert !== null) return litert;
  globalThis.self ??= globalThis;
  if (typeof globalThis.importScripts !== 'function') {
    globalThis.importScripts = (...urls) => {
      for (const url of urls) {
        const file = url.startsWith('file:') ? fileURLToPath(url) : url;
        const module = { exports: {} };
        const fn = vm.compileFunction(readFileSync(file, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
        fn(module.exports, createRequire(file), module, file, path.dirname(file));
        globalThis.ModuleFactory = module.exports.default ?? module.exports;
      }
    };
  }
  const lib = await import('@litertjs/core');
  const wasmDir = path.join(path.dirname(require.resolve('@litertjs/core/package.json')), 'wasm') + path.sep;
  const relaxed = await relaxedSimdValidates();
  variant = relaxed ? 'relaxed SIMD build' : 'compat build (no relaxed SIMD)';
  // The glue's Module object: its INFO/WARNING log lines (one set per compiled model) are
  // dropped, errors kept. In Node there is no WebGPU device to create; that complaint is dropped too.
  const quiet = (text) => {
    if (!/^(INFO|WARNING|VERBOSE):/.test(String(text))) process.stderr.write(`litert: ${text}\n`);
  };
  globalThis.Module = { print: quiet, printErr: quiet };
  const consoleWarn = console.warn;
  console.warn = (...args) => {
    if (!String(args[0]).includes('WebGPU')) consoleWarn(...args);
  };
  try {
    await lib.loadLiteRt(wasmDir);
  } finally {
    console.warn = consoleWarn;
  }
  litert = lib;
  return lib;
}

/** What LiteRT.js checks to choose its build. */
async function relaxedSimdValidates() {
  // a module with one f32x4.relaxed_madd (0xfd 0x85 0x02)
  const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 19, 1, 17, 0, 65, 0, 253, 17, 65, 0, 253, 17, 65, 0, 253, 17, 253, 133, 2, 11]);
  return WebAssembly.validate(bytes);
}

/** The build LiteRT.js loaded ('relaxed SIMD build' or 'compat build …'), after loadLitert. */
export function litertVariant() {
  return variant;
}

/**
 * A compiled TFLite model with one NHWC float32 input. `run()` runs it once on the prepared
 * input (output tensors deleted); `output()` returns the first output's values.
 */
export async function compileTflite(bytes, inputShape, inputNhwc) {
  const lib = await loadLitert();
  const model = await lib.loadAndCompile(bytes, { accelerator: 'wasm', cpuOptions: { numThreads: 1 } });
  const input = new lib.Tensor(inputNhwc, inputShape);
  const run = async () => {
    const outputs = await model.run(input);
    for (const t of outputs) t.delete();
  };
  const output = async () => {
    const outputs = await model.run(input);
    const values = Float32Array.from(outputs[0].toTypedArray());
    for (const t of outputs) t.delete();
    return values;
  };
  return {
    run,
    output,
    dispose() {
      input.delete();
      model.delete();
    },
  };
}

const packageVersion = () => JSON.parse(readFileSync(require.resolve('@litertjs/core/package.json'), 'utf8')).version;

/** A one-line description for bench headers. */
export function litertDetail() {
  return `LiteRT.js ${packageVersion()} (TFLite + XNNPACK, wasm, 1 thread, ${variant ?? 'not loaded'})`;
}

/** Whether the TFLite writer can express every layer of a workload (dense or depthwise convolutions). */
export function litertSupports(workload) {
  return workload.layers.every((spec) => spec.groups === 1 || spec.groups === spec.inChannels);
}

/**
 * The bench engine for bench/workloads.mjs workloads: the layers (or the chain) as one TFLite
 * graph of bias-free convolutions (a zero bias: XNNPACK initialises its accumulators with it),
 * input converted to NHWC once, output converted back to NCHW only when read for the check.
 */
export async function createLitertEngine() {
  await loadLitert();
  return {
    name: 'litert',
    detail: litertDetail(),
    appliesTo: litertSupports,
    activate() {},
    async prepare(workload, inputData, weights) {
      const graph = new TfliteGraph();
      const first = workload.layers[0];
      const inputShape = [1, first.height, first.width, first.inChannels];
      let x = graph.input(inputShape);
      workload.layers.forEach((spec, i) => {
        x = graph.conv(x, { weight: weights[i].data, shape: weights[i].shape, stride: spec.stride, pad: spec.pad, groups: spec.groups, name: spec.name });
      });
      graph.output(x);
      const [, h, w, c] = graph.shapeOf(x);
      const compiled = await compileTflite(graph.encode(), inputShape, nchwToNhwc(inputData, first.inChannels, first.height, first.width));
      return {
        run: compiled.run,
        output: async () => nhwcToNchw(await compiled.output(), c, h, w),
        dispose: compiled.dispose,
      };
    },
  };
}
