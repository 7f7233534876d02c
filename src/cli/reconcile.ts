/**
 * `closeloop reconcile`: one reconciliation pass now, for every CRM of the account that has one
 * (amoCRM: deals updated since the cursor; Bitrix24: the stage history since the cursor), as the
 * service runs it every few minutes. What it finds is queued in the service's store and printed;
 * the service sends it, and nothing already sent is sent again (the ledger). The cursor moves on,
 * so the service's next pass starts where this one stopped.
 */
import type { Command } from 'commander';
import { errorMessage } from '../core/error-message';
import { isAppError } from '../core/errors';
import type { AccountConfig } from '../config/config-types';
import type { CrmChangeFeed } from '../ports/crm-change-feed';
import type { Store } from '../ports/store';
import { AmocrmChangeFeed } from '../adapters/crm/amocrm/amocrm-change-feed';
import { createAmocrmClient } from '../adapters/crm/amocrm/create-amocrm-client';
import { Bitrix24ChangeFeed } from '../adapters/crm/bitrix24/bitrix24-change-feed';
import { Reconciler } from '../worker/reconciler';
import { parseAccountName } from './cli-values';
import type { CliRun } from './cli-run';
import { bitrix24ClientOf } from './bitrix24-client-beside-service';
import { accountsOrReport, CONFIG_ARGUMENT, loadConfigOrReport } from './load-config-or-report';
import { openStoreBesideService } from './open-store-beside-service';

/** How far the first pass looks back when there is no cursor yet: one default interval. */
const FIRST_LOOK_BACK_MS = 10 * 60_000;

export function reconcileCommand(run: CliRun): Command {
  return run
    .command('reconcile')
    .summary('catch missed deal moves now: amoCRM and Bitrix24')
    .description(
      'Runs one reconciliation pass now, as the service does every few minutes: amoCRM deals updated ' +
        'since the last pass, Bitrix24 stage moves from its stage history since the last pass. What it ' +
        'finds is queued for the service and printed; nothing already sent is sent again.',
    )
    .argument('[config]', CONFIG_ARGUMENT)
    .option(
      '--account <name>',
      'only this account (default, or one under accounts:); all accounts when left out',
      run.value(parseAccountName),
    )
    .action(
      run.action('reconcile', (configPath: string | undefined, options: { account?: string }) =>
        reconcile(configPath, options.account, run),
      ),
    );
}

function feedsOf(
  account: AccountConfig,
  store: Store,
  run: CliRun,
): Array<[string, CrmChangeFeed]> {
  const feeds: Array<[string, CrmChangeFeed]> = [];
  const logger = {
    info: () => undefined,
    warn: (m: string) => run.io.err(m),
    error: (m: string) => run.io.err(m),
  };
  if (account.amocrm.api !== null) {
    const client = createAmocrmClient(account.amocrm.api, { store, logger });
    feeds.push(['amoCRM', new AmocrmChangeFeed(client)]);
  }
  if (account.bitrix24.rest !== null) {
    const client = bitrix24ClientOf(account.bitrix24.rest, run.io, store);
    feeds.push(['Bitrix24', new Bitrix24ChangeFeed(client, store.dealStages, account.name)]);
  }
  return feeds;
}

async function reconcile(
  configPath: string | undefined,
  only: string | undefined,
  run: CliRun,
): Promise<number> {
  const { io, env, cwd } = run;
  const config = loadConfigOrReport(io, env, cwd, configPath);
  if (config === null) return 1;
  const accounts = accountsOrReport(io, config, only);
  if (accounts === null) return 1;
  if (accounts.every((a) => a.amocrm.api === null && a.bitrix24.rest === null)) {
    io.err(
      'closeloop reconcile reads the CRM: set AMOCRM_SUBDOMAIN and AMOCRM_TOKEN for amoCRM, or BITRIX24_WEBHOOK_URL for Bitrix24.',
    );
    return 1;
  }
  const { store } = await openStoreBesideService({ env, cwd, configPath, create: true });
  let code = 0;
  let queued = 0;
  try {
    for (const account of accounts) {
      for (const [crm, feed] of feedsOf(account, store, run)) {
        const reconciler = new Reconciler({
          feed,
          account: account.name,
          queue: store.queue,
          settings: store,
          intervalMs: FIRST_LOOK_BACK_MS,
          logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
          now: Date.now,
        });
        try {
          const pass = await reconciler.runOnce();
          queued += pass.enqueued;
          io.out(
            `${crm} (account ${account.name}): ${pass.leads} read, ${pass.enqueued} ${pass.enqueued === 1 ? 'change' : 'changes'} queued`,
          );
          for (const f of pass.found) {
            io.out(
              `  deal ${f.dealId}  ${f.kind} → ${f.stageId ?? '?'}${f.outcome === null ? '' : ` (${f.outcome})`}`,
            );
          }
        } catch (e) {
          io.err(
            `${crm} (account ${account.name}): could not reconcile: ${errorMessage(e)}${isAppError(e) ? ` [${e.code}]` : ''}`,
          );
          code = 1;
        }
      }
    }
  } finally {
    await store.close();
  }
  if (queued > 0) {
    io.out('The service sends them (anything already sent is not sent again).');
  }
  return code;
}
