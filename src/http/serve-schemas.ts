/**
 * `GET /schemas/<name>`: JSON Schema documents the composition root hands in (the signed intake's
 * `deal-event.json`), so a sending system's developer, an editor or a validator can fetch the very
 * document closeloop checks events with. Vendor-free: this file knows no schema, only documents.
 *
 * Each document is serialised once at start, with a strong ETag of its bytes. Cached a day, then
 * revalidated in the background for a week (a 304): the URL carries no version, so an upgrade of
 * closeloop must reach a cache within a day or so, as for the snippet (serve-snippet.ts).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A JSON Schema document, by the name it is served under (`deal-event.json`). */
export type SchemaDocuments = Readonly<Record<string, object>>;

export interface PreparedSchemas {
  /** Whether a document of that name is served. */
  has(name: string): boolean;
  /** Answers GET and HEAD for a document `has` said yes to. */
  serve(name: string, req: IncomingMessage, res: ServerResponse): void;
}

const HEADERS = {
  // RFC draft-bhutton-json-schema-01 §9.5 registers application/schema+json for schema documents.
  'Content-Type': 'application/schema+json; charset=utf-8',
  'Cache-Control': 'public, max-age=86400, stale-while-revalidate=604800',
  // Any tool may read it (it is public, and holds no secret).
  'Access-Control-Allow-Origin': '*',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'X-Content-Type-Options': 'nosniff',
} as const;

export function prepareSchemas(documents: SchemaDocuments): PreparedSchemas {
  const prepared = new Map<string, { body: Buffer; etag: string }>();
  for (const [name, document] of Object.entries(documents)) {
    const body = Buffer.from(`${JSON.stringify(document, null, 2)}\n`, 'utf8');
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    prepared.set(name, { body, etag });
  }
  return {
    has: (name) => prepared.has(name),
    serve(name, req, res) {
      const doc = prepared.get(name);
      if (doc === undefined) throw new Error(`no schema named ${name}`);
      for (const [header, value] of Object.entries(HEADERS)) res.setHeader(header, value);
      res.setHeader('ETag', doc.etag);
      if (matches(req.headers['if-none-match'], doc.etag)) {
        res.statusCode = 304;
        res.end();
        return;
      }
      res.setHeader('Content-Length', doc.body.length);
      res.statusCode = 200;
      res.end(doc.body);
    },
  };
}

/** `If-None-Match` names this ETag (weak comparison, RFC 9110 §13.1.2) or is `*`. */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? []).some(
    (tag) => (tag.startsWith('W/') ? tag.slice(2) : tag) === etag,
  );
}
