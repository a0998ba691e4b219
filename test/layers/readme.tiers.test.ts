/** docs/layers.md's examples (the layers and the zoo) run as written on both tiers and print what their comments say. */
import { describeDocExamples } from '../readme-examples.js';

describeDocExamples('docs/layers.md', { minExamples: 6, tmpPrefix: 'sepconv-readme-layers-' });
