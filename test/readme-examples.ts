/**
 * Shared harness of the documentation tests: finds the ```ts and ```js examples of README.md or a
 * docs/*.md file, typechecks the TypeScript ones as a user's files would be, and runs every one
 * with its `console.log` calls recorded per source line, so each test can hold the printed values
 * against the `// expected` comments.
 *
 * An example runs in a scratch folder that is its working directory, holding the files the test
 * provides (`fixtures`: `readFileSync('model.onnx')` reads one), with `globalThis.fetch` answering
 * from those files (any URL whose last path segment names one) and failing as an offline machine
 * does for every other URL, and with `SEPCONV_CACHE` / `TORCH_HOME` pointing into the scratch
 * folder: no example touches the network or the user's caches.
 *
 * An example that needs the internet is preceded by the line `<!-- needs the network -->`: it is
 * run as the others, offline, and must fail with the `PretrainedError` that names the
 * download.pytorch.org URL it asked for (so it does get as far as the download). Markdown examples
 * in other fences (```sh, ```py, ```html, ```text) are not run.
 *
 * `describeDocExamples` is the whole test of a file.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The text of a documentation file, by its path from the repository root (`README.md`, `docs/onnx.md`). */
export function docText(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}

/**
 * The section of `file` that starts at the line `heading` and ends at the next heading of the same
 * or a higher level, or undefined when there is none.
 */
export function docSection(file: string, heading: string): string | undefined {
  const text = docText(file);
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) return undefined;
  const level = /^#+/.exec(heading)![0].length;
  const next = new RegExp(`\\n#{1,${level}} `, 'g');
  next.lastIndex = start + heading.length + 2;
  const end = next.exec(text)?.index;
  return text.slice(start, end);
}

export type ExampleLanguage = 'ts' | 'js';

export interface DocExample {
  language: ExampleLanguage;
  code: string;
  /** 1-based line of the opening fence in the file. */
  line: number;
  /** Preceded by `<!-- needs the network -->`. */
  needsNetwork: boolean;
}

const NETWORK_MARK = '<!-- needs the network -->';

/** The ```ts and ```js examples of a Markdown text (`firstLine`: the text's first line in its file). */
export function examplesOf(text: string, firstLine = 1): DocExample[] {
  const examples: DocExample[] = [];
  for (const m of text.matchAll(/^```(ts|js)\n([\s\S]*?)^```$/gm)) {
    const before = text.slice(0, m.index).trimEnd();
    examples.push({
      language: m[1] as ExampleLanguage,
      code: m[2]!,
      line: firstLine + text.slice(0, m.index).split('\n').length - 1,
      needsNetwork: before.endsWith(NETWORK_MARK),
    });
  }
  return examples;
}

/** The ```ts blocks of a section's text. */
export function tsBlocks(section: string): string[] {
  return examplesOf(section)
    .filter((e) => e.language === 'ts')
    .map((e) => e.code);
}

/** A test title naming the example by its line and first `import` line. */
export function exampleTitle(example: DocExample, index: number): string {
  const first = example.code.split('\n').find((l) => l.startsWith('import ')) ?? example.code.split('\n')[0]!;
  return `example ${index + 1} (line ${example.line}, ${example.language}): ${first.slice(0, 70)}`;
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
/** `sepconv` as the built package (for examples whose worker pool loads dist/parallel/worker.js). */
const DIST_ENTRY = pathToFileURL(join(ROOT, 'dist/index.js')).href;

/** Where an example's `import … from 'sepconv'` resolves: the sources, or the built `dist/`. */
export type SepconvEntry = 'src' | 'dist';

/**
 * Strict-TypeScript diagnostics of the examples, each compiled as a module of its own against the
 * package sources (`sepconv` resolves to src/index.ts); empty when they all typecheck.
 */
export function typecheckExamples(blocks: readonly string[], tmpPrefix: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  try {
    // ES modules, as the package is (top-level await allowed).
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
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
  /** URLs the example asked `fetch` for. */
  fetched: string[];
}

/** Files an example finds in its working directory (and at any URL ending in their name). */
export type Fixtures = Record<string, Uint8Array | string>;

let runs = 0;

/** Line index → the comment after `console.log(...);` on that line. */
function expectationsOf(block: string): Map<number, string> {
  const expectations = new Map<number, string>();
  block.split('\n').forEach((line, i) => {
    const comment = /console\.log\(.*\);\s*\/\/\s*(.+)$/.exec(line);
    if (comment) expectations.set(i, comment[1]!.trim());
  });
  return expectations;
}

/** A fetch that serves `fixtures` by the URL's last path segment and fails as offline otherwise. */
function fixtureFetch(fixtures: Fixtures, fetched: string[]): typeof fetch {
  return (async (input: string | URL | Request) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    fetched.push(url);
    const name = decodeURIComponent(new URL(url, 'http://localhost/').pathname.split('/').pop() ?? '');
    const local = new URL(url, 'http://localhost/').hostname === 'localhost';
    const file = local ? fixtures[name] : undefined;
    if (file === undefined) {
      // What Node's fetch throws when the host cannot be resolved.
      throw new TypeError('fetch failed', { cause: Object.assign(new Error(`getaddrinfo ENOTFOUND ${new URL(url, 'http://localhost/').hostname}`), { code: 'ENOTFOUND' }) });
    }
    const bytes = typeof file === 'string' ? new TextEncoder().encode(file) : file;
    return new Response(new Uint8Array(bytes), { status: 200, headers: { 'content-length': String(bytes.length) } });
  }) as typeof fetch;
}

/**
 * Runs one example as an ES module with `sepconv` (and `ndarray`) resolved to this checkout, its
 * `console.log(...)` calls recorded instead of printed, in a scratch working directory holding
 * `fixtures`, with the fetch and caches described at the top of this file.
 */
export async function runExample(
  block: string,
  index: number,
  tmpPrefix: string,
  {
    language = 'ts',
    fixtures = {},
    entry = 'src',
    logs = [],
  }: { language?: ExampleLanguage; fixtures?: Fixtures; entry?: SepconvEntry; /** Receives the logs as they happen (also when the run fails). */ logs?: Logged[] } = {},
): Promise<ExampleRun> {
  const lines = block.split('\n');
  const expectations = expectationsOf(block);
  const source = lines
    .map((line, i) => {
      return line
        .replace(/console\.log\(/, `__log(${i}, `)
        .replace(/from '([^']+)'/, (m, name: string) => {
          const target = name === 'sepconv' && entry === 'dist' ? DIST_ENTRY : specifiers[name];
          return target ? `from '${target}'` : m;
        });
    })
    .join('\n');
  const logged = logs;
  const fetched: string[] = [];
  // A name of its own per run, so that no two runs can record into each other's list.
  const key = `__readmeLog${++runs}`;
  const global = globalThis as Record<string, unknown>;
  global[key] = (line: number, ...args: unknown[]) => logged.push({ line, text: args.map(format).join(' ') });
  const dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  const work = join(dir, 'work');
  mkdirSync(work);
  for (const [name, bytes] of Object.entries(fixtures)) writeFileSync(join(work, name), bytes);
  const saved = { cwd: process.cwd(), fetch: globalThis.fetch, cache: process.env.SEPCONV_CACHE, torch: process.env.TORCH_HOME };
  process.chdir(work);
  globalThis.fetch = fixtureFetch(fixtures, fetched);
  process.env.SEPCONV_CACHE = join(dir, 'cache');
  process.env.TORCH_HOME = join(dir, 'torch');
  try {
    const file = join(dir, `example-${index + 1}.${language === 'ts' ? 'ts' : 'mjs'}`);
    const prelude = language === 'ts' ? `const __log = (globalThis as any).${key};` : `const __log = globalThis.${key};`;
    writeFileSync(file, `${prelude}\n${source}\n`);
    await import(pathToFileURL(file).href);
  } finally {
    process.chdir(saved.cwd);
    globalThis.fetch = saved.fetch;
    restoreEnv('SEPCONV_CACHE', saved.cache);
    restoreEnv('TORCH_HOME', saved.torch);
    rmSync(dir, { recursive: true, force: true });
    delete global[key];
  }
  return { lines, expectations, logged, fetched };
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

export interface DocExamplesOptions {
  /** Only the examples of this section (a heading line such as `## Export`); default the whole file. */
  heading?: string;
  /** At least this many examples (so a test cannot pass by finding none). */
  minExamples: number;
  tmpPrefix: string;
  /** Files the examples read (made once, before the first run). */
  fixtures?: () => Fixtures | Promise<Fixtures>;
  /** `true`: a `// expected` comment is the whole printed text, not only its start. */
  exact?: boolean;
  /** Run the examples against the built package (default: the sources). */
  entry?: SepconvEntry;
}

/**
 * The examples of a documentation file: there are at least `minExamples`, the TypeScript ones
 * typecheck, they all run, and every `console.log(...); // expected` line prints a value the
 * comment starts with (the comment may continue after the value). An example marked as needing
 * the network must fail offline with the PretrainedError naming a download.pytorch.org URL.
 */
export function describeDocExamples(file: string, options: DocExamplesOptions): void {
  const { heading, minExamples, tmpPrefix, exact = false, entry = 'src' } = options;
  const text = heading === undefined ? docText(file) : docSection(file, heading);
  if (text === undefined) throw new Error(`${file} has no "${heading}" section`);
  const firstLine = heading === undefined ? 1 : docText(file).slice(0, docText(file).indexOf(`\n${heading}\n`) + 1).split('\n').length;
  const examples = examplesOf(text, firstLine);
  let fixtures: Promise<Fixtures> | undefined;
  const getFixtures = () => (fixtures ??= Promise.resolve(options.fixtures?.() ?? {}));
  describe(`${file}${heading === undefined ? '' : ` "${heading.replace(/^#+ /, '')}"`} examples`, () => {
    it('has examples', () => {
      expect(examples.length).toBeGreaterThanOrEqual(minExamples);
    });
    it('the TypeScript examples typecheck under strict TypeScript against the package sources', () => {
      const ts = examples.filter((e) => e.language === 'ts');
      const errors = typecheckExamples(ts.map((e) => e.code), `${tmpPrefix}types-`);
      // example-N.ts → the line of that example in the file.
      expect(errors.map((e) => e.replace(/^example-(\d+)\.ts/, (_, n: string) => `${file}:${ts[Number(n) - 1]!.line}`))).toEqual([]);
    });
    examples.forEach((example, index) => {
      it(exampleTitle(example, index), async () => {
        const logs: Logged[] = [];
        const run = runExample(example.code, index, tmpPrefix, { language: example.language, fixtures: await getFixtures(), entry, logs });
        let result: ExampleRun;
        if (example.needsNetwork) {
          const error = await run.then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error, 'an example marked as needing the network ran offline').toBeInstanceOf(Error);
          expect((error as Error).name).toBe('PretrainedError');
          expect((error as { url?: string }).url).toMatch(/^https:\/\/download\.pytorch\.org\/models\/.+-[0-9a-f]{8,}\.pth$/);
          expect((error as Error).message).toContain('could not download');
          result = { lines: example.code.split('\n'), expectations: expectationsOf(example.code), logged: logs, fetched: [] };
        } else {
          result = await run;
        }
        const { lines, expectations, logged } = result;
        for (const [line, expected] of expectations) {
          // The last value printed from that line.
          const printed = logged.filter((l) => l.line === line).at(-1);
          // Offline, the lines after the download never run.
          if (example.needsNetwork && printed === undefined) continue;
          expect(printed, `${file} line "${lines[line]}" did not run`).toBeDefined();
          const ok = exact ? expected === printed!.text : expected.startsWith(printed!.text);
          expect(ok, `"${lines[line]!.trim()}" printed ${printed!.text}`).toBe(true);
        }
      });
    });
  });
}
