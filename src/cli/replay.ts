/**
 * `closeloop replay`: failed deliveries, listed and sent again.
 *
 *   closeloop replay                 list failed deliveries
 *   closeloop replay --all           replay every one
 *   closeloop replay <id> …          replay these
 *   closeloop replay --arrived <id>  an uncertain one reached GA4: record it as sent, stop listing it
 *
 * A replay puts the original lead event back through the rules as they are now (so a fixed config
 * takes effect), then removes the failed delivery. The ledger still guarantees that nothing already
 * sent is sent again. Conversions held as uncertain (an interrupted send) are released first: the
 * person replaying is the one deciding that they go.
 */
import type { Command } from 'commander';
import {
  FAILED_LIST_LIMIT,
  listFailedDeliveries,
  replayFailed,
  settleUncertain,
} from '../replay-failed';
import type { CliRun } from './cli-run';
import { openStoreBesideService, STORE_HELP } from './open-store-beside-service';

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
    .option(
      '--arrived',
      'for uncertain deliveries (DELIVERY_UNCERTAIN) you found in GA4: record them as sent, never send them again, stop listing them',
    )
    .addHelpText('after', STORE_HELP)
    .action(
      run.action('replay', (ids: string[], options: { all?: boolean; arrived?: boolean }) =>
        options.arrived ? arrived(ids, run) : replay(ids, options.all === true, run),
      ),
    );
}

/** `--arrived`: a person saw these uncertain deliveries in GA4. */
async function arrived(ids: string[], { io, env, cwd }: CliRun): Promise<number> {
  if (ids.length === 0) {
    io.err('name the uncertain deliveries that arrived: closeloop replay --arrived <id> …');
    return 2;
  }
  const { store } = await openStoreBesideService({ env, cwd });
  try {
    const failed = await listFailedDeliveries(store);
    const wanted = failed.filter((f) => ids.includes(f.id));
    for (const id of ids.filter((a) => !wanted.some((f) => f.id === a))) {
      io.err(`no failed delivery with id ${id}`);
    }
    const now = Date.now();
    const settled = await settleUncertain(store, wanted, 'sent', now);
    const removed = await store.queue.removeFailed(
      'deliver',
      wanted.map((f) => f.id),
    );
    io.out(
      `${settled} uncertain conversion${settled === 1 ? '' : 's'} recorded as sent; ${removed} deliver${removed === 1 ? 'y' : 'ies'} no longer listed.`,
    );
    return wanted.length === ids.length ? 0 : 1;
  } finally {
    await store.close();
  }
}

async function replay(ids: string[], all: boolean, { io, env, cwd }: CliRun): Promise<number> {
  const { store } = await openStoreBesideService({ env, cwd });
  try {
    const failed = await listFailedDeliveries(store);
    // Lead creations from site forms: their payload holds the visitor's name and phone, so only
    // ids, times and errors are printed.
    const failedLeads = await store.queue.listFailed('create_lead', FAILED_LIST_LIMIT);
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
    const { removed, released, leads } = await replayFailed(store, wanted, wantedLeads, Date.now());
    const parts = [
      removed > 0 ? `${removed} deliver${removed === 1 ? 'y' : 'ies'}` : null,
      leads > 0 ? `${leads} lead creation${leads === 1 ? '' : 's'}` : null,
    ].filter(Boolean);
    io.out(`Replaying ${parts.join(' and ')}; a running closeloop picks them up within a second.`);
    if (released > 0) {
      io.out(
        `${released} conversion${released === 1 ? ' was' : 's were'} held as uncertain (an interrupted send) and will be sent now.`,
      );
    }
    return unknown.length > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}
