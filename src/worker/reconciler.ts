/**
 * Catches status changes whose webhook never arrived. amoCRM's staff say undelivered hooks are
 * retried, yet users report status hooks that never come (research amocrm.md §2): so every few
 * minutes closeloop asks the API for leads updated since the last check and puts each through the
 * rules as a status event. The ledger keeps anything already sent from being sent again, and the
 * job id keeps one lead state from being queued twice.
 *
 * The cursor (the newest `updated_at` seen) is stored, so a restart resumes where it stopped; the
 * first run looks back one interval only, not through the account's history.
 */
import type { LeadEvent } from '../core/lead';
import type { CrmAccount, CrmClient } from '../ports/crm-client';
import type { JobQueue } from '../ports/job-queue';
import type { Store } from '../ports/store';
import { errorMessage } from '../core/error-message';
import type { InboundJobPayload } from './job-payloads';
import type { WorkerLogger } from './worker-logger';

export interface ReconcilerDeps {
  /** `getAccount` gives the account id webhooks carry, so idempotency keys match theirs. */
  client: Pick<CrmClient, 'listLeadsUpdatedSince' | 'getAccount'>;
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
  /** At most this many pages (250 leads each) per run; the next run goes on from the cursor. */
  maxPagesPerRun?: number;
}

export interface ReconcileRun {
  leads: number;
  enqueued: number;
  cursor: number;
}

export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  private account: CrmAccount | null = null;

  constructor(private readonly deps: ReconcilerDeps) {}

  start(firstRunInMs = 5_000): void {
    const loop = (delay: number): void => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.running = this.runIfLeased()
          .catch((e: unknown) =>
            this.deps.logger.warn('reconciliation failed; next try at the next interval', {
              error: errorMessage(e),
            }),
          )
          .finally(() => {
            this.running = null;
            loop(this.deps.intervalMs);
          });
      }, delay);
    };
    loop(firstRunInMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
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
    const account = (this.account ??= await deps.client.getAccount());
    const cursorKey = `amocrm.reconcile.cursor.${account.id}`;
    const stored = await deps.settings.getSetting(cursorKey);
    const from =
      stored === null ? Math.floor((deps.now() - deps.intervalMs) / 1000) : Number(stored);
    let cursor = from;
    let leads = 0;
    let enqueued = 0;
    const maxPages = deps.maxPagesPerRun ?? 40;
    for (let page = 1; page <= maxPages; page++) {
      const result = await deps.client.listLeadsUpdatedSince(from, page);
      const jobs = result.leads
        .filter((lead) => lead.statusId !== null)
        .map((lead) => {
          const event: LeadEvent = {
            crm: 'amocrm',
            accountId: account.id,
            subdomain: account.subdomain,
            action: 'status',
            oldStatusId: null,
            oldPipelineId: null,
            occurredAt: lead.updatedAt,
            lead,
          };
          return {
            id: `reconcile:${lead.id}:${lead.statusId}:${lead.updatedAt ?? 0}`,
            payload: { event, receivedAt: deps.now() } satisfies InboundJobPayload,
          };
        });
      await deps.queue.add('inbound', jobs);
      leads += result.leads.length;
      enqueued += jobs.length;
      for (const lead of result.leads)
        if (lead.updatedAt !== null && lead.updatedAt > cursor) cursor = lead.updatedAt;
      if (!result.hasMore) break;
    }
    // `from` is inclusive: leads updated in the cursor's second are read again next time, which
    // the job ids and the ledger make harmless, and nothing updated in that second is missed.
    await deps.settings.setSetting(cursorKey, String(cursor));
    if (leads > 0) deps.logger.info('reconciliation', { leads, enqueued, since: from });
    return { leads, enqueued, cursor };
  }
}
