/**
 * Requests for the HTTP fuzz: real-shaped bodies for every way in (amoCRM and Bitrix24 webhooks,
 * the signed generic intake, site forms to /leads), taken from the recorded fixtures or built,
 * then mostly mutated; headers (content type, signature, origin) right or wrong; now and then a
 * wrong path, method or secret.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { webhookBody } from '../helpers/amocrm-webhook';
import { outgoingWebhook } from '../helpers/bitrix24-stand-in';
import { mutateForm, mutateJson } from './mutate';
import type { Random } from './random';

export type FuzzRoute = 'amocrm' | 'bitrix24' | 'generic' | 'leads' | 'other';

export interface FuzzRequest {
  route: FuzzRoute;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

export interface FuzzTarget {
  webhookSecret: string;
  intakeSecret: string;
  bitrix24Token: string;
  site: string;
}

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures');

function fixtureBodies(crm: 'amocrm' | 'bitrix24'): string[] {
  const dir = path.join(FIXTURES, crm, 'webhooks');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => fs.readFileSync(path.join(dir, f), 'utf8').trim());
}

const FORM = 'application/x-www-form-urlencoded';

export function fuzzRequests(rnd: Random, target: FuzzTarget): () => FuzzRequest {
  const amocrm = fixtureBodies('amocrm');
  const bitrix24 = fixtureBodies('bitrix24');
  return () => {
    const route = rnd.pick<FuzzRoute>([
      'amocrm',
      'amocrm',
      'bitrix24',
      'generic',
      'leads',
      'other',
    ]);
    const wrongSecret = rnd.chance(0.03);
    const secret = wrongSecret
      ? rnd.pick(['', 'x', target.webhookSecret + 'x', '..%2F'])
      : target.webhookSecret;
    switch (route) {
      case 'amocrm':
      case 'bitrix24': {
        const base =
          route === 'amocrm'
            ? rnd.chance(0.4)
              ? rnd.pick(amocrm)
              : builtAmocrm(rnd)
            : rnd.chance(0.4)
              ? rnd.pick(bitrix24)
              : builtBitrix24(rnd, target);
        const body = rnd.chance(0.75) ? mutateForm(rnd, base) : base;
        const path = `/webhooks/${route}/${secret}`;
        return withContentType(rnd, { route, method: 'POST', path, headers: {}, body }, FORM);
      }
      case 'generic': {
        const events = Array.from({ length: rnd.chance(0.2) ? rnd.int(0, 5) : 1 }, () =>
          genericEvent(rnd),
        );
        const value = events.length === 1 && rnd.chance(0.7) ? events[0] : events;
        const body = rnd.chance(0.7) ? mutateJson(rnd, value) : JSON.stringify(value);
        return withContentType(
          rnd,
          {
            route,
            method: 'POST',
            path: `/webhooks/generic/${secret}`,
            headers: { 'x-closeloop-signature': signature(rnd, target.intakeSecret, body) },
            body,
          },
          'application/json',
        );
      }
      case 'leads': {
        const form = leadForm(rnd);
        const json = rnd.chance(0.5);
        const plain = json ? JSON.stringify(form) : new URLSearchParams(form).toString();
        const body = rnd.chance(0.7)
          ? json
            ? mutateJson(rnd, form)
            : mutateForm(rnd, plain)
          : plain;
        const headers: Record<string, string> = {};
        if (rnd.chance(0.8))
          headers.origin = rnd.chance(0.9) ? target.site : 'https://evil.example';
        return withContentType(
          rnd,
          { route, method: 'POST', path: '/leads', headers, body },
          json ? 'application/json' : FORM,
        );
      }
      default:
        return {
          route,
          method: rnd.pick(['GET', 'PUT', 'DELETE', 'OPTIONS', 'POST', 'PATCH']),
          path: rnd.pick([
            '/healthz',
            '/snippet.js',
            '/schemas/deal-event.json',
            `/webhooks/amocrm/${secret}`,
            `/webhooks/unknown/${secret}`,
            '/webhooks/',
            '/leads',
            `/${rnd
              .oddValue()
              .slice(0, 50)
              .replace(/[^\x21-\x7e]/g, '_')}`,
            '/%',
            '/..%2F..%2Fetc%2Fpasswd',
          ]),
          headers: rnd.chance(0.5) ? { 'content-type': 'application/json' } : {},
          body: rnd.chance(0.5) ? rnd.text(rnd.int(0, 200)) : undefined,
        };
    }
  };
}

function builtAmocrm(rnd: Random): string {
  const leads = Array.from({ length: rnd.int(1, 5) }, () => ({
    id: rnd.int(1, 100_000),
    statusId: rnd.pick([142, 143, 41893093, 0]),
    price: rnd.chance(0.1) ? null : rnd.int(-10, 10_000_000),
    clientId: rnd.chance(0.1)
      ? null
      : rnd.pick(['GA1.1.1234567890.1700000000', '111.222', rnd.oddValue()]),
    sessionId: rnd.chance(0.5) ? '1747132561' : null,
  }));
  return webhookBody(rnd.pick(['add', 'status', 'update'] as const), leads);
}

function builtBitrix24(rnd: Random, target: FuzzTarget): string {
  return outgoingWebhook(
    rnd.pick([
      'ONCRMDEALUPDATE',
      'ONCRMDEALADD',
      'ONCRMLEADADD',
      'ONCRMDEALDELETE',
      'onCrmDealUpdate',
    ]),
    String(rnd.int(1, 5000)),
    rnd.chance(0.9) ? target.bitrix24Token : 'guessed-token-0000000000',
  );
}

function genericEvent(rnd: Random): Record<string, unknown> {
  return {
    account: 'shop',
    deal_id: rnd.chance(0.5) ? `A-${rnd.int(1, 10_000)}` : rnd.int(1, 10_000),
    event: rnd.pick(['created', 'stage_changed', 'updated', 'deleted']),
    stage: rnd.pick(['new', 'complete', 'cancelled']),
    outcome: rnd.pick(['won', 'lost', 'open', null]),
    amount: rnd.pick(['2500.00', '2 500,00', 2500, '0', '-5']),
    currency: rnd.pick(['RUB', 'USD', 'EUR']),
    occurred_at: rnd.chance(0.5)
      ? new Date(Date.now() - rnd.int(0, 86_400_000)).toISOString()
      : Math.floor(Date.now() / 1000),
    identities: {
      ga_client_id: rnd.pick(['111.222', 'GA1.1.111.222']),
      yclid: '7712345678901234567',
    },
    utm: { source: 'yandex', campaign: 'spring' },
    fields: { product: 'course' },
  };
}

function leadForm(rnd: Random): Record<string, string> {
  return {
    name: rnd.pick(['Анна Тестова', 'Ivan', '']),
    phone: rnd.pick(['+7 916 555-12-34', '89165551234', '']),
    email: rnd.pick(['anna.testova@example.org', 'not-an-email', '']),
    comment: rnd.pick(['Перезвоните вечером', '']),
    ga_client_id: rnd.pick(['GA1.1.1234567890.1700000000', '123.456', '']),
    ga_session_id: 'GS2.1.s1747132561$o1$g0$t1747132655$j0$l0$h0',
    utm_source: 'yandex',
    utm_medium: 'cpc',
    gclid: 'Cj0KCQjw-abc_DEF',
    website: rnd.chance(0.05) ? 'http://bot.example' : '',
  };
}

/** Right over the bytes sent, most of the time; else wrong, malformed or absent. */
function signature(rnd: Random, key: string, body: string): string {
  const right = crypto.createHmac('sha256', key).update(body, 'utf8').digest('hex');
  if (rnd.chance(0.8)) return `sha256=${rnd.chance(0.1) ? right.toUpperCase() : right}`;
  return rnd.pick([
    '',
    'sha256=',
    `sha1=${right}`,
    `sha256=${right.slice(1)}`,
    right,
    `sha256=${'0'.repeat(64)}`,
  ]);
}

function withContentType(rnd: Random, r: FuzzRequest, type: string): FuzzRequest {
  const roll = rnd.next();
  if (roll < 0.85) r.headers['content-type'] = type;
  else if (roll < 0.9)
    r.headers['content-type'] = `${type}; charset=${rnd.pick(['utf-8', 'windows-1251', 'x'])}`;
  else if (roll < 0.95)
    r.headers['content-type'] = rnd.pick([
      'text/plain',
      'multipart/form-data; boundary=x',
      'application/json',
      FORM,
      '',
    ]);
  return r;
}
