/** The inbound handler's outcomes, with an in-memory queue and log (the stores have contract tests). */
import assert from 'node:assert/strict';
import { createInboundHandler } from '../../src/worker/process-inbound';
import { RetryableError } from '../../src/core/errors';
import type { LeadEvent } from '../../src/core/lead';
import type { DeliveryRecord } from '../../src/ports/delivery-log';
import type { Job, JobQueue, NewJob } from '../../src/ports/job-queue';
import type { DeliveryJobPayload, InboundJobPayload } from '../../src/ports/job-payloads';
import type { WorkerLogger } from '../../src/worker/worker-logger';
import { captureLogger } from '../helpers/capture-logger';
import { field, leadEvent, testConfig } from '../helpers/builders';

const HOUR = 3600_000;

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function setup(
  complete: (e: LeadEvent) => Promise<LeadEvent> = (e) => Promise.resolve(e),
  logger: WorkerLogger = silent,
) {
  const added: Array<NewJob<unknown>> = [];
  const records: DeliveryRecord[] = [];
  let now = 1_000 * HOUR;
  const handler = createInboundHandler({
    config: testConfig(),
    crmSource: { name: 'test', completeLead: complete },
    queue: {
      add: (_q: string, jobs: readonly NewJob<unknown>[]) => {
        added.push(...jobs);
        return Promise.resolve();
      },
    } as unknown as JobQueue,
    deliveryLog: {
      record: (r) => {
        records.push(r);
        return Promise.resolve();
      },
      list: () => Promise.resolve([]),
    },
    destinationName: 'ga4',
    logger,
    retryPolicy: { retryWindowMs: 72 * HOUR, retryBaseMs: 1000, retryMaxDelayMs: HOUR },
    now: () => now,
    random: () => 0.5,
  });
  const job = (event: LeadEvent, attempts = 0, firstAttemptAt = now): Job<InboundJobPayload> => ({
    id: 'job-1',
    queue: 'inbound',
    payload: { event, receivedAt: now },
    attempts,
    firstAttemptAt,
    createdAt: now,
  });
  return { handler, added, records, job, advance: (ms: number) => (now += ms) };
}

describe('inbound handler', () => {
  it('enqueues one delivery job with an id derived from its own', async () => {
    const t = setup();
    assert.deepEqual(await t.handler(t.job(leadEvent())), { status: 'done' });
    assert.equal(t.added.length, 1);
    assert.equal(t.added[0]!.id, 'job-1:ga4');
    const p = t.added[0]!.payload as DeliveryJobPayload;
    assert.deepEqual(
      p.conversions.map((c) => c.event.name),
      ['close_convert_lead', 'purchase'],
    );
    assert.equal(p.clientId, '1234567890.1700000000');
    assert.equal(p.occurredAtMs, 1_700_000_000_000);
    assert.deepEqual(t.records, []);
  });

  it('records a lead no rule matches, and a bad client ID, as skipped', async () => {
    const t = setup();
    await t.handler(t.job(leadEvent({ action: 'update' })));
    await t.handler(t.job(leadEvent({ lead: { customFields: [field('GCLIENTID', 'oops')] } })));
    assert.deepEqual(
      t.records.map((r) => [r.outcome, r.code, r.reason]),
      [
        ['skipped', null, 'no rule matches lead_updated in pipeline 4542166, status 142'],
        [
          'skipped',
          'LEAD_CLIENT_ID_INVALID',
          'the client-ID field holds "oops", which is not a GA client ID',
        ],
      ],
    );
    assert.equal(t.added.length, 0);
  });

  it('logs a skip with the code and reason of its delivery-log row', async () => {
    const capture = captureLogger();
    const t = setup(undefined, capture.logger);
    await t.handler(t.job(leadEvent({ lead: { customFields: [field('GCLIENTID', 'oops')] } })));
    await t.handler(t.job(leadEvent({ lead: { customFields: [] } })));
    const skips = capture.lines().filter((l) => String(l.message).startsWith('conversion skipped'));
    assert.deepEqual(
      skips.map((l) => [l.level, l.message, l.code, l.reason, l.leadId]),
      t.records.map((r) => ['info', `conversion skipped: ${r.code}`, r.code, r.reason, r.leadId]),
    );
    assert.deepEqual(
      skips.map((l) => l.code),
      ['LEAD_CLIENT_ID_INVALID', 'LEAD_NO_CLIENT_ID'],
    );
  });

  it('retries a CRM outage with backoff, honouring Retry-After', async () => {
    const t = setup(() =>
      Promise.reject(new RetryableError('GA4_UNAVAILABLE', 'down', { retryAfterMs: 60_000 })),
    );
    assert.deepEqual(await t.handler(t.job(leadEvent())), {
      status: 'retry',
      delayMs: 60_000,
      error: 'down',
    });
  });

  it('retries an unexpected error, then records it as failed when the window is over', async () => {
    const t = setup(() => Promise.reject(new TypeError('boom')));
    const first = await t.handler(t.job(leadEvent()));
    assert.equal(first.status, 'retry');
    const started = 1_000 * HOUR;
    t.advance(72 * HOUR);
    const last = await t.handler(t.job(leadEvent(), 90, started));
    assert.equal(last.status, 'failed');
    assert.equal(t.records.length, 1);
    assert.equal(t.records[0]!.outcome, 'failed');
    assert.equal(t.records[0]!.code, 'INTERNAL');
    assert.match(t.records[0]!.reason!, /the retry window of 72 h is over; last error: boom/);
  });
});
