/**
 * A send GA4 took, whose record then failed (the ledger's write on a full disk): the claim must stay
 * in flight, so the next attempt treats the send as uncertain (purchase resent, lead event held)
 * instead of sending the lead event again. Found by the disk-full fault test (issue 12, item 9):
 * the failure used to release the claim as if nothing had been sent, and close_convert_lead
 * reached GA4 twice.
 */
import assert from 'node:assert/strict';
import { Ga4Destination } from '../../src/adapters/destinations/ga4';
import type { PostImpl } from '../../src/adapters/destinations/ga4/ga4-client';
import { AppError } from '../../src/core/errors';
import { mapDealEvent } from '../../src/core/map-deal-event';
import type { Ledger } from '../../src/ports/ledger';
import {
  CURRENT_PAYLOADS,
  deliveryDealOf,
  type DeliveryJobPayload,
} from '../../src/ports/job-payloads';
import { createDeliveryHandler } from '../../src/worker/process-delivery';
import { memoryDeliveryLog } from '../helpers/memory-delivery-log';
import { dealEvent, DEFAULT_RULES, testConfig } from '../helpers/builders';

const NOW = Date.parse('2025-03-04T10:00:00Z');
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('delivery: the record of a send fails after GA4 took it', () => {
  for (const [what, failure] of [
    ['a plain storage error', new Error('database or disk is full')],
    ['a non-retryable AppError', new AppError('STORE_UNAVAILABLE', 'the disk is full')],
  ] as const) {
    it(`keeps the claim in flight and retries (${what})`, async () => {
      const calls: string[] = [];
      const post: PostImpl = () => Promise.resolve({ status: 204, headers: {}, body: '' });
      const ledger: Ledger = {
        claim: (keys) => Promise.resolve(new Map(keys.map((k) => [k, 'claimed' as const]))),
        markSent: () => Promise.reject(failure),
        markNotSent: () => (calls.push('markNotSent'), Promise.resolve()),
        release: () => (calls.push('release'), Promise.resolve()),
        hold: () => (calls.push('hold'), Promise.resolve()),
        settleUncertain: () => Promise.resolve(0),
      };
      const handler = createDeliveryHandler({
        destinations: new Map([['ga4', new Ga4Destination(testConfig().ga4, { postImpl: post })]]),
        upgrades: CURRENT_PAYLOADS,
        ledger,
        resendUncertain: new Set(['purchase']),
        deliveryLog: memoryDeliveryLog(),
        retryPolicy: { retryWindowMs: 72 * 3600_000, retryBaseMs: 1000, retryMaxDelayMs: 3600_000 },
        logger: silent,
        now: () => NOW,
        random: () => 0.5,
      });
      const event = dealEvent();
      const payload: DeliveryJobPayload = {
        v: 2,
        account: 'default',
        destination: 'ga4',
        deal: deliveryDealOf(event),
        identity: { clientId: '1234567890.1700000000' },
        occurredAtMs: null,
        conversions: mapDealEvent(event, { rules: DEFAULT_RULES, currency: 'RUB' }).conversions,
        origin: { v: 2, account: 'default', event, receivedAt: NOW },
      };
      const outcome = await handler({
        id: 'job-1',
        queue: 'deliver',
        payload,
        attempts: 0,
        firstAttemptAt: NOW,
        createdAt: NOW,
      });
      assert.equal(outcome.status, 'retry');
      assert.deepEqual(calls, [], 'the claim is neither released nor marked not sent');
    });
  }
});
