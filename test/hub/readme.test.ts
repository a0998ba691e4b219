/**
 * docs/pretrained.md's examples run as written. The ones that download torchvision's weights are
 * marked as needing the network: they run offline and must fail with the PretrainedError naming
 * the download.pytorch.org URL (what loadPretrained does end to end is tested against a local
 * server in pretrained.test.ts).
 */
import { describeDocExamples } from '../readme-examples.js';
import { docFixtures } from '../readme-fixtures.js';

describeDocExamples('docs/pretrained.md', { minExamples: 4, tmpPrefix: 'sepconv-readme-hub-', fixtures: () => docFixtures('photo.png') });
