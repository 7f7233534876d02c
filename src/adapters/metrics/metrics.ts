/**
 * Prometheus metrics in the text exposition format, without a client library: a few counters kept
 * in this process and gauges read from the store when scraped.
 */
export type Labels = Readonly<Record<string, string>>;

class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = JSON.stringify(labels);
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels, value: by });
  }

  get(labels: Labels = {}): number {
    return this.values.get(JSON.stringify(labels))?.value ?? 0;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values())
      lines.push(`${this.name}${formatLabels(labels)} ${value}`);
    return lines;
  }
}

export class Metrics {
  readonly webhooks = new Counter(
    'closeloop_webhooks_total',
    'amoCRM webhook requests by HTTP status.',
  );
  readonly leadEvents = new Counter(
    'closeloop_lead_events_stored_total',
    'Lead events stored from webhooks.',
  );
  readonly deliveries = new Counter(
    'closeloop_deliveries_total',
    'Delivery-log outcomes by destination and outcome (sent, dry_run, skipped, duplicate, retrying, failed).',
  );

  /** `gauges` are read at scrape time: queue depths from the store. */
  render(
    gauges: ReadonlyArray<{
      name: string;
      help: string;
      values: ReadonlyArray<{ labels: Labels; value: number }>;
    }>,
  ): string {
    const lines = [
      ...this.webhooks.render(),
      ...this.leadEvents.render(),
      ...this.deliveries.render(),
    ];
    for (const g of gauges) {
      lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
      for (const v of g.values) lines.push(`${g.name}${formatLabels(v.labels)} ${v.value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}
