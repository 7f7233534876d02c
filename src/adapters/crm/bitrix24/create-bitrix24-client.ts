/**
 * The Bitrix24 client of one portal, paced by the store's shared limiter with the portal's leaky
 * bucket (leaky-bucket.ts): the bucket is per portal and per source IP (research bitrix24.md
 * §4.1), so every process and command on the store shares one, keyed by the portal's host (never
 * by the webhook's secret path).
 */
import type { Store } from '../../../ports/store';
import { Bitrix24Client, type Bitrix24ClientLogger } from './bitrix24-client';
import type { Bitrix24RestSettings } from './config';
import { bucketPolicy } from './leaky-bucket';

export interface Bitrix24ClientFactoryDeps {
  store: Pick<Store, 'createPacedLimiter'>;
  logger: Bitrix24ClientLogger;
  fetchImpl?: typeof fetch;
}

/** The limiter key of a portal: `bitrix24:<host>`. */
export function portalKeyOf(webhookUrl: string): string {
  try {
    return `bitrix24:${new URL(webhookUrl).host}`;
  } catch {
    return 'bitrix24:portal';
  }
}

export function createBitrix24Client(
  rest: Bitrix24RestSettings,
  deps: Bitrix24ClientFactoryDeps,
): Bitrix24Client {
  return new Bitrix24Client(
    { webhookUrl: rest.webhookUrl, timeoutMs: rest.timeoutMs },
    {
      limiter: deps.store.createPacedLimiter(
        bucketPolicy({ perSecond: rest.requestsPerSecond, burst: rest.burst }),
      ),
      portalKey: portalKeyOf(rest.webhookUrl),
      logger: deps.logger,
      fetchImpl: deps.fetchImpl,
    },
  );
}
