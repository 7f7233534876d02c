/**
 * `GET /snippet.js`: the built form snippet, compressed once at start and negotiated per request.
 *
 * Each content coding is its own representation (RFC 9110 §8.8.3: a strong ETag differs between
 * them), so each has its own ETag, and `Vary: Accept-Encoding` tells caches to keep them apart.
 * The body is the same script whatever the coding, so an `If-None-Match` naming any of the three
 * ETags means the browser's copy is current: 304.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import zlib from 'node:zlib';

export type SnippetEncoding = 'br' | 'gzip' | 'identity';

interface Representation {
  encoding: SnippetEncoding;
  body: Buffer;
  etag: string;
}

/** The snippet, compressed once; `serve` answers GET and HEAD. */
export interface PreparedSnippet {
  serve(req: IncomingMessage, res: ServerResponse): void;
}

const HEADERS = {
  'Content-Type': 'application/javascript; charset=utf-8',
  // A day fresh, then a week in which a browser or CDN uses its copy while it revalidates in the
  // background (a 304 thanks to the ETag). Not a year with `immutable`: the URL carries no version,
  // so an upgrade of closeloop must reach visitors under the same URL, within a day or so.
  'Cache-Control': 'public, max-age=86400, stale-while-revalidate=604800',
  Vary: 'Accept-Encoding',
  // Any site may load it (it is public code).
  'Access-Control-Allow-Origin': '*',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'X-Content-Type-Options': 'nosniff',
} as const;

export function prepareSnippet(snippet: Buffer): PreparedSnippet {
  const hash = createHash('sha256').update(snippet).digest('base64url').slice(0, 22);
  const representations = new Map<SnippetEncoding, Representation>();
  const br = zlib.brotliCompressSync(snippet, {
    params: {
      [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
      [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: snippet.length,
    },
  });
  const gzip = zlib.gzipSync(snippet, { level: zlib.constants.Z_BEST_COMPRESSION });
  // A coding that does not make the body smaller (a tiny snippet) only costs the browser work.
  if (br.length < snippet.length)
    representations.set('br', { encoding: 'br', body: br, etag: `"${hash}-br"` });
  if (gzip.length < snippet.length)
    representations.set('gzip', { encoding: 'gzip', body: gzip, etag: `"${hash}-gz"` });
  representations.set('identity', { encoding: 'identity', body: snippet, etag: `"${hash}"` });

  return {
    serve(req, res) {
      const available = [...representations.keys()];
      const chosen = representations.get(
        chooseEncoding(req.headers['accept-encoding'], available),
      )!;
      const matched = matchIfNoneMatch(req.headers['if-none-match'], [...representations.values()]);
      for (const [name, value] of Object.entries(HEADERS)) res.setHeader(name, value);
      if (matched !== null) {
        // The ETag the browser holds (unless it sent `*`), so its cache refreshes that copy.
        res.setHeader('ETag', matched === '*' ? chosen.etag : matched.etag);
        res.statusCode = 304;
        res.end();
        return;
      }
      res.setHeader('ETag', chosen.etag);
      if (chosen.encoding !== 'identity') res.setHeader('Content-Encoding', chosen.encoding);
      res.setHeader('Content-Length', chosen.body.length);
      res.statusCode = 200;
      // Node sends no body for HEAD, and keeps the headers (the length of what GET would send).
      res.end(chosen.body);
    },
  };
}

/**
 * The content coding to answer with, from `Accept-Encoding` (RFC 9110 §12.5.3): the acceptable
 * one (q > 0, named or through `*`) with the highest q; on a tie br, then gzip, then a named
 * identity (smallest first). identity too when nothing else is acceptable or the header is absent. `x-gzip` counts as gzip (§8.4.1.3). Never a refusal (406): an
 * uncompressed script is always better than none.
 */
export function chooseEncoding(
  header: string | undefined,
  available: readonly SnippetEncoding[] = ['br', 'gzip', 'identity'],
): SnippetEncoding {
  if (header === undefined) return 'identity';
  const q = parseAcceptEncoding(header);
  const wildcard = q.get('*');
  // identity competes only when named; otherwise it is the fallback, so `gzip;q=0.5` means gzip.
  const weights: ReadonlyArray<[SnippetEncoding, number]> = [
    ['br', q.get('br') ?? wildcard ?? 0],
    ['gzip', q.get('gzip') ?? wildcard ?? 0],
    ['identity', q.get('identity') ?? 0],
  ];
  let best: SnippetEncoding = 'identity';
  let bestQ = 0;
  for (const [coding, weight] of weights) {
    if (available.includes(coding) && weight > bestQ) {
      best = coding;
      bestQ = weight;
    }
  }
  return best;
}

/** Coding (lower case) → q, the first mention of each; entries with a malformed q are ignored. */
function parseAcceptEncoding(header: string): Map<string, number> {
  const q = new Map<string, number>();
  for (const entry of header.split(',')) {
    const [rawName = '', ...params] = entry.split(';');
    let name = rawName.trim().toLowerCase();
    if (name === '') continue;
    if (name === 'x-gzip') name = 'gzip';
    let weight: number | null = 1;
    for (const param of params) {
      const [key = '', value = ''] = param.split('=').map((s) => s.trim());
      if (key.toLowerCase() !== 'q') continue;
      // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )  (RFC 9110 §12.4.2)
      weight = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(value) ? Number(value) : null;
    }
    if (weight !== null && !q.has(name)) q.set(name, weight);
  }
  return q;
}

/**
 * `If-None-Match` against the representations (weak comparison, as §13.1.2 requires): the one
 * whose ETag it names, `'*'` for a wildcard, or null.
 */
function matchIfNoneMatch(
  header: string | undefined,
  representations: readonly Representation[],
): Representation | '*' | null {
  if (header === undefined) return null;
  if (header.trim() === '*') return '*';
  for (const tag of header.match(/(?:W\/)?"[^"]*"/g) ?? []) {
    const opaque = tag.startsWith('W/') ? tag.slice(2) : tag;
    const found = representations.find((r) => r.etag === opaque);
    if (found) return found;
  }
  return null;
}
