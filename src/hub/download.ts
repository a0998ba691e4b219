/**
 * Downloads a file into memory with `fetch`, streamed, reporting progress, and turns everything
 * that can go wrong on the way (no network, a refused connection, an HTTP error, a body cut short
 * or longer than announced) into a PretrainedError that names the URL and what happened.
 */

export class PretrainedError extends Error {
  /** The URL the error is about (empty when none was resolved yet). */
  readonly url: string;
  /** The message without the URL in front. */
  readonly detail: string;

  constructor(url: string, detail: string, options?: { cause?: unknown }) {
    super(url === '' ? detail : `${url}: ${detail}`, options);
    this.name = 'PretrainedError';
    this.url = url;
    this.detail = detail;
  }
}

export interface DownloadProgress {
  readonly url: string;
  /** Bytes received so far. */
  readonly receivedBytes: number;
  /** The announced size (Content-Length), or null when the server does not say. */
  readonly totalBytes: number | null;
}

/** The `fetch` the download uses: the global one unless the caller passes another (a proxy, a mock). */
export type FetchFunction = (url: string, init?: { signal?: AbortSignal; redirect?: 'follow' }) => Promise<Response>;

export interface DownloadOptions {
  fetch: FetchFunction;
  onProgress?: ((progress: DownloadProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** Larger files are refused (before reading when the size is announced). */
  maxBytes: number;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused (nothing is listening there)',
  ENOTFOUND: 'host not found (offline, or no such host)',
  EAI_AGAIN: 'host name lookup failed (offline?)',
  ECONNRESET: 'connection reset by the server',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable (offline?)',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'the connection was closed by the other side',
};

/** A short reason for a failed fetch or read: Node's error codes hide in `cause`. */
export function networkReason(error: unknown): string {
  const seen = new Set<unknown>();
  for (let e: unknown = error; e !== undefined && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && Object.prototype.hasOwnProperty.call(NETWORK_CODES, code)) return `${NETWORK_CODES[code]}, ${code}`;
    if ((e as { name?: unknown }).name === 'AbortError') return 'aborted';
  }
  const messages: string[] = [];
  seen.clear();
  for (let e: unknown = error; e !== undefined && e !== null && !seen.has(e) && messages.length < 3; e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const message = e instanceof Error ? e.message : String(e);
    if (message !== '' && !messages.includes(message)) messages.push(message);
  }
  return messages.join(': ') || 'unknown error';
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Content-Length when it states the size of the bytes the body stream yields (no content coding). */
function announcedSize(response: Response): number | null {
  const encoding = response.headers.get('content-encoding');
  if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') return null;
  const text = response.headers.get('content-length');
  if (text === null || !/^\s*\d{1,15}\s*$/.test(text)) return null;
  return Number(text);
}

/** GETs `url` and returns the whole body. */
export async function downloadBytes(url: string, options: DownloadOptions): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await options.fetch(url, { signal: options.signal, redirect: 'follow' });
  } catch (error) {
    throw new PretrainedError(url, `could not download: ${networkReason(error)}`, { cause: error });
  }
  if (typeof response !== 'object' || response === null || typeof (response as { ok?: unknown }).ok !== 'boolean' || typeof (response as { headers?: { get?: unknown } }).headers?.get !== 'function') {
    throw new PretrainedError(url, `fetch did not return a Response, got ${typeof response === 'object' ? String(response) : typeof response}`);
  }
  if (!response.ok) {
    void response.body?.cancel().catch(() => undefined);
    throw new PretrainedError(url, `download failed: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  }
  const total = announcedSize(response);
  if (total !== null && total > options.maxBytes) {
    void response.body?.cancel().catch(() => undefined);
    throw new PretrainedError(url, `the server announces ${megabytes(total)}, more than maxBytes (${megabytes(options.maxBytes)})`);
  }
  const report = (receivedBytes: number): void => options.onProgress?.({ url, receivedBytes, totalBytes: total });
  report(0);
  if (response.body === null) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    report(bytes.length);
    return checkLength(url, bytes, total);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    let step: ReadableStreamReadResult<Uint8Array>;
    try {
      step = await reader.read();
    } catch (error) {
      const of = total === null ? '' : ` of ${total}`;
      const reason = networkReason(error);
      if (reason === 'aborted') throw new PretrainedError(url, `the download was aborted after ${received}${of} bytes`, { cause: error });
      throw new PretrainedError(url, `the download broke off after ${received}${of} bytes (truncated body): ${reason}`, { cause: error });
    }
    if (step.done) break;
    const chunk = step.value;
    received += chunk.length;
    if (received > options.maxBytes || (total !== null && received > total)) {
      await reader.cancel().catch(() => undefined);
      const limit = total !== null && received > total ? `the ${total} bytes its Content-Length announced` : `maxBytes (${megabytes(options.maxBytes)})`;
      throw new PretrainedError(url, `the body is longer than ${limit}`);
    }
    chunks.push(chunk);
    report(received);
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return checkLength(url, bytes, total);
}

function checkLength(url: string, bytes: Uint8Array, total: number | null): Uint8Array {
  if (total !== null && bytes.length !== total) {
    throw new PretrainedError(url, `truncated body: received ${bytes.length} of the ${total} bytes announced`);
  }
  return bytes;
}
