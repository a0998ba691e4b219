/**
 * The 1×1 path's column chunks: deep layers whose packed weights exceed 2 MiB take every pixel in
 * one chunk (src/wasm/pointwise.ts), others chunks of 48 KiB of B; both against referenceConv2d,
 * and a channel range bitwise what the whole call computes.
 */
import { describe, it } from 'vitest';
import { checkPointwiseChunks } from './pointwise-chunks-check.js';

describe('wasm 1×1 column chunks', () => {
  it('whole-plane chunks for weights beyond 2 MiB and 48 KiB chunks otherwise match the reference', () => {
    checkPointwiseChunks(121);
  });
});
