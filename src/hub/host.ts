/**
 * What the weight download needs from its host: SHA-256 (Node's `node:crypto`, or the Web Crypto
 * API in browsers and workers) and, on Node, the on-disk cache helpers. The Node module is loaded
 * through a computed specifier so browser bundlers do not follow it.
 */
import { isNode } from '../parallel/platform.js';

type NodeHost = typeof import('./node-host.js');

let nodeHost: Promise<NodeHost> | null = null;

/** The Node helpers (node-host.ts), loaded once; only call this when `isNode()`. */
export function loadNodeHost(): Promise<NodeHost> {
  if (nodeHost === null) {
    const specifier = './node-host.js';
    nodeHost = import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<NodeHost>;
  }
  return nodeHost;
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += bytes[i]!.toString(16).padStart(2, '0');
  return out;
}

/** The SHA-256 of `bytes` as 64 lowercase hex digits. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  if (isNode()) return (await loadNodeHost()).sha256Hex(bytes);
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (subtle === undefined) {
    throw new Error('SHA-256 needs the Web Crypto API (crypto.subtle), which this environment lacks; browsers only offer it to secure contexts (https: or localhost)');
  }
  return hex(new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
}

export { isNode };
