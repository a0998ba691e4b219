/** The CLI over the zoo: `summary --model …` for every built-in model and `sepconv zoo` (table, JSON, HTML page). */
import { describe, expect, it } from 'vitest';
import { main, type CliIo } from '../../src/cli/cli.js';
import { compareModels } from '../../src/analysis/models.js';
import { mobilenetV2, mobilenetV3Small, htmlReport } from '../../src/index.js';

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string; files: Map<string, string> }> {
  let stdout = '';
  let stderr = '';
  const files = new Map<string, string>();
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), writeFile: (p, c) => void files.set(p, c) };
  const code = await main(argv, io);
  return { code, stdout, stderr, files };
}

const FIGURES: Record<string, [number, number]> = {
  mobilenet_v1: [568_740_352, 4_231_976],
  mobilenet_v2: [300_774_272, 3_504_872],
  mobilenet_v3_large: [216_589_760, 5_483_032],
  mobilenet_v3_small: [56_510_400, 2_542_856],
  shufflenet_v2: [144_907_992, 2_278_604],
  mnasnet: [314_415_872, 4_383_312],
  efficientnet_b0: [385_814_752, 5_288_548],
};

describe('sepconv summary --model', () => {
  for (const [name, [macs, params]] of Object.entries(FIGURES)) {
    it(`${name}: exact totals at 224`, async () => {
      const r = await run('summary', '--model', name, '--json');
      expect(r.code, r.stderr).toBe(0);
      const data = JSON.parse(r.stdout) as { summary: { totals: { macs: number; params: number }; uncosted: string[] } };
      expect(data.summary.totals.macs).toBe(macs);
      expect(data.summary.totals.params).toBe(params);
      expect(data.summary.uncosted).toEqual([]);
    });
  }

  it('passes --width to each family and refuses it where a model has one width', async () => {
    const r = await run('summary', '--model', 'mnasnet', '--width', '0.5', '--json');
    expect(JSON.parse(r.stdout).summary.totals.macs).toBe(104_455_968);
    const bad = await run('summary', '--model', 'efficientnet_b0', '--width', '0.5');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--width applies to mobilenet_v1, mobilenet_v2, shufflenet_v2, mnasnet; efficientnet_b0 has one width/);
    const shuffle = await run('summary', '--model', 'shufflenet_v2', '--width', '0.75');
    expect(shuffle.code).toBe(2);
    expect(shuffle.stderr).toMatch(/width must be one of 0.5, 1, 1.5, 2, got 0.75/);
  });

  it('profiles a zoo model on a small input', async () => {
    const r = await run('summary', '--model', 'shufflenet_v2', '--width', '0.5', '--input-size', '32', '--profile', '--repeats', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const data = JSON.parse(r.stdout) as { profile: { rows: { medianMs: number }[] } };
    expect(data.profile.rows.length).toBeGreaterThan(100);
    expect(data.profile.rows.every((row) => row.medianMs >= 0)).toBe(true);
  });
});

describe('sepconv zoo', () => {
  it('lists every model with exact costs and separable shares (no timing)', async () => {
    const r = await run('zoo', '--no-timing', '--json');
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout).models as { name: string; macs: number; params: number; separableShare: number; compiledMs: number | null }[];
    expect(rows.map((x) => x.name)).toEqual(Object.keys(FIGURES));
    for (const row of rows) {
      expect([row.macs, row.params]).toEqual(FIGURES[row.name]);
      expect(row.separableShare).toBeGreaterThan(0.8);
      expect(row.separableShare).toBeLessThan(1);
      expect(row.compiledMs).toBeNull();
    }
  });

  it('times the compiled models and writes the comparison page', async () => {
    const r = await run('zoo', '--input-size', '32', '--repeats', '1', '--html', 'zoo.html');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Models for input \[1, 3, 32, 32\]/);
    expect(r.stdout).toMatch(/efficientnet_b0\s+5,288,548/);
    const html = r.files.get('zoo.html')!;
    expect(html).toContain('<section id="models"><h2>Model comparison for input [1, 3, 32, 32]</h2>');
    expect(html).toContain('Separable share of MACs');
    expect(html).toMatch(/GFLOP\/s, compiled/);
  });
});

describe('compareModels', () => {
  it('separable share: depthwise and pointwise MACs over all MACs, counted by hand for a small case', () => {
    const model = mobilenetV3Small({ numClasses: 10, seed: 1 });
    const [row] = compareModels([['v3s', model]], [1, 3, 32, 32], { timing: false });
    const s = row!;
    // At 32×32 the only MACs outside depthwise and 1×1 convolutions are the 3×3 stem convolution
    // (16 channels at 16×16 from 3 channels) and the two linear layers (576→1024, 1024→10).
    expect(s.macs - s.separableMacs).toBe(16 * 16 * 16 * 3 * 9 + 576 * 1024 + 1024 * 10);
    expect(Number.isNaN(s.compiledMs)).toBe(true);
    expect(() => compareModels([['x', {} as never]], [1, 3, 8, 8])).toThrow(/models must be an array of \[name, Module\] pairs/);
    expect(() => compareModels([['x', mobilenetV2()]], [1, 3, 8, 8], { timing: 'yes' as never })).toThrow(/timing must be a boolean/);
    expect(htmlReport({ models: [s] })).toContain('id="models"');
  });
});
