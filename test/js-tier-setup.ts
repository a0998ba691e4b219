// Setup of the `js-tier` test project (vitest.config.ts): every test in it runs on the JS kernels.
import { setBackend } from '../src/index.js';

await setBackend('js');
