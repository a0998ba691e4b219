/**
 * The README's "Layers" examples run as written, and every `console.log(...) // expected` line
 * prints what its comment says (the comment may continue after the value).
 */
import { describeReadmeExamples } from '../readme-examples.js';

describeReadmeExamples('## Layers', 3, 'sepconv-readme-layers-');
