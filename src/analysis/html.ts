/**
 * A self-contained HTML report: inline CSS and hand-drawn inline SVG bar charts, no script and no
 * chart library, so the file opens anywhere and can be archived as is. The markup is written to
 * be well-formed XML as well (every element closed, every attribute quoted, all text escaped).
 */
import { COMPARISON_FIELDS, TIMINGS_FIELDS, type SeparableComparison, type SeparableTimings, type VariantName } from './compare.js';
import { PROFILE_FIELDS, type ModelProfile } from './profile.js';
import { SUMMARY_FIELDS, type ModelSummary } from './summary.js';
import { checkResultObject, readOptions } from '../checks.js';
import { describeValue } from '../tensor.js';
import type { ModelComparisonRow } from './models.js';
import { formatCompact, formatInt, formatMs, formatPercent, formatShape, runs } from './format.js';

export interface ReportInput {
  readonly title?: string;
  readonly comparison?: SeparableComparison;
  readonly timings?: SeparableTimings;
  readonly summary?: ModelSummary;
  readonly profile?: ModelProfile;
  /** The model-comparison page (compareModels rows). */
  readonly models?: readonly ModelComparisonRow[];
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const COLORS = { macs: '#3b6fb6', params: '#7a9a3a', time: '#d9822b' } as const;

function num(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function legend(items: readonly [string, string][], x: number, y: number): string {
  return items
    .map(
      ([label, color], i) =>
        `<rect x="${num(x + i * 170)}" y="${num(y)}" width="12" height="12" fill="${color}"/>` +
        `<text x="${num(x + i * 170 + 18)}" y="${num(y + 10)}">${escapeHtml(label)}</text>`,
    )
    .join('');
}

const VARIANTS: readonly VariantName[] = ['standard', 'depthwise', 'pointwise', 'separable'];

/** Standard vs separable: MACs, params and (when measured) time, each relative to the standard conv. */
export function comparisonChart(comparison: SeparableComparison, timings?: SeparableTimings): string {
  const labelWidth = 300;
  const barWidth = 420;
  const rowHeight = timings ? 50 : 36;
  const top = 34;
  const width = labelWidth + barWidth + 160;
  const height = top + VARIANTS.length * rowHeight + 10;
  const metrics: { key: 'macs' | 'params' | 'time'; value: (v: VariantName) => number; text: (v: VariantName) => string }[] = [
    { key: 'macs', value: (v) => comparison[v].macs, text: (v) => `${formatCompact(comparison[v].macs)} MACs` },
    { key: 'params', value: (v) => comparison[v].params, text: (v) => `${formatCompact(comparison[v].params)} params` },
  ];
  if (timings) metrics.push({ key: 'time', value: (v) => timings[v].medianMs, text: (v) => formatMs(timings[v].medianMs) });
  const parts: string[] = [];
  parts.push(legend(metrics.map((m) => [m.key === 'time' ? 'measured time' : m.key === 'macs' ? 'MACs' : 'params', COLORS[m.key]]), labelWidth, 8));
  VARIANTS.forEach((name, i) => {
    const y = top + i * rowHeight;
    const bars = metrics
      .map((m, j) => {
        const reference = m.value('standard');
        const share = reference > 0 ? m.value(name) / reference : 0;
        const w = Math.max(1, Math.min(1, share) * barWidth);
        const by = y + j * 12;
        return (
          `<rect class="bar bar-${m.key}" x="${labelWidth}" y="${num(by)}" width="${num(w)}" height="10" fill="${COLORS[m.key]}"/>` +
          `<text x="${num(labelWidth + w + 6)}" y="${num(by + 9)}">${escapeHtml(`${m.text(name)} (${formatPercent(share)})`)}</text>`
        );
      })
      .join('');
    parts.push(
      `<g class="variant" data-variant="${name}"><text x="0" y="${num(y + 10)}">${escapeHtml(comparison[name].description)}</text>${bars}</g>`,
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart comparison-chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">` +
    `<title>Standard vs separable convolution, relative to the standard convolution</title>${parts.join('')}</svg>`
  );
}

interface LayerBar {
  readonly name: string;
  readonly type: string;
  readonly macs: number;
  readonly macShare: number;
  readonly timeShare?: number;
  readonly ms?: number;
}

/** One group per layer: its share of the MACs and, when profiled, its share of the measured time. */
export function layerChart(layers: readonly LayerBar[]): string {
  const labelWidth = 260;
  const barWidth = 460;
  const timed = layers.some((l) => l.timeShare !== undefined);
  const rowHeight = timed ? 26 : 16;
  const top = 30;
  const width = labelWidth + barWidth + 170;
  const height = top + layers.length * rowHeight + 6;
  const maxShare = Math.max(1e-12, ...layers.map((l) => Math.max(l.macShare, l.timeShare ?? 0)));
  const scale = barWidth / maxShare;
  const items: [string, string][] = [['share of MACs', COLORS.macs]];
  if (timed) items.push(['share of measured time', COLORS.time]);
  const parts = [legend(items, labelWidth, 6)];
  layers.forEach((layer, i) => {
    const y = top + i * rowHeight;
    const macWidth = layer.macShare * scale;
    let bars =
      `<rect class="bar bar-macs" x="${labelWidth}" y="${num(y)}" width="${num(macWidth)}" height="10" fill="${COLORS.macs}"/>` +
      `<text x="${num(labelWidth + macWidth + 6)}" y="${num(y + 9)}">${escapeHtml(layer.macs > 0 ? `${formatPercent(layer.macShare)} (${formatCompact(layer.macs)} MACs)` : 'no MACs')}</text>`;
    if (layer.timeShare !== undefined) {
      const timeWidth = layer.timeShare * scale;
      bars +=
        `<rect class="bar bar-time" x="${labelWidth}" y="${num(y + 12)}" width="${num(timeWidth)}" height="10" fill="${COLORS.time}"/>` +
        `<text x="${num(labelWidth + timeWidth + 6)}" y="${num(y + 21)}">${escapeHtml(`${formatPercent(layer.timeShare)} (${formatMs(layer.ms ?? 0)})`)}</text>`;
    }
    parts.push(
      `<g class="layer" data-layer="${escapeHtml(layer.name)}"><title>${escapeHtml(`${layer.name} (${layer.type})`)}</title>` +
        `<text x="0" y="${num(y + 9)}">${escapeHtml(`${layer.name} ${layer.type}`)}</text>${bars}</g>`,
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart layer-chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">` +
    `<title>${timed ? 'MAC share vs measured time share per layer' : 'MAC share per layer'}</title>${parts.join('')}</svg>`
  );
}

function table(headers: readonly string[], rows: readonly (readonly string[])[], numeric: readonly boolean[]): string {
  const head = headers.map((h, i) => `<th${numeric[i] ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((row) => `<tr>${row.map((cell, i) => `<td${numeric[i] ? ' class="num"' : ''}>${escapeHtml(cell)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** The model comparison: a table and bars of MACs (separable part shaded) and, when timed, GFLOP/s. */
function modelsSection(models: readonly ModelComparisonRow[]): string {
  const timed = models.some((m) => Number.isFinite(m.compiledMs));
  const rows = models.map((m) => [
    m.name, m.modelType, formatInt(m.params), formatInt(m.macs), formatPercent(m.separableShare),
    ...(timed ? [Number.isFinite(m.compiledMs) ? formatMs(m.compiledMs) : '-', Number.isFinite(m.compiledMs) ? m.gflops.toFixed(2) : '-'] : []),
  ]);
  const headers = ['Model', 'Type', 'Params', 'MACs', 'Separable share of MACs', ...(timed ? ['Compiled forward', 'GFLOP/s'] : [])];
  const maxMacs = Math.max(...models.map((m) => m.macs), 1);
  const maxGflops = Math.max(...models.map((m) => (Number.isFinite(m.compiledMs) ? m.gflops : 0)), 1e-9);
  const barWidth = 300;
  const rowHeight = 22;
  const bars = models
    .map((m, i) => {
      const y = 30 + i * rowHeight;
      const w = (barWidth * m.macs) / maxMacs;
      let row =
        `<text x="0" y="${num(y + 12)}">${escapeHtml(m.name)}</text>` +
        `<rect x="170" y="${num(y)}" width="${num(w)}" height="14" fill="${COLORS.macs}" fill-opacity="0.35"/>` +
        `<rect x="170" y="${num(y)}" width="${num(w * m.separableShare)}" height="14" fill="${COLORS.macs}"/>` +
        `<text x="${num(176 + w)}" y="${num(y + 12)}">${escapeHtml(formatCompact(m.macs))}</text>`;
      if (timed && Number.isFinite(m.compiledMs)) {
        const g = (200 * m.gflops) / maxGflops;
        row += `<rect x="560" y="${num(y)}" width="${num(g)}" height="14" fill="${COLORS.time}"/><text x="${num(566 + g)}" y="${num(y + 12)}">${m.gflops.toFixed(2)}</text>`;
      }
      return row;
    })
    .join('');
  const height = 40 + models.length * rowHeight;
  const chart =
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="860" height="${height}" role="img" aria-label="MACs and GFLOP/s per model">` +
    legend([['MACs (dark: separable)', COLORS.macs], ...(timed ? [['GFLOP/s, compiled', COLORS.time] as [string, string]] : [])], 170, 6) +
    bars +
    '</svg>';
  return (
    `<section id="models"><h2>Model comparison for input ${escapeHtml(formatShape(models[0]!.inputShape))}</h2>` +
    table(headers, rows, [false, false, true, true, true, true, true]) +
    `<p class="note">Separable share: MACs of depthwise (groups = Cin) and pointwise (1&#215;1) convolutions over all MACs. ` +
    `Compiled forward: median time of model.compile(shape).run(x); GFLOP/s = 2 &#215; MACs / time.</p>${chart}</section>`
  );
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
th, td { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
svg.chart { display: block; margin: 1em 0; font: 11px system-ui, sans-serif; }
.note { color: #555; }
`;

/** The report as one HTML document. */
const REPORT_FIELDS = ['title', 'comparison', 'timings', 'summary', 'profile', 'models'];

export function htmlReport(callerInput: ReportInput): string {
  const input = readOptions<ReportInput>(callerInput, REPORT_FIELDS, 'htmlReport');
  if (input.title !== undefined && typeof input.title !== 'string') throw new TypeError(`htmlReport: title must be a string, got ${describeValue(input.title)}`);
  if (input.comparison !== undefined) checkResultObject(input.comparison, 'htmlReport: comparison', 'a SeparableComparison (from compareSeparable)', COMPARISON_FIELDS);
  if (input.timings !== undefined) checkResultObject(input.timings, 'htmlReport: timings', 'SeparableTimings (from timeSeparable)', TIMINGS_FIELDS);
  if (input.summary !== undefined) checkResultObject(input.summary, 'htmlReport: summary', 'a ModelSummary (from summary)', SUMMARY_FIELDS);
  if (input.profile !== undefined) checkResultObject(input.profile, 'htmlReport: profile', 'a ModelProfile (from profile)', PROFILE_FIELDS);
  if (input.models !== undefined && !Array.isArray(input.models)) throw new TypeError(`htmlReport: models must be an array of model rows, got ${describeValue(input.models)}`);
  const title = input.title ?? 'sepconv report';
  const sections: string[] = [];
  const { comparison, timings } = input;
  if (comparison) {
    const rows = VARIANTS.map((name) => {
      const v = comparison[name];
      const row = [v.description, formatShape(v.outputShape), formatInt(v.params), formatInt(v.macs)];
      if (timings) row.push(formatMs(timings[name].medianMs), String(timings[name].runs), timings[name].gflops.toFixed(2));
      return row;
    });
    const headers = ['Variant', 'Output shape', 'Params', 'MACs', ...(timings ? ['Median time', 'Runs', 'GFLOP/s'] : [])];
    sections.push(
      `<section id="comparison"><h2>Standard vs depthwise-separable convolution</h2>` +
        table(headers, rows, [false, false, true, true, true, true, true]) +
        `<p>MAC ratio separable/standard = ${comparison.macRatio.toFixed(6)}; closed form ${escapeHtml(comparison.closedFormText)} = ${comparison.closedForm.toFixed(6)}` +
        (timings ? `; measured time ratio = ${timings.timeRatio.toFixed(3)}` : '') +
        `.</p>${comparisonChart(comparison, timings)}</section>`,
    );
  }
  if (input.models && input.models.length > 0) sections.push(modelsSection(input.models));
  const s = input.summary ?? input.profile?.summary;
  if (s) {
    const t = s.totals;
    const rows = s.rows.map((r) => [r.name, r.type, formatShape(r.outputShape), r.shared ? '(shared)' : formatInt(r.params), r.macs > 0 ? formatInt(r.macs) : '-', r.macs > 0 ? formatPercent(r.macShare, 2) : '']);
    rows.push(['Total', '', formatShape(s.outputShape), formatInt(t.params), formatInt(t.macs), '100.00%']);
    sections.push(
      `<section id="summary"><h2>${escapeHtml(s.modelType)} for input ${escapeHtml(formatShape(s.inputShape))}</h2>` +
        `<p>${formatInt(t.params)} parameters; ${formatInt(t.macs)} MACs (${formatInt(t.byKind.conv.macs)} in ${t.byKind.conv.layers} convolutions, ` +
        `${formatInt(t.byKind.linear.macs)} in ${t.byKind.linear.layers} linear layers); FLOPs = 2 &#215; MACs = ${formatInt(t.flops)}; ` +
        `${formatInt(t.biasAdds)} bias adds and ${formatInt(t.elementwiseOps)} BatchNorm/activation/pooling ops counted apart.</p>` +
        table(['Layer', 'Type', 'Output shape', 'Params', 'MACs', 'MAC %'], rows, [false, false, false, true, true, true]) +
        '</section>',
    );
  }
  if (input.profile || s) {
    const p = input.profile;
    const layers: LayerBar[] = p
      ? p.rows.map((r) => ({ name: r.name, type: r.type, macs: r.macs, macShare: r.macShare, timeShare: r.timeShare, ms: r.medianMs }))
      : s!.rows.map((r) => ({ name: r.name, type: r.type, macs: r.macs, macShare: r.macShare }));
    const heading = p ? 'MACs vs measured time per layer' : 'MACs per layer';
    const note = p
      ? `<p class="note">Each layer timed alone on its real input, median of ${p.minTimeMs > 0 ? `at least ${runs(p.repeats)} (more until ${p.minTimeMs} ms)` : runs(p.repeats)}. Sum of layer medians ${escapeHtml(formatMs(p.leafTotalMs))}` +
        (Number.isFinite(p.forwardMs)
          ? `; whole model: forward ${escapeHtml(formatMs(p.forwardMs))} (${p.forwardGflops.toFixed(2)} GFLOP/s), compiled plan ${escapeHtml(formatMs(p.compiledMs))} (${p.compiledGflops.toFixed(2)} GFLOP/s)`
          : '') +
        '.</p>'
      : '';
    sections.push(`<section id="layers"><h2>${heading}</h2>${note}${layerChart(layers)}</section>`);
  }
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8"/>',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    '<p class="note">Conventions: MACs = multiply-accumulates, N&#183;Cout&#183;Hout&#183;Wout&#183;(Cin/groups)&#183;kH&#183;kW for a convolution (output spatial size only) and N&#183;in&#183;out for a linear layer; FLOPs = 2 &#215; MACs; bias adds, BatchNorm, activations and pooling are counted separately, never in MACs.</p>',
    ...sections,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
