/**
 * The README's "API (core)" examples run as written, and every `console.log(...) // expected`
 * line prints what its comment says (the comment may continue after the value).
 */
import { describeReadmeExamples } from './readme-examples.js';

describeReadmeExamples('## API (core)', 7, 'sepconv-readme-');
