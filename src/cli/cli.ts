/**
 * The `sepconv` command: `compare`, `summary`, `demo` and `help`. `main(argv, io)` does all the
 * work and returns the exit code, so tests call it directly; `main.ts` only wires it to the process.
 * Exit codes: 0 success, 2 usage error (bad command, flag or value), 1 any other failure.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { compareSeparable, timeSeparable, type SeparableComparison, type SeparableTimings } from '../analysis/compare.js';
import { formatComparison, formatProfile, formatSummary } from '../analysis/format.js';
import { htmlReport } from '../analysis/html.js';
import { profile, type ModelProfile } from '../analysis/profile.js';
import { summary, type ModelSummary } from '../analysis/summary.js';
import { seededRandom, randomData } from '../analysis/timing.js';
import { withShapeOnlyParameters } from '../layers/init.js';
import { mobilenetV1 } from '../layers/models/mobilenet.js';
import type { Module } from '../layers/module.js';
import { efficientnetB0, mnasnet, mobilenetV2, mobilenetV3Large, mobilenetV3Small, shufflenetV2 } from '../layers/models/index.js';
import { compareModels, type ModelComparisonRow } from '../analysis/models.js';
import { formatModelComparison } from '../analysis/format.js';
import { describeFlags, parseFlags, UsageError, type CliIo, type FlagSpecs } from './args.js';
import { isOnnxPath, ONNX_RUN_SUMMARY, runOnnxCommand } from './onnx-commands.js';

export type { CliIo };
import { CLASSIFY_FLAGS, CLASSIFY_SUMMARY, runClassify } from './classify.js';

export const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  writeFile: (path, content) => writeFileSync(path, content),
};

/** Fast measurements are repeated until they add up to this long, for a stable median. */
const COMPARE_MIN_MS = 100;
const PROFILE_MIN_MS = 20;

const OUTPUT_FLAGS: FlagSpecs = {
  json: { type: 'boolean', help: 'print machine-readable JSON instead of text' },
  html: { type: 'string', valueName: 'file', help: 'also write a self-contained HTML report with SVG charts to this file' },
};

const COMPARE_FLAGS: FlagSpecs = {
  'in-channels': { type: 'int', min: 1, max: 65536, default: 128, help: 'input channels N_in' },
  'out-channels': { type: 'int', min: 1, max: 65536, default: 128, help: 'output channels N' },
  kernel: { type: 'pair', min: 1, default: [3, 3], help: 'kernel size k or kHxkW' },
  size: { type: 'pair', min: 1, default: [56, 56], help: 'input size H (square) or HxW' },
  multiplier: { type: 'int', min: 1, max: 64, default: 1, help: 'depthwise channel multiplier K (kernels per layer)' },
  stride: { type: 'pair', min: 1, default: [1, 1], help: 'stride s or sHxsW' },
  padding: { type: 'pair', min: 0, help: 'padding p or pHxpW (default floor((k-1)/2): same size at stride 1)' },
  batch: { type: 'int', min: 1, max: 1024, default: 1, help: 'batch size' },
  repeats: { type: 'int', min: 1, max: 1000, default: 5, help: `timed runs per variant at least, fast ones run until ${COMPARE_MIN_MS} ms (median reported)` },
  'no-timing': { type: 'boolean', help: 'report exact costs only, do not run the kernels' },
  ...OUTPUT_FLAGS,
};

const MODELS = ['mobilenet_v1', 'mobilenet_v2', 'mobilenet_v3_large', 'mobilenet_v3_small', 'shufflenet_v2', 'mnasnet', 'efficientnet_b0'] as const;
type ModelName = (typeof MODELS)[number];

/** Models whose --width means something: MobileNetV1's alpha, MobileNetV2's width_mult, ShuffleNetV2's x0_5…x2_0, MNASNet's alpha. */
const WIDTH_MODELS: readonly ModelName[] = ['mobilenet_v1', 'mobilenet_v2', 'shufflenet_v2', 'mnasnet'];

/** Builds a built-in model; `width` is each family's own multiplier. */
function buildNamedModel(name: ModelName, width: number, numClasses: number): Module {
  if (width !== 1 && !WIDTH_MODELS.includes(name)) {
    throw new UsageError(`--width applies to ${WIDTH_MODELS.join(', ')}; ${name} has one width`);
  }
  switch (name) {
    case 'mobilenet_v1': return mobilenetV1({ widthMultiplier: width, numClasses, seed: 0 });
    case 'mobilenet_v2': return mobilenetV2({ widthMult: width, numClasses, seed: 0 });
    case 'mobilenet_v3_large': return mobilenetV3Large({ numClasses, seed: 0 });
    case 'mobilenet_v3_small': return mobilenetV3Small({ numClasses, seed: 0 });
    case 'shufflenet_v2': return shufflenetV2({ width: width as 0.5 | 1 | 1.5 | 2, numClasses, seed: 0 });
    case 'mnasnet': return mnasnet({ alpha: width, numClasses, seed: 0 });
    case 'efficientnet_b0': return efficientnetB0({ numClasses, seed: 0 });
  }
}

const SUMMARY_FLAGS: FlagSpecs = {
  model: { type: 'string', choices: MODELS, default: 'mobilenet_v1', help: `built-in model (${MODELS.join(', ')})` },
  'input-size': { type: 'pair', min: 1, default: [224, 224], help: 'input size H (square) or HxW' },
  width: { type: 'number', min: 0, exclusiveMin: true, max: 16, default: 1, help: 'width multiplier (mobilenet_v1 alpha, mobilenet_v2 width_mult, shufflenet_v2 0.5/1/1.5/2, mnasnet alpha)' },
  classes: { type: 'int', min: 1, max: 1_000_000, default: 1000, help: 'number of classes' },
  batch: { type: 'int', min: 1, max: 1024, default: 1, help: 'batch size' },
  profile: { type: 'boolean', help: 'also time every layer (median time share vs MAC share)' },
  repeats: { type: 'int', min: 1, max: 1000, default: 3, help: `timed runs per layer with --profile at least, fast ones run until ${PROFILE_MIN_MS} ms (median reported)` },
  ...OUTPUT_FLAGS,
};

const ZOO_FLAGS: FlagSpecs = {
  'input-size': { type: 'pair', min: 1, default: [224, 224], help: 'input size H (square) or HxW' },
  batch: { type: 'int', min: 1, max: 1024, default: 1, help: 'batch size' },
  classes: { type: 'int', min: 1, max: 1_000_000, default: 1000, help: 'number of classes' },
  repeats: { type: 'int', min: 1, max: 1000, default: 3, help: 'timed compiled runs per model at least (median reported)' },
  'no-timing': { type: 'boolean', help: 'report exact costs only, do not run the models' },
  ...OUTPUT_FLAGS,
};

const DEMO_FLAGS: FlagSpecs = {
  repeats: { type: 'int', min: 1, max: 1000, default: 3, help: 'timed runs per measurement at least (median reported)' },
  ...OUTPUT_FLAGS,
};

const COMMANDS: Record<string, { flags: FlagSpecs; summary: string }> = {
  compare: { flags: COMPARE_FLAGS, summary: 'standard vs depthwise-separable convolution: params, MACs, 1/N + 1/k^2, measured time' },
  summary: { flags: SUMMARY_FLAGS, summary: 'per-layer costs of a built-in model with exact totals (and, with --profile, measured times)' },
  zoo: { flags: ZOO_FLAGS, summary: 'every built-in model side by side: params, MACs, separable share of MACs, compiled time and GFLOP/s' },
  demo: { flags: DEMO_FLAGS, summary: 'the comparison for 128->128 3x3 56x56, the MobileNetV1 summary and its per-layer profile, the zoo\'s costs side by side' },
  classify: { flags: CLASSIFY_FLAGS, summary: CLASSIFY_SUMMARY },
};

const CONVENTIONS =
  'Conventions: MACs = multiply-accumulates (convolution and linear layers only; a convolution costs\n' +
  'N*Cout*Hout*Wout*(Cin/groups)*kH*kW, output spatial size only); FLOPs = 2*MACs; bias adds, BatchNorm,\n' +
  'activations and pooling are counted separately, never in MACs.';

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  sepconv ${name.padEnd(width)}  ${c.summary}`);
  return [
    'sepconv: exact costs and measured speed of (depthwise-separable) convolutions',
    '',
    'Usage:',
    ...lines,
    `  sepconv ${'run'.padEnd(width)}  ${ONNX_RUN_SUMMARY} (sepconv run model.onnx --help); 'sepconv summary model.onnx' for its costs`,
    `  sepconv ${'help'.padEnd(width)}  this text; 'sepconv help <command>' lists a command's flags`,
    `  sepconv ${'--version'.padEnd(width)}  the installed version`,
    '',
    CONVENTIONS,
    '',
  ].join('\n');
}

function commandHelp(name: string): string {
  const c = COMMANDS[name]!;
  return `Usage: sepconv ${name} [flags]\n\n${c.summary}\n\nFlags (--name value or --name=value):\n${describeFlags(c.flags)}\n\n${CONVENTIONS}\n`;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

/** A profile without its embedded summary (printed next to it already). */
function profileForJson(p: ModelProfile): Omit<ModelProfile, 'summary'> {
  const { summary: _summary, ...rest } = p;
  void _summary;
  return rest;
}

interface Emitted {
  text: string[];
  data: Record<string, unknown>;
  report: Parameters<typeof htmlReport>[0];
}

/**
 * Runs the shape-only part of a command (costs, summaries: no weights, no timing): a RangeError or
 * TypeError there means the flag values do not fit together (a kernel larger than the input, ...),
 * a usage error. Errors of the work that follows (a size limit, running out of memory) are not.
 */
function fromFlags<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) throw new UsageError(error.message);
    throw error;
  }
}

function runCompare(flags: Record<string, unknown>, out: Emitted): void {
  const [kh, kw] = flags.kernel as [number, number];
  const [height, width] = flags.size as [number, number];
  const comparison = fromFlags(() => compareSeparable({
    inChannels: flags['in-channels'] as number,
    outChannels: flags['out-channels'] as number,
    kernelSize: [kh, kw],
    height,
    width,
    kernelsPerLayer: flags.multiplier as number,
    stride: flags.stride as [number, number],
    padding: flags.padding as [number, number] | undefined,
    batch: flags.batch as number,
  }));
  const timings = flags['no-timing'] ? undefined : timeSeparable(comparison, { repeats: flags.repeats as number, warmup: 1, minTimeMs: COMPARE_MIN_MS });
  addComparison(out, comparison, timings);
}

function addComparison(out: Emitted, comparison: SeparableComparison, timings: SeparableTimings | undefined): void {
  out.text.push(formatComparison(comparison, timings));
  const { costs: _costs, ...plain } = comparison;
  void _costs;
  out.data.comparison = plain;
  if (timings) out.data.timings = timings;
  out.report = { ...out.report, comparison, timings };
}

function buildModel(flags: Record<string, unknown>): Module {
  return buildNamedModel(flags.model as ModelName, flags.width as number, flags.classes as number);
}

function inputShapeOf(flags: Record<string, unknown>): number[] {
  const [height, width] = flags['input-size'] as [number, number];
  return [flags.batch as number, 3, height, width];
}

function addSummary(out: Emitted, s: ModelSummary): void {
  out.text.push(formatSummary(s));
  out.data.summary = s;
  out.report = { ...out.report, summary: s };
}

function addProfile(out: Emitted, model: Module, inputShape: number[], repeats: number): void {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const input = { shape: inputShape, data: randomData(size, seededRandom(2)) };
  const p = profile(model, input, { repeats, warmup: 1, minTimeMs: PROFILE_MIN_MS });
  out.text.push(formatProfile(p));
  out.data.profile = profileForJson(p);
  out.report = { ...out.report, profile: p };
}

function runSummary(flags: Record<string, unknown>, out: Emitted): void {
  const inputShape = inputShapeOf(flags);
  // Counted from shapes: the model is built without weights (a 1,000,000-class head costs nothing).
  addSummary(out, fromFlags(() => summary(withShapeOnlyParameters(() => buildModel(flags)), inputShape)));
  if (flags.profile) addProfile(out, buildModel(flags), inputShape, flags.repeats as number);
}

function addModels(out: Emitted, rows: ModelComparisonRow[]): void {
  out.text.push(formatModelComparison(rows));
  out.data.models = rows;
  out.report = { ...out.report, models: rows };
}

function zooRows(inputShape: number[], numClasses: number, timing: false | { repeats: number }): ModelComparisonRow[] {
  const build = (name: ModelName): Module => (timing === false ? withShapeOnlyParameters(() => buildNamedModel(name, 1, numClasses)) : buildNamedModel(name, 1, numClasses));
  const models = MODELS.map((name) => [name, build(name)] as const);
  // The costs first, from shapes: an input size the networks cannot take is a usage error.
  const costs = fromFlags(() => compareModels(models, inputShape, { timing: false }));
  if (timing === false) return costs;
  return compareModels(models, inputShape, { timing: { repeats: timing.repeats, warmup: 1, minTimeMs: PROFILE_MIN_MS } });
}

function runZoo(flags: Record<string, unknown>, out: Emitted): void {
  const inputShape = inputShapeOf(flags);
  addModels(out, zooRows(inputShape, flags.classes as number, flags['no-timing'] ? false : { repeats: flags.repeats as number }));
}

function runDemo(flags: Record<string, unknown>, out: Emitted): void {
  const repeats = flags.repeats as number;
  const comparison = compareSeparable({ inChannels: 128, outChannels: 128, kernelSize: 3, height: 56, width: 56 });
  addComparison(out, comparison, timeSeparable(comparison, { repeats, warmup: 1, minTimeMs: COMPARE_MIN_MS }));
  const model = mobilenetV1({ seed: 0 });
  const inputShape = [1, 3, 224, 224];
  addSummary(out, summary(model, inputShape));
  addProfile(out, model, inputShape, repeats);
  addModels(out, zooRows(inputShape, 1000, false));
}

const RUNNERS: Record<string, (flags: Record<string, unknown>, out: Emitted) => void> = {
  compare: runCompare,
  summary: runSummary,
  zoo: runZoo,
  demo: runDemo,
};

const TITLES: Record<string, string> = {
  compare: 'sepconv: standard vs depthwise-separable convolution',
  summary: 'sepconv: model summary',
  zoo: 'sepconv: the model zoo side by side',
  demo: 'sepconv demo: separable convolution costs and MobileNetV1',
};

/** The version in the package's own package.json (beside dist/ when installed, beside src/ in a checkout). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

/** Runs the command line `argv` (without the node and script paths) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  // ONNX files: `sepconv run model.onnx ...` and `sepconv summary model.onnx ...` (onnx-commands.ts).
  if (command === 'run' || (command === 'summary' && isOnnxPath(rest[0]))) return runOnnxCommand(command, rest, io);
  try {
    if (command === undefined) {
      io.stderr(usage());
      return 2;
    }
    if (command === '--version' || command === '-v' || command === 'version') {
      if (rest.length > 0) throw new UsageError(`sepconv --version takes no arguments, got ${rest.length}`);
      io.stdout(`sepconv ${packageVersion()}\n`);
      return 0;
    }
    if (command === 'help' || command === '--help' || command === '-h') {
      if (rest.length > 1) throw new UsageError(`sepconv help takes at most one command, got ${rest.length} arguments`);
      const topic = rest[0];
      if (topic === undefined) io.stdout(usage());
      else if (Object.prototype.hasOwnProperty.call(COMMANDS, topic)) io.stdout(commandHelp(topic));
      else throw new UsageError(`unknown command ${JSON.stringify(topic)}; expected one of ${Object.keys(COMMANDS).join(', ')}`);
      return 0;
    }
    if (!Object.prototype.hasOwnProperty.call(COMMANDS, command)) {
      throw new UsageError(`unknown command ${JSON.stringify(command)}; expected one of ${Object.keys(COMMANDS).join(', ')}, or help`);
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout(commandHelp(command));
      return 0;
    }
    if (command === 'classify') return await runClassify(rest, io);
    const flags = parseFlags(rest, COMMANDS[command]!.flags);
    const out: Emitted = { text: [], data: { command }, report: { title: TITLES[command] } };
    RUNNERS[command]!(flags, out);
    if (typeof flags.html === 'string') {
      io.writeFile(flags.html, htmlReport(out.report));
      io.stderr(`sepconv: wrote HTML report to ${flags.html}\n`);
    }
    io.stdout(flags.json ? json(out.data) : `${out.text.join('\n\n')}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      const known = command !== undefined && Object.prototype.hasOwnProperty.call(COMMANDS, command);
      const hint = known ? `sepconv help ${command}` : 'sepconv help';
      io.stderr(`sepconv${known ? ` ${command}` : ''}: error: ${error.message}\nRun '${hint}' for usage.\n`);
      return 2;
    }
    const known = command !== undefined && Object.prototype.hasOwnProperty.call(COMMANDS, command);
    io.stderr(`sepconv${known ? ` ${command}` : ''}: error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
