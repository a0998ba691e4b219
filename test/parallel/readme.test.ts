/**
 * docs/threads.md's examples run as written and print what their comments say. They run against the
 * built package: the pool's workers load dist/parallel/worker.js.
 */
import { ensureWorkerBuilt } from './ensure-worker-built.js';
import { describeDocExamples } from '../readme-examples.js';

describeDocExamples('docs/threads.md', {
  minExamples: 1,
  tmpPrefix: 'sepconv-readme-threads-',
  entry: 'dist',
  fixtures: async () => {
    await ensureWorkerBuilt();
    return {};
  },
});
