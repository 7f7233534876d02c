/**
 * Part of the composition root (with main.ts): each account of the config as the concrete adapters
 * that serve it. Its webhook routes (amoCRM always; Bitrix24 with its application token; the
 * signed intake when configured), its destinations (GA4; Yandex Metrica when configured), its CRM sources (amoCRM, completing
 * deals through the API when it has access; Bitrix24, reading every deal through REST), its lead
 * writer, change feeds and catalogs, and its rules with pipeline and stage names resolved.
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
import type { Bitrix24Client } from './adapters/crm/bitrix24/bitrix24-client';
import { createBitrix24Client } from './adapters/crm/bitrix24/create-bitrix24-client';
import { Bitrix24WebhookIntake } from './adapters/crm/bitrix24/bitrix24-webhook-intake';
import { Bitrix24CrmSource } from './adapters/crm/bitrix24/bitrix24-crm-source';
import { Bitrix24ChangeFeed } from './adapters/crm/bitrix24/bitrix24-change-feed';
import { Bitrix24Catalog, withStageIdsAsNames } from './adapters/crm/bitrix24/bitrix24-catalog';
import { Bitrix24LeadWriter } from './adapters/crm/bitrix24/bitrix24-lead-writer';
import { RecordBatcher } from './adapters/crm/bitrix24/record-batcher';
import type { CrmCatalog } from './ports/crm-catalog';
import { Ga4Destination } from './adapters/destinations/ga4';
import { MetricaDestination } from './adapters/destinations/metrica';
import type { WebhookRoute } from './http/webhook-handler';
import type { AccountRuntime } from './worker/process-inbound';
import { countFormEntries } from './http/count-form-entries';
import { LEAD_ACTIONS } from './adapters/crm/amocrm/amocrm-lead';
import { MAX_EVENTS_PER_REQUEST } from './adapters/crm/generic/deal-event-schema';

export interface BuiltAccount {
  config: AccountConfig;
  /** The account's webhook secret (the default account's may be generated). */
  webhookSecret: string;
  routes: WebhookRoute[];
  destinations: Destination[];
  /** What the worker needs; null in a web process. */
  runtime: AccountRuntime | null;
  amocrm: AmocrmClient | null;
  bitrix24: Bitrix24Client | null;
  leadWriter: CrmLeadWriter | null;
  /** Each CRM's reconciliation, with the name of its lease (one run per interval). */
  feeds: Array<{ feed: CrmChangeFeed; intervalMs: number; lease: string }>;
  /** Each CRM's pipelines, for `closeloop statuses` and names in rules. */
  catalogs: CrmCatalog[];
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
      // One event per leads[<action>][<index>] entry (parse-webhook.ts), each with its id; an entry
      // may yield more (a stage move shown by an update), never fewer, so this never overcounts.
      countEvents: (text, stopAbove) =>
        countFormEntries(text, { section: 'leads', names: LEAD_ACTIONS, field: 'id' }, stopAbove),
    },
  ];
  const b24 = account.bitrix24;
  const bitrix24 =
    b24.rest === null
      ? null
      : createBitrix24Client(b24.rest, { store, logger, fetchImpl: options.fetchImpl });
  if (bitrix24 !== null && b24.applicationToken !== null) {
    routes.push({
      account: account.name,
      secret,
      intake: new Bitrix24WebhookIntake(b24.applicationToken, { account: account.name, logger }),
    });
  }
  if (account.generic !== null) {
    routes.push({
      account: account.name,
      secret,
      intake: new GenericWebhookIntake(account.generic),
      // Its own documented limit, which its parse enforces with the same 413.
      maxEvents: MAX_EVENTS_PER_REQUEST,
    });
  }
  const destinations: Destination[] = [
    new Ga4Destination(account.ga4, { id: destinationId(account.name, 'ga4'), logger }),
  ];
  // Metrica beside GA4 once its counter is set: the same rules, the events its goals name.
  if (account.metrica) {
    destinations.push(
      new MetricaDestination(account.metrica, {
        id: destinationId(account.name, 'metrica'),
        outbox: store.outbox,
      }),
    );
  }
  const intake = config.leadIntake;
  const takesForms = intake.enabled && intake.account === account.name;
  // amoCRM when it has API access, else Bitrix24 (the config check refuses intake without either).
  const leadWriter = !takesForms
    ? null
    : amocrm !== null
      ? new AmocrmLeadWriter(amocrm, intake)
      : bitrix24 !== null
        ? new Bitrix24LeadWriter(bitrix24, { ...intake, fields: b24.fields, creates: b24.creates })
        : null;
  const lease = (name: string): string =>
    account.name === 'default' ? name : `${name}:${account.name}`;
  const feeds: BuiltAccount['feeds'] = [];
  if (amocrm !== null && api !== null && api.reconcile.enabled) {
    feeds.push({
      feed: new AmocrmChangeFeed(amocrm, amoAccount),
      intervalMs: api.reconcile.intervalMs,
      lease: lease('amocrm-reconcile'),
    });
  }
  if (bitrix24 !== null && b24.rest?.reconcile.enabled === true) {
    feeds.push({
      feed: new Bitrix24ChangeFeed(bitrix24, store.dealStages, account.name),
      intervalMs: b24.rest.reconcile.intervalMs,
      lease: lease('bitrix24-reconcile'),
    });
  }
  const catalogs: CrmCatalog[] = [
    ...(amocrm === null ? [] : [new AmocrmCatalog(amocrm)]),
    ...(bitrix24 === null ? [] : [new Bitrix24Catalog(bitrix24)]),
  ];
  let runtime: AccountRuntime | null = null;
  if (options.work) {
    const rules = await resolveNames(account, catalogs, config.file);
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
    if (bitrix24 !== null && b24.rest !== null) {
      sources.set(
        'bitrix24',
        new Bitrix24CrmSource({
          reader: new RecordBatcher(bitrix24, b24.rest.batchWindowMs),
          memory: store.dealStages,
          fields: b24.fields,
          leadFallback: b24.leadFallback,
          account: account.name,
          now: Date.now,
        }),
      );
    }
    runtime = {
      name: account.name,
      mapping: {
        rules,
        currency: account.currency,
        maxValue: config.delivery.maxValue,
        revenue: config.revenue,
      },
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
    bitrix24,
    leadWriter,
    feeds,
    catalogs,
  };
}

/**
 * The rules with pipeline and stage names resolved to ids through the CRMs' catalogs (a Bitrix24
 * stage's id, `C1:WON`, counts as its name too). A name that does not exist stops the start with
 * the real names listed, unless the account also takes events whose stage ids are text (the
 * signed intake), which such a word may name as it is; an unreachable API with names in the rules
 * stops it too (the rules cannot be known), while without names the API is only needed later and
 * may come back.
 */
async function resolveNames(
  account: AccountConfig,
  catalogs: readonly CrmCatalog[],
  file: string,
): Promise<readonly Rule[]> {
  if (catalogs.length === 0 || !hasRuleNames(account)) return account.rules;
  const pipelines = [];
  for (const catalog of catalogs) {
    try {
      const read = await catalog.pipelines();
      pipelines.push(...(catalog.name === 'bitrix24' ? withStageIdsAsNames(read) : read));
    } catch (e) {
      throw new AppError(
        'CONFIG_INVALID',
        `the rules name pipelines or statuses, and closeloop could not read them from ${catalog.name === 'bitrix24' ? 'Bitrix24' : 'amoCRM'}: ${errorMessage(e)}`,
        { cause: e },
      );
    }
  }
  const crm = catalogs.map((c) => (c.name === 'bitrix24' ? 'Bitrix24' : 'amoCRM')).join(' and ');
  const resolved = resolveRuleNames({ rules: account.rules, file }, pipelines, crm);
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
