/**
 * amoCRM as a CrmChangeFeed: leads updated since the cursor (`GET /api/v4/leads` by `updated_at`),
 * each as a `stage_changed` event for the stage it is in now. amoCRM's staff say undelivered hooks
 * are retried, yet users report status hooks that never come (research amocrm.md §2).
 *
 * The cursor is the newest `updated_at` seen, in seconds, with the leads already queued in that
 * second (`1699999700 3:555,4:142`: lead id and status). `from` is inclusive, so that nothing
 * updated later in the cursor's second is missed; the leads listed with it are skipped when they
 * come back in the same state, so that one state of one lead is queued once, not on every run
 * (issue 12: the job id alone did not keep it out once its job was done and gone). A cursor of
 * before, a bare second, reads as one with nothing seen. The account id comes from
 * `GET /api/v4/account`, so the events' keys equal those of webhooks carrying `account[id]`.
 */
import type { CrmChangeFeed, FeedChange, FeedPage } from '../../../ports/crm-change-feed';
import type { DealEvent } from '../../../core/deal';
import { AMOCRM_SOURCE, toDealEvent, type LeadEvent } from './amocrm-lead';
import { AmocrmAccount } from './amocrm-account';
import type { CrmAccount, CrmClient } from './crm-client';

export class AmocrmChangeFeed implements CrmChangeFeed {
  readonly name = AMOCRM_SOURCE;

  constructor(
    private readonly client: Pick<CrmClient, 'listLeadsUpdatedSince' | 'getAccount'>,
    /** Shared with the account's webhook intake and CRM source; read once. */
    private readonly account: Pick<AmocrmAccount, 'getAccount'> = new AmocrmAccount(null, client),
  ) {}

  private getAccount(): Promise<CrmAccount> {
    return this.account.getAccount();
  }

  /** As it was before the deal model, so an upgraded closeloop resumes where it stopped. */
  async cursorKey(): Promise<string> {
    return `amocrm.reconcile.cursor.${(await this.getAccount()).id}`;
  }

  async changesSince(
    cursor: string | null,
    options: { nowMs: number; lookBackMs: number; maxPages: number },
  ): Promise<FeedPage> {
    const account = await this.getAccount();
    const { from, seen } =
      cursor === null
        ? { from: Math.floor((options.nowMs - options.lookBackMs) / 1000), seen: new Set<string>() }
        : readCursor(cursor);
    let newest = from;
    let seenAtNewest = new Set(seen);
    let read = 0;
    const changes: FeedChange[] = [];
    for (let page = 1; page <= options.maxPages; page++) {
      const result = await this.client.listLeadsUpdatedSince(from, page);
      for (const lead of result.leads) {
        const state = `${lead.id}:${lead.statusId ?? ''}`;
        if (lead.updatedAt === from && seen.has(state)) continue; // queued by an earlier run
        read++;
        if (lead.updatedAt !== null && lead.updatedAt > newest) {
          newest = lead.updatedAt;
          seenAtNewest = new Set();
        }
        if (lead.updatedAt === newest && seenAtNewest.size < MAX_SEEN) seenAtNewest.add(state);
        if (lead.statusId === null) continue;
        changes.push({
          jobId: `reconcile:${lead.id}:${lead.statusId}:${lead.updatedAt ?? 0}`,
          // Read through the API just now: the CRM source need not read it again.
          event: withLookup({
            crm: 'amocrm',
            accountId: account.id,
            subdomain: account.subdomain,
            action: 'status',
            oldStatusId: null,
            oldPipelineId: null,
            occurredAt: lead.updatedAt,
            lead,
          }),
        });
      }
      if (!result.hasMore) break;
    }
    return { changes, cursor: writeCursor(newest, seenAtNewest), read };
  }
}

/**
 * At most this many leads are remembered with the cursor's second: a bulk edit of thousands in
 * one second is read again on the next run, which the ledger makes harmless.
 */
const MAX_SEEN = 1000;

const CURSOR = /^(\d+)(?: ((?:\d+:\d*)(?:,\d+:\d*)*))?$/;

/** `1699999700` or `1699999700 3:555,4:142`; anything else starts from its leading number. */
export function readCursor(cursor: string): { from: number; seen: Set<string> } {
  const m = CURSOR.exec(cursor.trim());
  if (m === null) return { from: Number.parseInt(cursor, 10) || 0, seen: new Set() };
  return { from: Number(m[1]), seen: new Set(m[2] === undefined ? [] : m[2].split(',')) };
}

export function writeCursor(at: number, seen: ReadonlySet<string>): string {
  return seen.size === 0 ? String(at) : `${at} ${[...seen].join(',')}`;
}

function withLookup(event: LeadEvent): DealEvent {
  return { ...toDealEvent(event), lookup: 'read' };
}
