#!/usr/bin/env node
/**
 * Copies the small golden sets from the project's oracle folder (`../shared/golden` beside the
 * repository: PyTorch and onnxruntime outputs, generated once with fixed seeds) into
 * test/fixtures/golden/<set>/, so that a clone of the repository alone passes `npm test`.
 *
 *   node tools/copy-fixtures.mjs [--from <golden folder>] [--check]
 *
 * --check copies nothing: it exits 1, naming the files, when a repository copy differs from the
 * source (test/tools/fixtures.test.ts runs the same comparison whenever ../shared is present).
 *
 * Never run by CI: the copies are committed. Run it by hand after the shared sets are regenerated.
 * The large sets (golden/onnx, golden/models, realmodel) stay in ../shared; the tests that need
 * them skip when it is absent. The digits data of golden/train-digits ships in examples/data/digits.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The sets copied whole (every file of the folder); about 7.5 MB together. */
export const FIXTURE_SETS = [
  'conv2d',
  'conv2d-backward',
  'conv-transpose2d',
  'batchnorm-train',
  'pool-backward',
  'loss',
  'optimizer',
  'train-digits',
  'pth',
  'image',
];

export const FIXTURE_DIR = join(ROOT, 'test', 'fixtures', 'golden');
export const DEFAULT_SOURCE = resolve(ROOT, '..', 'shared', 'golden');

/** The regular files of a folder, sorted. */
function filesOf(dir) {
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isFile())
    .sort();
}

/** Every difference between the source sets and the repository copies, one line each. */
export function compareFixtures(source = DEFAULT_SOURCE, target = FIXTURE_DIR) {
  const problems = [];
  for (const set of FIXTURE_SETS) {
    const from = join(source, set);
    const to = join(target, set);
    if (!existsSync(from)) {
      problems.push(`${set}: missing in the source ${from}`);
      continue;
    }
    if (!existsSync(to)) {
      problems.push(`${set}: missing in the repository (${to})`);
      continue;
    }
    const theirs = filesOf(from);
    const ours = new Set(filesOf(to));
    for (const name of theirs) {
      if (!ours.has(name)) problems.push(`${set}/${name}: missing in the repository`);
      else if (!readFileSync(join(from, name)).equals(readFileSync(join(to, name)))) problems.push(`${set}/${name}: differs`);
      ours.delete(name);
    }
    for (const name of ours) problems.push(`${set}/${name}: not in the source`);
  }
  return problems;
}

function copyFixtures(source, target) {
  let bytes = 0;
  for (const set of FIXTURE_SETS) {
    const from = join(source, set);
    if (!existsSync(join(from, 'manifest.json'))) throw new Error(`no golden set at ${from}`);
    const to = join(target, set);
    rmSync(to, { recursive: true, force: true });
    mkdirSync(to, { recursive: true });
    const names = filesOf(from);
    for (const name of names) {
      copyFileSync(join(from, name), join(to, name));
      bytes += statSync(join(to, name)).size;
    }
    console.log(`${set}: ${names.length} files`);
  }
  console.log(`${(bytes / 1e6).toFixed(2)} MB in ${target}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const fromAt = args.indexOf('--from');
  const source = fromAt >= 0 ? resolve(args[fromAt + 1] ?? '') : DEFAULT_SOURCE;
  if (args.includes('--check')) {
    const problems = compareFixtures(source);
    for (const p of problems) console.error(p);
    if (problems.length > 0) {
      console.error(`${problems.length} difference(s): run node tools/copy-fixtures.mjs`);
      process.exit(1);
    }
    console.log(`test/fixtures/golden matches ${source}`);
  } else {
    copyFixtures(source, FIXTURE_DIR);
  }
}
