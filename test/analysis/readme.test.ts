/**
 * docs/analysis.md stays true: its TypeScript examples run and print exactly what their comments
 * say, and every exact (non-timing) line of the pasted demo output is what the analysis prints today.
 */
import { describe, expect, it } from 'vitest';
import { compareSeparable } from '../../src/analysis/compare.js';
import { formatComparison, formatSummary } from '../../src/analysis/format.js';
import { summary } from '../../src/analysis/summary.js';
import { mobilenetV1 } from '../../src/layers/models/mobilenet.js';
import { docText, runExample, tsBlocks } from '../readme-examples.js';

const FILE = 'docs/analysis.md';
const section = docText(FILE);

describe(`${FILE} examples`, () => {
  const blocks = tsBlocks(section);
  blocks.forEach((block, index) => {
    it(`example ${index + 1} prints what its comments say`, async () => {
      const { lines, expectations, logged } = await runExample(block, index, 'sepconv-analysis-readme-');
      expect(expectations.size).toBeGreaterThan(0);
      for (const [line, expected] of expectations) {
        // The last value printed from that line, printed in full.
        const printed = logged.filter((l) => l.line === line).at(-1)?.text;
        expect(printed, `${FILE} line "${lines[line]!.trim()}"`).toBe(expected);
      }
    });
  });

  it('the pasted demo output has today’s exact counts', () => {
    const pasted = /```text\n([\s\S]*?)```/.exec(section)?.[1];
    expect(pasted).toBeDefined();
    const pastedLines = new Set(pasted!.split('\n'));
    const comparison = formatComparison(compareSeparable({ inChannels: 128, outChannels: 128, kernelSize: 3, height: 56, width: 56 }));
    const table = formatSummary(summary(mobilenetV1({ seed: 0 }), [1, 3, 224, 224]));
    const exact = [
      ...comparison.split('\n').filter((l) => /^(MAC ratio|Closed form|Param ratio|Conventions|Standard vs)/.test(l)),
      ...table.split('\n').filter((l) => l !== ''),
    ];
    // Summary rows may be elided in the README; everything else must be there verbatim.
    const missing = exact.filter((l) => !pastedLines.has(l) && !/^model\.\d+\.\d+ /.test(l));
    expect(missing).toEqual([]);
    // Comparison rows: the exact columns (the times after them vary by run).
    for (const row of comparison.split('\n').filter((l) => /^(standard|depthwise|pointwise|separable) /.test(l))) {
      expect(pasted).toContain(row);
    }
  });
});
