/**
 * The Node half of the weight download: SHA-256 with `node:crypto`, and the cache directory on
 * disk. Loaded on demand (see host.ts), so a browser bundle never imports a `node:` module.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Where downloaded weights are kept: `$SEPCONV_CACHE` when set, else the platform's cache folder
 * (`$XDG_CACHE_HOME` or `~/.cache` on Linux and other Unix systems, as torch hub uses;
 * `~/Library/Caches` on macOS; `%LOCALAPPDATA%` on Windows), in `sepconv/weights`.
 */
export function defaultCacheDir(): string {
  const explicit = env('SEPCONV_CACHE');
  if (explicit !== undefined) return explicit;
  if (process.platform === 'win32') return join(env('LOCALAPPDATA') ?? join(homedir(), 'AppData', 'Local'), 'sepconv', 'weights');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'sepconv', 'weights');
  return join(env('XDG_CACHE_HOME') ?? join(homedir(), '.cache'), 'sepconv', 'weights');
}

/** torch hub's own download folder, `$TORCH_HOME/hub/checkpoints` (default `~/.cache/torch`), read but never written. */
export function torchHubCheckpointDir(): string {
  const torchHome = env('TORCH_HOME') ?? join(env('XDG_CACHE_HOME') ?? join(homedir(), '.cache'), 'torch');
  return join(torchHome, 'hub', 'checkpoints');
}

export function pathIn(dir: string, fileName: string): string {
  return join(dir, fileName);
}

/** The file's bytes, or null when it does not exist. */
export async function readIfExists(path: string): Promise<Uint8Array | null> {
  try {
    const buffer = await readFile(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
}

/**
 * Writes `bytes` to `dir/fileName` so that the name only ever holds a whole file: the bytes go to
 * a temporary name in the same folder first and are renamed over it (atomic on one file system);
 * on any failure the temporary file is removed.
 */
export async function writeAtomically(dir: string, fileName: string, bytes: Uint8Array): Promise<string> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, fileName);
  const temporary = join(dir, `.${fileName}.${process.pid}.${randomBytes(6).toString('hex')}.partial`);
  try {
    await writeFile(temporary, bytes, { flag: 'wx' });
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return target;
}

export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
}
