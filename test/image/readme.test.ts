/** docs/images.md's examples run as written, on a generated PNG and stand-in weights, and print what their comments say. */
import { describeDocExamples } from '../readme-examples.js';
import { docFixtures } from '../readme-fixtures.js';

describeDocExamples('docs/images.md', {
  minExamples: 1,
  tmpPrefix: 'sepconv-readme-image-',
  fixtures: () => docFixtures('cat.png', 'mobilenet_v2.safetensors'),
});
