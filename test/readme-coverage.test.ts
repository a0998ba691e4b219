/**
 * Every example of the documentation runs as a test: each Markdown file (README.md, CHANGELOG.md,
 * docs/*.md) with a ```ts or ```js example is named by one of the documentation tests
 * (test/**\/*readme*.test.ts), and every relative link between the files points at a file that exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, docText, examplesOf } from './readme-examples.js';

const docs = ['README.md', 'CHANGELOG.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function readmeTests(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return readmeTests(path);
    // This file names every document itself, so it does not count.
    return /readme.*\.test\.ts$/.test(entry.name) && entry.name !== 'readme-coverage.test.ts' ? [path] : [];
  });
}

describe('the documentation tests', () => {
  const tests = readmeTests(join(ROOT, 'test')).map((path) => ({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') }));

  it.each(docs.filter((doc) => existsSync(join(ROOT, doc)) && examplesOf(docText(doc)).length > 0))('%s has a test that runs its examples', (doc) => {
    expect(tests.filter((t) => t.text.includes(`'${doc}'`)).map((t) => t.path)).not.toEqual([]);
  });

  it.each(docs.filter((doc) => existsSync(join(ROOT, doc))))('the relative links of %s point at files that exist', (doc) => {
    const broken = [...docText(doc).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
      .map((m) => m[1]!)
      .filter((target) => !/^[a-z]+:/.test(target))
      .filter((target) => !existsSync(join(ROOT, dirname(doc), target)));
    expect(broken).toEqual([]);
  });
});
