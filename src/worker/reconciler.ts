/**
 * Catches deal changes whose webhook never arrived: every few minutes the account's change feed
 * (src/ports/crm-change-feed.ts) lists deals changed since the stored cursor, and each goes
 * through the rules like a webhook. The ledger keeps anything already sent from being sent again,
 * and the change's job id keeps one change from being queued twice.
 *
 * The cursor is stored, so a restart resumes where it stopped; the first run looks back one
 * interval only, not through the account's history. However many workers run, one of them
 * reconciles per interval (the lease).
 */
import { errorMessage } from '../core/error-message';
import type { CrmChangeFeed } from '../ports/crm-change-feed';
import type { JobQueue } from '../ports/job-queue';
import type { Store } from '../ports/store';
import type { InboundJobPayload } from '../ports/job-payloads';
import type { WorkerLogger } from './worker-logger';
import { every, type Periodic } from './every';

export interface ReconcilerDeps {
  feed: CrmChangeFeed;
  /** The closeloop account the feed's deals belong to. */
  account: string;
  queue: JobQueue;
  settings: Pick<Store, 'getSetting' | 'setSetting'>;
  intervalMs: number;
  /**
   * Takes the run's lease for `ms` across every process sharing the store; false when another
   * process took it this interval (then this one skips the run). Absent: always run.
   */
  lease?: (ms: number) => Promise<boolean>;
  logger: WorkerLogger;
  now: () => number;
  /** At most this many API pages per run; the next run goes on from the cursor. */
  maxPagesPerRun?: number;
}

export interface ReconcileRun {
  /** Deals read. */
  leads: number;
  enqueued: number;
  cursor: string;
  /** What was queued, for `closeloop reconcile` to print. */
  found: Array<{ dealId: string; kind: string; stageId: string | null; outcome: string | null }>;
}

export class Reconciler {
  private periodic: Periodic | null = null;

  constructor(private readonly deps: ReconcilerDeps) {}

  start(firstRunInMs = 5_000): void {
    this.periodic = every(
      { firstInMs: firstRunInMs, intervalMs: this.deps.intervalMs },
      () => this.runIfLeased(),
      (e) =>
        this.deps.logger.warn('reconciliation failed; next try at the next interval', {
          source: this.deps.feed.name,
          account: this.deps.account,
          error: errorMessage(e),
        }),
    );
  }

  async stop(): Promise<void> {
    await this.periodic?.stop();
  }

  /** One run, unless another process holds this interval's lease. */
  private async runIfLeased(): Promise<ReconcileRun | null> {
    // A little shorter than the interval, so the next interval's holder is free to take it.
    const lease = this.deps.lease;
    if (lease && !(await lease(Math.max(1, this.deps.intervalMs - 1000)))) return null;
    return this.runOnce();
  }

  async runOnce(): Promise<ReconcileRun> {
    const { deps } = this;
    const cursorKey = await deps.feed.cursorKey();
    const stored = await deps.settings.getSetting(cursorKey);
    const page = await deps.feed.changesSince(stored, {
      nowMs: deps.now(),
      lookBackMs: deps.intervalMs,
      maxPages: deps.maxPagesPerRun ?? 40,
    });
    const receivedAt = deps.now();
    // In pieces of a page: one add of thousands of jobs would outlast the queue's add deadline.
    for (let i = 0; i < page.changes.length; i += 250) {
      await deps.queue.add<InboundJobPayload>(
        'inbound',
        page.changes.slice(i, i + 250).map((c) => ({
          id: c.jobId,
          payload: { v: 2, account: deps.account, event: c.event, receivedAt },
        })),
      );
    }
    await deps.settings.setSetting(cursorKey, page.cursor);
    if (page.read > 0) {
      deps.logger.info('reconciliation', {
        source: deps.feed.name,
        account: deps.account,
        leads: page.read,
        enqueued: page.changes.length,
        since: stored,
      });
    }
    return {
      leads: page.read,
      enqueued: page.changes.length,
      cursor: page.cursor,
      found: page.changes.map(({ event }) => ({
        dealId: event.deal.id,
        kind: event.kind,
        stageId: event.deal.stageId,
        outcome: event.deal.outcome,
      })),
    };
  }
}
