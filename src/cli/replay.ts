/**
 * `closeloop replay`: failed deliveries, listed and sent again.
 *
 *   closeloop replay            list failed deliveries
 *   closeloop replay --all      replay every one
 *   closeloop replay <id> …     replay these
 *
 * A replay puts the original lead event back through the rules as they are now (so a fixed config
 * takes effect), then removes the failed delivery. The ledger still guarantees that nothing already
 * sent is sent again.
 */
import type { Command } from 'commander';
import type { InboundJobPayload } from '../ports/job-payloads';
import { AMOCRM_LEGACY_PAYLOADS } from '../adapters/crm/amocrm/legacy-payloads';
import type { CliRun } from './cli-run';
import { openStoreBesideService, STORE_HELP } from './open-store-beside-service';

const LIST_LIMIT = 10_000;

export function replayCommand(run: CliRun): Command {
  return run
    .command('replay')
    .summary('list failed deliveries, or send them again')
    .description(
      'Without arguments: lists failed deliveries and failed lead creations from site forms, newest first. ' +
        'With --all or ids: puts their lead events back through the rules as they are now (so a fixed ' +
        'config takes effect); the ledger still keeps anything already sent from being sent twice. ' +
        'Safe beside a running service, which picks them up within a second.',
    )
    .argument('[id...]', 'the ids of failed deliveries or lead creations, as listed')
    .option('--all', 'replay every failed delivery and lead creation')
    .addHelpText('after', STORE_HELP)
    .action(
      run.action('replay', (ids: string[], options: { all?: boolean }) =>
        replay(ids, options.all === true, run),
      ),
    );
}

async function replay(ids: string[], all: boolean, { io, env, cwd }: CliRun): Promise<number> {
  const { store } = await openStoreBesideService({ env, cwd });
  try {
    // Jobs of an earlier version are read as today's (legacy-payloads.ts).
    const failed = (await store.queue.listFailed('deliver', LIST_LIMIT)).map((f) => ({
      ...f,
      payload: AMOCRM_LEGACY_PAYLOADS.delivery(f.payload),
    }));
    // Lead creations from site forms: their payload holds the visitor's name and phone, so only
    // ids, times and errors are printed.
    const failedLeads = await store.queue.listFailed('create_lead', LIST_LIMIT);
    if (ids.length === 0 && !all) {
      if (failed.length === 0 && failedLeads.length === 0) {
        io.out('No failed deliveries.');
        return 0;
      }
      if (failed.length > 0) {
        io.out(
          `${failed.length} failed deliver${failed.length === 1 ? 'y' : 'ies'} (newest first):`,
        );
        for (const f of failed) {
          const events = f.payload.conversions.map((c) => c.event.name).join(', ');
          io.out(
            `  ${f.id}  ${new Date(f.failedAt).toISOString()}  ${f.payload.deal.source} deal ${f.payload.deal.dealId}  ${events}`,
          );
          io.out(`      ${f.error ?? ''}`);
        }
      }
      if (failedLeads.length > 0) {
        io.out(
          `${failedLeads.length} failed lead creation${failedLeads.length === 1 ? '' : 's'} from site forms (newest first):`,
        );
        for (const f of failedLeads) {
          io.out(`  ${f.id}  ${new Date(f.failedAt).toISOString()}`);
          io.out(`      ${f.error ?? ''}`);
        }
      }
      io.out('\nReplay them with `closeloop replay --all`, or one with `closeloop replay <id>`.');
      return 0;
    }
    const wanted = all ? failed : failed.filter((f) => ids.includes(f.id));
    const wantedLeads = all ? failedLeads : failedLeads.filter((f) => ids.includes(f.id));
    const known = (a: string): boolean =>
      failed.some((f) => f.id === a) || failedLeads.some((f) => f.id === a);
    const unknown = ids.filter((a) => !known(a));
    for (const id of unknown) io.err(`no failed delivery with id ${id}`);
    if (wanted.length === 0 && wantedLeads.length === 0) {
      io.out('Nothing to replay.');
      return unknown.length > 0 ? 1 : 0;
    }
    const now = Date.now();
    // Enqueue first, remove second: a crash in between leaves a duplicate job, which the ledger
    // makes harmless, never a lost one.
    await store.queue.add<InboundJobPayload>(
      'inbound',
      wanted.map((f) => ({ id: `replay:${f.id}:${now}`, payload: f.payload.origin })),
    );
    const removed = await store.queue.removeFailed(
      'deliver',
      wanted.map((f) => f.id),
    );
    // A lead creation is tried again as it was: nothing was created when it failed for good.
    const leads =
      wantedLeads.length === 0
        ? 0
        : await store.queue.retryFailed(
            'create_lead',
            wantedLeads.map((f) => f.id),
          );
    const parts = [
      removed > 0 ? `${removed} deliver${removed === 1 ? 'y' : 'ies'}` : null,
      leads > 0 ? `${leads} lead creation${leads === 1 ? '' : 's'}` : null,
    ].filter(Boolean);
    io.out(`Replaying ${parts.join(' and ')}; a running closeloop picks them up within a second.`);
    return unknown.length > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}
