#!/usr/bin/env node
/**
 * `npm run test:package`: packs the package as `npm publish` would, checks what the tarball
 * holds, installs it into a scratch folder (offline: it has no dependencies) and uses it from
 * plain Node ESM and from strict TypeScript (NodeNext and Bundler resolution).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt, ROOT } from '../browser/ensure-built.mjs';
import { runMain, scriptChecks } from '../script-checks.mjs';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'consumer');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const CONFIG_LIBS = {
  'tsconfig.nodenext.json': 'NodeNext resolution, lib ES2022 + @types/node, no DOM',
  'tsconfig.bundler.json': 'Bundler resolution, lib ES2022 + DOM, no Node types',
};

const checks = scriptChecks('test:package');
const { check } = checks;

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

function runAsync(command, args, cwd) {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ ok: !error, output: `${stdout ?? ''}${stderr ?? ''}`.trim() });
    });
  });
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)]);
}

/** dist/ files without a source: left behind by a renamed or deleted module, they would ship. */
function orphanedDistFiles() {
  const dist = join(ROOT, 'dist');
  return listFiles(dist)
    .map((file) => relative(dist, file).split('\\').join('/'))
    .filter((file) => {
      const source = file.replace(/\.d\.ts$|\.js$/, '.ts');
      try {
        readFileSync(join(ROOT, 'src', source));
        return false;
      } catch {
        return true;
      }
    });
}

function checkTarball(files, pkg) {
  console.log(`tarball ${pkg.filename}: ${files.length} files, ${(pkg.size / 1024).toFixed(1)} kB packed, ${(pkg.unpackedSize / 1024).toFixed(1)} kB unpacked`);
  const allowed = (path) => path === 'package.json' || path === 'README.md' || path === 'LICENSE' || path.startsWith('dist/');
  const unexpected = files.filter((path) => !allowed(path));
  check(unexpected.length === 0, `unexpected files in the tarball: ${unexpected.join(', ')}`);
  for (const required of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']) {
    check(files.includes(required), `${required} is missing from the tarball`);
  }
  check(!files.some((path) => path.endsWith('.map')), 'the tarball contains source maps');
  check(!files.some((path) => /(^|\/)(test|bench|examples|tools)\//.test(path) || /\.test\.[jt]s$/.test(path)), 'the tarball contains tests, benches or examples');
  check(!files.some((path) => path.startsWith('dist/') && path.endsWith('.ts') && !path.endsWith('.d.ts')), 'the tarball contains TypeScript sources');
  const orphans = orphanedDistFiles();
  check(orphans.length === 0, `dist/ has files without a source in src/ (delete dist/ and rebuild): ${orphans.join(', ')}`);
  // Source maps are off; a sourceMappingURL comment would point at a file the package lacks.
  const mapped = files.filter((path) => /\.js$/.test(path) && readFileSync(join(ROOT, path), 'utf8').includes('sourceMappingURL'));
  check(mapped.length === 0, `files referencing source maps: ${mapped.join(', ')}`);
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  check(manifest.sideEffects === false, 'package.json lacks "sideEffects": false');
  check(Object.keys(manifest.dependencies ?? {}).length === 0, 'the package has runtime dependencies');
}

async function main() {
  ensureBuilt();
  const scratch = mkdtempSync(join(tmpdir(), 'sepconv-package-'));
  try {
    // Scripts are skipped: dist/ was just checked fresh, and prepack would rebuild it again.
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], { cwd: ROOT, encoding: 'utf8' }));
    const pkg = packed[0];
    checkTarball(pkg.files.map((f) => f.path), pkg);

    const project = join(scratch, 'consumer');
    mkdirSync(project);
    for (const file of ['package.json', 'tsconfig.nodenext.json', 'tsconfig.bundler.json', 'esm.mjs', 'cjs.cjs']) copyFileSync(join(FIXTURES, file), join(project, file));
    mkdirSync(join(project, 'cjs-project'));
    for (const file of ['package.json', 'tsconfig.json']) copyFileSync(join(FIXTURES, 'cjs-project', file), join(project, 'cjs-project', file));
    copyFileSync(join(FIXTURES, 'cjs-project/index.ts.txt'), join(project, 'cjs-project/index.ts'));
    copyFileSync(join(FIXTURES, 'typed.ts.txt'), join(project, 'typed.ts'));
    const install = run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(scratch, pkg.filename)], project);
    if (!check(install.ok, `npm install of the tarball failed:\n${install.output}`)) return;
    // The Node-style consumer compiles against Node's types and no DOM library; this project's
    // @types/node stands in for the consumer's own (the install is offline).
    mkdirSync(join(project, 'node_modules/@types'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules/@types/node'), join(project, 'node_modules/@types/node'), 'dir');
    const installed = JSON.parse(readFileSync(join(project, 'node_modules/sepconv/package.json'), 'utf8'));
    console.log(`installed sepconv@${installed.version} into a scratch project (offline)`);

    const esm = run(process.execPath, ['esm.mjs'], project);
    if (check(esm.ok, `plain Node ESM consumer failed:\n${esm.output}`)) console.log(`  node esm.mjs: ${esm.output}`);

    // CommonJS: require('sepconv') loads the ES module (Node ≥ 20.19 / 22.12), the same instance as import().
    const cjs = run(process.execPath, ['cjs.cjs'], project);
    if (check(cjs.ok, `plain Node CommonJS consumer failed:\n${cjs.output}`)) console.log(`  node cjs.cjs: ${cjs.output.split('\n').pop()}`);
    // A TypeScript CommonJS project (module commonjs, node10 resolution): type-checks, compiles to require() and runs.
    const cjsProject = join(project, 'cjs-project');
    const tscCjs = run(process.execPath, [TSC, '-p', 'tsconfig.json'], cjsProject);
    if (check(tscCjs.ok, `tsc of the TypeScript CommonJS project failed:\n${tscCjs.output}`)) {
      const ran = run(process.execPath, ['out/index.js'], cjsProject);
      if (check(ran.ok, `the compiled TypeScript CommonJS project failed:\n${ran.output}`)) console.log(`  TypeScript CommonJS project: ${ran.output.split('\n').pop()}`);
    }
    // Where Node cannot require() ES modules (before 20.19 / 22.12; simulated with --no-experimental-require-module),
    // require('sepconv') says so and how to load it instead of a generic ERR_REQUIRE_ESM.
    if (process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module')) {
      const old = run(process.execPath, ['--no-experimental-require-module', 'cjs.cjs'], project);
      check(!old.ok && /cannot require\(\) ES modules: use `const sepconv = await import\('sepconv'\)`/.test(old.output),
        `require('sepconv') without require(esm) did not explain itself:\n${old.output}`);
    }

    // Internal modules stay private: only "." and "./package.json" are exported.
    const deep = run(process.execPath, ['--input-type=module', '-e', "await import('sepconv/dist/kernels/gemm.js')"], project);
    check(!deep.ok && deep.output.includes('ERR_PACKAGE_PATH_NOT_EXPORTED'), `a deep import was not refused: ${deep.output}`);

    // The training example (npm run train) on the built package: one epoch, with its HTML report.
    const report = join(scratch, 'train-report.html');
    const train = run(process.execPath, ['examples/train-digits.mjs', '--epochs', '1', '--html', report], ROOT);
    const trained = train.ok && /held-out accuracy \d+\.\d+%/.test(train.output) && existsSync(report) && readFileSync(report, 'utf8').includes('<svg');
    if (check(trained, `examples/train-digits.mjs --epochs 1 failed:\n${train.output}`)) console.log(`  examples/train-digits.mjs --epochs 1: ${/held-out accuracy [^\n]*/.exec(train.output)[0]}`);

    // Two independent type checks of the same consumer: run side by side.
    const configs = ['tsconfig.nodenext.json', 'tsconfig.bundler.json'];
    const checks = await Promise.all(configs.map((config) => runAsync(process.execPath, [TSC, '-p', config], project)));
    for (const [i, tsc] of checks.entries()) {
      if (check(tsc.ok, `tsc -p ${configs[i]} failed:\n${tsc.output}`)) console.log(`  tsc --noEmit -p ${configs[i]} (strict, ${CONFIG_LIBS[configs[i]]}): ok`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  checks.finish();
}

runMain(main);
