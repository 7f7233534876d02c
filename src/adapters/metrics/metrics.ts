/**
 * Prometheus metrics with prom-client, the ecosystem's standard: the process's own (resident
 * memory, CPU, event-loop lag, GC pauses, heap, open handles) for free, and closeloop's counters,
 * gauges and histograms. Every value is kept in memory and updated as things happen; the one that
 * comes from the store, queue depths, is read in the background and cached (queue-depths.ts), so
 * a scrape costs a few microseconds of formatting and never a scan.
 *
 * The names before prom-client are kept (dashboards and tests read them):
 * closeloop_webhooks_total{status}, closeloop_lead_events_stored_total,
 * closeloop_deliveries_total{destination,outcome}, closeloop_queue_jobs{queue,state},
 * closeloop_ga4_dry_run.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DEFAULT_QUEUE_DEPTHS_MAX_AGE_MS, QueueDepths } from './queue-depths';

/**
 * The process's metrics, collected once per process: several services in one process (tests)
 * share it, and each collector (a GC observer, an event-loop monitor) is made only once.
 */
let processRegistry: Registry | null = null;

function processMetrics(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Webhook answers: amoCRM gives up after 2 s (research amocrm.md §2); most take a millisecond. */
const ANSWER_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5];
/** Receipt to accepted delivery: milliseconds when GA4 answers, up to the 72-hour retry window. */
const DELIVERY_BUCKETS = [
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  300,
  900,
  3600,
  6 * 3600,
  24 * 3600,
  72 * 3600,
];

/** A gauge's name, help and current values, as an adapter reports them. */
export interface GaugeReading {
  name: string;
  help: string;
  values: ReadonlyArray<{ labels: Record<string, string>; value: number }>;
}

export class Metrics {
  readonly registry = new Registry();
  readonly contentType: string = this.registry.contentType;
  // Started with the service, so GC pauses and event-loop lag are measured from the start, not
  // from the first scrape.
  private readonly process = processMetrics();

  readonly webhooks = new Counter({
    name: 'closeloop_webhooks_total',
    help: 'Webhook requests (every CRM) by HTTP status.',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly webhookSeconds = new Histogram({
    name: 'closeloop_webhook_answer_seconds',
    help: 'Time from a webhook request reaching closeloop (its headers read) to its answer sent.',
    buckets: ANSWER_BUCKETS,
    registers: [this.registry],
  });
  readonly leadEvents = new Counter({
    name: 'closeloop_lead_events_stored_total',
    help: 'Lead events stored from webhooks.',
    registers: [this.registry],
  });
  readonly leadForms = new Counter({
    name: 'closeloop_lead_forms_total',
    help: 'POST /leads requests by HTTP status (202 stored, 429 over the per-address limit, ...).',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'closeloop_deliveries_total',
    help: 'Delivery-log outcomes by destination and outcome (sent, dry_run, skipped, duplicate, retrying, failed).',
    labelNames: ['destination', 'outcome'],
    registers: [this.registry],
  });
  readonly deliverySeconds = new Histogram({
    name: 'closeloop_delivery_latency_seconds',
    help: "From the receipt of the webhook to the destination's accepted answer, retries included, by destination.",
    labelNames: ['destination'],
    buckets: DELIVERY_BUCKETS,
    registers: [this.registry],
  });
  readonly dryRun = new Gauge({
    name: 'closeloop_ga4_dry_run',
    help: '1 when GA4 credentials are missing and nothing is sent.',
    labelNames: ['destination'],
    registers: [this.registry],
  });
  readonly httpConnections = new Gauge({
    name: 'closeloop_http_connections',
    help: 'HTTP connections open now (at most CLOSELOOP_MAX_CONNECTIONS).',
    registers: [this.registry],
  });
  readonly httpRefused = new Counter({
    name: 'closeloop_http_connections_refused_total',
    help: 'Connections closed at once because CLOSELOOP_MAX_CONNECTIONS were open.',
    registers: [this.registry],
  });
  readonly httpTimeouts = new Counter({
    name: 'closeloop_http_request_timeouts_total',
    help: 'Connections closed with a 408 because no whole request (headers and body) came within 10 s.',
    registers: [this.registry],
  });

  /**
   * Queue depths from the store, cached (queue-depths.ts). Until `trackQueues` is called (a
   * process without a store), the gauges stay empty.
   */
  trackQueues(depths: QueueDepths, maxAgeMs = DEFAULT_QUEUE_DEPTHS_MAX_AGE_MS): void {
    const age = new Gauge({
      name: 'closeloop_queue_jobs_age_seconds',
      help: 'How old the closeloop_queue_jobs values are (-1: not read yet, the store did not answer).',
      registers: [this.registry],
    });
    new Gauge({
      name: 'closeloop_queue_jobs',
      help: `Jobs in the queue by state (waiting, delayed, active, failed). Read from the store in the background at most every ${maxAgeMs / 1000} s and served from that cache, so a scrape never waits for the store: see closeloop_queue_jobs_age_seconds.`,
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        const current = await depths.current();
        age.set(current === null ? -1 : current.ageMs / 1000);
        for (const { queue, counts } of current?.counts ?? []) {
          for (const [state, value] of Object.entries(counts) as Array<[string, number]>) {
            this.set({ queue, state }, value);
          }
        }
      },
    });
  }

  /**
   * A gauge whose values are read from memory at each scrape (counts an adapter keeps, such as
   * the webhook entries it ignored); `read` must be cheap, it runs on every scrape.
   */
  trackGauge(read: () => GaugeReading, labelNames: readonly string[]): void {
    const { name, help } = read();
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { labels, value } of read().values) this.set(labels, value);
      },
    });
  }

  /** The Prometheus text: the process's metrics, then closeloop's. */
  async render(): Promise<string> {
    const [ofProcess, ofService] = await Promise.all([
      this.process.metrics(),
      this.registry.metrics(),
    ]);
    return `${ofProcess}\n${ofService}`;
  }
}
