/**
 * Gathers deal and lead reads into `batch` requests of up to 50 `crm.deal.get` / `crm.lead.get`
 * commands (research bitrix24.md §4.3): the bucket counts HTTP requests, so 50 deals cost one
 * request of the portal's 2 a second. A read waits at most `windowMs` for others to join it; a
 * full batch goes at once. Several batches may be in flight together; the client's limiter paces
 * them.
 *
 * A command's own error: "Not found" (an empty code, or NOT_FOUND, §3.6) is a deleted record and
 * reads as null; "Access denied" means the webhook's user cannot see the deal (§2.4), for the
 * operator; a limit is retryable; anything else is Bitrix24 refusing the call.
 */
import { AppError, AuthError, RetryableError } from '../../../core/errors';
import { batchCommand, MAX_BATCH, type Bitrix24Client } from './bitrix24-client';
import type { EntityKind } from './bitrix24-deal';
import type { B24Deal, B24Lead } from './bitrix24-types';

type B24Record = B24Deal | B24Lead;

interface Waiter {
  resolve: (record: B24Record | null) => void;
  reject: (e: unknown) => void;
}

const METHOD: Readonly<Record<EntityKind, string>> = {
  deal: 'crm.deal.get',
  lead: 'crm.lead.get',
};

export class RecordBatcher {
  private pending = new Map<string, { kind: EntityKind; id: string; waiters: Waiter[] }>();
  private timer: NodeJS.Timeout | null = null;
  /** Batches sent, for the benchmark. */
  batches = 0;

  constructor(
    private readonly client: Pick<Bitrix24Client, 'batch'>,
    private readonly windowMs: number,
  ) {}

  loadDeal(id: string): Promise<B24Deal | null> {
    return this.load('deal', id);
  }

  loadLead(id: string): Promise<B24Lead | null> {
    return this.load('lead', id);
  }

  private load(kind: EntityKind, id: string): Promise<B24Record | null> {
    return new Promise((resolve, reject) => {
      const key = `${kind === 'deal' ? 'd' : 'l'}${id}`;
      const entry = this.pending.get(key);
      if (entry) entry.waiters.push({ resolve, reject });
      else this.pending.set(key, { kind, id, waiters: [{ resolve, reject }] });
      if (this.pending.size >= MAX_BATCH) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = new Map();
    if (batch.size === 0) return;
    this.batches++;
    const commands = Object.fromEntries(
      [...batch].map(([key, e]) => [key, batchCommand(METHOD[e.kind], { id: e.id })]),
    );
    this.client.batch(commands).then(
      (answer) => {
        const results = Array.isArray(answer.result) ? {} : answer.result;
        const errors = Array.isArray(answer.result_error) ? {} : answer.result_error;
        const times =
          answer.result_time === undefined || Array.isArray(answer.result_time)
            ? {}
            : answer.result_time;
        for (const [key, entry] of batch) {
          const error = errors[key];
          const record = results[key];
          for (const w of entry.waiters) {
            if (error !== undefined) {
              const e = commandError(`${METHOD[entry.kind]}(${entry.id})`, error, times[key]);
              if (e === null) w.resolve(null);
              else w.reject(e);
            } else if (typeof record === 'object' && record !== null && 'ID' in record) {
              w.resolve(record as B24Record);
            } else {
              w.resolve(null);
            }
          }
        }
      },
      (e: unknown) => {
        for (const entry of batch.values()) for (const w of entry.waiters) w.reject(e);
      },
    );
  }
}

/** A batch command's error as what it means; null for "not found" (§3.6). */
export function commandError(
  what: string,
  error: { error?: string; error_description?: string },
  /** The command's `result_time`: `operating_reset_at` says when a held method is free (§4.2). */
  time?: { operating_reset_at?: number },
  nowMs = Date.now(),
): AppError | null {
  const code = error.error ?? '';
  const description = error.error_description ?? '';
  if (code === 'NOT_FOUND' || /not found/i.test(description)) return null;
  const said = `${code}${code && description ? ': ' : ''}${description}`.slice(0, 200);
  if (code === 'QUERY_LIMIT_EXCEEDED' || code === 'OPERATION_TIME_LIMIT') {
    const resetAt = time?.operating_reset_at;
    return new RetryableError('BITRIX24_UNAVAILABLE', `Bitrix24 answered ${what} ${said}`, {
      // Without operating_reset_at (optional, §4.2), a minute: the oldest one-minute bucket.
      retryAfterMs: typeof resetAt === 'number' ? Math.max(1000, resetAt * 1000 - nowMs) : 60_000,
    });
  }
  if (code === 'ACCESS_DENIED' || /access denied/i.test(description)) {
    return new AuthError(
      'BITRIX24_AUTH',
      `Bitrix24 answered ${what} ${said}: the incoming webhook's user cannot see it (create the webhook as an administrator or a user who sees every deal)`,
    );
  }
  return new AppError('BITRIX24_REQUEST_REJECTED', `Bitrix24 refused ${what}: ${said}`);
}
