/**
 * A local weights server for the hub tests, on 127.0.0.1 and a free port: serves files under
 * routes that misbehave in the ways a real download can, and counts the requests it gets.
 *
 *   /ok/<name>         the file, with Content-Length
 *   /chunked/<name>    the file in 4 chunks without Content-Length
 *   /truncated/<name>  Content-Length of the whole file, half the bytes, then the socket is destroyed
 *   /gzip/<name>       the file gzip-compressed (Content-Encoding: gzip, Content-Length of the compressed bytes)
 *   /status/<code>/<name>  that HTTP status
 *   anything else      404
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

export interface WeightsServer {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** Requests received, by path. */
  readonly requests: Map<string, number>;
  readonly files: Map<string, Uint8Array>;
  total(): number;
  close(): Promise<void>;
}

export async function startWeightsServer(): Promise<WeightsServer> {
  const files = new Map<string, Uint8Array>();
  const requests = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const [, route, ...rest] = path.split('/');
    const status = route === 'status' ? Number(rest.shift()) : 200;
    const file = files.get(rest.join('/'));
    if (file === undefined || status !== 200) {
      res.writeHead(file === undefined ? 404 : status, { 'content-type': 'text/html' });
      res.end('<!DOCTYPE html><title>nope</title>');
      return;
    }
    if (route === 'ok') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.length) });
      res.end(file);
    } else if (route === 'chunked') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const quarter = Math.ceil(file.length / 4);
      let i = 0;
      const next = (): void => {
        if (i >= file.length) return void res.end();
        res.write(file.subarray(i, i + quarter), () => setTimeout(next, 5));
        i += quarter;
      };
      next();
    } else if (route === 'gzip') {
      const packed = gzipSync(file);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip', 'content-length': String(packed.length) });
      res.end(packed);
    } else if (route === 'truncated') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.length) });
      res.write(file.subarray(0, file.length >> 1), () => setTimeout(() => res.destroy(), 10));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    files,
    total: () => [...requests.values()].reduce((a, b) => a + b, 0),
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error ? reject(error) : resolve()));
    }),
  };
}

/** A port nothing listens on: one the OS gave a server that is closed again. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
