/**
 * A local amoCRM API on loopback for integration tests and the amoCRM benchmark: leads from an
 * in-memory map, the account and its pipelines, 204 for an empty list, and amoCRM's rate limit —
 * 429 once more than `limitPerSecond` requests arrived within the last second (research
 * amocrm.md §5). It records every request so tests can count calls and 429s.
 *
 * `POST /api/v4/leads/complex` (§3.3) records each body, answers as amoCRM does
 * (`[{id, contact_id, company_id, request_id, merged}]`) and puts the new leads in the map, so
 * later look-ups find them; `failComplex(n)` makes the next n calls answer 503 first.
 */
import http from 'node:http';
import type {
  AmoApiCustomField,
  AmoApiLead,
  AmoApiPipeline,
} from '../../src/adapters/crm/amocrm/api-types';
import { streamBody } from './stream-body';
import { listenOnLoopback } from './listen-on-loopback';

/** One request the stand-in answered. */
export interface AmocrmStandInRequest {
  at: number;
  method: string;
  path: string;
  query: URLSearchParams;
  status: number;
  /** The Authorization header as sent. */
  auth: string | undefined;
}

export interface AmocrmStandIn {
  url: string;
  leads: Map<number, AmoApiLead>;
  pipelines: AmoApiPipeline[];
  requests: () => AmocrmStandInRequest[];
  tooMany: () => number;
  /** Every `POST /api/v4/leads/complex`, failed ones too, with the parsed body. */
  complexCalls: () => Array<{ status: number; body: unknown }>;
  /** The next `n` complex-add calls answer `status` (503 by default) and create nothing. */
  failComplex: (n: number, status?: number) => void;
  /**
   * The next request of any kind answers `status` with an HTML body of `bytes` bytes (a proxy's
   * huge error page); resolves with how many of them the client took before it closed.
   */
  hugeErrorNext: (status: number, bytes: number) => Promise<number>;
  close: () => Promise<void>;
}

/** The first regular status of the sales pipeline: where amoCRM puts a lead added without one. */
export const FIRST_STATUS = 41893093;
/** Ids the stand-in gives created leads and contacts. */
export const FIRST_CREATED_LEAD_ID = 30_000_001;
export const FIRST_CREATED_CONTACT_ID = 50_000_001;

export function apiLead(id: number, over: Partial<AmoApiLead> = {}): AmoApiLead {
  return {
    id,
    name: 'Заявка с сайта',
    price: 150000,
    responsible_user_id: 8744098,
    status_id: 142,
    pipeline_id: 4542166,
    created_at: 1_700_000_000,
    updated_at: 1_700_000_100,
    closed_at: null,
    is_deleted: false,
    custom_fields_values: [
      {
        field_id: 610955,
        field_name: 'gclientid',
        field_code: 'GCLIENTID',
        field_type: 'tracking_data',
        values: [{ value: `GA1.1.${id}.1700000000` }],
      },
    ],
    account_id: 29638927,
    _embedded: { tags: [] },
    ...over,
  };
}

export const SALES_PIPELINE: AmoApiPipeline = {
  id: 4542166,
  name: 'Продажи',
  sort: 1,
  is_main: true,
  is_archive: false,
  _embedded: {
    statuses: [
      { id: 41893090, name: 'Неразобранное', sort: 10, pipeline_id: 4542166, type: 1 },
      { id: 41893093, name: 'Квалифицирован', sort: 20, pipeline_id: 4542166, type: 0 },
      { id: 142, name: 'Успешно реализовано', sort: 10000, pipeline_id: 4542166, type: 0 },
      { id: 143, name: 'Закрыто и не реализовано', sort: 11000, pipeline_id: 4542166, type: 0 },
    ],
  },
};

export async function startAmocrmStandIn(
  options: {
    limitPerSecond?: number;
    token?: string;
    /** What `GET /api/v4/account` answers; the example account (29638927, example) by default. */
    account?: { id: number; subdomain: string };
  } = {},
): Promise<AmocrmStandIn> {
  const limit = options.limitPerSecond ?? 7;
  const leads = new Map<number, AmoApiLead>();
  const pipelines: AmoApiPipeline[] = [SALES_PIPELINE];
  const log: AmocrmStandInRequest[] = [];
  const recent: number[] = [];
  const complex: Array<{ status: number; body: unknown }> = [];
  let failing = { left: 0, status: 503 };
  let nextLeadId = FIRST_CREATED_LEAD_ID;
  let nextContactId = FIRST_CREATED_CONTACT_ID;

  /** Stores the leads of a complex-add body and returns amoCRM's answer for them. */
  const createComplex = (body: unknown): unknown[] | null => {
    if (!Array.isArray(body)) return null;
    return body.map((item: Record<string, unknown>, i) => {
      const id = nextLeadId++;
      const fields = Array.isArray(item.custom_fields_values)
        ? (item.custom_fields_values as Array<Record<string, unknown>>).map(
            (f, j): AmoApiCustomField => ({
              field_id: typeof f.field_id === 'number' ? f.field_id : 610_900 + j,
              field_name:
                typeof f.field_code === 'string' ? f.field_code.toLowerCase() : 'ga_session_id',
              field_code: typeof f.field_code === 'string' ? f.field_code : null,
              field_type: 'tracking_data',
              values: f.values as AmoApiCustomField['values'],
            }),
          )
        : null;
      leads.set(
        id,
        apiLead(id, {
          name: typeof item.name === 'string' ? item.name : 'Сделка',
          price: 0,
          status_id: typeof item.status_id === 'number' ? item.status_id : FIRST_STATUS,
          pipeline_id: typeof item.pipeline_id === 'number' ? item.pipeline_id : SALES_PIPELINE.id,
          custom_fields_values: fields,
        }),
      );
      return {
        id,
        contact_id: nextContactId++,
        company_id: null,
        request_id: [typeof item.request_id === 'string' ? item.request_id : String(i)],
        merged: false,
      };
    });
  };

  let huge: { status: number; bytes: number; taken: (n: number) => void } | null = null;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const at = Date.now();
    if (huge !== null) {
      const { status, bytes, taken } = huge;
      huge = null;
      req.resume();
      void streamBody(res, status, { 'content-type': 'text/html' }, bytes).then(taken);
      return;
    }
    const send = (status: number, body?: unknown, type = 'application/hal+json'): void => {
      log.push({
        at,
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        status,
        auth: req.headers.authorization,
      });
      if (body === undefined) {
        res.writeHead(status);
        res.end();
      } else {
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        res.writeHead(status, { 'content-type': type });
        res.end(text);
      }
    };
    while (recent.length > 0 && recent[0]! <= at - 1000) recent.shift();
    recent.push(at);
    if (recent.length > limit) {
      send(
        429,
        '<html><head><title>429 Too Many Requests</title></head><body>nginx</body></html>',
        'text/html',
      );
      return;
    }
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      send(
        401,
        { title: 'Unauthorized', status: 401, detail: 'Неверный токен' },
        'application/problem+json',
      );
      return;
    }
    if (req.method === 'POST' && url.pathname === '/api/v4/leads/complex') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        if (failing.left > 0) {
          failing = { ...failing, left: failing.left - 1 };
          complex.push({ status: failing.status, body });
          send(
            failing.status,
            { title: 'Service Unavailable', status: failing.status, detail: 'stand-in outage' },
            'application/problem+json',
          );
          return;
        }
        const answer = createComplex(body);
        if (answer === null) {
          complex.push({ status: 400, body });
          send(
            400,
            { title: 'Bad Request', status: 400, detail: 'the body must be a list of leads' },
            'application/problem+json',
          );
          return;
        }
        complex.push({ status: 200, body });
        send(200, answer);
      });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/api/v4/account') {
      const account = options.account ?? { id: 29638927, subdomain: 'example' };
      send(200, { ...account, name: 'Example' });
    } else if (req.method === 'GET' && url.pathname === '/api/v4/leads/pipelines') {
      send(200, { _embedded: { pipelines } });
    } else if (req.method === 'GET' && url.pathname === '/api/v4/leads') {
      const ids = url.searchParams.getAll('filter[id][]').map(Number);
      const from = url.searchParams.get('filter[updated_at][from]');
      let found = [...leads.values()];
      if (ids.length > 0) found = found.filter((l) => ids.includes(l.id));
      if (from !== null)
        found = found
          .filter((l) => l.updated_at >= Number(from))
          .sort((a, b) => a.updated_at - b.updated_at);
      const limitN = Number(url.searchParams.get('limit') ?? 50);
      const page = Number(url.searchParams.get('page') ?? 1);
      const slice = found.slice((page - 1) * limitN, page * limitN);
      if (slice.length === 0) send(204);
      else
        send(200, {
          _page: page,
          _links:
            found.length > page * limitN
              ? { next: { href: `${url.pathname}?page=${page + 1}` } }
              : {},
          _embedded: { leads: slice },
        });
    } else {
      send(
        404,
        { title: 'Not Found', status: 404, detail: 'no such route in the stand-in' },
        'application/problem+json',
      );
    }
  });
  const { url } = await listenOnLoopback(server);
  server.keepAliveTimeout = 65_000;
  return {
    url,
    leads,
    pipelines,
    requests: () => log,
    tooMany: () => log.filter((r) => r.status === 429).length,
    complexCalls: () => complex,
    failComplex: (n, status = 503) => {
      failing = { left: n, status };
    },
    hugeErrorNext: (status, bytes) =>
      new Promise<number>((taken) => {
        huge = { status, bytes, taken };
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
