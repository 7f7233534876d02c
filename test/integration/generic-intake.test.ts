/**
 * The signed intake end to end: `POST /webhooks/generic/<secret>` on a real service on loopback,
 * started from the example config (its rules speak of outcomes) with CLOSELOOP_INTAKE_SECRET set,
 * the embedded store, the worker and the GA4 stand-in. The spec's won event becomes
 * close_convert_lead + purchase; a request that fails the signature or the schema stores nothing
 * (the lead-events metric stays 0); a list is taken whole or not at all.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import { loadConfig } from '../../src/config/load-config';
import type { CloseloopConfig } from '../../src/config/config-types';
import type { Rule } from '../../src/core/config-types';
import { DEAL_EVENT_DOCUMENT } from '../../src/adapters/crm/generic/deal-event-schema';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { loopbackService, rule } from '../helpers/builders';
import { captureLogger } from '../helpers/capture-logger';
import { waitForDrained } from '../helpers/wait-for-drained';

const INTAKE_SECRET = 'intake-key-5f1c9a7e3b2d4c6a8e0f';
const WEBHOOK_SECRET = 'generic-webhook-secret-0123456789';

/** The spec's example event. */
const WON = {
  account: 'shop',
  deal_id: 'A-77',
  stage: 'complete',
  outcome: 'won',
  amount: '2500.00',
  currency: 'RUB',
  occurred_at: '2026-12-01T10:00:00Z',
  identities: { ga_client_id: '111.222', ym_client_id: '1764583200123456789', yclid: '987654321' },
};

interface Ga4Body {
  client_id: string;
  events: Array<{ name: string; params: Record<string, unknown> }>;
}

interface ErrorBody {
  error: { code: string; message: string; problems?: Array<{ path: string; message: string }> };
}

function sign(body: string | Buffer, key = INTAKE_SECRET): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

describe('signed intake: POST /webhooks/generic/:secret → GA4', function () {
  this.timeout(40_000);
  let dir: string;
  let ga4: Ga4StandIn;
  let service: RunningService | null;

  function exampleConfig(): CloseloopConfig {
    const config = loadConfig({
      path: 'config/closeloop.example.yaml',
      env: {
        CLOSELOOP_WEBHOOK_SECRET: WEBHOOK_SECRET,
        CLOSELOOP_INTAKE_SECRET: INTAKE_SECRET,
        GA4_MEASUREMENT_ID: 'G-GENERIC1',
        GA4_API_SECRET: 'generic-api-secret',
        GA4_ENDPOINT: ga4.url,
      },
    });
    assert.ok(config.generic, 'the example config turns the intake on with the key');
    return { ...config, generic: { ...config.generic, accounts: ['shop'] } };
  }

  async function start(change: (c: CloseloopConfig) => CloseloopConfig = (c) => c) {
    service = await startService(loopbackService(change(exampleConfig()), captureLogger(), dir));
  }

  function url(pathname: string): string {
    return `http://127.0.0.1:${service!.port}${pathname}`;
  }

  async function post(
    body: string | Buffer,
    headers: Record<string, string> = { 'x-closeloop-signature': sign(body) },
  ): Promise<{ status: number; json: unknown }> {
    const path = service!.webhookPaths.get('default')?.generic;
    assert.equal(path, `/webhooks/generic/${WEBHOOK_SECRET}`);
    const res = await fetch(url(path), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    const json: unknown = await res.json();
    // A list of 1,000 drains in about 5 s on a quiet machine; a loaded one needs longer.
    await waitForDrained(service!.store.queue, 30_000);
    return { status: res.status, json };
  }

  async function storedEvents(): Promise<number> {
    const text = await (await fetch(url('/metrics'))).text();
    const m = /^closeloop_lead_events_stored_total (\d+)$/m.exec(text);
    return Number(m?.[1] ?? 0);
  }

  function sent(): Ga4Body[] {
    return ga4.collected().map((r) => r.json as Ga4Body);
  }

  /** A 401 or 400: the code, and nothing stored or sent. */
  async function assertRefused(
    answer: { status: number; json: unknown },
    status: number,
    code: string,
  ): Promise<ErrorBody['error']> {
    assert.equal(answer.status, status, JSON.stringify(answer.json));
    const error = (answer.json as ErrorBody).error;
    assert.equal(error.code, code);
    assert.equal(await storedEvents(), 0, 'nothing is stored');
    assert.deepEqual(ga4.attempts(), []);
    return error;
  }

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-generic-'));
    ga4 = await startGa4StandIn();
    service = null;
  });
  afterEach(async () => {
    await service?.close();
    await ga4.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends the spec’s signed won event as close_convert_lead + purchase (2500 RUB, A-77)', async () => {
    await start();
    const answer = await post(JSON.stringify(WON));
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.deepEqual(answer.json, { ok: true, stored: 1 });
    const bodies = sent();
    assert.equal(bodies.length, 1);
    assert.deepEqual(ga4.collected()[0]!.problems, []);
    assert.equal(bodies[0]!.client_id, '111.222');
    assert.deepEqual(
      bodies[0]!.events.map((e) => e.name),
      ['close_convert_lead', 'purchase'],
    );
    const purchase = bodies[0]!.events[1]!.params;
    assert.equal(purchase.value, 2500);
    assert.equal(purchase.currency, 'RUB');
    assert.equal(purchase.transaction_id, 'A-77');
    const rows = await service!.store.deliveryLog.list({ dealId: 'A-77' });
    assert.deepEqual(
      rows.map((r) => [r.source, r.crmAccount, r.outcome]),
      [['generic', 'shop', 'sent']],
    );
  });

  it('serves the schema at GET /schemas/deal-event.json, cacheable, with a 304 for its ETag', async () => {
    await start();
    const res = await fetch(url('/schemas/deal-event.json'));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/schema\+json/);
    assert.match(res.headers.get('cache-control') ?? '', /public, max-age=86400/);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.deepEqual(await res.json(), JSON.parse(JSON.stringify(DEAL_EVENT_DOCUMENT)));
    const etag = res.headers.get('etag');
    assert.match(etag ?? '', /^"[\w-]{22}"$/);
    const again = await fetch(url('/schemas/deal-event.json'), {
      headers: { 'if-none-match': `W/${etag}` },
    });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('etag'), etag);
    assert.equal((await fetch(url('/schemas/other.json'))).status, 404);
  });

  it('refuses a request without a signature: 401 WEBHOOK_SIGNATURE_INVALID, nothing stored', async () => {
    await start();
    const error = await assertRefused(
      await post(JSON.stringify(WON), {}),
      401,
      'WEBHOOK_SIGNATURE_INVALID',
    );
    assert.match(error.message, /x-closeloop-signature/);
  });

  it('refuses a wrong signature: another key, or not sha256=<hex>', async () => {
    await start();
    const body = JSON.stringify(WON);
    await assertRefused(
      await post(body, { 'x-closeloop-signature': sign(body, 'another-key-0123456789abcdef') }),
      401,
      'WEBHOOK_SIGNATURE_INVALID',
    );
    await assertRefused(
      await post(body, { 'x-closeloop-signature': sign(body).replace('sha256=', 'sha1=') }),
      401,
      'WEBHOOK_SIGNATURE_INVALID',
    );
  });

  it('refuses the signature of other bytes: the same event, re-encoded', async () => {
    await start();
    const signed = JSON.stringify(WON, null, 2);
    const sentBody = JSON.stringify(WON);
    assert.deepEqual(JSON.parse(signed), JSON.parse(sentBody));
    await assertRefused(
      await post(sentBody, { 'x-closeloop-signature': sign(signed) }),
      401,
      'WEBHOOK_SIGNATURE_INVALID',
    );
  });

  it('takes a signature in upper-case hex', async () => {
    await start();
    const body = JSON.stringify(WON);
    const upper = `sha256=${sign(body).slice('sha256='.length).toUpperCase()}`;
    const answer = await post(body, { 'x-closeloop-signature': upper });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.equal(sent().length, 1);
  });

  it('takes a signed body that starts with a UTF-8 byte order mark (checked over the bytes sent)', async () => {
    await start();
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(WON))]);
    const answer = await post(body);
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.equal(sent().length, 1);
    // The signature of the same JSON without its mark is another one: it does not pass.
    const again = await post(body, { 'x-closeloop-signature': sign(body.subarray(3)) });
    assert.equal(again.status, 401);
  });

  it('refuses a list of 3 with two invalid events whole, listing each problem by index and path', async () => {
    await start();
    const list = [
      { ...WON, deal_id: 'A-1' },
      { ...WON, deal_id: 'A-2', amount: 'two thousand' },
      { account: 'shop', stage: 'complete', outcome: 'won' },
    ];
    const error = await assertRefused(await post(JSON.stringify(list)), 400, 'WEBHOOK_INVALID');
    assert.deepEqual(error.problems, [
      { path: '[1].amount', message: '"two thousand" is not an amount' },
      { path: '[2].deal_id', message: 'is required' },
    ]);
    assert.match(error.message, /^2 problems in the events, nothing was stored: \[1\]\.amount/);
    assert.deepEqual(await service!.store.deliveryLog.list({ dealId: 'A-1' }), []);
  });

  it('answers 413 to a list of 1,001 events and 400 to an empty list', async () => {
    await start();
    const many = Array.from({ length: 1001 }, (_, i) => ({ ...WON, deal_id: `A-${i}` }));
    const error = await assertRefused(await post(JSON.stringify(many)), 413, 'WEBHOOK_INVALID');
    assert.match(error.message, /1 to 1000 events, not 1001/);
    await assertRefused(await post('[]'), 400, 'WEBHOOK_INVALID');
  });

  it('takes a list of 1,000 (all stored, each deal sent)', async () => {
    await start((c) => ({
      ...c,
      rules: [
        rule({ name: 'Won', on: 'status_changed', send: [{ name: 'deal_won', params: {} }] }),
      ],
    }));
    const many = Array.from({ length: 1000 }, (_, i) => ({
      ...WON,
      deal_id: `A-${i}`,
      identities: { ga_client_id: `${i + 1}.222` },
    }));
    const answer = await post(JSON.stringify(many));
    assert.deepEqual(answer.json, { ok: true, stored: 1000 });
    assert.equal(await storedEvents(), 1000);
    assert.equal(sent().length, 1000);
  });

  it('refuses an account name the intake does not take, naming it', async () => {
    await start();
    const error = await assertRefused(
      await post(JSON.stringify({ ...WON, account: 'warehouse' })),
      400,
      'WEBHOOK_INVALID',
    );
    assert.deepEqual(error.problems, [
      { path: 'account', message: '"warehouse" is not an account this URL takes (shop)' },
    ]);
  });

  it('sends a repeated event once: the second is recorded as a duplicate', async () => {
    await start();
    const body = JSON.stringify(WON);
    assert.equal((await post(body)).status, 200);
    assert.equal((await post(body)).status, 200);
    assert.equal(await storedEvents(), 2);
    assert.equal(sent().length, 1);
    const outcomes = (await service!.store.deliveryLog.list({ dealId: 'A-77' })).map(
      (r) => r.outcome,
    );
    assert.deepEqual(outcomes.sort(), ['duplicate', 'sent']);
  });

  it('matches a rule by stage when the event says no outcome (status: complete)', async () => {
    const byStage: Rule = rule({
      name: 'Order complete',
      on: 'status_changed',
      statuses: ['complete'],
      send: [
        {
          name: 'purchase',
          params: {
            value: { kind: 'deal', attribute: 'amount', required: true },
            transaction_id: { kind: 'deal', attribute: 'id', required: true },
          },
        },
      ],
    });
    await start((c) => ({ ...c, rules: [...c.rules, byStage] }));
    const { outcome: _outcome, ...noOutcome } = WON;
    assert.equal((await post(JSON.stringify(noOutcome))).status, 200);
    const events = sent().flatMap((b) => b.events.map((e) => e.name));
    // The example's "Deal won" rule needs outcome: won; only the stage rule matches.
    assert.deepEqual(events, ['purchase']);
  });

  it('reads amounts written as people write them, exactly ("2 500,00", "1 234 567,89")', async () => {
    await start();
    const list = [
      { ...WON, deal_id: 'B-1', amount: '2 500,00' },
      { ...WON, deal_id: 'B-2', amount: '1 234 567,89', identities: { ga_client_id: '333.444' } },
    ];
    assert.equal((await post(JSON.stringify(list))).status, 200);
    const values = Object.fromEntries(
      sent().flatMap((b) =>
        b.events
          .filter((e) => e.name === 'purchase')
          .map((e) => [String(e.params.transaction_id), e.params.value]),
      ),
    );
    assert.deepEqual(values, { 'B-1': 2500, 'B-2': 1234567.89 });
  });

  it('refuses a signed form (400) and answers 404 to a mapping it does not have', async () => {
    await start();
    const form = 'account=shop&deal_id=A-77';
    await assertRefused(
      await post(form, {
        'content-type': 'application/x-www-form-urlencoded',
        'x-closeloop-signature': sign(form),
      }),
      400,
      'WEBHOOK_INVALID',
    );
    const res = await fetch(url(`/webhooks/generic/${WEBHOOK_SECRET}/retailcrm`), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as ErrorBody).error.message, /no mapping named "retailcrm"/);
  });

  it('answers 404 to a wrong webhook secret, whatever the signature', async () => {
    await start();
    const body = JSON.stringify(WON);
    const res = await fetch(url(`/webhooks/generic/${WEBHOOK_SECRET}x`), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-closeloop-signature': sign(body) },
      body,
    });
    assert.equal(res.status, 404);
    assert.equal(await storedEvents(), 0);
  });
});
