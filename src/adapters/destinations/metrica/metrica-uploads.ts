/**
 * Called by the composition root (src/main.ts): one upload loop per Metrica destination that
 * sends (not dry run), with one request gate per token (at most 2 in flight, a daily budget; on
 * Redis shared by every worker, named by a digest of the token), and the /metrics gauges of stuck
 * uploads and stopped queues.
 */
import { createHash } from 'node:crypto';
import { MetricaDestination } from './index';
import { MetricaUploadClient } from './metrica-upload-client';
import { MetricaUploader, type UploaderLogger } from './metrica-uploader';
import { METRICA_MAX_IN_FLIGHT } from './metrica-settings';
import type { Destination } from '../../../ports/destination';
import type { RequestGate } from '../../../ports/request-gate';
import type { Store } from '../../../ports/store';

export interface MetricaUploads {
  uploaders: MetricaUploader[];
  gauge(): {
    name: string;
    help: string;
    values: Array<{ labels: Record<string, string>; value: number }>;
  };
  stop(): Promise<void>;
}

export function startMetricaUploads(
  destinations: readonly Destination[],
  deps: {
    store: Store;
    logger: UploaderLogger;
    now: () => number;
    fetchImpl?: typeof fetch;
    tickMs?: number;
  },
): MetricaUploads {
  const gates = new Map<string, RequestGate>();
  const uploaders: MetricaUploader[] = [];
  for (const d of destinations) {
    if (!(d instanceof MetricaDestination) || d.dryRun || d.settings.token === null) continue;
    const s = d.settings;
    const token = s.token!;
    const gate =
      gates.get(token) ??
      deps.store.createRequestGate(gateName(token), METRICA_MAX_IN_FLIGHT, s.dailyRequests);
    gates.set(token, gate);
    const uploader = new MetricaUploader({
      queue: d.id,
      settings: s,
      outbox: deps.store.outbox,
      client: new MetricaUploadClient({
        endpoint: s.endpoint,
        counterId: s.counterId,
        token,
        timeoutMs: s.timeoutMs,
        fetchImpl: deps.fetchImpl,
        now: deps.now,
      }),
      // The store's own log: the delivery was counted once, when it was queued.
      deliveryLog: deps.store.deliveryLog,
      logger: deps.logger,
      now: deps.now,
      gate,
      ...(deps.tickMs === undefined ? {} : { tickMs: deps.tickMs }),
    });
    uploader.start();
    uploaders.push(uploader);
  }
  return {
    uploaders,
    gauge: () => ({
      name: 'closeloop_metrica_uploads',
      help: 'Metrica uploads with no final status after 24 hours (stuck), and stopped queues (stopped: 1), by destination.',
      values: uploaders.flatMap((u) =>
        [
          { labels: { destination: u.queue, what: 'stuck' }, value: u.stuck.size },
          { labels: { destination: u.queue, what: 'stopped' }, value: u.stopped === null ? 0 : 1 },
        ].map((v) => ({ ...v, labels: v.labels })),
      ),
    }),
    stop: async () => {
      await Promise.all(uploaders.map((u) => u.stop()));
    },
  };
}

/** The gate's name in the store: a digest of the token, never the token. */
export function gateName(token: string): string {
  return `metrica:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
}
