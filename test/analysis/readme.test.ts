/**
 * The README's "Analysis and the demo" section stays true: its TypeScript example runs and prints
 * what its comments say, and every exact (non-timing) line of the pasted demo output is what the
 * analysis prints today.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compareSeparable } from '../../src/analysis/compare.js';
import { formatComparison, formatSummary } from '../../src/analysis/format.js';
import { summary } from '../../src/analysis/summary.js';
import { mobilenetV1 } from '../../src/layers/mobilenet.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const HEADING = '## Analysis and the demo';
const start = readme.indexOf(`\n${HEADING}\n`);
const end = start < 0 ? -1 : readme.indexOf('\n## ', start + HEADING.length + 2);
const section = start < 0 ? '' : readme.slice(start, end < 0 ? undefined : end);

function format(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(format).join(', ')}]`;
  if (typeof value === 'string') return `'${value}'`;
  return String(value);
}

describe('README "Analysis and the demo"', () => {
  it('exists', () => {
    expect(start).toBeGreaterThanOrEqual(0);
  });

  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  blocks.forEach((block, index) => {
    it(`example ${index + 1} prints what its comments say`, async () => {
      const lines = block.split('\n');
      const expectations = new Map<number, string>();
      const source = lines
        .map((line, i) => {
          const comment = /console\.log\(.*\);\s*\/\/\s*(.+)$/.exec(line);
          if (comment) expectations.set(i, comment[1]!.trim());
          return line
            .replace(/console\.log\(/, `__log(${i}, `)
            .replace(/from 'sepconv'/, `from '${pathToFileURL(join(ROOT, 'src/index.ts')).href}'`);
        })
        .join('\n');
      const logged = new Map<number, string>();
      const global = globalThis as { __analysisReadmeLog?: (line: number, ...args: unknown[]) => void };
      global.__analysisReadmeLog = (line, ...args) => logged.set(line, args.map(format).join(' '));
      const dir = mkdtempSync(join(tmpdir(), 'sepconv-analysis-readme-'));
      try {
        const file = join(dir, `example-${index + 1}.ts`);
        writeFileSync(file, `const __log = (globalThis as any).__analysisReadmeLog;\n${source}\n`);
        await import(pathToFileURL(file).href);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        delete global.__analysisReadmeLog;
      }
      expect(expectations.size).toBeGreaterThan(0);
      for (const [line, expected] of expectations) {
        expect(logged.get(line), `README line "${lines[line]!.trim()}"`).toBe(expected);
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
