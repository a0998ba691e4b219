/** docs/operations.md's examples run as written and print what their comments say. */
import { describeDocExamples } from '../readme-examples.js';

describeDocExamples('docs/operations.md', { minExamples: 9, tmpPrefix: 'sepconv-readme-ops-' });
