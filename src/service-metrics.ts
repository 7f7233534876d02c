/**
 * Part of the composition root (with main.ts): the service's metrics, wired to what they measure.
 * The store's queue depths, cached (adapters/metrics/queue-depths.ts); the HTTP server's bounds
 * (http/server-bounds.ts), with a sampled log line each; delivery latency, from the receipt of
 * the webhook to the destination's accepted answer.
 */
import type winston from 'winston';
import { errorMessage } from './core/error-message';
import { Metrics } from './adapters/metrics/metrics';
import { QueueDepths } from './adapters/metrics/queue-depths';
import type { DeliveryRecord } from './ports/delivery-log';
import type { JobHandler } from './ports/job-queue';
import { QUEUE_NAMES } from './ports/job-queue';
import type { PayloadUpgrades } from './ports/job-payloads';
import type { Store } from './ports/store';
import type { ServerBounds, ServerWatch } from './http/server-bounds';
import { throttled } from './service-support';

export interface ServiceMetrics {
  metrics: Metrics;
  /** The HTTP server's watch: counts and logs its timeouts and refused connections. */
  serverWatch: ServerWatch;
  latency: DeliveryLatency;
}

export function createServiceMetrics(deps: {
  store: Store;
  logger: winston.Logger;
  bounds: ServerBounds;
  queueDepthsMaxAgeMs?: number;
}): ServiceMetrics {
  const { store, logger, bounds } = deps;
  const metrics = new Metrics();
  const logReadError = throttled((e: unknown) =>
    logger.warn('queue depths for /metrics could not be read; the last values are served', {
      error: errorMessage(e),
    }),
  );
  metrics.trackQueues(
    new QueueDepths({
      read: async () =>
        Promise.all(
          QUEUE_NAMES.map(async (queue) => ({ queue, counts: await store.queue.counts(queue) })),
        ),
      maxAgeMs: deps.queueDepthsMaxAgeMs,
      onError: (e) => logReadError(e, 'queue depths'),
    }),
    deps.queueDepthsMaxAgeMs,
  );
  const seconds = Math.round(bounds.requestTimeoutMs / 1000);
  const serverWatch: ServerWatch = {
    // One line per reason per minute in the service (the logger samples by code).
    requestTimedOut: (ip) => {
      metrics.httpTimeouts.inc();
      logger.warn(
        `request rejected: no whole request (headers and body) within ${seconds} s; answered 408 and closed the connection`,
        { code: 'HTTP_REQUEST_TIMEOUT', status: 408, ip },
      );
    },
    connectionRefused: (ip) => {
      metrics.httpRefused.inc();
      logger.warn(
        `connection refused: ${bounds.maxConnections} connections are open already (CLOSELOOP_MAX_CONNECTIONS); closed it at once`,
        { code: 'HTTP_TOO_MANY_CONNECTIONS', ip },
      );
    },
    connectionsChanged: (delta) => metrics.httpConnections.inc(delta),
  };
  const latency = new DeliveryLatency((destination, s) =>
    metrics.deliverySeconds.observe({ destination }, s),
  );
  return { metrics, serverWatch, latency };
}

/**
 * Delivery latency, from the receipt of the webhook (the inbound job's `receivedAt`, which the
 * delivery job carries in its origin) to the destination's accepted answer (the delivery log's
 * `sent` row). While a delivery job runs, its webhook's receipt time is kept by job id, so the
 * delivery log's wrapper can measure a `sent` row without the row having to carry it.
 */
export class DeliveryLatency {
  private readonly receivedAt = new Map<string, number>();

  constructor(private readonly observe: (destination: string, seconds: number) => void) {}

  wrap(handler: JobHandler<unknown>, upgrades: PayloadUpgrades): JobHandler<unknown> {
    return async (job) => {
      const at = receivedAtOf(job.payload, upgrades);
      if (at !== null) this.receivedAt.set(job.id, at);
      try {
        return await handler(job);
      } finally {
        this.receivedAt.delete(job.id);
      }
    };
  }

  /** Called with every delivery-log row; measures the `sent` ones. */
  recorded(entry: DeliveryRecord): void {
    if (entry.outcome !== 'sent' || entry.destination === null) return;
    const at = this.receivedAt.get(entry.jobId);
    if (at !== undefined) this.observe(entry.destination, Math.max(0, entry.at - at) / 1000);
  }
}

function receivedAtOf(payload: unknown, upgrades: PayloadUpgrades): number | null {
  try {
    const at = upgrades.delivery(payload).origin?.receivedAt;
    return typeof at === 'number' && Number.isFinite(at) ? at : null;
  } catch {
    // A payload the handler cannot read either: it records that itself.
    return null;
  }
}
