/**
 * README.md's examples run as written (offline, on stand-in files with the names a user has), and
 * every `console.log(...) // expected` line prints what its comment says.
 */
import { describeDocExamples } from './readme-examples.js';
import { docFixtures } from './readme-fixtures.js';

describeDocExamples('README.md', {
  minExamples: 5,
  tmpPrefix: 'sepconv-readme-',
  fixtures: () => docFixtures('mobilenet_v2.onnx', 'mobilenet_v3_small.pth'),
});
