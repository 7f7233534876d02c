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
import { AMOCRM_SOURCE, toDealEvent } from './amocrm-lead';
import type { CrmAccount, CrmClient } from './crm-client';

export class AmocrmChangeFeed implements CrmChangeFeed {
  readonly name = AMOCRM_SOURCE;
  private account: CrmAccount | null = null;

  constructor(private readonly client: Pick<CrmClient, 'listLeadsUpdatedSince' | 'getAccount'>) {}

  private async getAccount(): Promise<CrmAccount> {
    this.account ??= await this.client.getAccount();
    return this.account;
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
          event: toDealEvent({
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
