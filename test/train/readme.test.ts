/** docs/training.md's examples run as written and print what their comments say. */
import { describeDocExamples } from '../readme-examples.js';

describeDocExamples('docs/training.md', { minExamples: 2, tmpPrefix: 'sepconv-readme-train-' });
