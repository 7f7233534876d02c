/**
 * `closeloop deliveries`: the delivery log, newest first — what was sent, skipped and why, failed
 * and why. The first place to look when a deal is not in GA4. With `--deal`, first what revenue
 * each destination counts for the deal (its purchase, amount, and whether it was refunded).
 *
 *   closeloop deliveries [--deal <id>] [--account <name>] [--destination <id>]
 *                        [--outcome sent|dry_run|skipped|duplicate|retrying|failed|uncertain]
 *                        [--since <when>] [--until <when>] [--limit <n>] [--json] [--counts]
 *
 * Reads the store the service uses and never creates one (open-store-beside-service.ts).
 */
import type { Command } from 'commander';
import {
  DELIVERY_OUTCOMES,
  type DeliveryOutcome,
  type DeliveryRecord,
  type StoredDelivery,
} from '../ports/delivery-log';
import type { StoredRevenue } from '../ports/revenue-ledger';
import type { QueueStop } from '../ports/conversion-outbox';
import type { CliRun } from './cli-run';
import {
  OUTCOMES,
  parseAccountName,
  parseDealId,
  parseMoment,
  parseOutcome,
  parseRowCount,
} from './cli-values';
import { openStoreBesideService, STORE_HELP } from './open-store-beside-service';

interface DeliveriesOptions {
  deal?: string;
  lead?: string;
  account?: string;
  destination?: string;
  outcome?: DeliveryOutcome;
  since?: number;
  until?: number;
  limit: number;
  json?: boolean;
  counts?: boolean;
}

export function deliveriesCommand(run: CliRun): Command {
  return run
    .command('deliveries')
    .summary('the delivery log: sent, skipped and why, failed and why')
    .description(
      'The delivery log, newest first: what was sent to GA4, what was skipped and why, what failed and why. ' +
        'The first place to look when a deal is not in GA4.',
    )
    .option('--deal <id>', 'only this deal (its id in the CRM)', run.value(parseDealId))
    .option(
      '--lead <id>',
      'the same as --deal (the name it had for amoCRM leads)',
      run.value(parseDealId),
    )
    .option(
      '--account <name>',
      'only this account (default, or one under accounts:)',
      run.value(parseAccountName),
    )
    .option(
      '--outcome <outcome>',
      `only this outcome: ${OUTCOMES.join(', ')}`,
      run.value(parseOutcome),
    )
    .option('--destination <id>', 'only this destination (ga4, or <account>/ga4)')
    .option(
      '--since <when>',
      'only rows first written since then: how long ago (30m, 12h, 7d) or a date (2026-12-01)',
      run.value((v) => parseMoment(v)),
    )
    .option(
      '--until <when>',
      'only rows first written before then (the same forms as --since)',
      run.value((v) => parseMoment(v)),
    )
    .option('--limit <n>', 'at most this many rows', run.value(parseRowCount), 50)
    .option('--json', 'one JSON object per line, for scripts')
    .option(
      '--counts',
      'the number of deliveries in each outcome, ever (pruned rows included); ignores the filters',
    )
    .addHelpText('after', STORE_HELP)
    .action(run.action('deliveries', (options: DeliveriesOptions) => listDeliveries(options, run)));
}

async function listDeliveries(opts: DeliveriesOptions, { io, env, cwd }: CliRun): Promise<number> {
  const { store } = await openStoreBesideService({ env, cwd });
  try {
    if (opts.counts) {
      const counts = await store.deliveryLog.counts();
      if (opts.json) io.out(JSON.stringify(counts));
      else for (const o of DELIVERY_OUTCOMES) io.out(`${o.padEnd(10)} ${counts[o]}`);
      return 0;
    }
    const rows = await store.deliveryLog.list({
      dealId: opts.deal ?? opts.lead,
      account: opts.account,
      destination: opts.destination,
      outcome: opts.outcome,
      since: opts.since,
      until: opts.until,
      limit: opts.limit,
    });
    if (opts.json) {
      for (const r of rows) io.out(JSON.stringify(r));
      return 0;
    }
    for (const line of describeStops(await store.outbox.stops(), opts.destination)) io.out(line);
    const dealId = opts.deal ?? opts.lead;
    if (dealId !== undefined) {
      const revenue = (await store.revenue.listByDeal(dealId)).filter(
        (r) => opts.destination === undefined || r.destination === opts.destination,
      );
      for (const line of describeRevenue(dealId, revenue)) io.out(line);
    }
    if (rows.length === 0) {
      io.out('The delivery log has no matching rows.');
      return 0;
    }
    for (const r of rows) {
      const events = r.events.length ? r.events.join(', ') : '-';
      io.out(
        `${new Date(r.at).toISOString()}  ${describeDeal(r)}  ${r.outcome.toUpperCase()}  ${events}` +
          (r.code ? `  [${r.code}]` : '') +
          attemptsNote(r),
      );
      if (r.reason) io.out(`    ${r.reason}`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** Upload queues stopped by a refusal (a Metrica counter's), first: nothing goes out until resumed. */
export function describeStops(stops: readonly QueueStop[], destination?: string): string[] {
  const shown = stops.filter((q) => destination === undefined || q.queue === destination);
  if (shown.length === 0) return [];
  return [
    ...shown.flatMap((q) => [
      `STOPPED: the upload queue of ${q.queue} (counter ${q.target}) since ${new Date(q.at).toISOString()}: ${q.reason}`,
      `    after fixing it: closeloop metrica resume --counter ${q.target}`,
    ]),
    '',
  ];
}

/**
 * What each destination counts for the deal (src/ports/revenue-ledger.ts), before its rows:
 * `ga4  amocrm deal 4711  purchase 4711-2  120000 RUB  sent 2026-12-01T10:00:00.000Z  counted`.
 */
export function describeRevenue(dealId: string, records: readonly StoredRevenue[]): string[] {
  if (records.length === 0) return [];
  return [
    `Revenue sent for deal ${dealId}:`,
    ...records.map((r) => {
      const state =
        r.state === 'sent'
          ? 'counted'
          : r.state === 'reopened'
            ? 'counted; the deal was out of won since'
            : `refunded ${new Date(r.updatedAt).toISOString()}`;
      return `  ${r.destination}  ${r.source} deal ${r.dealId}  purchase ${r.transactionId}  ${r.amount} ${r.currency}  sent ${new Date(r.sentAt).toISOString()}  ${state}`;
    }),
    '',
  ];
}

/** `amocrm deal 4711  stage → 142`, with the account in front when it is not the default. */
export function describeDeal(r: DeliveryRecord): string {
  const kind = r.kind === 'stage_changed' ? 'stage' : r.kind;
  const account = r.account === 'default' ? '' : `${r.account}: `;
  return `${account}${r.source} deal ${r.dealId}  ${kind}${r.stageId === null ? '' : ` → ${r.stageId}`}`;
}

/** `  (3 attempts since 10:00:05Z)` for a row retried; nothing for a row written once. */
function attemptsNote(r: StoredDelivery): string {
  if (r.attempts <= 1) return '';
  const since = r.firstAt === r.at ? '' : ` since ${new Date(r.firstAt).toISOString()}`;
  return `  (${r.attempts} attempts${since})`;
}
