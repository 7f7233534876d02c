/**
 * Metrica's orders mode, its pure parts: the setting and its config problems, the simple_orders
 * CSV (one row per order, the counter's time zone), the order a delivery becomes, and the answer.
 */
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load-config';
import { ConfigError } from '../../src/core/errors';
import { NO_IDENTITIES } from '../../src/core/deal';
import {
  buildOrdersCsv,
  counterTime,
} from '../../src/adapters/destinations/metrica/build-orders-csv';
import { MetricaDestination } from '../../src/adapters/destinations/metrica';
import { ordersUploadingOf } from '../../src/adapters/destinations/metrica/metrica-orders';
import type { ConversionOutbox, OutboxEntry } from '../../src/ports/conversion-outbox';
import type { DeliveryRequest } from '../../src/ports/destination';
import { outboxEntry } from '../contract/outbox.contract';
import { CURRENT_PAYLOADS, deliveryDealOf } from '../../src/ports/job-payloads';
import { createDeliveryHandler } from '../../src/worker/process-delivery';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../../src/adapters/store/sqlite';
import { dealEvent } from '../helpers/builders';
import { memoryDeliveryLog } from '../helpers/memory-delivery-log';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 4, 12, 0, 0);

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): ConfigError['problems'] {
  try {
    parseConfig(`currency: RUB\nrules: []\n${yaml}`, 'inline.yaml', env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return assert.fail('expected a ConfigError');
}

function settings(yaml = '', env: NodeJS.ProcessEnv = {}) {
  const config = parseConfig(
    `currency: RUB\nrules: []\nmetrica:\n  counter_id: 44147844\n  token: t\n${yaml}`,
    'inline.yaml',
    env,
  );
  return config.metrica!;
}

const order = (n: number, over: Partial<OutboxEntry> = {}): OutboxEntry =>
  outboxEntry(n, { target: 'PAID', orderId: `D-${n}`, ...over });

describe('Metrica orders mode: setting, CSV, orders', () => {
  it('is off by default; mode: orders (or METRICA_MODE=orders) turns it on', () => {
    assert.equal(settings().mode, 'conversions');
    assert.equal(settings('  mode: orders').mode, 'orders');
    const fromEnv = settings('', { METRICA_MODE: 'orders' });
    assert.equal(fromEnv.mode, 'orders');
    assert.equal(fromEnv.timeZone, 'Europe/Moscow');
    assert.deepEqual(fromEnv.orderStatuses, {
      generate_lead: 'IN_PROGRESS',
      purchase: 'PAID',
      refund: 'CANCELLED',
      close_unconvert_lead: 'CANCELLED',
    });
  });

  it('says where a bad mode is and what to write: file, line, key, fix', () => {
    const [p, ...more] = problems('metrica:\n  counter_id: 1\n  mode: order');
    assert.equal(more.length, 0);
    assert.equal(p!.file, 'inline.yaml');
    assert.equal(p!.line, 5);
    assert.equal(p!.key, 'metrica.mode');
    assert.match(p!.message, /conversions .* or orders/);
    assert.equal(p!.fix, 'did you mean orders? write mode: orders');
    const [env] = problems('metrica:\n  counter_id: 1', { METRICA_MODE: 'crm' });
    assert.equal(env!.key, 'metrica.mode');
    assert.match(`${env!.message} ${env!.fix}`, /METRICA_MODE/);
  });

  it('refuses a time zone that is none, and an order status that is no word', () => {
    const [zone] = problems('metrica:\n  counter_id: 1\n  time_zone: Moscow/Europe');
    assert.equal(zone!.key, 'metrica.time_zone');
    assert.match(zone!.fix, /time_zone: Europe\/Moscow/);
    const [status] = problems('metrica:\n  counter_id: 1\n  order_statuses: { purchase: "paid!" }');
    assert.match(status!.key, /^metrica\.order_statuses/);
    assert.equal(
      settings('  order_statuses: { purchase: oplata_cash }').orderStatuses.purchase,
      'oplata_cash',
    );
  });

  it('writes one row per order, its last change, in the counter’s time zone', () => {
    const created = Date.UTC(2026, 11, 1, 21, 30, 5) / 1000;
    const csv = buildOrdersCsv(
      [
        order(1, { dateTime: created }),
        order(2, { dateTime: created, target: 'IN_PROGRESS', price: '0' }),
        order(1, { dateTime: created, target: 'CANCELLED', price: null, key: 'refund' }),
        order(1, { dateTime: created, price: '120000', key: 'purchase-2' }),
        order(3, { dateTime: created, orderId: 'A 7,"x"' }),
      ],
      'Europe/Moscow',
    );
    assert.equal(
      csv,
      'id,create_date_time,client_ids,order_status,revenue,currency\n' +
        `D-2,2026-12-02 00:30:05,1700000000000000002,IN_PROGRESS,0,RUB\n` +
        `D-1,2026-12-02 00:30:05,1700000000000000001,PAID,120000,RUB\n` +
        `"A 7,""x""",2026-12-02 00:30:05,1700000000000000003,PAID,150000.5,RUB\n`,
    );
    assert.equal(counterTime(created, 'Asia/Vladivostok'), '2026-12-02 07:30:05');
    assert.throws(() => buildOrdersCsv([outboxEntry(1)], 'UTC'), /not an order/);
    assert.throws(() => buildOrdersCsv([order(1, { visitor: '12a' })], 'UTC'), /not digits/);
    assert.throws(() => buildOrdersCsv([], 'UTC'), /empty batch/);
  });

  it('makes one order of a delivery: the deal id, its creation, the last status named', async () => {
    const added: OutboxEntry[] = [];
    const outbox = { add: (e: OutboxEntry[]) => (added.push(...e), Promise.resolve(e.length)) };
    const d = new MetricaDestination(settings('  mode: orders'), {
      outbox: outbox as unknown as ConversionOutbox,
    });
    assert.equal(d.accepts({ name: 'purchase', params: {} }), true);
    assert.equal(d.accepts({ name: 'close_convert_lead', params: {} }), false);
    assert.equal(d.deduplicates(), true);
    const skip = d.identify({ ...NO_IDENTITIES, yclid: '55' }, { fieldsKnown: true });
    assert.ok('skip' in skip && /takes? none/.test(skip.skip.reason));
    const request: DeliveryRequest = {
      account: 'shop',
      dealId: 'D-9',
      identity: { ymClientId: '1764583200123456789' },
      occurredAtMs: NOW - 60_000,
      dealCreatedAtMs: NOW - 30 * DAY,
      events: [
        { name: 'refund', params: { value: 1000, currency: 'RUB' } },
        { name: 'purchase', params: { value: 1200, currency: 'RUB', transaction_id: 'D-9-2' } },
      ],
      keys: ['k-refund', 'k-purchase'],
    };
    const result = await d.deliver(request, NOW);
    assert.equal(result.outcome, 'sent');
    assert.match(
      result.requests[0]!.url,
      /\/cdp\/api\/v1\/counter\/44147844\/data\/simple_orders$/,
    );
    assert.deepEqual(
      added.map((e) => [e.key, e.orderId, e.target, e.price, e.dateTime]),
      [['k-purchase', 'D-9', 'PAID', '1200', (NOW - 30 * DAY) / 1000]],
    );
    await assert.rejects(
      d.deliver({ ...request, dealCreatedAtMs: NOW - 112 * DAY }, NOW),
      (e: Error & { code?: string }) =>
        e.code === 'METRICA_CONVERSION_EXPIRED' && /111 days/.test(e.message),
    );
  });

  it('carries the deal’s creation time through the delivery job to the order', async () => {
    const added: OutboxEntry[] = [];
    const outbox = { add: (e: OutboxEntry[]) => (added.push(...e), Promise.resolve(e.length)) };
    const metrica = new MetricaDestination(settings('  mode: orders'), {
      outbox: outbox as unknown as ConversionOutbox,
    });
    // The embedded store's real ledger, in a folder of its own.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-orders-unit-'));
    const store = createSqliteStore({ dataDir, deliveryLogMaxRows: 1000, lock: false });
    try {
      const handler = createDeliveryHandler({
        destinations: new Map([['metrica', metrica]]),
        upgrades: CURRENT_PAYLOADS,
        ledger: store.ledger,
        deliveryLog: memoryDeliveryLog(),
        retryPolicy: { retryWindowMs: DAY, retryBaseMs: 1000, retryMaxDelayMs: DAY },
        resendUncertain: new Set(),
        logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
        now: () => NOW,
        random: () => 0.5,
      });
      const created = NOW / 1000 - 5 * 86_400;
      const event = dealEvent({ occurredAt: NOW / 1000 - 60, deal: { createdAt: created } });
      assert.equal(deliveryDealOf(event).createdAtMs, created * 1000);
      const payload = {
        v: 2 as const,
        account: 'default',
        destination: 'metrica',
        deal: deliveryDealOf(event),
        identity: { ymClientId: '1764583200123456789' },
        occurredAtMs: NOW - 60_000,
        conversions: [
          {
            key: 'k1',
            rule: 'Deal won',
            event: { name: 'purchase', params: { value: 150000, currency: 'RUB' } },
          },
        ],
        origin: { v: 2 as const, account: 'default', event, receivedAt: NOW },
      };
      const job = {
        id: 'j1',
        queue: 'deliver' as const,
        attempts: 0,
        firstAttemptAt: NOW,
        createdAt: NOW,
      };
      assert.equal((await handler({ ...job, payload })).status, 'done');
      assert.deepEqual(
        added.map((e) => [e.orderId, e.target, e.dateTime]),
        [['30307415', 'PAID', created]],
      );
      // A job stored by an older closeloop has no creation time: the event's time stands in.
      const { createdAtMs: _, ...older } = payload.deal;
      await handler({
        ...job,
        id: 'j2',
        payload: {
          ...payload,
          deal: older,
          conversions: [{ ...payload.conversions[0]!, key: 'k2' }],
        },
      });
      assert.equal(added[1]?.dateTime, NOW / 1000 - 60);
    } finally {
      await store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('reads the answer: PASSED is taken, FAILED refuses the file for good', () => {
    const ok = ordersUploadingOf({ uploading_id: 'u1', api_validation_status: 'PASSED' });
    assert.deepEqual([ok.id, ok.status, ok.counts], ['u1', 'PASSED', null]);
    assert.throws(
      () => ordersUploadingOf({ uploading_id: 'u2', api_validation_status: 'FAILED' }),
      (e: Error & { code?: string; details?: { status?: number } }) =>
        e.code === 'METRICA_UPLOAD_REJECTED' && e.details?.status === 400,
    );
    assert.throws(
      () => ordersUploadingOf({}),
      (e: Error & { code?: string }) => e.code === 'METRICA_UNAVAILABLE',
    );
  });
});
