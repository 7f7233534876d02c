/**
 * `closeloop deliveries`: the delivery log, newest first — what was sent, skipped and why, failed
 * and why. The first place to look when a deal is not in GA4.
 *
 *   closeloop deliveries [--lead <id>] [--outcome sent|dry_run|skipped|duplicate|retrying|failed]
 *                        [--limit <n>] [--json]
 */
import type { DeliveryOutcome } from '../ports/delivery-log';
import type { CliIo } from './cli-io';
import { openStoreBesideService } from './open-store-beside-service';

const OUTCOMES: readonly DeliveryOutcome[] = [
  'sent',
  'dry_run',
  'skipped',
  'duplicate',
  'retrying',
  'failed',
];
const USAGE =
  'usage: closeloop deliveries [--lead <id>] [--outcome sent|dry_run|skipped|duplicate|retrying|failed] [--limit <n>] [--json]';

export async function runDeliveries(
  args: string[],
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const opts: { leadId?: number; outcome?: DeliveryOutcome; limit: number; json: boolean } = {
    limit: 50,
    json: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = args[i + 1];
    if (a === '--json') {
      opts.json = true;
    } else if (a === '--lead' && v && /^\d+$/.test(v)) {
      opts.leadId = Number(v);
      i++;
    } else if (a === '--limit' && v && /^\d+$/.test(v)) {
      opts.limit = Number(v);
      i++;
    } else if (a === '--outcome' && v && (OUTCOMES as string[]).includes(v)) {
      opts.outcome = v as DeliveryOutcome;
      i++;
    } else if (a === '--help' || a === '-h') {
      io.out(USAGE);
      return 0;
    } else {
      io.err(`unexpected argument "${a}"\n${USAGE}`);
      return 2;
    }
  }
  const store = await openStoreBesideService(env);
  try {
    const rows = await store.deliveryLog.list({
      leadId: opts.leadId,
      outcome: opts.outcome,
      limit: opts.limit,
    });
    if (opts.json) {
      for (const r of rows) io.out(JSON.stringify(r));
      return 0;
    }
    if (rows.length === 0) {
      io.out('The delivery log has no matching rows.');
      return 0;
    }
    for (const r of rows) {
      const events = r.events.length ? r.events.join(', ') : '-';
      io.out(
        `${new Date(r.at).toISOString()}  lead ${r.leadId}  ${r.action}${r.statusId === null ? '' : ` → ${r.statusId}`}  ${r.outcome.toUpperCase()}  ${events}` +
          (r.code ? `  [${r.code}]` : ''),
      );
      if (r.reason) io.out(`    ${r.reason}`);
    }
    return 0;
  } finally {
    await store.close();
  }
}
