/**
 * GET /snippet.js over a real server on loopback, read with node:http so that nothing decompresses
 * the body behind the test's back: br and gzip decompress to exactly the built snippet, identity
 * without Accept-Encoding, q-values honoured, one ETag per coding, 304 for any of them, HEAD.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { createApp } from '../../src/http/create-app';

/** Built by `npm run build` (browser/build.js), which `npm test` runs first. */
const SNIPPET = fs.readFileSync(path.resolve('dist/browser/snippet.min.js'));

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** No Accept-Encoding, gzip only, br only. */
const EACH_CODING: ReadonlyArray<Record<string, string>> = [
  {},
  { 'accept-encoding': 'gzip' },
  { 'accept-encoding': 'br' },
];

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('GET /snippet.js', () => {
  let server: http.Server;
  let port: number;

  function start(snippet: Buffer | undefined): Promise<void> {
    server = http.createServer(
      createApp({ logger: silent, health: () => Promise.resolve({}), snippet }),
    );
    return new Promise((resolve) =>
      server.listen(0, '127.0.0.1', () => {
        port = (server.address() as AddressInfo).port;
        resolve();
      }),
    );
  }

  function get(headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/snippet.js', method, headers, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  beforeEach(() => start(SNIPPET));
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends brotli when the browser accepts it, decompressing to exactly the built snippet', async () => {
    const res = await get({ 'accept-encoding': 'gzip, deflate, br, zstd' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'br');
    assert.equal(res.headers['content-length'], String(res.body.length));
    assert.ok(res.body.length < SNIPPET.length / 2, `br is ${res.body.length} bytes`);
    assert.deepEqual(zlib.brotliDecompressSync(res.body), SNIPPET);
  });

  it('sends gzip when br is not accepted, decompressing to exactly the built snippet', async () => {
    const res = await get({ 'accept-encoding': 'gzip' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers['content-length'], String(res.body.length));
    assert.deepEqual(zlib.gunzipSync(res.body), SNIPPET);
  });

  it('sends the script as it is without Accept-Encoding', async () => {
    const res = await get();
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.headers['content-length'], String(SNIPPET.length));
    assert.deepEqual(res.body, SNIPPET);
  });

  it('honours q=0 refusals', async () => {
    const noGzip = await get({ 'accept-encoding': 'gzip;q=0' });
    assert.equal(noGzip.headers['content-encoding'], undefined);
    assert.deepEqual(noGzip.body, SNIPPET);
    const gzipOnly = await get({ 'accept-encoding': 'br;q=0, *' });
    assert.equal(gzipOnly.headers['content-encoding'], 'gzip');
    assert.deepEqual(zlib.gunzipSync(gzipOnly.body), SNIPPET);
  });

  it('keeps the caching, CORS and type headers on every coding, with Vary: Accept-Encoding', async () => {
    for (const headers of EACH_CODING) {
      const res = await get(headers);
      assert.equal(res.headers['content-type'], 'application/javascript; charset=utf-8');
      assert.equal(
        res.headers['cache-control'],
        'public, max-age=86400, stale-while-revalidate=604800',
      );
      assert.equal(res.headers.vary, 'Accept-Encoding');
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.equal(res.headers['cross-origin-resource-policy'], 'cross-origin');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
  });

  it('gives each coding its own ETag and answers 304 to any of them', async () => {
    const etags = await Promise.all(
      EACH_CODING.map(async (h) => (await get(h)).headers.etag as string),
    );
    const [plain = '', gz = '', br = ''] = etags;
    assert.match(plain, /^"[\w-]{22}"$/);
    assert.equal(gz, plain.replace(/"$/, '-gz"'));
    assert.equal(br, plain.replace(/"$/, '-br"'));

    const gzAgain = await get({ 'accept-encoding': 'gzip', 'if-none-match': gz });
    assert.equal(gzAgain.status, 304);
    assert.equal(gzAgain.body.length, 0);
    assert.equal(gzAgain.headers.etag, gz);
    assert.equal(gzAgain.headers.vary, 'Accept-Encoding');
    assert.match(gzAgain.headers['cache-control']!, /max-age=86400/);

    // A list, a weak form, a copy kept under another coding, and `*`.
    const list = await get({ 'accept-encoding': 'br', 'if-none-match': `"other", ${br}` });
    assert.equal(list.status, 304);
    const weak = await get({ 'accept-encoding': 'br', 'if-none-match': `W/${br}` });
    assert.equal(weak.status, 304);
    const otherCoding = await get({ 'accept-encoding': 'br', 'if-none-match': plain });
    assert.equal(otherCoding.status, 304);
    assert.equal(otherCoding.headers.etag, plain);
    const any = await get({ 'if-none-match': '*' });
    assert.equal(any.status, 304);

    const stale = await get({ 'accept-encoding': 'br', 'if-none-match': '"stale-etag"' });
    assert.equal(stale.status, 200);
    assert.deepEqual(zlib.brotliDecompressSync(stale.body), SNIPPET);
  });

  it('answers HEAD with the headers GET would send and no body', async () => {
    const res = await get({ 'accept-encoding': 'br' }, 'HEAD');
    const full = await get({ 'accept-encoding': 'br' });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
    assert.equal(res.headers['content-encoding'], 'br');
    assert.equal(res.headers['content-length'], full.headers['content-length']);
    assert.equal(res.headers.etag, full.headers.etag);
  });

  it('sends a snippet too small to gain from compression as it is', async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const tiny = Buffer.from('(()=>{})();');
    await start(tiny);
    const res = await get({ 'accept-encoding': 'br, gzip' });
    assert.equal(res.headers['content-encoding'], undefined);
    assert.deepEqual(res.body, tiny);
  });

  it('answers 404 when the snippet is not built', async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await start(undefined);
    const res = await get();
    assert.equal(res.status, 404);
  });
});
