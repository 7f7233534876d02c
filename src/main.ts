/**
 * The composition root: the only place (with accounts.ts and service-support.ts) that knows
 * concrete classes. Builds the store, each account's adapters, the worker and the HTTP app from
 * the config, and starts what the process's role asks for: `web` takes webhooks and lead forms,
 * `worker` processes jobs, `all` (the default) both.
 */
import path from 'node:path';
import type winston from 'winston';
import { AppError } from './core/errors';
import { roleNeedsRedis, type RunningService, type ServiceOptions } from './service-options';
import type { DealEvent } from './core/deal';
import { accountsOf } from './config/config-types';
import type { Store } from './ports/store';
import type { DeliveryLog } from './ports/delivery-log';
import type { CreateLeadJobPayload, InboundJobPayload } from './ports/job-payloads';
import { AMOCRM_LEGACY_PAYLOADS } from './adapters/crm/amocrm/legacy-payloads';
import { DEFAULT_REDIS_PREFIX } from './adapters/store/redis';
import { DEAL_EVENT_DOCUMENT } from './adapters/crm/generic/deal-event-schema';
import { portalKeyOf } from './adapters/crm/bitrix24/create-bitrix24-client';
import { createApp } from './http/create-app';
import { DEFAULT_SERVER_BOUNDS } from './http/server-bounds';
import { LEAD_LIMIT_WINDOW_MS } from './http/lead-intake-handler';
import { createServiceMetrics, type DeliveryLatency } from './service-metrics';
import { createInboundHandler } from './worker/process-inbound';
import { createDeliveryHandler } from './worker/process-delivery';
import { createCreateLeadHandler } from './worker/process-create-lead';
import { Reconciler } from './worker/reconciler';
import { startPersonalDataJanitor } from './worker/personal-data-janitor';
import { startMetricaUploads } from './adapters/destinations/metrica/metrica-uploads';
import { buildAccounts, ignoredEntriesGauge, type BuiltAccount } from './accounts';
import { createConsole } from './console/create-console';
import { createConsoleActions } from './console/console-actions';
import {
  listen,
  openStore,
  readSnippet,
  WEBHOOK_SECRET_SETTING,
  webhookSecretOf,
  withDeadline,
} from './service-support';

export {
  ROLES,
  roleNeedsRedis,
  type RedisSettings,
  type Role,
  type RunningService,
  type ServiceOptions,
} from './service-options';

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { config, logger, redactor } = options;
  const now = options.now ?? Date.now;
  const role = options.role ?? 'all';
  const web = role !== 'worker';
  const work = role !== 'web';
  for (const account of accountsOf(config)) {
    redactor.add(account.ga4.apiSecret);
    redactor.add(account.webhookSecret);
    redactor.add(account.generic?.secret);
    const auth = account.amocrm.api?.auth;
    redactor.add(auth?.kind === 'long-lived' ? auth.token : auth?.clientSecret);
    redactor.add(account.bitrix24.rest?.webhookUrl);
    redactor.add(account.bitrix24.applicationToken);
    redactor.add(account.metrica?.token);
  }
  redactor.add(options.metricsToken);
  redactor.add(options.console?.password);
  redactor.add(options.console?.apiToken);
  if (role !== 'all' && !options.redis) {
    throw new AppError('CONFIG_INVALID', roleNeedsRedis(role));
  }

  const store = await openStore(options);
  let worker: StartedWorker | null = null;
  try {
    const bounds = { ...DEFAULT_SERVER_BOUNDS, ...options.serverBounds };
    const { metrics, serverWatch, latency } = createServiceMetrics({
      store,
      logger,
      bounds,
      queueDepthsMaxAgeMs: options.queueDepthsMaxAgeMs,
    });
    const deliveryLog: DeliveryLog = {
      record: async (entry) => {
        await store.deliveryLog.record(entry);
        metrics.deliveries.inc({
          destination: entry.destination ?? 'none',
          outcome: entry.outcome,
        });
        latency.recorded(entry);
      },
      list: (filter) => store.deliveryLog.list(filter),
      counts: () => store.deliveryLog.counts(),
    };
    const accounts = await buildAccounts(
      {
        config,
        store,
        logger,
        work,
        defaultSecret: () => webhookSecretOf(options, store),
        fetchImpl: options.fetchImpl,
      },
      accountsOf(config),
    );
    for (const a of accounts) redactor.add(a.webhookSecret);
    const destination = accounts[0]!.destinations[0]!;
    const dryRun = accounts.every((a) => a.destinations.every((d) => d.dryRun));
    worker = work ? startWorker(options, store, deliveryLog, accounts, latency) : null;
    // Metrica's batches: uploaded and followed by the worker side only.
    const metrica = work
      ? startMetricaUploads(
          accounts.flatMap((a) => a.destinations),
          { store, logger, now, fetchImpl: options.fetchImpl, tickMs: options.metricaTickMs },
        )
      : null;
    if (metrica !== null) {
      const inner = worker;
      metrics.trackGauge(() => metrica.gauge(), ['destination', 'what']);
      worker = {
        stop: async () => Promise.all([inner?.stop(), metrica.stop()]).then(() => undefined),
      };
    }
    // Entries the intakes read and did not use, counted in memory by each intake.
    metrics.trackGauge(() => ignoredEntriesGauge(accounts), ['account', 'source', 'what']);
    for (const a of accounts) {
      for (const d of a.destinations) {
        metrics.dryRun.set(
          a.config.name === 'default' ? {} : { destination: d.id },
          d.dryRun ? 1 : 0,
        );
      }
    }

    const consoleRouter =
      web && options.console
        ? await createConsole({
            ...options.console,
            store,
            logger,
            now,
            actions: createConsoleActions({
              config,
              accounts,
              store,
              redactor,
              logger,
              secretHint: webhookSecretHint(options, store),
              now,
            }),
          })
        : undefined;
    const app = createApp({
      logger,
      now,
      console: consoleRouter,
      webhooks: web
        ? {
            routes: accounts.flatMap((a) => a.routes),
            maxBodyBytes: config.webhook.maxBodyBytes,
            ingest: async (account: string, events: readonly DealEvent[], receivedAt: number) => {
              await store.queue.add<InboundJobPayload>(
                'inbound',
                events.map((event) => ({ payload: { v: 2, account, event, receivedAt } })),
              );
              metrics.leadEvents.inc({}, events.length);
            },
          }
        : undefined,
      snippet: web ? readSnippet(logger) : undefined,
      schemas: web ? { 'deal-event.json': DEAL_EVENT_DOCUMENT } : undefined,
      leadIntake:
        web && config.leadIntake.enabled
          ? {
              settings: config.leadIntake,
              queue: store.queue,
              // Shared by every web process on the store: the limit is the deployment's.
              limiter: store.createWindowLimiter(
                'leads',
                config.leadIntake.perIpPerMinute,
                LEAD_LIMIT_WINDOW_MS,
              ),
            }
          : undefined,
      trustedProxies: options.trustedProxies,
      onWebhookAnswered: (status, seconds) => {
        metrics.webhooks.inc({ status: String(status) });
        metrics.webhookSeconds.observe(seconds);
      },
      onLeadsAnswered: (status) => metrics.leadForms.inc({ status: String(status) }),
      metrics: () => metrics.render(),
      metricsToken: options.metricsToken,
      health: async () => {
        await store.ping();
        // Upload queues stopped until `closeloop metrica resume`: healthy, but someone must act.
        const stopped = (await store.outbox.stops()).map((q) => ({
          destination: q.queue,
          target: q.target,
          since: new Date(q.at).toISOString(),
          reason: q.reason,
        }));
        return { store: store.kind, role, dryRun, ...(stopped.length ? { stopped } : {}) };
      },
    });

    const httpServer =
      options.port === null
        ? null
        : await listen(app, options.port, options.host, bounds, serverWatch);
    const port = httpServer?.port ?? 0;

    logger.info('closeloop started', {
      role,
      port,
      host: httpServer?.host,
      store: store.describe(),
      config: config.file,
      rules: config.rules.length,
      accounts: accounts.map((a) => a.config.name),
      // Which documented variables the config took its values from (check-config says more).
      fromEnvironment: config.sources.flatMap((s) => (s.source.kind === 'env' ? [s.variable] : [])),
      ga4: destination.dryRun ? 'dry run' : config.ga4.endpoint,
      amocrmApi: !work
        ? 'not used by a web process'
        : (config.amocrm.api?.baseUrl ?? 'not configured (webhook data only)'),
      // The portal's host only: the incoming webhook's path is a secret.
      ...(config.bitrix24.rest === null
        ? {}
        : { bitrix24Api: portalKeyOf(config.bitrix24.rest.webhookUrl).replace(/^bitrix24:/, '') }),
    });
    if (work) logDryRuns(logger, accounts);
    if (web) logWebhookUrls(options, store, accounts);

    const close = async (): Promise<void> => {
      // Stop taking requests (webhooks in flight are answered), then stop taking jobs and let the
      // ones in flight finish, then close the store's connections.
      await httpServer?.close();
      await worker?.stop();
      await store.close();
      logger.info('closeloop stopped');
    };
    let closing: Promise<void> | null = null;
    const paths = new Map(
      accounts.map((a) => [
        a.config.name,
        Object.fromEntries(
          a.routes.map((r) => [r.intake.source, `/webhooks/${r.intake.source}/${r.secret}`]),
        ),
      ]),
    );
    return {
      role,
      port,
      store,
      destination,
      webhookPath: web ? (paths.get('default')?.amocrm ?? '') : '',
      webhookPaths: paths,
      close: () => {
        closing ??= withDeadline(close(), options.shutdownTimeoutMs ?? 25_000);
        return closing;
      },
    };
  } catch (e) {
    await worker?.stop();
    await store.close();
    throw e;
  }
}

/** One warning per destination that sends nothing, saying why. */
function logDryRuns(logger: winston.Logger, accounts: readonly BuiltAccount[]): void {
  for (const a of accounts) {
    const ga4 = a.config.ga4;
    if (!ga4.dryRun) continue;
    const missing = [
      ga4.measurementId
        ? null
        : a.config.name === 'default'
          ? 'GA4_MEASUREMENT_ID'
          : 'ga4.measurement_id',
      ga4.apiSecret ? null : a.config.name === 'default' ? 'GA4_API_SECRET' : 'ga4.api_secret',
    ].filter(Boolean);
    const who = a.config.name === 'default' ? '' : ` for the account ${a.config.name}`;
    logger.warn(
      `DRY-RUN MODE: nothing is sent to GA4${who}. ${missing.length ? `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set` : 'ga4.dry_run is true'}; payloads are validated, logged and recorded in the delivery log only.`,
    );
  }
}

/** Where each account's webhooks go, without printing a secret. */
function logWebhookUrls(
  options: ServiceOptions,
  store: Store,
  accounts: readonly BuiltAccount[],
): void {
  for (const a of accounts) {
    const sources = a.routes.map((r) => r.intake.source).join(', ');
    const base = `webhook URLs (${sources}): http(s)://<this host>/webhooks/<${a.routes.map((r) => r.intake.source).join('|')}>/`;
    if (a.config.name !== 'default') {
      options.logger.info(`account ${a.config.name}: ${base} followed by its webhook_secret`);
    } else if (options.config.webhook.secret) {
      options.logger.info(`${base} followed by the value of CLOSELOOP_WEBHOOK_SECRET`);
    } else {
      options.logger.info(
        `${base} followed by ${webhookSecretHint(options, store)} (set CLOSELOOP_WEBHOOK_SECRET to choose your own)`,
      );
    }
  }
}

/** Where the generated webhook secret of the default account is kept (never the secret). */
function webhookSecretHint(options: ServiceOptions, store: Store): string {
  return store.kind === 'sqlite'
    ? `the secret in ${path.join(options.dataDir, 'webhook-secret')}`
    : `the secret generated in Redis (redis-cli HGET ${options.redis?.prefix ?? DEFAULT_REDIS_PREFIX}:settings ${WEBHOOK_SECRET_SETTING})`;
}

interface StartedWorker {
  stop(): Promise<void>;
}

/** The worker side: job handlers on the three queues, and each account's reconciliation. */
function startWorker(
  options: ServiceOptions,
  store: Store,
  deliveryLog: DeliveryLog,
  accounts: readonly BuiltAccount[],
  latency: DeliveryLatency,
): StartedWorker {
  const { config, logger } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const common = { deliveryLog, retryPolicy: config.delivery, logger, now, random };
  const anyApi = accounts.some((a) => a.amocrm !== null || a.bitrix24 !== null);
  store.queue.process(
    'inbound',
    createInboundHandler({
      ...common,
      accounts: new Map(accounts.map((a) => [a.config.name, a.runtime!])),
      upgrades: AMOCRM_LEGACY_PAYLOADS,
      queue: store.queue,
      revenue: store.revenue,
      trace: store.dealTrace,
    }),
    // Inbound jobs mostly wait for a batched API look-up; many in flight make full batches.
    { concurrency: anyApi ? 256 : config.delivery.concurrency },
  );
  store.queue.process(
    'deliver',
    // The wrapper knows each running job's webhook receipt time, for the latency histogram.
    latency.wrap(
      createDeliveryHandler({
        ...common,
        destinations: new Map(accounts.flatMap((a) => a.destinations.map((d) => [d.id, d]))),
        upgrades: AMOCRM_LEGACY_PAYLOADS,
        ledger: store.ledger,
        revenue: store.revenue,
        resendUncertain: new Set(config.delivery.resendUncertain),
      }),
      AMOCRM_LEGACY_PAYLOADS,
    ),
    { concurrency: config.delivery.concurrency },
  );
  const writers = new Map(
    accounts.flatMap((a) =>
      a.leadWriter === null ? [] : [[a.config.name, a.leadWriter] as const],
    ),
  );
  if (writers.size > 0) {
    // The config check refuses lead intake without a CRM that can write leads.
    store.queue.process<CreateLeadJobPayload>(
      'create_lead',
      createCreateLeadHandler({ ...common, writers, queue: store.queue }),
      { concurrency: 4 },
    );
  }
  const reconcilers = accounts.flatMap((a) =>
    a.feeds.map(
      (f) =>
        new Reconciler({
          feed: f.feed,
          account: a.config.name,
          queue: store.queue,
          settings: store,
          // However many workers run, one of them reconciles per interval.
          lease: (ms) => store.acquireLease(f.lease, ms),
          intervalMs: f.intervalMs,
          logger,
          now,
        }),
    ),
  );
  for (const r of reconcilers) r.start(options.reconcileFirstRunMs);
  // Failed lead creations keep a visitor's name and phone only so long (lead_intake).
  const janitor = startPersonalDataJanitor({
    queue: store.queue,
    keepMs: config.leadIntake.keepPersonalDataMs,
    lease: (ms) => store.acquireLease('personal-data-janitor', ms),
    logger,
    now,
  });
  return {
    stop: async () => {
      await Promise.all([...reconcilers.map((r) => r.stop()), janitor.stop()]);
    },
  };
}
