/**
 * amoCRM as a CrmChangeFeed: leads updated since the cursor (`GET /api/v4/leads` by `updated_at`),
 * each as a `stage_changed` event for the stage it is in now. amoCRM's staff say undelivered hooks
 * are retried, yet users report status hooks that never come (research amocrm.md §2).
 *
 * The cursor is the newest `updated_at` seen, in seconds. `from` is inclusive: leads updated in
 * the cursor's second are read again next time, which the job ids and the ledger make harmless,
 * and nothing updated in that second is missed. The account id comes from `GET /api/v4/account`,
 * so the events' keys equal those of webhooks carrying `account[id]`.
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
    const from =
      cursor === null ? Math.floor((options.nowMs - options.lookBackMs) / 1000) : Number(cursor);
    let newest = from;
    let read = 0;
    const changes: FeedChange[] = [];
    for (let page = 1; page <= options.maxPages; page++) {
      const result = await this.client.listLeadsUpdatedSince(from, page);
      read += result.leads.length;
      for (const lead of result.leads) {
        if (lead.updatedAt !== null && lead.updatedAt > newest) newest = lead.updatedAt;
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
    return { changes, cursor: String(newest), read };
  }
}

function withLookup(event: LeadEvent): DealEvent {
  return { ...toDealEvent(event), lookup: 'read' };
}
