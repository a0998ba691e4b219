/**
 * Shared harness of the README tests: finds a section's ```ts examples, typechecks them as a
 * user's files would be, and runs one with its `console.log` calls recorded per source line, so
 * each test can hold the printed values against the `// expected` comments.
 * `describeReadmeExamples` is the whole test of a section whose examples print value prefixes.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The section that starts at `heading` and ends at the next `## `, or undefined when there is none. */
export function readmeSection(heading: string): string | undefined {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) return undefined;
  const end = readme.indexOf('\n## ', start + heading.length + 2);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The ```ts blocks of a section's text. */
export function tsBlocks(section: string): string[] {
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** The ```ts blocks of the section that starts at `heading`; throws when the README has no such section. */
export function codeBlocks(heading: string): string[] {
  const section = readmeSection(heading);
  if (section === undefined) throw new Error(`README has no "${heading}" section`);
  return tsBlocks(section);
}

/** A test title naming the example by its first `import {` line. */
export function exampleTitle(block: string, index: number): string {
  return `example ${index + 1}: ${block.split('\n').find((l) => l.startsWith('import {'))?.slice(0, 70) ?? ''}`;
}

function format(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(format).join(', ')}]`;
  if (typeof value === 'string') return `'${value}'`;
  return String(value);
}

const require = createRequire(import.meta.url);
const specifiers: Record<string, string> = {
  sepconv: pathToFileURL(join(ROOT, 'src/index.ts')).href,
  ndarray: pathToFileURL(require.resolve('ndarray')).href,
};

/**
 * Strict-TypeScript diagnostics of the examples, each compiled as a module of its own against the
 * package sources (`sepconv` resolves to src/index.ts); empty when they all typecheck.
 */
export function typecheckExamples(blocks: readonly string[], tmpPrefix: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), tmpPrefix));
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
    return files
      .map((file) => program.getSourceFile(file)!)
      .flatMap((source) => [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)])
      .map((d) => `${d.file ? d.file.fileName.slice(dir.length + 1) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Logged {
  /** The example's line (0-based) whose `console.log` printed `text`. */
  line: number;
  text: string;
}

export interface ExampleRun {
  /** The example's source lines. */
  lines: string[];
  /** Line index → the comment after `console.log(...);` on that line, trimmed. */
  expectations: Map<number, string>;
  /** Every `console.log` of the run, in order. */
  logged: Logged[];
}

let runs = 0;

/**
 * Runs one example as an ES module with `sepconv` (and `ndarray`) resolved to this checkout, its
 * `console.log(...)` calls recorded instead of printed.
 */
export async function runExample(block: string, index: number, tmpPrefix: string): Promise<ExampleRun> {
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
  // A name of its own per run, so that no two runs can record into each other's list.
  const key = `__readmeLog${++runs}`;
  const global = globalThis as Record<string, unknown>;
  global[key] = (line: number, ...args: unknown[]) => logged.push({ line, text: args.map(format).join(' ') });
  const dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  try {
    const file = join(dir, `example-${index + 1}.ts`);
    writeFileSync(file, `const __log = (globalThis as any).${key};\n${source}\n`);
    await import(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    delete global[key];
  }
  return { lines, expectations, logged };
}

/**
 * The examples of the README section at `heading`: there are at least `minExamples`, they
 * typecheck, they run, and every `console.log(...); // expected` line prints a value the comment
 * starts with (the comment may continue after the value).
 */
export function describeReadmeExamples(heading: string, minExamples: number, tmpPrefix: string): void {
  const blocks = codeBlocks(heading);
  describe(`README "${heading.replace(/^#+ /, '')}" examples`, () => {
    it('has examples', () => {
      expect(blocks.length).toBeGreaterThanOrEqual(minExamples);
    });
    it('the examples typecheck under strict TypeScript against the package sources', () => {
      expect(typecheckExamples(blocks, `${tmpPrefix}types-`)).toEqual([]);
    });
    blocks.forEach((block, index) => {
      it(exampleTitle(block, index), async () => {
        const { lines, expectations, logged } = await runExample(block, index, tmpPrefix);
        for (const [line, expected] of expectations) {
          const entry = logged.find((l) => l.line === line);
          expect(entry, `README line "${lines[line]}" did not run`).toBeDefined();
          expect(expected.startsWith(entry!.text), `"${lines[line]!.trim()}" printed ${entry!.text}`).toBe(true);
        }
      });
    });
  });
}
