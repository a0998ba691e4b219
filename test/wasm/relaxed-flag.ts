/**
 * Imported first by relaxed-paths.test.ts: in the child process that test starts on an engine
 * needing a flag for relaxed SIMD (Node 20), enables it before any module compiles wasm or
 * detects features. NODE_OPTIONS refuses V8's wasm flags, so the child is marked by an
 * environment variable and sets the flag itself.
 */
import { setFlagsFromString } from 'node:v8';

if (process.env.SEPCONV_RELAXED_CHILD === '1') setFlagsFromString('--experimental-wasm-relaxed-simd');
