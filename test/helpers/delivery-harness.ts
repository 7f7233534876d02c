/**
 * The delivery job handler over a fake ledger and GA4 transport, for tests of what it does with an
 * answer or a failure: one default deal's conversions as the job payload.
 */
import { Ga4Destination } from '../../src/adapters/destinations/ga4';
import type { PostImpl } from '../../src/adapters/destinations/ga4/ga4-client';
import { mapDealEvent } from '../../src/core/map-deal-event';
import type { DeliveryLog } from '../../src/ports/delivery-log';
import type { Ledger } from '../../src/ports/ledger';
import {
  CURRENT_PAYLOADS,
  deliveryDealOf,
  type DeliveryJobPayload,
} from '../../src/ports/job-payloads';
import { createDeliveryHandler } from '../../src/worker/process-delivery';
import { dealEvent, DEFAULT_RULES, testConfig } from './builders';

const HOUR = 3600_000;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

export function deliveryHandler(deps: {
  ledger: Ledger;
  post: PostImpl;
  deliveryLog: DeliveryLog;
  now: number;
}): ReturnType<typeof createDeliveryHandler> {
  return createDeliveryHandler({
    destinations: new Map([['ga4', new Ga4Destination(testConfig().ga4, { postImpl: deps.post })]]),
    upgrades: CURRENT_PAYLOADS,
    ledger: deps.ledger,
    resendUncertain: new Set(['purchase']),
    deliveryLog: deps.deliveryLog,
    retryPolicy: { retryWindowMs: 72 * HOUR, retryBaseMs: 1000, retryMaxDelayMs: HOUR },
    logger: silent,
    now: () => deps.now,
    random: () => 0.5,
  });
}

/** The default won deal's delivery to GA4 (close_convert_lead and purchase). */
export function deliveryPayload(receivedAt: number): DeliveryJobPayload {
  const event = dealEvent();
  return {
    v: 2,
    account: 'default',
    destination: 'ga4',
    deal: deliveryDealOf(event),
    identity: { clientId: '1234567890.1700000000' },
    occurredAtMs: null,
    conversions: mapDealEvent(event, { rules: DEFAULT_RULES, currency: 'RUB' }).conversions,
    origin: { v: 2, account: 'default', event, receivedAt },
  };
}
