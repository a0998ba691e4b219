/**
 * Plain-text rendering of the analysis results: exact integers with thousands separators, short
 * forms (462.4M) only next to them, and aligned tables in the spirit of torchinfo and Keras.
 */
import type { ModelComparisonRow } from './models.js';
import { COMPARISON_FIELDS, TIMINGS_FIELDS, type SeparableComparison, type SeparableTimings, type VariantName } from './compare.js';
import { PROFILE_FIELDS, type ModelProfile } from './profile.js';
import { SUMMARY_FIELDS, type ModelSummary } from './summary.js';
import { checkResultObject } from '../checks.js';

/**
 * 462422016 → "462,422,016" (exact). Counts past 2^53 are no longer exact as numbers: they are
 * shown as an approximation, "≈3.984e+21", never as digits that look exact.
 */
export function formatInt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) > Number.MAX_SAFE_INTEGER) return `≈${value.toExponential(3)}`;
  const sign = value < 0 ? '-' : '';
  const digits = String(Math.abs(Math.round(value)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 462422016 → "462.42M": three significant decimals at most, for reading, never for totals. */
export function formatCompact(value: number): string {
  const abs = Math.abs(value);
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'K']];
  for (const [scale, suffix] of units) {
    if (abs >= scale) return `${(value / scale).toFixed(2)}${suffix}`;
  }
  return String(value);
}

/** Milliseconds with about three significant digits. */
export function formatMs(ms: number): string {
  if (ms >= 100) return `${ms.toFixed(1)} ms`;
  if (ms >= 10) return `${ms.toFixed(2)} ms`;
  if (ms >= 1) return `${ms.toFixed(3)} ms`;
  return `${(ms * 1000).toFixed(1)} us`;
}

export function formatPercent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** "1 run", "3 runs". */
export function runs(count: number): string {
  return `${count} run${count === 1 ? '' : 's'}`;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(2)} KiB`;
  return `${bytes} B`;
}

export interface Column {
  readonly header: string;
  /** Numbers read best right-aligned. */
  readonly align?: 'left' | 'right';
}

/** An aligned text table: header, a rule, the rows, and optional footer rows after a second rule. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], footer: readonly (readonly string[])[] = []): string {
  const all = [columns.map((c) => c.header), ...rows, ...footer];
  const widths = columns.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]): string =>
    columns
      .map((c, i) => {
        const cell = row[i] ?? '';
        return c.align === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1));
  const out = [line(columns.map((c) => c.header)), rule, ...rows.map(line)];
  if (footer.length > 0) out.push(rule, ...footer.map(line));
  return out.join('\n');
}

const VARIANTS: readonly VariantName[] = ['standard', 'depthwise', 'pointwise', 'separable'];

/** The standard-vs-separable comparison as a table, the reduction ratios and the closed form. */
export function formatComparison(comparison: SeparableComparison, timings?: SeparableTimings): string {
  checkResultObject(comparison, 'formatComparison: comparison', 'a SeparableComparison (from compareSeparable)', COMPARISON_FIELDS);
  if (timings !== undefined) checkResultObject(timings, 'formatComparison: timings', 'SeparableTimings (from timeSeparable)', TIMINGS_FIELDS);
  const { spec } = comparison;
  const k = `${spec.kernelSize[0]}x${spec.kernelSize[1]}`;
  const header =
    `Standard vs depthwise-separable convolution: ${spec.inChannels} -> ${spec.outChannels} channels, ${k} kernel, ` +
    `input ${formatShape([spec.batch, spec.inChannels, spec.height, spec.width])}, stride ${spec.stride.join('x')}, ` +
    `padding ${spec.padding.join('x')}, depthwise multiplier K=${spec.kernelsPerLayer}`;
  const columns: Column[] = [
    { header: 'Variant' },
    { header: 'Output shape' },
    { header: 'Params', align: 'right' },
    { header: 'MACs', align: 'right' },
    { header: 'FLOPs', align: 'right' },
  ];
  if (timings) columns.push({ header: 'Median time', align: 'right' }, { header: 'Runs', align: 'right' }, { header: 'GFLOP/s', align: 'right' });
  const rows = VARIANTS.map((name) => {
    const v = comparison[name];
    const row = [v.description, formatShape(v.outputShape), formatInt(v.params), formatInt(v.macs), formatCompact(v.flops)];
    if (timings) row.push(formatMs(timings[name].medianMs), String(timings[name].runs), timings[name].gflops.toFixed(2));
    return row;
  });
  const ratio = comparison.macRatio;
  const exact = Math.abs(ratio - comparison.closedForm) <= 1e-12 * comparison.closedForm;
  const lines = [
    header,
    '',
    renderTable(columns, rows),
    '',
    `MAC ratio separable/standard: ${formatInt(comparison.separable.macs)} / ${formatInt(comparison.standard.macs)} = ${ratio.toFixed(6)} (${(1 / ratio).toFixed(2)}x fewer)`,
    `Closed form ${spec.kernelsPerLayer === 1 ? '1/N + 1/k^2' : 'K/N + K/k^2'} = ${comparison.closedFormText} = ${comparison.closedForm.toFixed(6)} (${exact ? 'equal' : 'DIFFERENT'})`,
    `Param ratio separable/standard: ${formatInt(comparison.separable.params)} / ${formatInt(comparison.standard.params)} = ${comparison.paramRatio.toFixed(6)}`,
  ];
  if (timings) {
    lines.push(
      `Measured time ratio separable/standard: ${formatMs(timings.separable.medianMs)} / ${formatMs(timings.standard.medianMs)} = ` +
        `${timings.timeRatio.toFixed(3)} (${(1 / timings.timeRatio).toFixed(2)}x faster; medians of the runs counted above, after a warm-up run)`,
    );
  }
  lines.push(
    'Conventions: MACs = multiply-accumulates = N*Cout*Hout*Wout*(Cin/groups)*kH*kW (output spatial size only); FLOPs = 2*MACs; no bias.',
  );
  return lines.join('\n');
}

/** The summary as an aligned table (one row per leaf call) followed by the totals. */
export function formatSummary(s: ModelSummary): string {
  checkResultObject(s, 'formatSummary: summary', 'a ModelSummary (from summary)', SUMMARY_FIELDS);
  const columns: Column[] = [
    { header: 'Layer' },
    { header: 'Type' },
    { header: 'Output shape' },
    { header: 'Params', align: 'right' },
    { header: 'MACs', align: 'right' },
    { header: 'MAC %', align: 'right' },
  ];
  const rows = s.rows.map((r) => [
    r.name,
    r.type,
    formatShape(r.outputShape),
    r.shared ? '(shared)' : formatInt(r.params),
    r.macs > 0 ? formatInt(r.macs) : '-',
    r.macs > 0 ? formatPercent(r.macShare, 2) : '',
  ]);
  const t = s.totals;
  const kinds = (['conv', 'linear'] as const)
    .filter((k) => t.byKind[k].layers > 0)
    .map((k) => `${formatInt(t.byKind[k].macs)} in ${t.byKind[k].layers} ${k === 'conv' ? 'convolution' : 'linear'} layer${t.byKind[k].layers === 1 ? '' : 's'}`);
  const footer = [['Total', '', formatShape(s.outputShape), formatInt(t.params), formatInt(t.macs), t.macs > 0 ? '100.00%' : '']];
  const lines = [
    `${s.modelType} summary for input ${formatShape(s.inputShape)}`,
    '',
    renderTable(columns, rows, footer),
    '',
    `Params:           ${formatInt(t.params)} trainable (${formatCompact(t.params)}); buffers (BatchNorm running statistics) ${formatInt(t.bufferCount)}, not counted as params`,
    `MACs:             ${formatInt(t.macs)} (${formatCompact(t.macs)})${kinds.length > 0 ? ` = ${kinds.join(' + ')}` : ''}`,
    `FLOPs (2 x MACs): ${formatInt(t.flops)} (${formatCompact(t.flops)})`,
    `Not in MACs:      ${formatInt(t.biasAdds)} bias adds; ${formatInt(t.elementwiseOps)} BatchNorm/activation/pooling ops`,
    `Memory (float32): input ${formatBytes(t.inputBytes)}, activations of one forward ${formatBytes(t.activationBytes)}, parameters ${formatBytes(t.parameterBytes)}, buffers ${formatBytes(t.bufferBytes)}`,
  ];
  if (s.uncosted.length > 0) lines.push(`No cost rule (params only, no MACs): ${s.uncosted.join(', ')}`);
  return lines.join('\n');
}

/** The per-layer profile: measured time share next to MAC share, and achieved GFLOP/s. */
export function formatProfile(p: ModelProfile): string {
  checkResultObject(p, 'formatProfile: profile', 'a ModelProfile (from profile)', PROFILE_FIELDS);
  const columns: Column[] = [
    { header: 'Layer' },
    { header: 'Type' },
    { header: 'MACs', align: 'right' },
    { header: 'Median time', align: 'right' },
    { header: 'Time %', align: 'right' },
    { header: 'MAC %', align: 'right' },
    { header: 'Time/MAC', align: 'right' },
    { header: 'GFLOP/s', align: 'right' },
  ];
  const rows = p.rows.map((r) => [
    r.name,
    r.type,
    r.macs > 0 ? formatInt(r.macs) : '-',
    formatMs(r.medianMs),
    formatPercent(r.timeShare),
    r.macs > 0 ? formatPercent(r.macShare) : '',
    // How much more (or less) of the time this layer takes than its share of the MACs.
    r.macs > 0 && r.macShare > 0 ? `${(r.timeShare / r.macShare).toFixed(2)}x` : '',
    r.macs > 0 ? r.gflops.toFixed(2) : '',
  ]);
  const byType = new Map<string, { ms: number; macs: number; layers: number }>();
  for (const r of p.rows) {
    const e = byType.get(r.type) ?? { ms: 0, macs: 0, layers: 0 };
    e.ms += r.medianMs;
    e.macs += r.macs;
    e.layers++;
    byType.set(r.type, e);
  }
  const groupColumns: Column[] = [
    { header: 'Type' },
    { header: 'Layers', align: 'right' },
    { header: 'Time', align: 'right' },
    { header: 'Time %', align: 'right' },
    { header: 'MAC %', align: 'right' },
    { header: 'GFLOP/s', align: 'right' },
  ];
  const groupRows = [...byType].map(([type, e]) => [
    type,
    String(e.layers),
    formatMs(e.ms),
    formatPercent(p.leafTotalMs > 0 ? e.ms / p.leafTotalMs : 0),
    e.macs > 0 ? formatPercent(e.macs / p.macs) : '',
    e.macs > 0 ? ((2 * e.macs) / (e.ms * 1e6)).toFixed(2) : '',
  ]);
  const lines = [
    `${p.modelType} profile for input ${formatShape(p.inputShape)}: each leaf timed alone on its real input with a preallocated output, median of ${p.minTimeMs > 0 ? `at least ${runs(p.repeats)} (more until ${p.minTimeMs} ms)` : runs(p.repeats)} after ${p.warmup} warm-up run${p.warmup === 1 ? '' : 's'}`,
    '',
    renderTable(columns, rows),
    '',
    renderTable(groupColumns, groupRows),
    '',
    `Sum of leaf medians: ${formatMs(p.leafTotalMs)}`,
  ];
  if (Number.isFinite(p.forwardMs)) {
    lines.push(
      `Whole model, ${formatInt(p.macs)} MACs: forward ${formatMs(p.forwardMs)} (${p.forwardGflops.toFixed(2)} GFLOP/s), ` +
        `compiled plan ${formatMs(p.compiledMs)} (${p.compiledGflops.toFixed(2)} GFLOP/s), medians`,
    );
  }
  return lines.join('\n');
}

/** The model comparison (compareModels) as a table: params, MACs, separable share, compiled time and GFLOP/s. */
export function formatModelComparison(rows: readonly ModelComparisonRow[]): string {
  const timed = rows.some((r) => Number.isFinite(r.compiledMs));
  const columns: Column[] = [
    { header: 'Model' }, { header: 'Params', align: 'right' }, { header: 'MACs', align: 'right' }, { header: 'Separable MACs', align: 'right' },
    ...(timed ? [{ header: 'Compiled', align: 'right' as const }, { header: 'GFLOP/s', align: 'right' as const }] : []),
  ];
  const body = rows.map((r) => [
    r.name, formatInt(r.params), formatInt(r.macs), formatPercent(r.separableShare),
    ...(timed ? [Number.isFinite(r.compiledMs) ? formatMs(r.compiledMs) : '-', Number.isFinite(r.compiledMs) ? r.gflops.toFixed(2) : '-'] : []),
  ]);
  const input = rows.length > 0 ? formatShape(rows[0]!.inputShape) : '';
  return `Models for input ${input} (separable MACs: depthwise and 1x1 convolutions; compiled = median of model.compile(shape).run)\n${renderTable(columns, body)}`;
}
