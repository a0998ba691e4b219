/**
 * The README's "Gradients" examples run as written, and every `console.log(...) // expected`
 * line prints what its comment says.
 */
import { describeReadmeExamples } from './readme-examples.js';

describeReadmeExamples('## Gradients: `conv2dBackward` and `convTranspose2d`', 2, 'sepconv-readme-backward-');
