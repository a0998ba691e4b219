import { describe, expect, it } from 'vitest';
import { escapeHtml, htmlReport } from '../../src/analysis/html.js';
import { compareSeparable, timeSeparable } from '../../src/analysis/compare.js';
import { summary } from '../../src/analysis/summary.js';
import { profile } from '../../src/analysis/profile.js';
import { formatBytes, formatCompact, formatInt, formatMs, renderTable } from '../../src/analysis/format.js';
import { Sequential } from '../../src/layers/sequential.js';
import { Conv2d } from '../../src/layers/conv.js';
import { ReLU } from '../../src/layers/activation.js';
import { mobilenetV1 } from '../../src/layers/models/mobilenet.js';
import { randomTensor, rng } from '../helpers.js';

const VOID = new Set(['meta', 'br', 'hr', 'img', 'link', 'input']);

/**
 * A strict well-formedness check: tags balance (void elements aside, `/>` self-closes), attribute
 * values are quoted, and text holds no raw `<` or stray `&`. Returns the element names in order.
 */
function checkWellFormed(html: string): string[] {
  const body = html.replace(/^<!DOCTYPE html>\s*/i, '');
  const stack: string[] = [];
  const opened: string[] = [];
  const token = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|#\d+);)/g;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = token.exec(body)) !== null) {
    if (m[2] === undefined) throw new Error(`malformed markup at offset ${m.index}: ${JSON.stringify(body.slice(m.index, m.index + 40))}`);
    if (/[<>]/.test(body.slice(last, m.index))) throw new Error(`raw angle bracket before offset ${m.index}`);
    last = token.lastIndex;
    const [, closing, name, , selfClosing] = m;
    if (closing) {
      const top = stack.pop();
      if (top !== name) throw new Error(`</${name}> closes <${top}> at offset ${m.index}`);
    } else {
      opened.push(name!);
      if (!selfClosing && !VOID.has(name!.toLowerCase())) stack.push(name!);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed elements: ${stack.join(', ')}`);
  return opened;
}

describe('HTML report', () => {
  it('the checker itself rejects broken markup', () => {
    expect(() => checkWellFormed('<html><body><p>x</body></html>')).toThrow(/closes/);
    expect(() => checkWellFormed('<html><p>a < b</p></html>')).toThrow(/malformed|angle/);
    expect(() => checkWellFormed('<html><p>R&D</p></html>')).toThrow(/malformed/);
    expect(() => checkWellFormed('<html><rect width=3/></html>')).toThrow();
    expect(checkWellFormed('<!DOCTYPE html>\n<html><meta charset="utf-8"/><svg><rect x="1"/></svg><p>a &amp; b</p></html>')).toEqual(['html', 'meta', 'svg', 'rect', 'p']);
  });

  it('comparison + summary + profile: well-formed, one chart group per layer and per variant', () => {
    const model = new Sequential(
      new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, seed: 1 }),
      new ReLU(),
      new Conv2d({ inChannels: 4, outChannels: 2, kernelSize: 1, seed: 2 }),
    );
    const x = randomTensor([1, 3, 6, 6], rng(4));
    const p = profile(model, x, { repeats: 1 });
    const comparison = compareSeparable({ inChannels: 4, outChannels: 8, kernelSize: 3, height: 6, width: 6 });
    const timings = timeSeparable(comparison, { repeats: 1 });
    const html = htmlReport({ title: 'Report <&> "test"', comparison, timings, profile: p });
    const elements = checkWellFormed(html);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<title>Report &lt;&amp;&gt; &quot;test&quot;</title>');
    expect(elements.filter((e) => e === 'svg')).toHaveLength(2);
    expect(html.match(/<g class="layer"/g)).toHaveLength(p.rows.length);
    expect(html.match(/<g class="variant"/g)).toHaveLength(4);
    for (const r of p.rows) expect(html).toContain(`data-layer="${r.name}"`);
    // Time bars only when measured.
    expect(html.match(/class="bar bar-time"/g)!.length).toBe(p.rows.length + 4);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(?:src|href)="https?:/);
  });

  it('MobileNetV1 summary only: one chart group per leaf, no time bars', () => {
    const s = summary(mobilenetV1({ seed: 0 }), [1, 3, 224, 224]);
    const html = htmlReport({ summary: s });
    checkWellFormed(html);
    expect(html.match(/<g class="layer"/g)).toHaveLength(s.rows.length);
    expect(html).not.toContain('bar-time');
    expect(html).toContain('4,231,976');
    expect(html).toContain('568,740,352');
  });

  it('escapes every special character', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('text formatting', () => {
  it('numbers', () => {
    expect(formatInt(568740352)).toBe('568,740,352');
    expect(formatInt(0)).toBe('0');
    expect(formatInt(-1234)).toBe('-1,234');
    expect(formatCompact(568740352)).toBe('568.74M');
    expect(formatCompact(999)).toBe('999');
    expect(formatMs(431.62)).toBe('431.6 ms');
    expect(formatMs(0.0423)).toBe('42.3 us');
    expect(formatBytes(16.14 * 1024 * 1024)).toBe('16.14 MiB');
  });

  it('tables align columns (numbers right) with a rule under the header', () => {
    const text = renderTable([{ header: 'Name' }, { header: 'N', align: 'right' }], [['a', '1'], ['bbb', '1,000']], [['Total', '1,001']]);
    expect(text.split('\n')).toEqual(['Name       N', '------------', 'a          1', 'bbb    1,000', '------------', 'Total  1,001']);
  });
});
