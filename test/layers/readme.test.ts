/**
 * The README's "Layers" examples run as written, and every `console.log(...) // expected` line
 * prints what its comment says (the comment may continue after the value). Same harness as the
 * "API (core)" README test.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The ```ts blocks of the section that starts at `heading` and ends at the next `## `. */
function codeBlocks(heading: string): string[] {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no "${heading}" section`);
  const end = readme.indexOf('\n## ', start + heading.length + 2);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function format(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(format).join(', ')}]`;
  if (typeof value === 'string') return `'${value}'`;
  return String(value);
}

interface Logged {
  line: number;
  text: string;
}

const blocks = codeBlocks('## Layers');
const require = createRequire(import.meta.url);
const specifiers: Record<string, string> = {
  sepconv: pathToFileURL(join(ROOT, 'src/index.ts')).href,
  ndarray: pathToFileURL(require.resolve('ndarray')).href,
};

describe('README "Layers" examples', () => {
  it('has examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });
  it('the examples typecheck under strict TypeScript against the package sources', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sepconv-readme-layers-types-'));
    try {
      const files = blocks.map((block, i) => {
        const file = join(dir, `example-${i + 1}.ts`);
        // A module of its own each, as a user's file would be.
        writeFileSync(file, `${block}\nexport {};\n`);
        return file;
      });
      const program = ts.createProgram(files, {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        esModuleInterop: true,
        skipLibCheck: true,
        lib: ['lib.es2022.d.ts'],
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules/@types')],
        paths: { sepconv: [join(ROOT, 'src/index.ts')], ndarray: [join(ROOT, 'node_modules/@types/ndarray/index.d.ts')] },
      });
      // Only the examples are checked (the sources have their own typecheck), which keeps this fast.
      const diagnostics = files
        .map((file) => program.getSourceFile(file)!)
        .flatMap((source) => [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)])
        .map((d) => `${d.file ? d.file.fileName.slice(dir.length + 1) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
      expect(diagnostics).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  blocks.forEach((block, index) => {
    it(`example ${index + 1}: ${block.split('\n').find((l) => l.startsWith('import {'))?.slice(0, 70) ?? ''}`, async () => {
      const lines = block.split('\n');
      const expectations = new Map<number, string>();
      const source = lines
        .map((line, i) => {
          const comment = /console\.log\(.*\);\s*\/\/\s*(.+)$/.exec(line);
          if (comment) expectations.set(i, comment[1]!.trim());
          return line
            .replace(/console\.log\(/, `__log(${i}, `)
            .replace(/from '([^']+)'/, (m, name: string) => (specifiers[name] ? `from '${specifiers[name]}'` : m));
        })
        .join('\n');
      const logged: Logged[] = [];
      const global = globalThis as { __readmeLog?: (line: number, ...args: unknown[]) => void };
      global.__readmeLog = (line, ...args) => logged.push({ line, text: args.map(format).join(' ') });
      const dir = mkdtempSync(join(tmpdir(), 'sepconv-readme-layers-'));
      try {
        const file = join(dir, `example-${index + 1}.ts`);
        writeFileSync(file, `const __log = (globalThis as any).__readmeLog;\n${source}\n`);
        await import(pathToFileURL(file).href);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        delete global.__readmeLog;
      }
      for (const [line, expected] of expectations) {
        const entry = logged.find((l) => l.line === line);
        expect(entry, `README line "${lines[line]}" did not run`).toBeDefined();
        expect(expected.startsWith(entry!.text), `"${lines[line]!.trim()}" printed ${entry!.text}`).toBe(true);
      }
    });
  });
});
