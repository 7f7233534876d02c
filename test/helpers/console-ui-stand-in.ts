/**
 * A stand-in for the console's server side, for the browser tests of the pages (the screenshot
 * script uses the real service, bench/console-seed.ts): a node:http server on loopback that renders the real shells
 * (src/console/ui), serves the real built assets (dist/console-ui) and answers /api/v1 with the
 * fixed, real-shaped facts below, as strict as the contract in docs/api.md on what the pages must
 * send: every POST needs the page's CSRF token in X-CSRF-Token (else 403), and without a session
 * every call is 401. It records each POST so a test can count what the page sent.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  consoleAssetsDir,
  pickLanguage,
  renderAppPage,
  renderLoginPage,
} from '../../src/console/ui';

export const STAND_IN_CSRF = 'csrf-stand-in-token-0123456789';

const DAY = 86_400_000;
const ASSET_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface ConsoleStandIn {
  url: string;
  /** POSTs the pages sent, with the CSRF header they carried. */
  posts: Array<{ path: string; body: unknown; csrf: string | undefined }>;
  /** When false, every /api/v1 call answers 401 (the session ended). */
  session: { valid: boolean };
  facts: ReturnType<typeof standInFacts>;
  close: () => Promise<void>;
}

/** The facts the stand-in serves, dated back from `now`. */
export function standInFacts(now: number) {
  const today = Math.floor(now / DAY) * DAY;
  const days = Array.from({ length: 30 }, (_, i) => {
    const date = new Date(today - (29 - i) * DAY).toISOString().slice(0, 10);
    const purchases = (i * 7) % 5;
    const leads = 3 + ((i * 3) % 4);
    return {
      date,
      conversions: purchases + leads,
      revenue: purchases * 48_500,
      byEvent: { purchase: purchases, generate_lead: leads },
      byDestination: { ga4: purchases + leads },
    };
  });
  const at = (minutesAgo: number) => now - minutesAgo * 60_000;
  const deliveries = [
    row(7, at(12), '4712', 'purchase', 'sent', 1, null, '125000.00'),
    row(
      6,
      at(30),
      '4711',
      'purchase',
      'skipped',
      1,
      'no GA client id on the lead (the form had no _ga cookie)',
      '98000.00',
    ),
    row(
      5,
      at(55),
      '4710',
      'generate_lead',
      'failed',
      3,
      'GA4 answered 400: event name is reserved',
      null,
    ),
    row(
      4,
      at(80),
      '4709',
      'purchase',
      'uncertain',
      1,
      'the process stopped during the send',
      '15500.00',
    ),
    row(3, at(120), '4708', 'generate_lead', 'sent', 1, null, null),
    row(
      2,
      at(200),
      '4707',
      'qualify_lead',
      'retrying',
      2,
      'GA4 answered 503; next attempt in 40 s',
      null,
    ),
    row(
      1,
      at(300),
      '4706',
      'purchase',
      'dry_run',
      1,
      'dry run: GA4 credentials are not set',
      '7200.00',
    ),
  ];
  return {
    overview: {
      currency: 'RUB',
      days,
      bySource: [
        { utm_source: 'yandex', utm_medium: 'cpc', conversions: 61, revenue: 1_940_000 },
        { utm_source: 'google', utm_medium: 'cpc', conversions: 38, revenue: 1_067_000 },
        { utm_source: 'vk', utm_medium: 'social', conversions: 17, revenue: 291_000 },
        { utm_source: null, utm_medium: null, conversions: 9, revenue: 0 },
      ],
      funnel: {
        won: 64,
        accepted: 55,
        gap: { no_client_id: 5, skipped_by_rule: 2, failed: 1, uncertain: 1, pending: 0 },
      },
    },
    deliveries,
    trace: {
      dealId: '4711',
      steps: [
        step(at(31), 'webhook', 'amoCRM: deal 4711 moved to «Успешно реализовано» (142)', {
          'leads[status][0][id]': '4711',
          'leads[status][0][status_id]': '142',
          'leads[status][0][pipeline_id]': '7001',
        }),
        step(at(31), 'api_read', 'GET /api/v4/leads?filter[id][]=4711 (200, 184 ms)', {
          id: 4711,
          price: 98000,
          custom_fields_values: [{ field_name: 'utm_source', values: [{ value: 'yandex' }] }],
        }),
        step(at(31), 'identities', 'utm_source=yandex, utm_medium=cpc; no GA client id', {
          utm_source: 'yandex',
          utm_medium: 'cpc',
          gaClientId: null,
        }),
        step(at(31), 'rule', 'rule «won → purchase» matched status 142 in pipeline 7001', null),
        step(
          at(30),
          'skipped',
          'skipped: no GA client id on the lead (the form had no _ga cookie)',
          {
            code: 'DELIVERY_NO_CLIENT_ID',
            destination: 'ga4',
          },
        ),
      ],
    },
    setup: {
      config: {
        source: { amocrm: { subdomain: 'example', token: '[redacted]' } },
        destinations: { ga4: { measurement_id: 'G-ABC123XYZ', api_secret: '[redacted]' } },
        rules: [
          { name: 'won → purchase', when: { status: 'Успешно реализовано' }, send: 'purchase' },
        ],
      },
      problems: [
        {
          path: 'config/closeloop.yaml:14 rules[1].when.status',
          message: 'no status «Оплачено» in pipeline «Продажи»',
          fix: 'use one of the names listed under "Pipelines and statuses"',
        },
      ],
      webhookUrls: [
        { crm: 'amocrm', url: 'https://closeloop.example.com/webhooks/amocrm/[secret]' },
      ],
      pipelines: [
        {
          name: 'Продажи',
          statuses: [
            { id: 142, name: 'Успешно реализовано' },
            { id: 143, name: 'Закрыто и не реализовано' },
            { id: 7002, name: 'Переговоры' },
          ],
        },
      ],
      snippetTag: '<script src="https://closeloop.example.com/snippet.js" defer></script>',
    },
  };
}

function row(
  id: number,
  at: number,
  dealId: string,
  event: string,
  outcome: string,
  attempts: number,
  reason: string | null,
  value: string | null,
) {
  return {
    id,
    at,
    firstAt: at,
    dealId,
    event,
    destination: 'ga4',
    outcome,
    attempts,
    reason,
    value,
    currency: value === null ? null : 'RUB',
    transactionId: value === null ? null : `amocrm-${dealId}`,
  };
}

function step(at: number, kind: string, title: string, detail: unknown) {
  return { at, kind, title, detail };
}

export async function startConsoleStandIn(now = Date.now()): Promise<ConsoleStandIn> {
  const facts = standInFacts(now);
  const posts: ConsoleStandIn['posts'] = [];
  const session = { valid: true };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => res.writeHead(500).end(String(e)));
  });
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const lang = pickLanguage(req.headers['accept-language']);
    const html = (body: string): void => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
    };
    const p = url.pathname;
    if (p.startsWith('/console/assets/')) {
      const name = path.basename(p);
      const type = ASSET_TYPES[path.extname(name)];
      if (!type) return void res.writeHead(404).end();
      const file = await readFile(path.join(consoleAssetsDir, name)).catch(() => null);
      if (!file) return void res.writeHead(404).end();
      return void res.writeHead(200, { 'content-type': type }).end(file);
    }
    if (p === '/favicon.ico') return void res.writeHead(204).end();
    if (p === '/console/login') return html(renderLoginPage({ lang }));
    const pages: Record<string, 'overview' | 'deliveries' | 'setup'> = {
      '/console': 'overview',
      '/console/deliveries': 'deliveries',
      '/console/setup': 'setup',
    };
    const page = pages[p];
    if (page) return html(renderAppPage(page, { lang, csrfToken: STAND_IN_CSRF }));
    const deal = /^\/console\/deals\/([^/]+)$/.exec(p);
    if (deal?.[1]) {
      const dealId = decodeURIComponent(deal[1]);
      return html(renderAppPage('deal', { lang, csrfToken: STAND_IN_CSRF, dealId }));
    }
    if (!p.startsWith('/api/v1/')) return void res.writeHead(404).end();
    if (!session.valid) return json(res, 401, { error: { code: 'CONSOLE_UNAUTHORIZED' } });
    if (req.method === 'POST') return post(req, res, p);
    if (p === '/api/v1/overview') return json(res, 200, facts.overview);
    if (p === '/api/v1/setup') return json(res, 200, facts.setup);
    if (p === '/api/v1/deliveries') {
      const dealId = url.searchParams.get('deal');
      const outcome = url.searchParams.get('outcome');
      const rows = facts.deliveries.filter(
        (r) => (!dealId || r.dealId === dealId) && (!outcome || r.outcome === outcome),
      );
      return json(res, 200, { rows, nextCursor: null });
    }
    if (p.startsWith('/api/v1/deals/')) {
      const id = decodeURIComponent(p.slice('/api/v1/deals/'.length));
      return json(res, 200, id === facts.trace.dealId ? facts.trace : { dealId: id, steps: [] });
    }
    return json(res, 404, { error: { code: 'HTTP_NOT_FOUND' } });
  }

  async function post(req: IncomingMessage, res: ServerResponse, p: string): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
    const csrf = req.headers['x-csrf-token'] as string | undefined;
    posts.push({ path: p, body, csrf });
    if (csrf !== STAND_IN_CSRF) return json(res, 403, { error: { code: 'CONSOLE_CSRF_INVALID' } });
    if (p === '/api/v1/replay') return json(res, 200, { replayed: [5], skipped: [] });
    if (p === '/api/v1/send-test') {
      return json(res, 200, {
        valid: false,
        messages: [
          {
            fieldPath: 'events',
            description:
              'Event at index: [0] has invalid name [_test]. Names must start with an alphabetic character.',
            validationCode: 'NAME_INVALID',
          },
        ],
      });
    }
    if (p === '/api/v1/reconcile') return json(res, 200, { started: true, deals: 64 });
    return json(res, 404, { error: { code: 'HTTP_NOT_FOUND' } });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    posts,
    session,
    facts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
