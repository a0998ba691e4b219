/** docs/models-in-out.md's and docs/checkpoints.md's examples run as written, on stand-in files, and print what their comments say. */
import { describeDocExamples } from '../readme-examples.js';
import { docFixtures } from '../readme-fixtures.js';

describeDocExamples('docs/models-in-out.md', {
  minExamples: 3,
  tmpPrefix: 'sepconv-readme-io-',
  fixtures: () => docFixtures('mobilenet_v2.pth', 'mobilenet_v2_w0.5.safetensors'),
});
describeDocExamples('docs/checkpoints.md', {
  minExamples: 6,
  tmpPrefix: 'sepconv-readme-pth-',
  fixtures: () => docFixtures('mobilenet_v2.pth', 'weights.pth', 'checkpoint.pth'),
});
