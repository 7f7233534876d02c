/** The Metrica adapter's pure parts: the CSV, prices, error words and waits, identity choice. */
import assert from 'node:assert/strict';
import { buildCsv, priceOf } from '../../src/adapters/destinations/metrica/build-csv';
import {
  explainMetricaError,
  METRICA_NOT_OPEN_WAIT_MS,
  nextMidnightGmt,
  notOpenUntilOf,
  retryDelayOf,
} from '../../src/adapters/destinations/metrica/metrica-errors';
import { MetricaDestination } from '../../src/adapters/destinations/metrica';
import { metricaSection } from '../../src/adapters/destinations/metrica/config';
import { NO_IDENTITIES } from '../../src/core/deal';
import { outboxEntry } from '../contract/outbox.contract';
import type { ConversionOutbox } from '../../src/ports/conversion-outbox';

const NOW_SEC = 1_700_000_000;

describe('Metrica: CSV, prices, errors, identities', () => {
  it('writes one header and one row per entry, DateTime never in the future', () => {
    const csv = buildCsv(
      'ClientId',
      [outboxEntry(1), outboxEntry(2, { dateTime: NOW_SEC + 100, price: null })],
      NOW_SEC,
    );
    assert.equal(
      csv,
      'ClientId,Target,DateTime,Price,Currency\n' +
        `1700000000000000001,deal_won,${NOW_SEC - 60},150000.5,RUB\n` +
        `1700000000000000002,deal_won,${NOW_SEC - 1},,\n`,
    );
  });

  it('refuses an empty batch, a mixed one, and identifiers that are not digits', () => {
    assert.throws(() => buildCsv('ClientId', [], NOW_SEC), /empty batch/);
    assert.throws(() => buildCsv('Yclid', [outboxEntry(1)], NOW_SEC), /not of type Yclid/);
    assert.throws(
      () => buildCsv('ClientId', [outboxEntry(1, { visitor: '=cmd()' })], NOW_SEC),
      /not digits/,
    );
  });

  it('writes prices with a dot and no exponent; none for what is not an amount', () => {
    assert.equal(priceOf(2500.5), '2500.5');
    assert.equal(priceOf(1e9), '1000000000');
    assert.equal(priceOf(0.1 + 0.2), '0.3');
    assert.equal(priceOf(-1), null);
    assert.equal(priceOf('12'), null);
  });

  it('says what to do for each refusal, and waits for the daily quota until 00:00 GMT', () => {
    const denied = explainMetricaError(403, {
      errors: [{ error_type: 'access_denied', message: 'Access is denied' }],
    });
    assert.equal(denied.stopsQueue, true);
    assert.match(denied.message, /metrika:offline_data/);
    assert.match(explainMetricaError(401, {}).message, /new token/);
    assert.match(explainMetricaError(404, {}).message, /METRICA_COUNTER_ID/);
    assert.equal(explainMetricaError(429, {}).stopsQueue, false);
    const now = Date.UTC(2026, 11, 3, 22, 0, 0);
    assert.equal(nextMidnightGmt(now), Date.UTC(2026, 11, 4));
    assert.equal(retryDelayOf(429, 'quota_requests_by_uid', 5000, now), 2 * 3_600_000 + 60_000);
    assert.equal(retryDelayOf(429, 'quota_requests_by_ip', 5000, now), 5000);
    assert.equal(retryDelayOf(503, 'backend_error', null, now), 30_000);
  });

  it('reads the date of a "not open yet" 400 as UTC, else waits an hour, and does not stop the queue', () => {
    const now = Date.UTC(2026, 11, 4, 12, 0, 0);
    const said = (tail: string) =>
      `Загрузить данные сейчас невозможно. Загрузка станет доступна ${tail}`;
    const minute = 60_000;
    assert.equal(
      notOpenUntilOf(said('2026-12-05 10:30:00'), now),
      Date.UTC(2026, 11, 5, 10, 30) + minute,
    );
    assert.equal(
      notOpenUntilOf(said('2026-12-05T10:30'), now),
      Date.UTC(2026, 11, 5, 10, 30) + minute,
    );
    assert.equal(notOpenUntilOf(said('2026-12-06'), now), Date.UTC(2026, 11, 6) + minute);
    assert.equal(notOpenUntilOf(said('05.12.2026 08:00'), now), Date.UTC(2026, 11, 5, 8) + minute);
    assert.equal(notOpenUntilOf(said('позже'), now), null);
    assert.equal(notOpenUntilOf(said('2026-12-01 00:00:00'), now), null, 'a date past');
    assert.equal(notOpenUntilOf(said('2027-06-01'), now), null, 'a date too far');
    const named = explainMetricaError(
      400,
      { errors: [{ error_type: 'invalid_uploading', message: said('2026-12-05 10:30:00') }] },
      now,
    );
    assert.equal(named.stopsQueue, false);
    assert.equal(named.notOpenUntil, Date.UTC(2026, 11, 5, 10, 30) + minute);
    assert.match(
      named.message,
      /not an error: the batch waits and is sent at 2026-12-05T10:31:00Z$/,
    );
    const unnamed = explainMetricaError(400, { message: said('скоро') }, now);
    assert.equal(unnamed.notOpenUntil, now + METRICA_NOT_OPEN_WAIT_MS);
    assert.match(unnamed.message, /tries every hour/);
    // Any other 400 still stops the queue.
    assert.equal(
      explainMetricaError(400, { message: 'Неверный формат данных' }, now).stopsQueue,
      true,
    );
  });

  it('takes the goals’ events, a ClientID, else a yclid, else skips with why', () => {
    const settings = metricaSection.build({
      enabled: true,
      counter_id: '44147844',
      token: 't',
      endpoint: 'https://api-metrika.yandex.net/',
      flush_seconds: 600,
      poll_seconds: 900,
      batch_rows: 1000,
      timeout_ms: 30000,
      daily_requests: 5000,
      goals: { close_convert_lead: 'deal_won' },
      dry_run: false,
    })!;
    assert.equal(settings.endpoint, 'https://api-metrika.yandex.net');
    const d = new MetricaDestination(settings, { outbox: {} as ConversionOutbox });
    assert.equal(d.accepts({ name: 'close_convert_lead', params: {} }), true);
    assert.equal(d.accepts({ name: 'purchase', params: {} }), false);
    const ctx = { fieldsKnown: true };
    assert.deepEqual(
      d.identify({ ...NO_IDENTITIES, ymClientId: '1764583200123456789', yclid: '5' }, ctx),
      { identity: { ymClientId: '1764583200123456789' } },
    );
    assert.deepEqual(d.identify({ ...NO_IDENTITIES, ymClientId: '12', yclid: '5' }, ctx), {
      identity: { yclid: '5' },
    });
    const skip = d.identify({ ...NO_IDENTITIES, ymClientId: 'abc' }, ctx);
    assert.ok('skip' in skip);
    assert.equal(skip.skip.code, 'METRICA_NO_IDENTITY');
    assert.match(skip.skip.reason, /"abc"/);
    assert.equal(metricaSection.build({ enabled: true, counter_id: null }), null);
  });

  it('refuses a conversion past the 21-day window as expired', async () => {
    const settings = {
      ...metricaSection.build({
        enabled: true,
        counter_id: 1,
        token: 't',
        endpoint: 'http://x',
        flush_seconds: 1,
        poll_seconds: 1,
        batch_rows: 1,
        timeout_ms: 100,
        daily_requests: 10,
        goals: { a: 'b' },
        dry_run: false,
      })!,
    };
    const d = new MetricaDestination(settings, { outbox: {} as ConversionOutbox });
    const now = NOW_SEC * 1000;
    await assert.rejects(
      d.deliver(
        {
          account: '1',
          dealId: '2',
          identity: { yclid: '5' },
          occurredAtMs: now - 22 * 86_400_000,
          events: [{ name: 'a', params: {} }],
        },
        now,
      ),
      (e: Error & { code?: string }) => e.code === 'METRICA_CONVERSION_EXPIRED',
    );
  });
});
