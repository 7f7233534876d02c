/**
 * Part of the composition root (with main.ts): each account of the config as the concrete adapters
 * that serve it. Its webhook routes (amoCRM always; the signed intake when configured), its
 * destinations (GA4), its CRM sources (amoCRM, completing deals through the API when it has
 * access), its lead writer and change feed, and its rules with pipeline and stage names resolved.
 */
import type winston from 'winston';
import type { Rule } from './core/config-types';
import { AppError, ConfigError } from './core/errors';
import { errorMessage } from './core/error-message';
import { hasRuleNames, resolveRuleNames } from './core/resolve-rule-names';
import type { AccountConfig, CloseloopConfig } from './config/config-types';
import type { CrmChangeFeed } from './ports/crm-change-feed';
import type { CrmLeadWriter } from './ports/crm-lead-writer';
import type { CrmSource } from './ports/crm-source';
import type { Destination } from './ports/destination';
import type { Store } from './ports/store';
import type { AmocrmClient } from './adapters/crm/amocrm/amocrm-client';
import { createAmocrmClient } from './adapters/crm/amocrm/create-amocrm-client';
import { AmocrmCrmSource } from './adapters/crm/amocrm/amocrm-crm-source';
import { AmocrmWebhookIntake } from './adapters/crm/amocrm/amocrm-webhook-intake';
import { AmocrmLeadWriter } from './adapters/crm/amocrm/amocrm-lead-writer';
import { AmocrmChangeFeed } from './adapters/crm/amocrm/amocrm-change-feed';
import { AmocrmCatalog } from './adapters/crm/amocrm/amocrm-catalog';
import { LeadBatcher } from './adapters/crm/amocrm/lead-batcher';
import { AmocrmAccount, configuredSubdomain } from './adapters/crm/amocrm/amocrm-account';
import { GenericWebhookIntake } from './adapters/crm/generic/generic-webhook-intake';
import { Ga4Destination } from './adapters/destinations/ga4';
import type { WebhookRoute } from './http/webhook-handler';
import type { AccountRuntime } from './worker/process-inbound';

export interface BuiltAccount {
  config: AccountConfig;
  /** The account's webhook secret (the default account's may be generated). */
  webhookSecret: string;
  routes: WebhookRoute[];
  destinations: Destination[];
  /** What the worker needs; null in a web process. */
  runtime: AccountRuntime | null;
  amocrm: AmocrmClient | null;
  leadWriter: CrmLeadWriter | null;
  feed: { feed: CrmChangeFeed; intervalMs: number } | null;
}

export interface BuildOptions {
  config: CloseloopConfig;
  store: Store;
  logger: winston.Logger;
  /** Whether this process works jobs (then rules are resolved and sources built). */
  work: boolean;
  /** The default account's secret when the config has none (generated and kept). */
  defaultSecret: () => Promise<string>;
  fetchImpl?: typeof fetch;
}

/** The destination's id: the first part of its ledger keys. `ga4` for the default account. */
export function destinationId(account: string, kind: string): string {
  return account === 'default' ? kind : `${account}/${kind}`;
}

export async function buildAccounts(
  options: BuildOptions,
  accounts: readonly AccountConfig[],
): Promise<BuiltAccount[]> {
  const built: BuiltAccount[] = [];
  for (const account of accounts) built.push(await buildAccount(options, account));
  return built;
}

async function buildAccount(options: BuildOptions, account: AccountConfig): Promise<BuiltAccount> {
  const { config, store, logger } = options;
  const secret = account.webhookSecret ?? (await options.defaultSecret());
  const api = account.amocrm.api;
  const amocrm =
    api === null ? null : createAmocrmClient(api, { store, logger, fetchImpl: options.fetchImpl });
  // The amoCRM account these webhooks, reads and keys belong to (amocrm-account.ts).
  const amoAccount = new AmocrmAccount(
    configuredSubdomain(account.amocrm.subdomain, api?.baseUrl ?? null),
    amocrm,
  );
  const routes: WebhookRoute[] = [
    {
      account: account.name,
      secret,
      intake: new AmocrmWebhookIntake({ account: account.name, logger, expected: amoAccount }),
    },
  ];
  if (account.generic !== null) {
    routes.push({
      account: account.name,
      secret,
      intake: new GenericWebhookIntake(account.generic),
    });
  }
  const destinations = [
    new Ga4Destination(account.ga4, { id: destinationId(account.name, 'ga4'), logger }),
  ];
  const intake = config.leadIntake;
  const leadWriter =
    amocrm !== null && intake.enabled && intake.account === account.name
      ? new AmocrmLeadWriter(amocrm, intake)
      : null;
  const feed =
    amocrm !== null && api !== null && api.reconcile.enabled
      ? { feed: new AmocrmChangeFeed(amocrm, amoAccount), intervalMs: api.reconcile.intervalMs }
      : null;
  let runtime: AccountRuntime | null = null;
  if (options.work) {
    const rules = await resolveNames(account, amocrm, config.file);
    const sources = new Map<string, CrmSource>([
      [
        'amocrm',
        new AmocrmCrmSource(
          { rules, fields: account.amocrm.fields },
          amocrm === null || api === null
            ? null
            : { batcher: new LeadBatcher(amocrm, api.batchWindowMs), account: amoAccount },
        ),
      ],
    ]);
    runtime = {
      name: account.name,
      mapping: { rules, currency: account.currency, maxValue: config.delivery.maxValue },
      sources,
      destinations,
    };
  }
  return {
    config: account,
    webhookSecret: secret,
    routes,
    destinations,
    runtime,
    amocrm,
    leadWriter,
    feed,
  };
}

/**
 * The rules with pipeline and stage names resolved to ids through the CRM's catalog. A name that
 * does not exist stops the start with the real names listed, unless the account also takes
 * events whose stage ids are text (the signed intake), which such a word may name as it is; an
 * unreachable API with names in the rules stops it too (the rules cannot be known), while without
 * names the API is only needed later and may come back.
 */
async function resolveNames(
  account: AccountConfig,
  amocrm: AmocrmClient | null,
  file: string,
): Promise<readonly Rule[]> {
  if (amocrm === null || !hasRuleNames(account)) return account.rules;
  let pipelines;
  try {
    pipelines = await new AmocrmCatalog(amocrm).pipelines();
  } catch (e) {
    throw new AppError(
      'CONFIG_INVALID',
      `the rules name pipelines or statuses, and closeloop could not read them from amoCRM: ${errorMessage(e)}`,
      { cause: e },
    );
  }
  const resolved = resolveRuleNames({ rules: account.rules, file }, pipelines, 'amoCRM');
  if (resolved.problems.length > 0 && account.generic === null) {
    throw new ConfigError(resolved.problems);
  }
  return resolved.rules;
}

/**
 * Webhook entries read and not used (amoCRM's `unsorted[add]`, `message[add]`, …) since the
 * process started, as a /metrics gauge (main.ts renders it beside the queue depths).
 */
export function ignoredEntriesGauge(accounts: readonly BuiltAccount[]): {
  name: string;
  help: string;
  values: Array<{ labels: Record<string, string>; value: number }>;
} {
  return {
    name: 'closeloop_webhook_entries_ignored',
    help: 'Webhook entries read and not used (unsorted[add], message[add], ...) since the process started, by source and kind.',
    values: accounts.flatMap((a) =>
      a.routes.flatMap((r) =>
        [...(r.intake.ignoredSoFar?.() ?? [])].map(([what, value]) => ({
          labels: {
            ...(a.config.name === 'default' ? {} : { account: a.config.name }),
            source: r.intake.source,
            what,
          },
          value,
        })),
      ),
    ),
  };
}
