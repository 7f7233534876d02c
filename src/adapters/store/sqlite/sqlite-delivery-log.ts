/**
 * The delivery log in the embedded store: one row per delivery (a keyed record updates its row),
 * bounded by count and age without ever removing a pending row, with exact counts by outcome kept
 * beside it. Records commit with the store's group (CommitGroup) and resolve once durable.
 */
import type { ErrorCode } from '../../../core/errors';
import {
  PENDING_OUTCOMES,
  foldSearchText,
  upgradeKind,
  zeroCounts,
  type DeliveryLog,
  type DeliveryLogFilter,
  type DeliveryLogLimits,
  type DeliveryOutcome,
  type DeliveryRecord,
  type OutcomeCounts,
  type PruneReport,
  type StoredDelivery,
} from '../../../ports/delivery-log';
import type { SqliteDatabase } from './open-sqlite-database';
import type { CommitGroup } from './commit-group';

/**
 * A row. The column names are from before the deal model: `account_id` holds the CRM account,
 * `lead_id` the deal id (as a number where it looks like one: SQLite's INTEGER affinity), `action`
 * the kind, `status_id` the stage (read as a string). `deal_id` holds the deal id as sent, text,
 * so a leading zero stays; the filters and the reads use it.
 */
interface Row {
  id: number;
  at: number;
  first_at: number | null;
  row_key: string | null;
  account: string;
  source: string;
  account_id: string;
  lead_id: number | string;
  /** The deal id as sent (text); null only if a row predates its column and escaped the copy. */
  deal_id: string | null;
  action: string;
  status_id: number | string | null;
  job_id: string;
  destination: string | null;
  outcome: DeliveryOutcome;
  code: ErrorCode | null;
  reason: string | null;
  events: string;
  payload: string | null;
  attempts: number;
  utm_source: string | null;
  utm_medium: string | null;
}

/** Pruning every row would cost a DELETE per insert; every this many inserts is plenty. */
const PRUNE_EVERY = 500;
const PENDING = PENDING_OUTCOMES.map((o) => `'${o}'`).join(', ');

export class SqliteDeliveryLog implements DeliveryLog {
  private readonly stmt;
  private sincePrune = 0;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly group: CommitGroup,
    private readonly limits: DeliveryLogLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.stmt = {
      insert: db.prepare(
        `INSERT INTO delivery_log (at, first_at, row_key, account, source, account_id, lead_id,
           deal_id, action, status_id, job_id, destination, outcome, code, reason, events, payload, attempts,
           utm_source, utm_medium)
         VALUES (@at, @at, @key, @account, @source, @crmAccount, @dealId, @dealId, @kind, @stageId, @jobId,
           @destination, @outcome, @code, @reason, @events, @payload, @attempts, @utmSource,
           @utmMedium)`,
      ),
      byKey: db.prepare(`SELECT id, outcome FROM delivery_log WHERE row_key = ?`),
      update: db.prepare(
        `UPDATE delivery_log SET at = @at, account = @account, source = @source,
           account_id = @crmAccount, lead_id = @dealId, deal_id = @dealId, action = @kind, status_id = @stageId,
           job_id = @jobId, destination = @destination, outcome = @outcome, code = @code,
           reason = @reason, events = @events, payload = @payload, attempts = @attempts,
           utm_source = @utmSource, utm_medium = @utmMedium
         WHERE id = @id`,
      ),
      count: db.prepare(
        `INSERT INTO delivery_counts (outcome, n) VALUES (?, ?)
         ON CONFLICT(outcome) DO UPDATE SET n = n + excluded.n`,
      ),
      counts: db.prepare(`SELECT outcome, n FROM delivery_counts`),
      total: db.prepare(`SELECT count(*) AS n FROM delivery_log`),
      overCount: db.prepare(
        `SELECT id, outcome FROM delivery_log WHERE outcome NOT IN (${PENDING})
         ORDER BY id LIMIT ?`,
      ),
      overAge: db.prepare(
        `SELECT id, outcome FROM delivery_log WHERE at < ? AND outcome NOT IN (${PENDING})
         ORDER BY id LIMIT 10000`,
      ),
      remove: db.prepare(`DELETE FROM delivery_log WHERE id = ?`),
      pruned: db.prepare(
        `INSERT INTO delivery_pruned (outcome, n) VALUES (?, ?)
         ON CONFLICT(outcome) DO UPDATE SET n = n + excluded.n`,
      ),
    };
    // Also at open: a process that records fewer than PRUNE_EVERY rows must not grow the log forever.
    this.pruneNow();
  }

  record(entry: DeliveryRecord): Promise<void> {
    const { utm, ...rest } = entry;
    const row = {
      ...rest,
      utmSource: utm?.source ?? null,
      utmMedium: utm?.medium ?? null,
      key: entry.key ?? null,
      events: JSON.stringify(entry.events),
      payload:
        entry.payload === undefined || entry.payload === null
          ? null
          : JSON.stringify(entry.payload),
    };
    return this.group.run(() => {
      const existing =
        row.key === null
          ? undefined
          : (this.stmt.byKey.get(row.key) as { id: number; outcome: DeliveryOutcome } | undefined);
      if (existing === undefined) {
        this.stmt.insert.run(row);
      } else {
        this.stmt.update.run({ ...row, id: existing.id });
        this.stmt.count.run(existing.outcome, -1);
      }
      this.stmt.count.run(entry.outcome, 1);
      if (++this.sincePrune >= PRUNE_EVERY) {
        this.sincePrune = 0;
        this.pruneNow();
      }
    });
  }

  counts(): Promise<OutcomeCounts> {
    const counts = zeroCounts();
    for (const r of this.stmt.counts.all() as Array<{ outcome: DeliveryOutcome; n: number }>) {
      counts[r.outcome] = r.n;
    }
    return Promise.resolve(counts);
  }

  /** Oldest settled rows past the count, and settled rows past the age; pending rows stay. */
  private pruneNow(): void {
    const total = (this.stmt.total.get() as { n: number }).n;
    const over = total - this.limits.maxRows;
    if (over > 0) {
      this.removeRows(
        this.stmt.overCount.all(over) as Array<{ id: number; outcome: DeliveryOutcome }>,
        'count',
      );
    }
    if (Number.isFinite(this.limits.maxAgeMs)) {
      const rows = this.stmt.overAge.all(this.now() - this.limits.maxAgeMs) as Array<{
        id: number;
        outcome: DeliveryOutcome;
      }>;
      this.removeRows(rows, 'age');
    }
  }

  private removeRows(
    rows: Array<{ id: number; outcome: DeliveryOutcome }>,
    reason: PruneReport['reason'],
  ): void {
    if (rows.length === 0) return;
    const removed: Partial<OutcomeCounts> = {};
    for (const r of rows) {
      this.stmt.remove.run(r.id);
      removed[r.outcome] = (removed[r.outcome] ?? 0) + 1;
    }
    for (const [outcome, n] of Object.entries(removed)) this.stmt.pruned.run(outcome, n);
    this.limits.onPruned?.({ removed, reason });
  }

  list(filter: DeliveryLogFilter = {}): Promise<StoredDelivery[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: filter.limit ?? 100 };
    const add = (clause: string, name: string, value: unknown): void => {
      if (value === undefined) return;
      where.push(clause);
      params[name] = value;
    };
    add('outcome = @outcome', 'outcome', filter.outcome);
    // As text: '007' is not '7' (deal_id; lead_id's INTEGER affinity would take them for one).
    add('deal_id = @dealId', 'dealId', filter.dealId);
    add('account = @account', 'account', filter.account);
    add('destination = @destination', 'destination', filter.destination);
    add('first_at >= @since', 'since', filter.since);
    add('first_at < @until', 'until', filter.until);
    // events is a JSON array of names: a quoted name matches that event only.
    add(`instr(events, @event) > 0`, 'event', eventNeedle(filter.event));
    add(
      `(instr(lower(deal_id), @text) > 0 OR instr(lower(coalesce(destination, '')), @text) > 0
        OR instr(lower(coalesce(code, '')), @text) > 0 OR instr(lower(coalesce(reason, '')), @text) > 0
        OR instr(lower(events), @text) > 0)`,
      'text',
      // SQLite's lower() folds ASCII letters only: the needle is folded the same way.
      filter.text === undefined || filter.text === '' ? undefined : foldSearchText(filter.text),
    );
    add('id < @beforeId', 'beforeId', filter.beforeId);
    const sql = `SELECT * FROM delivery_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY id DESC LIMIT @limit`;
    const rows = this.db.prepare(sql).all(params) as Row[];
    return Promise.resolve(rows.map(toStored));
  }
}

/** `"purchase"` as it appears in the stored JSON array of event names. */
function eventNeedle(event: string | undefined): string | undefined {
  return event === undefined || event === '' ? undefined : JSON.stringify(event);
}

function toStored(r: Row): StoredDelivery {
  return {
    id: r.id,
    at: r.at,
    firstAt: r.first_at ?? r.at,
    ...(r.row_key === null ? {} : { key: r.row_key }),
    account: r.account,
    source: r.source,
    crmAccount: r.account_id,
    dealId: r.deal_id ?? String(r.lead_id),
    kind: upgradeKind(r.action),
    stageId: r.status_id === null ? null : String(r.status_id),
    jobId: r.job_id,
    destination: r.destination,
    outcome: r.outcome,
    code: r.code,
    reason: r.reason,
    events: JSON.parse(r.events) as string[],
    payload: r.payload === null ? null : (JSON.parse(r.payload) as unknown),
    attempts: r.attempts,
    ...(r.utm_source === null && r.utm_medium === null
      ? {}
      : { utm: { source: r.utm_source, medium: r.utm_medium } }),
  };
}
