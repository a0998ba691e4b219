/**
 * A tiny static file server for the browser tests: serves one folder on 127.0.0.1 (random port)
 * with a strict Content-Security-Policy, so a page that needs eval or inline scripts fails.
 * Extra response headers (for example COOP/COEP for SharedArrayBuffer) can be passed in.
 */
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STRICT_CSP = "script-src 'self'";

/** Cross-origin isolation, which `SharedArrayBuffer` and `Atomics.wait` in workers need. */
export const CROSS_ORIGIN_ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.bin': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * Starts serving `root`. Resolves to `{ origin, port, close }`; `close()` resolves once the
 * server has stopped. Every response carries the CSP and `headers`.
 *
 * @param {{ root: string, headers?: Record<string, string>, csp?: string, port?: number }} options
 *   `port` 0 (the default) picks a free one.
 */
export async function startServer({ root, headers = {}, csp = STRICT_CSP, port: wantedPort = 0 }) {
  const rootDir = resolve(root);
  const common = { 'Content-Security-Policy': csp, 'Cache-Control': 'no-store', ...headers };
  const server = createServer(async (request, response) => {
    const send = (status, body, type) => {
      response.writeHead(status, { ...common, 'Content-Type': type });
      response.end(body);
    };
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'method not allowed', 'text/plain');
      const pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
      let file = normalize(join(rootDir, pathname));
      // A request must not climb out of the served folder.
      if (file !== rootDir && !file.startsWith(rootDir + sep)) return send(403, 'forbidden', 'text/plain');
      const info = await stat(file).catch(() => null);
      if (info?.isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file).catch(() => null);
      if (body === null) return send(404, `not found: ${pathname}`, 'text/plain');
      send(200, request.method === 'HEAD' ? '' : body, CONTENT_TYPES[extname(file)] ?? 'application/octet-stream');
    } catch (error) {
      send(500, String(error), 'text/plain');
    }
  });
  await new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(wantedPort, '127.0.0.1', resolveListen);
  });
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise((done) => {
      server.closeAllConnections?.();
      server.close(() => done(undefined));
    }),
  };
}

// `node test/browser/server.mjs [port]`: serve the repository root, e.g. to open the examples.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const port = Number(process.argv[2] ?? 8080);
  const server = await startServer({ root, port });
  console.log(`serving ${root} at ${server.origin}/ (CSP ${STRICT_CSP}); try ${server.origin}/examples/browser/`);
}
