/**
 * A send GA4 took, whose record then failed (the ledger's write on a full disk): the claim must stay
 * in flight, so the next attempt treats the send as uncertain (purchase resent, lead event held)
 * instead of sending the lead event again. Found by the disk-full fault test (issue 12, item 9):
 * the failure used to release the claim as if nothing had been sent, and close_convert_lead
 * reached GA4 twice.
 */
import assert from 'node:assert/strict';
import { AppError } from '../../src/core/errors';
import type { PostImpl } from '../../src/adapters/destinations/ga4/ga4-client';
import type { Ledger } from '../../src/ports/ledger';
import { deliveryHandler, deliveryPayload } from '../helpers/delivery-harness';
import { memoryDeliveryLog } from '../helpers/memory-delivery-log';

const NOW = Date.parse('2025-03-04T10:00:00Z');

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
      const handler = deliveryHandler({ ledger, post, deliveryLog: memoryDeliveryLog(), now: NOW });
      const payload = deliveryPayload(NOW);
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
