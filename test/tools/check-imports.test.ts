/** The house rules of src/ (tools/check-imports.mjs): no import cycles, and data flows one way between folders. */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs tool without type declarations
import { findCycles, findViolations, importsOf, readGraph } from '../../tools/check-imports.mjs';

describe('tools/check-imports.mjs', () => {
  it('src/ has no import cycles, type-only imports included', () => {
    expect(findCycles(readGraph())).toEqual([]);
  });

  it('no folder imports from a folder above it or beside it', () => {
    expect(findViolations(readGraph())).toEqual([]);
  });

  it('finds what it is meant to find (type-only imports, re-exports, dynamic imports; a planted cycle)', () => {
    const file = `${process.cwd()}/src/ops/x.ts`;
    const text = "import type { A } from '../kernels/a.js';\nexport { b } from './b.js';\nconst m = await import('../wasm/c.js');\ntype T = typeof import('./d.js');";
    expect(importsOf(file, text).sort()).toEqual(['kernels/a.ts', 'ops/b.ts', 'ops/d.ts', 'wasm/c.ts']);
    const graph = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', []]]);
    expect(findCycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(findViolations(new Map([['kernels/k.ts', ['ops/o.ts', 'wasm/w.ts']], ['ops/o.ts', []], ['wasm/w.ts', []]]))).toHaveLength(2);
    // run-time wasm code may not import the emitter; the emitter may import the run-time interface
    expect(findViolations(new Map([['wasm/runtime.ts', ['wasm/emit/module.ts']], ['wasm/emit/module.ts', ['wasm/abi.ts']], ['wasm/abi.ts', []]]))).toEqual([
      ['wasm/runtime.ts', 'wasm/emit/module.ts', expect.stringMatching(/build-time wasm\/emit\//)],
    ]);
  });
});
