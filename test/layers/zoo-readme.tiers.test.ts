/** The README's "Model zoo" examples run as written and print what their comments say. */
import { describeReadmeExamples } from '../readme-examples.js';

describeReadmeExamples('## Model zoo', 2, 'sepconv-readme-zoo-');
