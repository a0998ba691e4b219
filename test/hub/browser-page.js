// loadPretrained in a browser (run by test/hub/browser-run.mjs): the download streams from a
// ReadableStream body, the SHA-256 comes from crypto.subtle, the cache is the Cache API. The
// weights come from a `fetch` option that answers in the page (and counts requests); a 404 goes
// through the real global fetch to the test server. Results go to window.hubResults.
import { loadPretrained, saveTorchCheckpoint, shufflenetV2, PretrainedError } from '/dist/index.js';

const CACHE = 'sepconv-weights';
const results = [];
const record = (name, ok, detail = '') => results.push({ name, ok: Boolean(ok), detail: String(detail) });

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function sameState(model, dict) {
  const got = model.stateDict();
  return Object.keys(dict).every((k) => {
    const a = new Uint8Array(got[k].data.buffer, got[k].data.byteOffset, got[k].data.byteLength);
    const b = new Uint8Array(dict[k].data.buffer, dict[k].data.byteOffset, dict[k].data.byteLength);
    return a.length === b.length && a.every((v, i) => v === b[i]);
  });
}

/** A fetch serving `files` (url → bytes) as a stream of 64 KB chunks with Content-Length. */
function pageFetch(files, counter) {
  return async (url) => {
    counter.count++;
    const bytes = files.get(url);
    if (bytes === undefined) return new Response('missing', { status: 404, statusText: 'Not Found' });
    let offset = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(offset, offset + 65536));
        offset += 65536;
      },
    });
    return new Response(body, { headers: { 'content-length': String(bytes.length) } });
  };
}

async function main() {
  await caches.delete(CACHE);
  const source = shufflenetV2({ width: 0.5, seed: 1 });
  const dict = source.stateDict();
  const bytes = saveTorchCheckpoint(dict);
  const url = `https://weights.example/models/shufflenet-${(await sha256(bytes)).slice(0, 8)}.pth`;
  const files = new Map([[url, bytes]]);
  const counter = { count: 0 };
  const fetch = pageFetch(files, counter);

  const progress = [];
  const model = await loadPretrained(shufflenetV2({ width: 0.5, seed: 2 }).train(), url, { fetch, onProgress: (p) => progress.push(p.receivedBytes) });
  record('first load: downloaded, loaded, eval mode', counter.count === 1 && sameState(model, dict) && !model.training, `requests ${counter.count}`);
  record('progress streamed in chunks up to the whole file', progress.length > 3 && progress.at(-1) === bytes.length, progress.length);
  const cached = await (await caches.open(CACHE)).match(url);
  record('the Cache API holds the whole file', cached !== undefined && (await cached.arrayBuffer()).byteLength === bytes.length);

  const again = await loadPretrained(shufflenetV2({ width: 0.5, seed: 3 }), url, { fetch });
  record('second load from the Cache API, no request', counter.count === 1 && sameState(again, dict), `requests ${counter.count}`);

  const damaged = bytes.slice();
  damaged[damaged.length - 100] ^= 1;
  await (await caches.open(CACHE)).put(url, new Response(damaged));
  const repaired = await loadPretrained(shufflenetV2({ width: 0.5, seed: 4 }), url, { fetch });
  const entry = await (await caches.open(CACHE)).match(url);
  const entryBytes = new Uint8Array(await entry.arrayBuffer());
  record('a damaged cache entry is replaced by a new download', counter.count === 2 && sameState(repaired, dict) && entryBytes[entryBytes.length - 100] === bytes[bytes.length - 100], `requests ${counter.count}`);

  const wrongUrl = 'https://weights.example/models/shufflenet-0123abcd.pth';
  files.set(wrongUrl, bytes);
  const wrong = await loadPretrained(shufflenetV2({ width: 0.5 }), wrongUrl, { fetch }).catch((e) => e);
  record('hash mismatch: a PretrainedError naming the URL, nothing cached',
    wrong instanceof PretrainedError && wrong.message.startsWith(`${wrongUrl}: hash mismatch`) && (await (await caches.open(CACHE)).match(wrongUrl)) === undefined, wrong.message);

  const missing = `${location.origin}/test/hub/no-such-weights-0123abcd.pth`;
  const notFound = await loadPretrained(shufflenetV2({ width: 0.5 }), missing).catch((e) => e);
  record('the global fetch: HTTP 404 names the URL', notFound instanceof PretrainedError && notFound.message === `${missing}: download failed: HTTP 404 Not Found`, notFound.message);

  const dirOption = await loadPretrained(shufflenetV2({ width: 0.5 }), url, { fetch, cacheDir: '/tmp' }).catch((e) => e);
  record('cacheDir is refused in a browser', dirOption instanceof TypeError && /cacheDir is a Node option/.test(dirOption.message), dirOption.message);
}

main()
  .catch((error) => record('page ran to the end', false, error?.stack ?? error))
  .finally(() => {
    window.hubResults = results;
    document.getElementById('log').textContent = results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.name} ${r.detail}`).join('\n');
    document.body.dataset.status = 'done';
  });
