/**
 * Lead intake end to end against the real embedded store, the real app and the real amoCRM client
 * talking to the local amoCRM stand-in: `POST /leads` (JSON and form posts, CORS, honeypot, the
 * per-IP limit, invalid forms, size and store failures), then the `create_lead` job creating
 * exactly one lead through an amoCRM outage, and the new lead's `generate_lead` keyed exactly like
 * amoCRM's own `add` webhook. No log line may carry the visitor's name, phone, email or comment.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createApp } from '../../src/http/create-app';
import { createSqliteStore } from '../../src/adapters/store/sqlite';
import { createAmocrmClient } from '../../src/adapters/crm/amocrm/create-amocrm-client';
import { AmocrmCrmSource } from '../../src/adapters/crm/amocrm/amocrm-crm-source';
import { AmocrmLeadWriter } from '../../src/adapters/crm/amocrm/amocrm-lead-writer';
import { AmocrmWebhookIntake } from '../../src/adapters/crm/amocrm/amocrm-webhook-intake';
import { toDealEvent } from '../../src/adapters/crm/amocrm/amocrm-lead';
import { Ga4Destination } from '../../src/adapters/destinations/ga4';
import { AmocrmAccount } from '../../src/adapters/crm/amocrm/amocrm-account';
import { LeadBatcher } from '../../src/adapters/crm/amocrm/lead-batcher';
import { parseWebhook } from '../../src/adapters/crm/amocrm/parse-webhook';
import { LEAD_INTAKE_DISABLED, type LeadIntakeSettings } from '../../src/core/config-types';
import { mapDealEvent } from '../../src/core/map-deal-event';
import type { AmocrmApiSettings } from '../../src/adapters/crm/amocrm/config';
import type { Store } from '../../src/ports/store';
import type { Job, JobOutcome } from '../../src/ports/job-queue';
import { createCreateLeadHandler } from '../../src/worker/process-create-lead';
import { createInboundHandler } from '../../src/worker/process-inbound';
import {
  CURRENT_PAYLOADS,
  type CreateLeadJobPayload,
  type DeliveryJobPayload,
  type InboundJobPayload,
} from '../../src/ports/job-payloads';
import {
  FIRST_CREATED_LEAD_ID,
  FIRST_STATUS,
  startAmocrmStandIn,
  type AmocrmStandIn,
} from '../helpers/amocrm-stand-in';
import { defaultAccount, DEFAULT_RULES, testConfig } from '../helpers/builders';
import { captureLogger } from '../helpers/capture-logger';
import { memoryDeliveryLog } from '../helpers/memory-delivery-log';
import { webhookBody } from '../helpers/amocrm-webhook';
import { waitFor } from '../helpers/wait-for';
import { InProcessWindowLimiter } from '../../src/adapters/rate-limit/in-process-window-limiter';

const SITE = 'https://example.com';
const TOKEN = 'stand-in-long-lived-token';
const ACCOUNT_ID = '29638927';

const SETTINGS: LeadIntakeSettings = {
  ...LEAD_INTAKE_DISABLED,
  enabled: true,
  corsOrigins: [SITE, 'https://www.example.com'],
  sessionIdField: { id: 700001 },
  commentField: { code: 'COMMENT' },
};

/** Personal data the logs must never show. */
const PERSON = {
  name: 'Анна Тестова',
  phone: '+7 916 555-12-34',
  email: 'anna.testova@example.org',
  comment: 'Перезвоните вечером',
};

/** What the snippet posts. */
const FORM = {
  ...PERSON,
  ga_client_id: 'GA1.1.1234567890.1700000000',
  ga_session_id: 'GS2.1.s1747132561$o1$g0$t1747132655$j0$l0$h0',
  utm_source: 'yandex',
  utm_medium: 'cpc',
  utm_campaign: 'spring_sale',
  gclid: 'Cj0KCQjw-abc_DEF',
  ym_uid: '1700000000123456789',
  website: '',
};

/** The exact complex-add element FORM becomes with SETTINGS. */
const EXPECTED_BODY = {
  name: 'Заявка с сайта',
  custom_fields_values: [
    { field_code: 'GCLIENTID', values: [{ value: '1234567890.1700000000' }] },
    { field_code: 'UTM_SOURCE', values: [{ value: 'yandex' }] },
    { field_code: 'UTM_MEDIUM', values: [{ value: 'cpc' }] },
    { field_code: 'UTM_CAMPAIGN', values: [{ value: 'spring_sale' }] },
    { field_code: 'GCLID', values: [{ value: 'Cj0KCQjw-abc_DEF' }] },
    { field_code: '_YM_UID', values: [{ value: '1700000000123456789' }] },
    { field_id: 700001, values: [{ value: '1747132561' }] },
    { field_code: 'COMMENT', values: [{ value: 'Перезвоните вечером' }] },
  ],
  _embedded: {
    contacts: [
      {
        first_name: 'Анна Тестова',
        custom_fields_values: [
          { field_code: 'PHONE', values: [{ value: '+7 916 555-12-34', enum_code: 'WORK' }] },
          {
            field_code: 'EMAIL',
            values: [{ value: 'anna.testova@example.org', enum_code: 'WORK' }],
          },
        ],
      },
    ],
    tags: [{ name: 'closeloop' }],
  },
  request_id: '1',
};

const RETRY = { retryWindowMs: 60_000, retryBaseMs: 20, retryMaxDelayMs: 50 };

describe('lead intake: POST /leads → create_lead → amoCRM', function () {
  this.timeout(20_000);
  let dir: string;
  let store: Store;
  let log: ReturnType<typeof captureLogger>;
  let clock: number;

  function app(settings: LeadIntakeSettings = SETTINGS) {
    return createApp({
      logger: log.logger,
      webhooks: {
        routes: [
          {
            account: 'default',
            secret: 'intake-test-secret-0123456789',
            intake: new AmocrmWebhookIntake(),
          },
        ],
        maxBodyBytes: 64 * 1024,
        ingest: () => Promise.resolve(),
      },
      health: () => Promise.resolve({}),
      now: () => clock,
      leadIntake: {
        settings,
        queue: store.queue,
        limiter: new InProcessWindowLimiter(settings.perIpPerMinute, 60_000, () => clock),
      },
    });
  }

  const waiting = async (): Promise<number> => (await store.queue.counts('create_lead')).waiting;

  /** Takes the stored create_lead jobs off the queue, as a worker would. */
  async function storedJobs(n: number): Promise<Array<Job<CreateLeadJobPayload>>> {
    const jobs: Array<Job<CreateLeadJobPayload>> = [];
    store.queue.process<CreateLeadJobPayload>(
      'create_lead',
      (job) => {
        jobs.push(job);
        return Promise.resolve({ status: 'done' });
      },
      { concurrency: 1 },
    );
    await waitFor(() => jobs.length >= n, { message: () => `${jobs.length} of ${n} jobs` });
    return jobs;
  }

  function assertNoPersonalData(): void {
    const text = log.text();
    for (const value of [...Object.values(PERSON), '555-12-34', 'anna.testova']) {
      assert.ok(!text.includes(value), `the log shows "${value}":\n${text}`);
    }
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-leads-'));
    store = createSqliteStore({ dataDir: dir, deliveryLogMaxRows: 1000, pollIntervalMs: 10 });
    log = captureLogger();
    clock = 1_760_000_000_000;
  });
  afterEach(async () => {
    assertNoPersonalData();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('the route', () => {
    it('stores a JSON post from an allowed site and answers 202 with CORS headers', async () => {
      const res = await request(app())
        .post('/leads')
        .set('Origin', SITE)
        .send(FORM)
        .expect(202)
        .expect('content-type', /application\/json/)
        .expect('access-control-allow-origin', SITE)
        .expect('vary', 'Origin');
      assert.deepEqual(res.body, { ok: true });
      const [job] = await storedJobs(1);
      assert.match(job!.id, /^lead:[0-9a-f-]{36}$/);
      assert.deepEqual(job!.payload, {
        receivedAt: clock,
        form: {
          ...PERSON,
          clientId: '1234567890.1700000000',
          sessionId: '1747132561',
          utmSource: 'yandex',
          utmMedium: 'cpc',
          utmCampaign: 'spring_sale',
          utmContent: null,
          utmTerm: null,
          gclid: 'Cj0KCQjw-abc_DEF',
          yclid: null,
          ymUid: '1700000000123456789',
        },
      });
      const stored = log.lines().find((l) => l.message === 'lead form stored');
      assert.deepEqual(
        { jobId: stored?.jobId, clientId: stored?.clientId, sessionId: stored?.sessionId },
        { jobId: job!.id, clientId: true, sessionId: true },
      );
    });

    it('stores a form-encoded post from a server (no Origin, so no CORS headers)', async () => {
      const res = await request(app())
        .post('/leads')
        .type('form')
        .send(new URLSearchParams({ phone: '89161234567', utm_source: 'google' }).toString())
        .expect(202);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      const [job] = await storedJobs(1);
      assert.equal(job!.payload.form.phone, '89161234567');
      assert.equal(job!.payload.form.utmSource, 'google');
      assert.equal(job!.payload.form.clientId, null);
    });

    it('answers a preflight from an allowed site with 204 and what it may send', async () => {
      const res = await request(app())
        .options('/leads')
        .set('Origin', 'https://www.example.com')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'content-type')
        .expect(204);
      assert.equal(res.headers['access-control-allow-origin'], 'https://www.example.com');
      assert.equal(res.headers['access-control-allow-methods'], 'POST');
      assert.equal(res.headers['access-control-allow-headers'], 'Content-Type');
      assert.equal(res.headers.vary, 'Origin');
    });

    it('refuses a site not listed, preflight and post, with 403 and stores nothing', async () => {
      const pre = await request(app())
        .options('/leads')
        .set('Origin', 'https://evil.example')
        .set('Access-Control-Request-Method', 'POST')
        .expect(403);
      assert.equal(pre.body.error.code, 'LEAD_INTAKE_FORBIDDEN_ORIGIN');
      assert.equal(pre.headers['access-control-allow-origin'], undefined);
      const res = await request(app())
        .post('/leads')
        .set('Origin', 'https://evil.example')
        .type('form')
        .send(new URLSearchParams({ phone: '89161234567' }).toString())
        .expect(403);
      assert.equal(res.body.error.code, 'LEAD_INTAKE_FORBIDDEN_ORIGIN');
      assert.match(res.body.error.message, /lead_intake\.cors_origins/);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      assert.equal(await waiting(), 0);
    });

    it('takes posts from its own host when no origin is listed (same-origin pages)', async () => {
      const settings = { ...SETTINGS, corsOrigins: [] };
      await request(app(settings))
        .post('/leads')
        .set('Host', 'leads.example.net')
        .set('Origin', 'https://leads.example.net')
        .send({ phone: '89161234567' })
        .expect(202);
      await request(app(settings))
        .post('/leads')
        .set('Origin', SITE)
        .send({ phone: '89161234567' })
        .expect(403);
      assert.equal(await waiting(), 1);
    });

    it('answers 202 to a filled honeypot, stores nothing, and logs it at info', async () => {
      const res = await request(app())
        .post('/leads')
        .set('Origin', SITE)
        .send({ ...FORM, website: 'http://spam.example' })
        .expect(202);
      assert.deepEqual(res.body, { ok: true });
      assert.equal(await waiting(), 0);
      const line = log.lines().find((l) => String(l.message).includes('honeypot'));
      assert.equal(line?.level, 'info');
      assert.equal(line?.honeypotField, 'website');
    });

    it('answers the 11th post from one address within a minute with 429 and Retry-After', async () => {
      const post = (ip: string) =>
        request(app()).post('/leads').set('X-Forwarded-For', ip).send({ phone: '89161234567' });
      const handler = app();
      const postTo = (ip: string) =>
        request(handler).post('/leads').set('X-Forwarded-For', ip).send({ phone: '89161234567' });
      for (let i = 1; i <= 10; i++) {
        clock += 1000;
        await postTo('203.0.113.7').expect(202);
      }
      const refused = await postTo('203.0.113.7').expect(429);
      assert.equal(refused.body.error.code, 'LEAD_INTAKE_RATE_LIMITED');
      // The first of the ten was 9 s ago: its slot frees 51 s from now.
      assert.equal(refused.headers['retry-after'], '51');
      await postTo('198.51.100.20').expect(202);
      // A client-sent X-Forwarded-For in front of the proxy's own entry changes nothing.
      await postTo('10.9.9.9, 203.0.113.7').expect(429);
      clock += 50_999;
      await postTo('203.0.113.7').expect(429);
      clock += 1;
      await postTo('203.0.113.7').expect(202);
      assert.equal(await waiting(), 12);
      // Each app has its own limiter: a fresh one takes the address again.
      await post('203.0.113.7').expect(202);
    });

    it('answers 400 listing every problem of an invalid form, and stores nothing', async () => {
      const res = await request(app())
        .post('/leads')
        .set('Origin', SITE)
        .send({ name: PERSON.name, email: 'anna.testova at example.org', phone: 'позвоните' })
        .expect(400);
      assert.equal(res.body.error.code, 'LEAD_FORM_INVALID');
      assert.equal(
        res.body.error.message,
        'the form has 2 problems: phone is not a phone number (digits, spaces, +, brackets and dashes; 5 to 20 digits); email is not an email address',
      );
      assert.equal(res.headers['access-control-allow-origin'], SITE, 'the page may read why');
      const none = await request(app()).post('/leads').send({ name: PERSON.name }).expect(400);
      assert.equal(none.body.error.message, 'the form has a problem: phone or email is required');
      assert.equal(await waiting(), 0);
    });

    it('refuses other content types, bodies that are not a JSON object, and bodies over 16 kB', async () => {
      const text = await request(app())
        .post('/leads')
        .set('Content-Type', 'text/plain')
        .send('phone=89161234567')
        .expect(400);
      assert.match(
        text.body.error.message,
        /application\/json or application\/x-www-form-urlencoded/,
      );
      await request(app())
        .post('/leads')
        .set('Content-Type', 'application/json')
        .send('["89161234567"]')
        .expect(400);
      const big = await request(app())
        .post('/leads')
        .send({ phone: '89161234567', comment: 'x'.repeat(17 * 1024) })
        .expect(413);
      assert.equal(big.body.error.code, 'LEAD_FORM_INVALID');
      assert.equal(await waiting(), 0);
    });

    it('answers 503 when the store cannot take the form', async () => {
      const handler = app();
      await store.close();
      const res = await request(handler).post('/leads').send({ phone: '89161234567' }).expect(503);
      assert.equal(res.body.error.code, 'STORE_UNAVAILABLE');
      store = createSqliteStore({ dataDir: dir, deliveryLogMaxRows: 1000 });
    });

    it('is not routed when lead intake is off', async () => {
      const off = createApp({
        logger: log.logger,
        webhooks: {
          routes: [
            {
              account: 'default',
              secret: 'intake-test-secret-0123456789',
              intake: new AmocrmWebhookIntake(),
            },
          ],
          maxBodyBytes: 64 * 1024,
          ingest: () => Promise.resolve(),
        },
        health: () => Promise.resolve({}),
      });
      await request(off).post('/leads').send({ phone: '89161234567' }).expect(404);
    });
  });

  describe('the create_lead worker', () => {
    let amo: AmocrmStandIn;

    const api = (token = TOKEN): AmocrmApiSettings => ({
      baseUrl: amo.url,
      auth: { kind: 'long-lived', token },
      requestsPerSecond: 7,
      timeoutMs: 2000,
      batchWindowMs: 20,
      reconcile: { enabled: false, intervalMs: 600_000 },
    });

    function handler(token = TOKEN) {
      return createCreateLeadHandler({
        writers: new Map([
          [
            'default',
            new AmocrmLeadWriter(
              createAmocrmClient(api(token), { store, logger: log.logger }),
              SETTINGS,
            ),
          ],
        ]),
        queue: store.queue,
        deliveryLog: store.deliveryLog,
        retryPolicy: RETRY,
        logger: log.logger,
        now: Date.now,
        random: () => 0,
      });
    }

    async function postForm(): Promise<void> {
      await request(app()).post('/leads').set('Origin', SITE).send(FORM).expect(202);
    }

    beforeEach(async () => {
      amo = await startAmocrmStandIn({ token: TOKEN });
    });
    afterEach(async () => {
      await amo.close();
    });

    it('retries through a 503 outage, then creates exactly one lead and enqueues its add event', async () => {
      await postForm();
      amo.failComplex(2);
      const createIds: string[] = [];
      const inbound: Array<Job<InboundJobPayload>> = [];
      const create = handler();
      store.queue.process<CreateLeadJobPayload>(
        'create_lead',
        (job) => {
          createIds.push(job.id);
          return create(job);
        },
        { concurrency: 1 },
      );
      store.queue.process<InboundJobPayload>(
        'inbound',
        (job) => {
          inbound.push(job);
          return Promise.resolve({ status: 'done' });
        },
        { concurrency: 1 },
      );
      await waitFor(() => inbound.length === 1, { timeoutMs: 5000, message: 'the inbound job' });

      const calls = amo.complexCalls();
      assert.deepEqual(
        calls.map((c) => c.status),
        [503, 503, 200],
      );
      for (const call of calls) assert.deepEqual(call.body, [EXPECTED_BODY]);
      assert.equal(createIds.length, 3, 'one job, three attempts');
      assert.ok(createIds.every((id) => id === createIds[0]));
      const accountCalls = amo.requests().filter((r) => r.path === '/api/v4/account');
      assert.equal(accountCalls.length, 1, 'the account is read once and kept');

      const lead = amo.leads.get(FIRST_CREATED_LEAD_ID);
      assert.ok(lead, 'the lead exists in the stand-in');
      assert.equal(amo.leads.size, 1);

      const job = inbound[0]!;
      assert.equal(job.id, `created:${createIds[0]}`);
      const receivedAt = job.payload.receivedAt;
      const occurredAt = Math.floor(receivedAt / 1000);
      assert.equal(job.payload.account, 'default');
      assert.deepEqual(
        job.payload.event,
        toDealEvent({
          crm: 'amocrm',
          accountId: ACCOUNT_ID,
          subdomain: 'example',
          action: 'add',
          oldStatusId: null,
          oldPipelineId: null,
          occurredAt,
          lead: {
            id: FIRST_CREATED_LEAD_ID,
            statusId: null,
            pipelineId: null,
            price: null,
            responsibleUserId: null,
            createdAt: occurredAt,
            updatedAt: occurredAt,
            customFields: [
              field('gclientid', 'GCLIENTID', '1234567890.1700000000'),
              field('utm_source', 'UTM_SOURCE', 'yandex'),
              field('utm_medium', 'UTM_MEDIUM', 'cpc'),
              field('utm_campaign', 'UTM_CAMPAIGN', 'spring_sale'),
              field('gclid', 'GCLID', 'Cj0KCQjw-abc_DEF'),
              field('_ym_uid', '_YM_UID', '1700000000123456789'),
              { id: 700001, name: 'ga_session_id', code: null, values: [v('1747132561')] },
            ],
            tags: ['closeloop'],
          },
        }),
      );
      assert.ok(!JSON.stringify(job.payload).includes('Анна'), 'no personal data in the job');
      assert.equal((await store.queue.counts('create_lead')).failed, 0);
      assert.equal((await store.deliveryLog.list()).length, 0);
    });

    it("keys the new lead's generate_lead exactly like amoCRM's own add webhook", async () => {
      await postForm();
      const deliveries: Array<Job<DeliveryJobPayload>> = [];
      const client = createAmocrmClient(api(), { store, logger: log.logger });
      const config = {
        ...testConfig(),
        amocrm: {
          subdomain: 'example',
          api: api(),
          fields: { clientId: { code: 'GCLIENTID' }, sessionId: { id: 700001 } },
        },
      };
      store.queue.process('create_lead', handler(), { concurrency: 1 });
      store.queue.process(
        'inbound',
        createInboundHandler({
          accounts: defaultAccount(
            new AmocrmCrmSource(
              { rules: DEFAULT_RULES, fields: config.amocrm.fields },
              {
                batcher: new LeadBatcher(client, 20),
                account: new AmocrmAccount('example', client),
              },
            ),
            [new Ga4Destination(config.ga4)],
          ),
          upgrades: CURRENT_PAYLOADS,
          queue: store.queue,
          deliveryLog: store.deliveryLog,
          logger: log.logger,
          retryPolicy: RETRY,
          now: Date.now,
          random: () => 0,
        }),
        { concurrency: 1 },
      );
      store.queue.process<DeliveryJobPayload>(
        'deliver',
        (job): Promise<JobOutcome> => {
          deliveries.push(job);
          return Promise.resolve({ status: 'done' });
        },
        { concurrency: 1 },
      );
      await waitFor(() => deliveries.length === 1, { timeoutMs: 5000, message: 'the delivery' });

      const delivery = deliveries[0]!.payload;
      const key = `amocrm:${ACCOUNT_ID}:${FIRST_CREATED_LEAD_ID}:generate_lead:${FIRST_STATUS}`;
      assert.deepEqual(
        delivery.conversions.map((c) => c.key),
        [key],
      );
      assert.deepEqual(delivery.identity, {
        clientId: '1234567890.1700000000',
        sessionId: '1747132561',
      });
      assert.equal(
        delivery.deal.stageId,
        String(FIRST_STATUS),
        'the status read back from the API',
      );

      // amoCRM's own add webhook for the same lead produces the same key: the ledger sends once.
      const hook = toDealEvent(
        parseWebhook(
          webhookBody('add', [{ id: FIRST_CREATED_LEAD_ID, statusId: FIRST_STATUS, price: 0 }]),
        ).events[0]!,
      );
      assert.deepEqual(
        mapDealEvent(hook, { rules: DEFAULT_RULES, currency: 'RUB' }).conversions.map((c) => c.key),
        [key],
      );
    });

    it('fails a refused creation for good, with a delivery-log row and no personal data', async () => {
      await postForm();
      const outcomes: JobOutcome[] = [];
      const create = handler('a-revoked-token');
      store.queue.process<CreateLeadJobPayload>(
        'create_lead',
        async (job) => {
          const outcome = await create(job);
          outcomes.push(outcome);
          return outcome;
        },
        { concurrency: 1 },
      );
      await waitFor(() => outcomes.length === 1, { timeoutMs: 5000, message: 'the outcome' });
      assert.equal(outcomes[0]!.status, 'failed');
      assert.equal(amo.complexCalls().length, 0, 'the account read failed first: nothing created');
      await waitFor(async () => (await store.queue.counts('create_lead')).failed === 1);
      const [row] = await store.deliveryLog.list();
      assert.equal(row?.outcome, 'failed');
      assert.equal(row?.code, 'AMOCRM_AUTH');
      assert.equal(row?.dealId, '');
      assert.equal(row?.payload, null);
      assert.match(row?.reason ?? '', /HTTP 401/);
      assert.ok(!JSON.stringify(row).includes('Анна'));
    });

    it('gives up when amoCRM stays down for the whole retry window', async () => {
      await postForm();
      amo.failComplex(1000);
      const [job] = await storedJobs(1);
      const create = createCreateLeadHandler({
        writers: new Map([
          [
            'default',
            new AmocrmLeadWriter(
              createAmocrmClient(api(), { store, logger: log.logger }),
              SETTINGS,
            ),
          ],
        ]),
        queue: store.queue,
        deliveryLog: store.deliveryLog,
        retryPolicy: RETRY,
        logger: log.logger,
        now: () => job!.firstAttemptAt + RETRY.retryWindowMs,
        random: () => 0,
      });
      const outcome = await create({ ...job!, attempts: 7 });
      assert.equal(outcome.status, 'failed');
      const [row] = await store.deliveryLog.list();
      assert.equal(row?.code, 'LEAD_CREATE_FAILED');
      assert.match(row?.reason ?? '', /gave up after 8 attempts.*HTTP 503/);
    });

    it('waits out a blocked account (403) instead of failing the lead', async () => {
      await postForm();
      amo.failComplex(1, 403);
      const [job] = await storedJobs(1);
      const create = createCreateLeadHandler({
        writers: new Map([
          [
            'default',
            new AmocrmLeadWriter(
              createAmocrmClient(api(), { store, logger: log.logger }),
              SETTINGS,
            ),
          ],
        ]),
        queue: store.queue,
        deliveryLog: store.deliveryLog,
        retryPolicy: { ...RETRY, retryWindowMs: 3_600_000 },
        logger: log.logger,
        now: Date.now,
        random: () => 0,
      });
      const first = await create(job!);
      assert.equal(first.status, 'retry');
      // The client now holds every call for 10 minutes; the job waits that long, sends nothing.
      const second = await create({ ...job!, attempts: 1 });
      assert.equal(second.status, 'retry');
      const delay = second.status === 'retry' ? second.delayMs : 0;
      assert.ok(delay > 9 * 60_000 && delay <= 10 * 60_000, `waits ${delay} ms`);
      assert.equal(amo.complexCalls().length, 1);
      assert.equal(amo.leads.size, 0);
      assert.deepEqual(await store.deliveryLog.list(), []);
    });

    it('reports a store failure after the creation instead of retrying (no second lead)', async () => {
      await postForm();
      const [job] = await storedJobs(1);
      const deliveries = memoryDeliveryLog();
      const records = deliveries.rows;
      const create = createCreateLeadHandler({
        writers: new Map([
          [
            'default',
            new AmocrmLeadWriter(
              createAmocrmClient(api(), { store, logger: log.logger }),
              SETTINGS,
            ),
          ],
        ]),
        queue: { ...store.queue, add: () => Promise.reject(new Error('disk I/O error')) } as never,
        deliveryLog: deliveries,
        retryPolicy: RETRY,
        logger: log.logger,
        now: Date.now,
        random: () => 0,
      });
      const outcome = await create(job!);
      assert.equal(outcome.status, 'failed');
      assert.match(
        outcome.status === 'failed' ? outcome.error : '',
        /lead 30000001 was created in amocrm.*Do not retry/,
      );
      assert.equal(amo.complexCalls().length, 1);
      assert.equal((records[0] as { dealId: string }).dealId, String(FIRST_CREATED_LEAD_ID));
    });
  });
});

function v(value: string) {
  return { value, enumId: null };
}

function field(name: string, code: string, value: string) {
  return { id: null, name, code, values: [v(value)] };
}
