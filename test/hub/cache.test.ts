/**
 * The stores behind loadPretrained's cache: the browser one over a CacheStorage (here an in-memory
 * one holding real Response objects, as the Cache API does), and the SHA-256 helper.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BROWSER_CACHE_NAME, browserStore, type CacheStorageLike } from '../../src/hub/cache.js';
import { sha256Hex } from '../../src/hub/host.js';

function memoryCaches(): CacheStorageLike & { opened: string[]; entries: Map<string, Response> } {
  const entries = new Map<string, Response>();
  const opened: string[] = [];
  return {
    opened,
    entries,
    open: async (name) => {
      opened.push(name);
      return {
        match: async (url) => entries.get(url)?.clone(),
        put: async (url, response) => void entries.set(url, response),
        delete: async (url) => entries.delete(url),
      };
    },
  };
}

describe('the Cache API store', () => {
  it('keeps whole files by URL in the sepconv-weights cache, and removes them on request', async () => {
    const caches = memoryCaches();
    const store = browserStore(caches);
    const url = 'https://example.com/w-0123abcd.pth';
    expect(await store.read('w-0123abcd.pth', url)).toBeNull();
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 255);
    await store.write!('w-0123abcd.pth', url, bytes);
    expect(caches.entries.get(url)!.headers.get('content-length')).toBe('1000');
    expect(await store.read('w-0123abcd.pth', url)).toEqual(bytes);
    expect(await store.read('w-0123abcd.pth', 'https://example.com/other-0123abcd.pth')).toBeNull();
    await store.discard!('w-0123abcd.pth', url);
    expect(await store.read('w-0123abcd.pth', url)).toBeNull();
    expect(new Set(caches.opened)).toEqual(new Set([BROWSER_CACHE_NAME]));
    expect(store.describe('w-0123abcd.pth')).toContain('Cache API');
  });
});

describe('sha256Hex', () => {
  it('agrees with node:crypto and the FIPS 180-2 vector', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const bytes = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 31 + 7) & 255);
    expect(await sha256Hex(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(await sha256Hex(bytes.subarray(5, 77))).toBe(createHash('sha256').update(bytes.subarray(5, 77)).digest('hex'));
  });
});
