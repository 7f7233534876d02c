/**
 * The webhook route against the real embedded store: 200 only once stored, 404 for a wrong secret
 * (nothing stored), 400 with a JSON error and a log line for what is not an amoCRM webhook, 413 over
 * the size limit, 503 when the store cannot take it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createApp } from '../../src/http/create-app';
import { createSqliteStore } from '../../src/adapters/store/sqlite';
import type { Store } from '../../src/ports/store';
import type { DealEvent } from '../../src/core/deal';
import { AmocrmWebhookIntake } from '../../src/adapters/crm/amocrm/amocrm-webhook-intake';
import type { InboundJobPayload } from '../../src/ports/job-payloads';
import { webhookBody } from '../helpers/amocrm-webhook';
import { AppError } from '../../src/core/errors';

const SECRET = 'intake-test-secret-0123456789';

interface LogLine {
  level: string;
  message: string;
  meta?: Record<string, unknown>;
}

describe('POST /webhooks/amocrm/:secret', () => {
  let dir: string;
  let store: Store;
  let logs: LogLine[];
  let failStore: boolean;

  const logger = {
    info: (message: string, meta?: Record<string, unknown>) =>
      logs.push({ level: 'info', message, meta }),
    warn: (message: string, meta?: Record<string, unknown>) =>
      logs.push({ level: 'warn', message, meta }),
    error: (message: string, meta?: Record<string, unknown>) =>
      logs.push({ level: 'error', message, meta }),
  };

  function app(maxBodyBytes = 64 * 1024) {
    return createApp({
      logger,
      webhooks: {
        routes: [{ account: 'default', secret: SECRET, intake: new AmocrmWebhookIntake() }],
        maxBodyBytes,
        ingest: (account: string, events: readonly DealEvent[], receivedAt: number) =>
          failStore
            ? Promise.reject(new AppError('STORE_UNAVAILABLE', 'disk full'))
            : store.queue.add<InboundJobPayload>(
                'inbound',
                events.map((event) => ({ payload: { v: 2, account, event, receivedAt } })),
              ),
      },
      health: async () => {
        await store.ping();
        return { store: store.kind };
      },
    });
  }

  async function stored(): Promise<number> {
    return (await store.queue.counts('inbound')).waiting;
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-intake-'));
    store = createSqliteStore({ dataDir: dir, deliveryLogMaxRows: 1000 });
    logs = [];
    failStore = false;
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stores every lead of every action and answers 200', async () => {
    const body = webhookBody('status', [{ id: 1 }, { id: 2 }, { id: 3 }]);
    const res = await request(app())
      .post(`/webhooks/amocrm/${SECRET}`)
      .type('form')
      .send(body)
      .expect(200);
    assert.deepEqual(res.body, { ok: true, stored: 3 });
    assert.equal(await stored(), 3);
  });

  it('answers 404 to a wrong secret and stores nothing', async () => {
    const res = await request(app())
      .post(`/webhooks/amocrm/${SECRET}x`)
      .type('form')
      .send(webhookBody('status', [{ id: 1 }]))
      .expect(404);
    assert.equal(res.body.error.code, 'HTTP_NOT_FOUND');
    assert.equal(await stored(), 0);
  });

  it('answers 400 with a JSON error and a log line to a body that is not an amoCRM webhook', async () => {
    const res = await request(app())
      .post(`/webhooks/amocrm/${SECRET}`)
      .type('form')
      .send('hello=world')
      .expect(400)
      .expect('content-type', /application\/json/);
    assert.equal(res.body.error.code, 'WEBHOOK_NOT_AMOCRM');
    assert.equal(typeof res.body.error.message, 'string');
    assert.equal(await stored(), 0);
    const line = logs.find((l) => l.level === 'warn' && l.meta?.code === 'WEBHOOK_NOT_AMOCRM');
    assert.ok(line, `no log line for the rejected webhook: ${JSON.stringify(logs)}`);
    // The line says why, and keeps the fields.
    assert.equal(line.message, `request rejected: ${res.body.error.message}`);
    assert.match(line.message, /^request rejected: Not an amoCRM webhook: /);
    assert.equal(line.meta?.message, res.body.error.message);
    assert.equal(line.meta?.status, 400);
    assert.equal(line.meta?.route, '/webhooks/amocrm/:secret');
    assert.equal(JSON.stringify(logs).includes(SECRET), false, 'the secret must not be logged');
  });

  it('answers 400 to a JSON body', async () => {
    const res = await request(app())
      .post(`/webhooks/amocrm/${SECRET}`)
      .send({ leads: { status: [{ id: 1 }] } })
      .expect(400);
    assert.equal(res.body.error.code, 'WEBHOOK_NOT_AMOCRM');
    assert.match(res.body.error.message, /application\/x-www-form-urlencoded/);
  });

  it('answers 413 to a body over the limit and stores nothing', async () => {
    const body = webhookBody(
      'status',
      Array.from({ length: 200 }, (_, i) => ({ id: i + 1 })),
    );
    assert.ok(body.length > 8 * 1024);
    const res = await request(app(8 * 1024))
      .post(`/webhooks/amocrm/${SECRET}`)
      .type('form')
      .send(body)
      .expect(413);
    assert.equal(res.body.error.code, 'WEBHOOK_TOO_LARGE');
    assert.equal(await stored(), 0);
  });

  it('answers 503 when the store cannot take the webhook, so amoCRM retries', async () => {
    failStore = true;
    const res = await request(app())
      .post(`/webhooks/amocrm/${SECRET}`)
      .type('form')
      .send(webhookBody('status', [{ id: 1 }]))
      .expect(503);
    assert.equal(res.body.error.code, 'STORE_UNAVAILABLE');
  });

  it('answers 503 when the real store is closed underneath', async () => {
    await store.close();
    const res = await request(app())
      .post(`/webhooks/amocrm/${SECRET}`)
      .type('form')
      .send(webhookBody('status', [{ id: 1 }]))
      .expect(503);
    assert.equal(res.body.error.code, 'STORE_UNAVAILABLE');
    store = createSqliteStore({ dataDir: dir, deliveryLogMaxRows: 1000 });
  });

  it('answers 200 and stores nothing for a webhook with no lead events (contacts only)', async () => {
    const res = await request(app())
      .post(`/webhooks/amocrm/${SECRET}`)
      .type('form')
      .send('contacts[update][0][id]=5&account[subdomain]=example&account[id]=1')
      .expect(200);
    assert.deepEqual(res.body, { ok: true, stored: 0 });
  });

  it('serves /healthz', async () => {
    const res = await request(app()).get('/healthz').expect(200);
    assert.deepEqual(res.body, { status: 'ok', store: 'sqlite' });
  });

  it('logs an unexpected error as "request failed: <message>", and answers only "internal error"', async () => {
    const failing = createApp({
      logger,
      health: () => Promise.resolve({}),
      metrics: () => Promise.reject(new TypeError('metrics registry is gone')),
    });
    const res = await request(failing).get('/metrics').expect(500);
    assert.deepEqual(res.body.error, { code: 'INTERNAL', message: 'internal error' });
    const line = logs.find((l) => l.level === 'error');
    assert.equal(line?.message, 'request failed: metrics registry is gone');
    assert.equal(line.meta?.code, 'INTERNAL');
    assert.equal(line.meta?.message, 'metrics registry is gone');
    assert.match(String(line.meta?.stack), /TypeError: metrics registry is gone/);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await request(app()).get('/nope').expect(404);
    assert.equal(res.body.error.code, 'HTTP_NOT_FOUND');
  });
});
