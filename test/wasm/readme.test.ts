/**
 * docs/tiers.md's examples run as written and print what their comments say. They run against the
 * built package: the worker pool's example starts workers, which load dist/parallel/worker.js.
 */
import { ensureWorkerBuilt } from '../parallel/ensure-worker-built.js';
import { describeDocExamples } from '../readme-examples.js';

describeDocExamples('docs/tiers.md', {
  minExamples: 3,
  tmpPrefix: 'sepconv-readme-tiers-',
  entry: 'dist',
  fixtures: async () => {
    await ensureWorkerBuilt();
    return {};
  },
});
