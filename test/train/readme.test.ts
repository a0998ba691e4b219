/**
 * The README's "Training" examples run as written, and every `console.log(...) // expected` line
 * prints what its comment says.
 */
import { describeReadmeExamples } from '../readme-examples.js';

describeReadmeExamples('## Training', 2, 'sepconv-readme-train-');
