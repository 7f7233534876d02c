/**
 * An interim loopback fake of Metrica's offline-conversions endpoints (research yandex-metrica.md
 * §8.6), strict on what closeloop relies on: `Authorization: OAuth <token>` (else 403
 * invalid_token), a multipart part `file` (else 400), a CSV with a known header and at least one
 * row (else 400 invalid_uploading). Uploads start UPLOADED and are PROCESSED at their first read.
 * `next` scripts the next uploads: answer, drop the connection after reading the body, hang, or 403
 * access_denied. To be replaced by the full stand-in (test/helpers/metrica-stand-in.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const METRICA_FAKE_TOKEN = 'y0_metrica-test-token';
export const METRICA_FAKE_COUNTER = '44147844';
const TOKEN = METRICA_FAKE_TOKEN;
const COUNTER = METRICA_FAKE_COUNTER;

export interface Upload {
  id: number;
  comment: string;
  csv: string;
  status: string;
  reads: number;
}

/** The fake's behaviour for the next upload: answer, drop the connection after reading, or hang. */
type Mode = 'answer' | 'drop' | 'hang' | 'forbidden';

export async function startMetricaFake(): Promise<{
  url: string;
  uploads: Upload[];
  posts: () => number;
  /** Every request seen. */
  requests: () => number;
  /** When each upload arrived, Unix ms. */
  arrivals: number[];
  next: Mode[];
  close: () => Promise<void>;
}> {
  const uploads: Upload[] = [];
  const next: Mode[] = [];
  let posts = 0;
  let requests = 0;
  const arrivals: number[] = [];
  const hung: http.ServerResponse[] = [];
  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const view = (u: Upload) => {
    const rows = u.csv.trim().split('\n').length - 1;
    return {
      id: u.id,
      create_time: '2026-12-01T10:00:00Z',
      source_quantity: rows,
      line_quantity: rows,
      comment: u.comment,
      type: 'BASIC',
      status: u.status,
      linked_quantity: u.status === 'PROCESSED' ? rows : 0,
      user_not_found_quantity: 0,
      goal_not_found_quantity: 0,
    };
  };
  const base = `/management/v1/counter/${COUNTER}/offline_conversions/`;
  const server = http.createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        if (req.headers.authorization !== `OAuth ${TOKEN}`) {
          return json(res, 403, {
            errors: [{ error_type: 'invalid_token', message: 'Invalid oauth_token' }],
            code: 403,
            message: 'Invalid oauth_token',
          });
        }
        const url = new URL(req.url!, 'http://x');
        if (req.method === 'POST' && url.pathname === `${base}upload`) {
          posts++;
          const mode = next.shift() ?? 'answer';
          if (mode === 'forbidden') {
            return json(res, 403, {
              errors: [{ error_type: 'access_denied', message: 'Access is denied' }],
              code: 403,
              message: 'Access is denied',
            });
          }
          const form = await new Request('http://x', {
            method: 'POST',
            headers: { 'content-type': req.headers['content-type'] ?? '' },
            body: Buffer.concat(chunks),
          }).formData();
          const file = form.get('file');
          if (!(file instanceof Blob))
            return json(res, 400, { code: 400, message: 'Не найден параметр запроса.' });
          const csv = await file.text();
          if (!/^(ClientId|Yclid),Target,DateTime,Price,Currency\n.+/.test(csv)) {
            return json(res, 400, { errors: [{ error_type: 'invalid_uploading' }], code: 400 });
          }
          const u = {
            id: 1000 + uploads.length,
            comment: url.searchParams.get('comment') ?? '',
            csv,
            status: 'UPLOADED',
            reads: 0,
          };
          uploads.push(u);
          arrivals.push(Date.now());
          if (mode === 'drop') return req.socket.destroy();
          if (mode === 'hang') return void hung.push(res);
          return json(res, 200, { uploading: view(u) });
        }
        if (req.method === 'GET' && url.pathname === `${base}uploadings`) {
          return json(res, 200, { uploadings: [...uploads].reverse().map(view) });
        }
        const one = /uploading\/(\d+)$/.exec(url.pathname);
        const u = one ? uploads.find((x) => x.id === Number(one[1])) : undefined;
        if (req.method === 'GET' && u !== undefined) {
          u.reads++;
          if (u.reads >= 1) u.status = 'PROCESSED';
          return json(res, 200, { uploading: view(u) });
        }
        json(res, 404, {
          errors: [{ error_type: 'not_found', message: 'Entity not found' }],
          code: 404,
        });
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    uploads,
    posts: () => posts,
    requests: () => requests,
    arrivals,
    next,
    close: async () => {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
