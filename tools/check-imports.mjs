#!/usr/bin/env node
/**
 * The house rules of src/, read from the code's own imports (type-only imports, re-exports and
 * dynamic `import()`/`typeof import()` included):
 *   1. no import cycles;
 *   2. data flows one way: a folder imports nothing from the folders above it (LAYERS, lowest first;
 *      folders on one line are side by side and may not import each other);
 *   3. nothing at run time imports build-time code: outside src/wasm/emit/ (the wasm emitter, run
 *      by tools/gen-wasm.mjs), no file imports a file inside it (the run time reads the generated
 *      bytes in src/wasm/gen/ and the interface in src/wasm/abi.ts).
 *
 *   node tools/check-imports.mjs [--list]     exit 1 and say where, when a rule is broken
 *
 * Run by the test suite (test/tools/check-imports.test.ts), so CI runs it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

/**
 * Floors, lowest first: a file may import files of its own floor's folder and of lower floors.
 * A floor listing several folders puts them side by side: none of them imports another.
 * Files directly in src/ (checks, tensor, geometry, ...) are the ground floor, except the entries.
 */
export const LAYERS = [
  ['.'],
  ['kernels', 'wasm'],
  ['ops'],
  ['parallel'],
  ['layers'],
  ['train'],
  ['io', 'image'],
  ['onnx', 'analysis'],
  ['hub'],
  ['cli'],
];
/** The package entries sit above everything. */
const ENTRIES = new Set(['index.ts']);

function listSources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listSources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

/** The src/ files `file` imports, as paths relative to src/. */
export function importsOf(file, text) {
  const targets = new Set();
  for (const match of text.matchAll(SPECIFIER)) {
    const target = resolve(dirname(file), match[1]).replace(/\.js$/, '.ts');
    if (target.startsWith(SRC)) targets.add(relative(SRC, target));
  }
  return [...targets];
}

export function readGraph() {
  const graph = new Map();
  for (const file of listSources(SRC)) graph.set(relative(SRC, file), importsOf(file, readFileSync(file, 'utf8')));
  return graph;
}

/** Strongly connected components with more than one file (or a file importing itself): the cycles. */
export function findCycles(graph) {
  let index = 0;
  const indices = new Map();
  const lowlinks = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const visit = (v) => {
    indices.set(v, index);
    lowlinks.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indices.has(w)) {
        visit(w);
        lowlinks.set(v, Math.min(lowlinks.get(v), lowlinks.get(w)));
      } else if (onStack.has(w)) {
        lowlinks.set(v, Math.min(lowlinks.get(v), indices.get(w)));
      }
    }
    if (lowlinks.get(v) === indices.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return cycles;
}

function folderOf(file) {
  const parts = file.split('/');
  return parts.length === 1 ? '.' : parts[0];
}

function floorOf(file) {
  if (ENTRIES.has(file)) return { floor: LAYERS.length, folder: '(entry)' };
  const folder = folderOf(file);
  const floor = LAYERS.findIndex((folders) => folders.includes(folder));
  return { floor, folder };
}

/** Build-time folders: only files inside them may import them. */
export const BUILD_TIME = ['wasm/emit/'];

/** Imports that run against the floors: [from, to, why]. */
export function findViolations(graph) {
  const violations = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const buildTime = BUILD_TIME.find((dir) => to.startsWith(dir));
      if (buildTime !== undefined && !from.startsWith(buildTime)) {
        violations.push([from, to, `run-time code imports the build-time ${buildTime} (share constants and types through a run-time file such as wasm/abi.ts)`]);
      }
    }
    const a = floorOf(from);
    if (a.floor < 0) {
      violations.push([from, '', `the folder ${a.folder}/ is on no floor of tools/check-imports.mjs (add it to LAYERS)`]);
      continue;
    }
    for (const to of targets) {
      const b = floorOf(to);
      if (b.floor > a.floor) violations.push([from, to, `${a.folder}/ (floor ${a.floor}) imports from ${b.folder}/ above it (floor ${b.floor})`]);
      else if (b.floor === a.floor && b.folder !== a.folder) violations.push([from, to, `${a.folder}/ and ${b.folder}/ stand side by side and must not import each other`]);
    }
  }
  return violations;
}

function main() {
  const graph = readGraph();
  const cycles = findCycles(graph);
  const violations = findViolations(graph);
  const edges = [...graph.values()].reduce((n, t) => n + t.length, 0);
  for (const cycle of cycles) console.log(`cycle: ${cycle.join(' -> ')}`);
  for (const [from, to, why] of violations) console.log(`floor: ${from}${to ? ` -> ${to}` : ''}: ${why}`);
  console.log(`check-imports: ${graph.size} files, ${edges} imports, ${cycles.length} cycles, ${violations.length} imports against the floors`);
  process.exitCode = cycles.length + violations.length > 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
