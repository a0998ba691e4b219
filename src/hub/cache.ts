/**
 * Where verified downloads are kept between runs. Node: a folder on disk (the `cacheDir` option,
 * else `$SEPCONV_CACHE`, else the platform's cache folder), plus torch hub's own folder read
 * (never written) so weights PyTorch already downloaded are not fetched again. Browsers and
 * workers: the Cache API, where it exists. A store only ever holds whole files that passed the
 * hash check; a read is checked again before it is used.
 */
import { isNode, loadNodeHost } from './host.js';

export interface WeightStore {
  /** Where the file lives, for messages ("/home/me/.cache/sepconv/weights/x.pth", "Cache API"). */
  describe(fileName: string): string;
  read(fileName: string, url: string): Promise<Uint8Array | null>;
  /** Absent for read-only stores. */
  write?(fileName: string, url: string, bytes: Uint8Array): Promise<void>;
  /** Removes an entry that failed its hash check (absent for read-only stores). */
  discard?(fileName: string, url: string): Promise<void>;
}

async function nodeDirStore(dir: string | undefined): Promise<WeightStore> {
  const host = await loadNodeHost();
  const folder = dir ?? host.defaultCacheDir();
  return {
    describe: (fileName) => host.pathIn(folder, fileName),
    read: (fileName) => host.readIfExists(host.pathIn(folder, fileName)),
    write: async (fileName, _url, bytes) => void (await host.writeAtomically(folder, fileName, bytes)),
    discard: (fileName) => host.removeFile(host.pathIn(folder, fileName)),
  };
}

async function torchHubStore(): Promise<WeightStore> {
  const host = await loadNodeHost();
  const folder = host.torchHubCheckpointDir();
  return {
    describe: (fileName) => host.pathIn(folder, fileName),
    read: (fileName) => host.readIfExists(host.pathIn(folder, fileName)),
  };
}

/** The Cache API's subset used here (window.caches / self.caches). */
export interface CacheStorageLike {
  open(name: string): Promise<{
    match(url: string): Promise<Response | undefined>;
    put(url: string, response: Response): Promise<void>;
    delete(url: string): Promise<boolean>;
  }>;
}

export const BROWSER_CACHE_NAME = 'sepconv-weights';

/** The Cache API store (exported for tests; `weightStores` picks it in browsers and workers). */
export function browserStore(caches: CacheStorageLike): WeightStore {
  return {
    describe: (fileName) => `the Cache API entry ${JSON.stringify(fileName)} in cache ${JSON.stringify(BROWSER_CACHE_NAME)}`,
    read: async (_fileName, url) => {
      const response = await (await caches.open(BROWSER_CACHE_NAME)).match(url);
      return response === undefined ? null : new Uint8Array(await response.arrayBuffer());
    },
    write: async (_fileName, url, bytes) => {
      const response = new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) } });
      await (await caches.open(BROWSER_CACHE_NAME)).put(url, response);
    },
    discard: async (_fileName, url) => void (await (await caches.open(BROWSER_CACHE_NAME)).delete(url)),
  };
}

/**
 * The stores to look in, first to last; the first writable one receives new downloads. Empty when
 * caching is off or the environment has nowhere to keep files.
 */
export async function weightStores(options: { cache: boolean; cacheDir: string | undefined }): Promise<WeightStore[]> {
  if (!options.cache) return [];
  if (isNode()) {
    const stores = [await nodeDirStore(options.cacheDir)];
    if (options.cacheDir === undefined) stores.push(await torchHubStore());
    return stores;
  }
  const caches = (globalThis as { caches?: CacheStorageLike }).caches;
  return caches !== undefined && typeof caches.open === 'function' ? [browserStore(caches)] : [];
}
