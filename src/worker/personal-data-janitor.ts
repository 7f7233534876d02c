/**
 * Removes what the store keeps of people once it is no longer needed. A lead from a site form
 * holds the visitor's name, phone and email in its `create_lead` job: the job is deleted when the
 * lead exists in the CRM; one that failed for good stays, so that `closeloop replay` can try it
 * again, for `lead_intake.keep_personal_data_days` after it failed, then is deleted with its data.
 * (The delivery log's row of the failure never held them.)
 *
 * Hourly, and a minute after the start; one process per interval on Redis (the lease). Each pass
 * looks at the newest 10,000 failed lead creations (the queue lists newest first).
 */
import { errorMessage } from '../core/error-message';
import type { JobQueue } from '../ports/job-queue';
import { every, type Periodic } from './every';
import type { WorkerLogger } from './worker-logger';

export interface JanitorDeps {
  queue: JobQueue;
  keepMs: number;
  lease: (ms: number) => Promise<boolean>;
  logger: WorkerLogger;
  now: () => number;
}

const INTERVAL_MS = 3_600_000;
const BATCH = 10_000;

/** One pass: deletes failed lead creations older than `keepMs`; returns how many. */
export async function forgetOldLeads(deps: Omit<JanitorDeps, 'lease'>): Promise<number> {
  const before = deps.now() - deps.keepMs;
  let removed = 0;
  for (;;) {
    const old = (await deps.queue.listFailed('create_lead', BATCH)).filter(
      (f) => f.failedAt < before,
    );
    if (old.length === 0) break;
    removed += await deps.queue.removeFailed(
      'create_lead',
      old.map((f) => f.id),
    );
    if (old.length < BATCH) break;
  }
  if (removed > 0) {
    deps.logger.info('personal data removed: failed lead creations past their keeping time', {
      removed,
      keptDays: Math.round(deps.keepMs / 86_400_000),
    });
  }
  return removed;
}

export function startPersonalDataJanitor(deps: JanitorDeps, firstInMs = 60_000): Periodic {
  return every(
    { firstInMs, intervalMs: INTERVAL_MS },
    async () => {
      if (await deps.lease(INTERVAL_MS - 60_000)) await forgetOldLeads(deps);
    },
    (e) =>
      deps.logger.warn('removing old lead data failed; next try in an hour', {
        error: errorMessage(e),
      }),
  );
}
