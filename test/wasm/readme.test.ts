/**
 * The README's "Kernel tiers" examples run as written, and every `console.log(...) // expected`
 * line prints what its comment says.
 */
import { describeReadmeExamples } from '../readme-examples.js';

describeReadmeExamples('## Kernel tiers: WebAssembly SIMD and JavaScript', 1, 'sepconv-readme-tiers-');
