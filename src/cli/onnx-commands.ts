/**
 * The CLI on ONNX files: `sepconv summary model.onnx [--shape 1,3,224,224]` (per-node costs of
 * the imported graph) and `sepconv run model.onnx [--input x.bin] [--shape ...]` (runs it
 * compiled, prints each output's shape and largest values, and the time a run takes).
 */
import { readFileSync } from 'node:fs';
import { formatSummary } from '../analysis/format.js';
import { summary } from '../analysis/summary.js';
import { measure, randomData, seededRandom } from '../analysis/timing.js';
import { ready, setBackend } from '../ops/backend.js';
import { loadOnnx, type OnnxModel } from '../onnx/model.js';
import { describeFlags, parseFlags, UsageError, type FlagSpecs } from './args.js';

/** Where the commands write (cli.ts's CliIo has these and more). */
interface OutputIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const COMMON: FlagSpecs = {
  shape: { type: 'string', valueName: 'n,n,...', help: 'input shape, e.g. 1,3,224,224 (default: the model\'s, symbolic dimensions as 1); name=1,3,224,224 for one input of several' },
  backend: { type: 'string', choices: ['auto', 'wasm', 'js'], default: 'auto', help: 'kernel tier' },
  json: { type: 'boolean', help: 'print machine-readable JSON instead of text' },
};

const FLAGS: Record<'summary' | 'run', FlagSpecs> = {
  summary: COMMON,
  run: {
    ...COMMON,
    input: { type: 'string', valueName: 'file', help: 'raw little-endian float32 input (default: seeded values in [-1, 1])' },
    top: { type: 'int', min: 1, max: 1000, default: 5, help: 'largest values of each output to print' },
    repeats: { type: 'int', min: 1, max: 1000, default: 5, help: 'timed runs (median reported)' },
  },
};

export const ONNX_RUN_SUMMARY = 'run an ONNX model (compiled) on an input file: output shapes, top values, time per run';

export function isOnnxPath(arg: string | undefined): boolean {
  return arg !== undefined && !arg.startsWith('--') && arg.toLowerCase().endsWith('.onnx');
}

export function onnxHelp(command: 'summary' | 'run'): string {
  const what = command === 'run' ? ONNX_RUN_SUMMARY : 'per-node costs of an ONNX model (MACs, parameters, output shapes)';
  return `Usage: sepconv ${command} model.onnx [flags]\n\n${what}\n\nFlags (--name value or --name=value):\n${describeFlags(FLAGS[command])}\n`;
}

/** Input shapes from --shape (one list, or name=list;name=list), defaulting symbolic dims to 1. */
function inputShapes(model: OnnxModel, text: string | undefined): Record<string, number[]> {
  const shapes: Record<string, number[]> = Object.fromEntries(model.inputs.map((i) => [i.name, i.shape.map((d) => (typeof d === 'number' ? d : 1))]));
  if (text === undefined) return shapes;
  const parse = (list: string): number[] => {
    const dims = list.split(',').map((d) => d.trim());
    if (dims.some((d) => !/^\d+$/.test(d))) throw new UsageError(`--shape must be comma-separated non-negative integers, got ${JSON.stringify(list)}`);
    return dims.map(Number);
  };
  const parts = text.split(';');
  if (parts.length === 1 && !parts[0]!.includes('=')) {
    if (model.inputs.length !== 1) throw new UsageError(`the model has ${model.inputs.length} inputs (${model.inputs.map((i) => i.name).join(', ')}); give --shape name=1,3,224,224;other=...`);
    shapes[model.inputs[0]!.name] = parse(parts[0]!);
    return shapes;
  }
  for (const part of parts) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq);
    if (eq < 0 || !(name in shapes)) throw new UsageError(`--shape: ${JSON.stringify(part)} does not name an input (${model.inputs.map((i) => i.name).join(', ')})`);
    shapes[name] = parse(part.slice(eq + 1));
  }
  return shapes;
}

function readInput(path: string, shape: readonly number[]): Float32Array {
  const bytes = readFileSync(path);
  const size = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== 4 * size) throw new UsageError(`--input ${path} has ${bytes.length} bytes; shape [${shape.join(', ')}] needs ${4 * size} (raw float32)`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** `sepconv summary|run model.onnx ...`: returns the exit code like `main`. */
export async function runOnnxCommand(command: 'summary' | 'run', args: readonly string[], io: OutputIo): Promise<number> {
  try {
    if (args.includes('--help') || args.includes('-h')) {
      io.stdout(onnxHelp(command));
      return 0;
    }
    const [file, ...rest] = args;
    if (!isOnnxPath(file)) throw new UsageError(`sepconv ${command} needs an .onnx file as its first argument${file === undefined ? '' : `, got ${JSON.stringify(file)}`}`);
    const flags = parseFlags(rest, FLAGS[command]);
    const backend = flags.backend as 'auto' | 'wasm' | 'js';
    await setBackend(backend);
    await ready();
    const model = loadOnnx(readFileSync(file!));
    const shapes = inputShapes(model, flags.shape as string | undefined);
    const header = `${file}: ONNX opset ${model.opset}${model.producer === '' ? '' : `, from ${model.producer}`}\n` +
      `  inputs:  ${model.inputs.map((i) => `${i.name} [${i.shape.join(', ')}]`).join(', ')}\n` +
      `  outputs: ${model.outputs.map((o) => `${o.name} [${o.shape.join(', ')}]`).join(', ')}`;
    if (command === 'summary') {
      if (model.inputs.length !== 1) throw new UsageError('summary of a model with several inputs is not supported; use run');
      const s = summary(model, shapes[model.inputs[0]!.name]!);
      io.stdout(flags.json ? `${JSON.stringify({ command, file, opset: model.opset, producer: model.producer, summary: s }, null, 2)}\n` : `${header}\n\n${formatSummary(s)}\n`);
      return 0;
    }
    const feeds = Object.fromEntries(Object.entries(shapes).map(([name, shape], k) => {
      const data = typeof flags.input === 'string' && k === 0 ? readInput(flags.input, shape) : randomData(shape.reduce((a, b) => a * b, 1), seededRandom(k + 1));
      return [name, { shape, data }];
    }));
    const compileStart = performance.now();
    const compiled = model.compile(shapes);
    let outputs = compiled.run(feeds);
    const compileMs = performance.now() - compileStart;
    const timing = measure(() => void (outputs = compiled.run(feeds)), { repeats: flags.repeats as number, warmup: 1 });
    const top = flags.top as number;
    const results = Object.entries(outputs).map(([name, t]) => {
      const order = Array.from(t.data.keys()).sort((a, b) => t.data[b]! - t.data[a]!).slice(0, top);
      return { name, shape: t.shape, top: order.map((index) => ({ index, value: t.data[index]! })) };
    });
    if (flags.json) {
      io.stdout(`${JSON.stringify({ command, file, backend: compiled.backend ?? backend, compileMs, medianMs: timing.medianMs, outputs: results }, null, 2)}\n`);
    } else {
      const lines = [header, ''];
      for (const r of results) {
        lines.push(`${r.name} [${r.shape.join(', ')}]: top ${r.top.length}`);
        for (const { index, value } of r.top) lines.push(`  ${String(index).padStart(8)}  ${value.toPrecision(6)}`);
      }
      lines.push('', `compile + first run ${compileMs.toFixed(1)} ms; run ${timing.medianMs.toFixed(2)} ms (median of ${timing.runs})`);
      io.stdout(`${lines.join('\n')}\n`);
    }
    compiled.dispose();
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`sepconv ${command}: error: ${error.message}\nRun 'sepconv ${command} model.onnx --help' for usage.\n`);
      return 2;
    }
    io.stderr(`sepconv ${command}: error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
