/**
 * Gathers lead look-ups into `GET /api/v4/leads?filter[id][]=…` calls of up to 250 ids.
 *
 * amoCRM allows about 7 requests per second and blocks accounts that keep exceeding it (research
 * amocrm.md §5), while a busy pipeline can send hundreds of field-less webhooks in a second. Each
 * look-up waits at most `windowMs` for others to join it; a full batch goes at once. Several
 * batches may be in flight together; the client's rate limiter paces them.
 */
import type { LeadSnapshot } from './amocrm-lead';
import type { CrmClient } from './crm-client';

/** The API's page size: `limit` is at most 250 (research §3.1, §5). */
export const MAX_IDS_PER_CALL = 250;

interface Waiter {
  resolve: (lead: LeadSnapshot | null) => void;
  reject: (e: unknown) => void;
}

export class LeadBatcher {
  private pending = new Map<number, Waiter[]>();
  private timer: NodeJS.Timeout | null = null;
  /** Calls made, for the benchmark and metrics. */
  calls = 0;

  constructor(
    private readonly client: Pick<CrmClient, 'getLeads'>,
    private readonly windowMs: number,
  ) {}

  /** The lead as the API has it now, or null when it does not exist (deleted). */
  load(id: number): Promise<LeadSnapshot | null> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(id);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(id, [{ resolve, reject }]);
      if (this.pending.size >= MAX_IDS_PER_CALL) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = new Map();
    if (batch.size === 0) return;
    this.calls++;
    this.client.getLeads([...batch.keys()]).then(
      (leads) => {
        const byId = new Map(leads.map((l) => [l.id, l]));
        for (const [id, waiters] of batch) {
          for (const w of waiters) w.resolve(byId.get(id) ?? null);
        }
      },
      (e: unknown) => {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(e);
      },
    );
  }
}
