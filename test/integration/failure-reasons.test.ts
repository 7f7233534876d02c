/**
 * What a person reads in the delivery log when amoCRM or GA4 fails: the adapters' real errors
 * (AmocrmClient and Ga4Destination over injected transports) driven through the real job
 * handlers. Messages are clauses, so joined reasons read "…; retryable; next attempt in 2 s",
 * never "retryable.; next" or "..", and never end with a period.
 */
import assert from 'node:assert/strict';
import { AmocrmClient } from '../../src/adapters/crm/amocrm/amocrm-client';
import { LongLivedTokenSource } from '../../src/adapters/crm/amocrm/long-lived-token-source';
import type { PostImpl } from '../../src/adapters/destinations/ga4/ga4-client';
import { AmocrmLeadWriter } from '../../src/adapters/crm/amocrm/amocrm-lead-writer';
import type { Job, JobQueue } from '../../src/ports/job-queue';
import type { Ledger } from '../../src/ports/ledger';
import { createCreateLeadHandler } from '../../src/worker/process-create-lead';
import { deliveryHandler, deliveryPayload } from '../helpers/delivery-harness';
import { createInboundHandler } from '../../src/worker/process-inbound';
import { CURRENT_PAYLOADS } from '../../src/ports/job-payloads';
import { memoryDeliveryLog } from '../helpers/memory-delivery-log';
import { dealEvent, defaultAccount, testConfig } from '../helpers/builders';

const HOUR = 3600_000;
const NOW = Date.parse('2025-03-04T10:00:00Z');
const POLICY = { retryWindowMs: 72 * HOUR, retryBaseMs: 1000, retryMaxDelayMs: HOUR };
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function assertReadsCleanly(text: string | null | undefined): void {
  assert.ok(text, 'a reason');
  assert.doesNotMatch(text, /\.\s*;|\.\.|;\s*;|\.\s*\(/, text);
  assert.doesNotMatch(text, /\.$/, text);
}

const recordingLog = memoryDeliveryLog;

function job<T>(payload: T, attempts = 0, firstAttemptAt = NOW): Job<T> {
  return { id: 'job-1', queue: 'inbound', payload, attempts, firstAttemptAt, createdAt: NOW };
}

/** An exhausted job: its first attempt was before the 72-hour window. */
const LONG_AGO = NOW - 73 * HOUR;

/** amoCRM answering 503 with problem+json whose detail is a sentence with its own period. */
function amocrmDown(): AmocrmClient {
  const fetchImpl: typeof fetch = (input) =>
    Promise.resolve(
      (input instanceof Request ? input.url : input.toString()).includes('/api/v4/account')
        ? new Response(JSON.stringify({ id: 29651234, subdomain: 'acme' }), { status: 200 })
        : new Response(
            JSON.stringify({ title: 'Service Unavailable', detail: 'Try again later.' }),
            { status: 503, headers: { 'content-type': 'application/problem+json' } },
          ),
    );
  return new AmocrmClient(
    { baseUrl: 'https://acme.amocrm.ru', requestsPerSecond: 7, timeoutMs: 2000 },
    {
      tokens: new LongLivedTokenSource('long-lived-token-value'),
      limiter: { acquire: () => Promise.resolve(), pause: () => undefined },
      accountKey: 'acme',
      logger: silent,
      fetchImpl,
      now: () => NOW,
    },
  );
}

describe('failure reasons read as one sentence', () => {
  it('GA4 503 while delivering: "…; retryable; next attempt in N s", then "gave up…"', async () => {
    const log = recordingLog();
    const post: PostImpl = () => Promise.resolve({ status: 503, headers: {}, body: '' });
    const ledger: Ledger = {
      claim: (keys) => Promise.resolve(new Map(keys.map((k) => [k, 'claimed' as const]))),
      markSent: () => Promise.resolve(),
      markNotSent: () => Promise.resolve(),
      release: () => Promise.resolve(),
      hold: () => Promise.resolve(),
      settleUncertain: () => Promise.resolve(0),
    };
    const handler = deliveryHandler({ ledger, post, deliveryLog: log, now: NOW });
    const payload = deliveryPayload(NOW);

    assert.equal((await handler(job(payload))).status, 'retry');
    const retrying = log.rows[0]!;
    assert.equal(retrying.outcome, 'retrying');
    assert.match(retrying.reason!, /; retryable; next attempt in \d+ s$/);
    assertReadsCleanly(retrying.reason);

    const last = await handler(job(payload, 90, LONG_AGO));
    assert.equal(last.status, 'failed');
    const failed = log.rows[1]!;
    assert.equal(failed.code, 'DELIVERY_RETRY_EXHAUSTED');
    assert.match(failed.reason!, /^gave up after .*; last error: GA4 answered HTTP 503/);
    assertReadsCleanly(failed.reason);
    assertReadsCleanly(last.status === 'failed' ? last.error : '');
  });

  it('amoCRM 503 while completing a lead: the failed inbound job reads cleanly', async () => {
    const client = amocrmDown();
    const log = recordingLog();
    const handler = createInboundHandler({
      // Completion through the real client: every lead is read from the API.
      accounts: defaultAccount({
        name: 'amocrm',
        complete: async (e) => {
          await client.getLeads([Number(e.deal.id)]);
          return e;
        },
      }),
      upgrades: CURRENT_PAYLOADS,
      queue: { add: () => Promise.resolve() } as unknown as JobQueue,
      deliveryLog: log,
      logger: silent,
      retryPolicy: POLICY,
      now: () => NOW,
      random: () => 0.5,
    });
    const payload = { v: 2 as const, account: 'default', event: dealEvent(), receivedAt: NOW };

    const retry = await handler(job(payload));
    assert.equal(retry.status, 'retry');
    assertReadsCleanly(retry.status === 'retry' ? retry.error : '');

    await handler(job(payload, 90, LONG_AGO));
    const failed = log.rows[0]!;
    assert.equal(failed.code, 'AMOCRM_UNAVAILABLE');
    assert.match(failed.reason!, /Service Unavailable.*Try again later\); retryable$/);
    assertReadsCleanly(failed.reason);
  });

  it('amoCRM 503 while creating a lead from a form: the failed job reads cleanly', async () => {
    const log = recordingLog();
    const handler = createCreateLeadHandler({
      writers: new Map([
        ['default', new AmocrmLeadWriter(amocrmDown(), testConfig().leadIntake, () => NOW)],
      ]),
      queue: { add: () => Promise.resolve() } as unknown as JobQueue,
      deliveryLog: log,
      retryPolicy: POLICY,
      logger: silent,
      now: () => NOW,
      random: () => 0.5,
    });
    const form = {
      name: null,
      phone: '+7 900 000-00-00',
      email: null,
      comment: null,
      clientId: null,
      sessionId: null,
      utmSource: null,
      utmMedium: null,
      utmCampaign: null,
      utmContent: null,
      utmTerm: null,
      gclid: null,
      yclid: null,
      ymUid: null,
    };
    const outcome = await handler(job({ form, receivedAt: NOW }, 90, LONG_AGO));
    assert.equal(outcome.status, 'failed');
    const failed = log.rows[0]!;
    assert.equal(failed.code, 'LEAD_CREATE_FAILED');
    assertReadsCleanly(failed.reason);
  });
});
