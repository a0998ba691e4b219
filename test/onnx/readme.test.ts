/** docs/onnx.md's examples run as written, on a stand-in mobilenet_v2.onnx, and print what their comments say. */
import { describeDocExamples } from '../readme-examples.js';
import { docFixtures } from '../readme-fixtures.js';

describeDocExamples('docs/onnx.md', { minExamples: 1, tmpPrefix: 'sepconv-readme-onnx-', fixtures: () => docFixtures('mobilenet_v2.onnx') });
