/** The inbound handler's outcomes, with an in-memory queue and log (the stores have contract tests). */
import assert from 'node:assert/strict';
import { createInboundHandler, type AccountRuntime } from '../../src/worker/process-inbound';
import { RetryableError } from '../../src/core/errors';
import type { DealEvent } from '../../src/core/deal';
import { NO_IDENTITIES } from '../../src/core/deal';
import type { Job, JobQueue, NewJob } from '../../src/ports/job-queue';
import {
  CURRENT_PAYLOADS,
  type DeliveryJobPayload,
  type InboundJobPayload,
} from '../../src/ports/job-payloads';
import type { WorkerLogger } from '../../src/worker/worker-logger';
import { Ga4Destination } from '../../src/adapters/destinations/ga4';
import { captureLogger } from '../helpers/capture-logger';
import { memoryDeliveryLog } from '../helpers/memory-delivery-log';
import { dealEvent, DEFAULT_RULES, testConfig } from '../helpers/builders';

const HOUR = 3600_000;

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function setup(
  complete: (e: DealEvent) => Promise<DealEvent> = (e) => Promise.resolve(e),
  logger: WorkerLogger = silent,
  destinations = [new Ga4Destination(testConfig().ga4)],
) {
  const added: Array<NewJob<unknown>> = [];
  const deliveries = memoryDeliveryLog();
  const records = deliveries.rows;
  let now = 1_000 * HOUR;
  const account: AccountRuntime = {
    name: 'default',
    mapping: { rules: DEFAULT_RULES, currency: 'RUB' },
    sources: new Map([['amocrm', { name: 'amocrm', complete }]]),
    destinations,
  };
  const handler = createInboundHandler({
    accounts: new Map([['default', account]]),
    upgrades: CURRENT_PAYLOADS,
    queue: {
      add: (_q: string, jobs: readonly NewJob<unknown>[]) => {
        added.push(...jobs);
        return Promise.resolve();
      },
    } as unknown as JobQueue,
    deliveryLog: deliveries,
    logger,
    retryPolicy: { retryWindowMs: 72 * HOUR, retryBaseMs: 1000, retryMaxDelayMs: HOUR },
    now: () => now,
    random: () => 0.5,
  });
  const job = (
    event: DealEvent,
    attempts = 0,
    firstAttemptAt = now,
    account = 'default',
  ): Job<InboundJobPayload> => ({
    id: 'job-1',
    queue: 'inbound',
    payload: { v: 2, account, event, receivedAt: now },
    attempts,
    firstAttemptAt,
    createdAt: now,
  });
  return { handler, added, records, job, advance: (ms: number) => (now += ms) };
}

const withClientId = (id: string | null) =>
  dealEvent({ deal: { identities: { ...NO_IDENTITIES, gaClientId: id } } });

describe('inbound handler', () => {
  it('enqueues one delivery job per destination with an id derived from its own', async () => {
    const t = setup();
    assert.deepEqual(await t.handler(t.job(dealEvent())), { status: 'done' });
    assert.equal(t.added.length, 1);
    assert.equal(t.added[0]!.id, 'job-1:ga4');
    const p = t.added[0]!.payload as DeliveryJobPayload;
    assert.deepEqual(
      p.conversions.map((c) => c.event.name),
      ['close_convert_lead', 'purchase'],
    );
    assert.deepEqual(p.identity, { clientId: '1234567890.1700000000' });
    assert.equal(p.destination, 'ga4');
    assert.equal(p.occurredAtMs, 1_700_000_000_000);
    assert.deepEqual(t.records, []);
  });

  it('sends each destination its own job, and skips only where the identity is missing', async () => {
    const t = setup(undefined, silent, [
      new Ga4Destination(testConfig().ga4),
      new Ga4Destination(testConfig().ga4, { id: 'shop/ga4' }),
    ]);
    await t.handler(t.job(dealEvent()));
    assert.deepEqual(
      t.added.map((j) => j.id),
      ['job-1:ga4', 'job-1:shop/ga4'],
    );
  });

  it('records a deal no rule matches, and a bad client ID, as skipped', async () => {
    const t = setup();
    await t.handler(t.job(dealEvent({ kind: 'updated' })));
    await t.handler(t.job(withClientId('oops')));
    assert.deepEqual(
      t.records.map((r) => [r.outcome, r.code, r.destination, r.reason]),
      [
        [
          'skipped',
          null,
          null,
          'no rule matches lead_updated in pipeline 4542166, stage 142 (won)',
        ],
        [
          'skipped',
          'LEAD_CLIENT_ID_INVALID',
          'ga4',
          'the client-ID field holds "oops", which is not a GA client ID',
        ],
      ],
    );
    assert.equal(t.added.length, 0);
  });

  it('logs a skip with the code and reason of its delivery-log row', async () => {
    const capture = captureLogger();
    const t = setup(undefined, capture.logger);
    await t.handler(t.job(withClientId('oops')));
    await t.handler(t.job(withClientId(null)));
    const skips = capture.lines().filter((l) => String(l.message).startsWith('conversion skipped'));
    assert.deepEqual(
      skips.map((l) => [l.level, l.message, l.code, l.reason, l.dealId]),
      t.records.map((r) => ['info', `conversion skipped: ${r.code}`, r.code, r.reason, r.dealId]),
    );
    assert.deepEqual(
      skips.map((l) => l.code),
      ['LEAD_CLIENT_ID_INVALID', 'LEAD_NO_CLIENT_ID'],
    );
  });

  it('retries a CRM outage with backoff, honouring Retry-After', async () => {
    const t = setup(() =>
      Promise.reject(new RetryableError('AMOCRM_UNAVAILABLE', 'down', { retryAfterMs: 60_000 })),
    );
    assert.deepEqual(await t.handler(t.job(dealEvent())), {
      status: 'retry',
      delayMs: 60_000,
      error: 'down',
    });
  });

  it('retries an unexpected error, then records it as failed when the window is over', async () => {
    const t = setup(() => Promise.reject(new TypeError('boom')));
    const first = await t.handler(t.job(dealEvent()));
    assert.equal(first.status, 'retry');
    const started = 1_000 * HOUR;
    t.advance(72 * HOUR);
    const last = await t.handler(t.job(dealEvent(), 90, started));
    assert.equal(last.status, 'failed');
    assert.equal(t.records.length, 1);
    assert.equal(t.records[0]!.outcome, 'failed');
    assert.equal(t.records[0]!.code, 'INTERNAL');
    assert.match(t.records[0]!.reason!, /the retry window of 72 h is over; last error: boom/);
  });

  it('fails an event whose account left the config, with the reason', async () => {
    const t = setup();
    const started = 1_000 * HOUR;
    t.advance(72 * HOUR);
    const out = await t.handler(t.job(dealEvent(), 90, started, 'gone'));
    assert.equal(out.status, 'failed');
    assert.equal(t.records[0]!.code, 'ACCOUNT_UNKNOWN');
    assert.match(t.records[0]!.reason!, /the account "gone" of this event is not in the config/);
  });
});
