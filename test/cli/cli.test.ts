import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main, type CliIo } from '../../src/cli/cli.js';
import { MAX_RUNS } from '../../src/analysis/timing.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  files: Map<string, string>;
}

async function run(...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const files = new Map<string, string>();
  const io: CliIo = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    writeFile: (path, content) => void files.set(path, content),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr, files };
}

describe('sepconv compare', () => {
  it('a small case: exact costs, the closed form and measured times', async () => {
    const r = await run('compare', '--in-channels', '4', '--out-channels', '8', '--size', '8', '--repeats', '1');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    // standard: 8·64·4·9 = 18,432 MACs; depthwise 4·64·9 = 2,304; pointwise 64·4·8 = 2,048.
    expect(r.stdout).toMatch(/standard 3x3 conv 4->8\s+\[1, 8, 8, 8\]\s+288\s+18,432/);
    expect(r.stdout).toMatch(/depthwise 3x3 4->4 \(groups 4\)\s+\[1, 4, 8, 8\]\s+36\s+2,304/);
    expect(r.stdout).toMatch(/pointwise 1x1 4->8\s+\[1, 8, 8, 8\]\s+32\s+2,048/);
    expect(r.stdout).toContain('4,352 / 18,432 = 0.236111');
    expect(r.stdout).toContain('1/8 + 1/9 = 0.236111 (equal)');
    expect(r.stdout).toContain('Measured time ratio');
  });

  it('--no-timing, rectangular kernel and size, multiplier, stride, --flag=value', async () => {
    const r = await run('compare', '--in-channels=3', '--out-channels=6', '--kernel=3x5', '--size', '9x11', '--multiplier', '2', '--stride', '2', '--no-timing');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('2/6 + 2/15');
    expect(r.stdout).not.toContain('Median time');
    // Hout = floor((9 + 2 - 3) / 2) + 1 = 5, Wout = floor((11 + 4 - 5) / 2) + 1 = 6
    expect(r.stdout).toContain('[1, 6, 5, 6]');
  });

  it('--json parses and carries the exact numbers', async () => {
    const r = await run('compare', '--in-channels', '128', '--out-channels', '128', '--size', '56', '--no-timing', '--json');
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data.command).toBe('compare');
    expect(data.comparison.standard.macs).toBe(462_422_016);
    expect(data.comparison.separable.macs).toBe(54_992_896);
    expect(data.comparison.macRatio).toBe(data.comparison.closedForm);
    expect(data.timings).toBeUndefined();
  });

  it('--json with timings, --html writes a report and says so on stderr', async () => {
    const r = await run('compare', '--in-channels', '2', '--out-channels', '4', '--size', '5', '--repeats', '1', '--json', '--html', 'out/report.html');
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout);
    // At least --repeats runs; tiny layers are re-run until they add up to 100 ms, or MAX_RUNS
    // (1000) runs for one so fast that even that many take less.
    const { runs, maxMs } = data.timings.standard;
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(runs === MAX_RUNS || runs * maxMs >= 100, `${runs} runs, max ${maxMs} ms`).toBe(true);
    expect(r.stderr).toContain('wrote HTML report to out/report.html');
    const html = r.files.get('out/report.html')!;
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.match(/<g class="variant"/g)).toHaveLength(4);
  });
});

describe('sepconv summary', () => {
  it('MobileNetV1 defaults print the exact totals', async () => {
    const r = await run('summary');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('MobileNetV1 summary for input [1, 3, 224, 224]');
    expect(r.stdout).toMatch(/Total\s+\[1, 1000\]\s+4,231,976\s+568,740,352/);
    expect(r.stdout).toContain('567,716,352 in 27 convolution layers');
  });

  it('--width, --input-size, --classes, --batch; --json parses', async () => {
    const r = await run('summary', '--model', 'mobilenet_v1', '--width', '0.25', '--input-size', '64', '--classes', '10', '--batch', '2', '--json');
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data.summary.inputShape).toEqual([2, 3, 64, 64]);
    expect(data.summary.outputShape).toEqual([2, 10]);
    const rows = data.summary.rows as { macs: number; params: number }[];
    expect(rows.reduce((a, row) => a + row.macs, 0)).toBe(data.summary.totals.macs);
    expect(rows.reduce((a, row) => a + row.params, 0)).toBe(data.summary.totals.params);
  });

  it('--profile --html: one chart group per layer with time bars', async () => {
    const r = await run('summary', '--width', '0.25', '--input-size', '32', '--classes', '10', '--profile', '--repeats', '1', '--html', 'r.html');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('profile for input [1, 3, 32, 32]');
    const html = r.files.get('r.html')!;
    const layers = 3 + 13 * 6 + 3;
    expect(html.match(/<g class="layer"/g)).toHaveLength(layers);
    expect(html.match(/class="bar bar-time"/g)).toHaveLength(layers);
  });
});

describe('sepconv help and bad command lines', () => {
  it('help exits 0 and lists commands and flags', async () => {
    const r = await run('help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('sepconv compare');
    const c = await run('help', 'compare');
    expect(c.stdout).toContain('--in-channels');
    expect((await run('summary', '--help')).stdout).toContain('--input-size');
  });

  const BAD: [string[], RegExp][] = [
    [[], /Usage:/],
    [['bogus'], /unknown command "bogus"/],
    [['help', 'bogus'], /unknown command "bogus"/],
    [['compare', '--foo'], /unknown flag --foo; expected one of --in-channels/],
    [['compare', '-k', '3'], /unexpected argument "-k"/],
    [['compare', 'extra'], /unexpected argument "extra"/],
    [['compare', '--in-channels'], /--in-channels needs a value/],
    [['compare', '--in-channels', '--json'], /--in-channels needs a value/],
    [['compare', '--in-channels', 'abc'], /--in-channels must be an integer from 1 to 65536, got "abc"/],
    [['compare', '--in-channels', '0'], /--in-channels must be an integer from 1 to 65536, got "0"/],
    [['compare', '--in-channels', '-3'], /--in-channels must be .*got "-3"/],
    [['compare', '--in-channels', '2.5'], /--in-channels must be .*got "2.5"/],
    [['compare', '--in-channels', '4', '--in-channels', '8'], /--in-channels is given more than once/],
    [['compare', '--kernel', '3x'], /--kernel must be a positive integer or a pair HxW of them \(e.g. 3 or 3x5\), got "3x"/],
    [['compare', '--kernel', '3x3x3'], /--kernel must be .*got "3x3x3"/],
    [['compare', '--kernel', '0'], /--kernel must be .*got "0"/],
    [['compare', '--size', 'big'], /--size must be .*got "big"/],
    [['compare', '--stride', 'two'], /--stride must be .*got "two"/],
    [['compare', '--padding', '-1'], /--padding must be .*got "-1"/],
    [['compare', '--multiplier', '0'], /--multiplier must be .*got "0"/],
    [['compare', '--repeats', '0'], /--repeats must be .*got "0"/],
    [['compare', '--json=yes'], /--json takes no value, got "yes"/],
    [['compare', '--html'], /--html needs a value/],
    [['compare', '--html', ''], /--html must not be empty/],
    [['compare', '--kernel', '9', '--size', '4', '--padding', '0', '--no-timing'], /output size must be at least 1x1/],
    [['summary', '--model', 'resnet50'], /--model must be one of mobilenet_v1, mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small, shufflenet_v2, mnasnet, efficientnet_b0, got "resnet50"/],
    [['summary', '--width', '0'], /--width must be a number > 0 and <= 16, got "0"/],
    [['summary', '--width', 'abc'], /--width must be a number/],
    [['summary', '--width', '1e400'], /--width must be a number/],
    [['summary', '--input-size', '0'], /--input-size must be .*got "0"/],
    [['summary', '--classes', '0'], /--classes must be .*got "0"/],
    [['summary', '--batch', 'x'], /--batch must be .*got "x"/],
    [['summary', '--profile=1'], /--profile takes no value/],
    [['demo', '--foo'], /unknown flag --foo/],
    [['demo', '--repeats', 'x'], /--repeats must be .*got "x"/],
  ];
  for (const [argv, message] of BAD) {
    it(`sepconv ${argv.join(' ') || '(no arguments)'} -> exit 2 with a message`, async () => {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.files.size).toBe(0);
    });
  }

  it('a report that cannot be written is an error (exit 1), not a crash', async () => {
    const io: CliIo = {
      stdout: () => undefined,
      stderr: (t) => void (stderrText += t),
      writeFile: () => {
        throw new Error("ENOENT: no such file or directory, open 'missing/dir/r.html'");
      },
    };
    let stderrText = '';
    expect(await main(['compare', '--size', '4', '--no-timing', '--html', 'missing/dir/r.html'], io)).toBe(1);
    expect(stderrText).toMatch(/^sepconv compare: error: ENOENT/);
  });
});

describe('the sepconv executable', () => {
  it('main.ts starts with a node shebang and package.json maps the bin to its build', () => {
    expect(readFileSync(resolve(ROOT, 'src/cli/main.ts'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ sepconv: 'dist/cli/main.js' });
    expect(pkg.scripts.demo).toContain('dist/cli/main.js demo');
  });

  // The test setup builds dist/ when it is stale; without a build there is nothing to spawn.
  it.skipIf(!existsSync(resolve(ROOT, 'dist/cli/main.js')))('the built file: exit codes reach the shell, output on stdout', () => {
    const ok = spawnSync(process.execPath, [resolve(ROOT, 'dist/cli/main.js'), 'compare', '--in-channels', '4', '--out-channels', '8', '--size', '8', '--no-timing'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('1/8 + 1/9 = 0.236111 (equal)');
    const bad = spawnSync(process.execPath, [resolve(ROOT, 'dist/cli/main.js'), 'compare', '--nope'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown flag --nope');
    const help = spawnSync(process.execPath, [resolve(ROOT, 'dist/cli/main.js'), 'help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('sepconv compare');
  });
});
