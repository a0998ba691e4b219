/**
 * Plain-text rendering of the analysis results: exact integers with thousands separators, short
 * forms (462.4M) only next to them, and aligned tables in the spirit of torchinfo and Keras.
 */
import type { SeparableComparison, SeparableTimings, VariantName } from './compare.js';

/** 462422016 → "462,422,016" (exact). */
export function formatInt(value: number): string {
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
  if (timings) columns.push({ header: 'Median time', align: 'right' }, { header: 'GFLOP/s', align: 'right' });
  const rows = VARIANTS.map((name) => {
    const v = comparison[name];
    const row = [v.description, formatShape(v.outputShape), formatInt(v.params), formatInt(v.macs), formatCompact(v.flops)];
    if (timings) row.push(formatMs(timings[name].medianMs), timings[name].gflops.toFixed(2));
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
        `${timings.timeRatio.toFixed(3)} (${(1 / timings.timeRatio).toFixed(2)}x faster; median of ${timings.standard.runs} runs after warm-up)`,
    );
  }
  lines.push(
    'Conventions: MACs = multiply-accumulates = N*Cout*Hout*Wout*(Cin/groups)*kH*kW (output spatial size only); FLOPs = 2*MACs; no bias.',
  );
  return lines.join('\n');
}
