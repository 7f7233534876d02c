/**
 * The composition root: the only place that knows concrete classes. Builds the store, the
 * destination, the worker and the HTTP app from the config, and starts them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type winston from 'winston';
import type { AmocrmApiSettings, CloseloopConfig, Rule } from './core/config-types';
import { AppError, ConfigError } from './core/errors';
import { hasRuleNames, resolveRuleNames } from './core/resolve-rule-names';
import type { CrmSource } from './ports/crm-source';
import { AmocrmApiCrmSource } from './adapters/crm/amocrm/amocrm-api-crm-source';
import { LeadBatcher } from './adapters/crm/amocrm/lead-batcher';
import type { AmocrmClient } from './adapters/crm/amocrm/amocrm-client';
import { createAmocrmClient } from './adapters/crm/amocrm/create-amocrm-client';
import { Reconciler } from './worker/reconciler';
import { createCreateLeadHandler, type CreateLeadJobPayload } from './worker/process-create-lead';
import type { LeadEvent } from './core/lead';
import { createApp } from './http/create-app';
import { createSqliteStore } from './adapters/store/sqlite';
import { Ga4Destination } from './adapters/destinations/ga4';
import { WebhookCrmSource } from './adapters/crm/amocrm/webhook-crm-source';
import type { Redactor } from './adapters/log/redactor';
import type { Store } from './ports/store';
import type { DeliveryLog } from './ports/delivery-log';
import { Metrics } from './adapters/metrics/metrics';
import type { Destination } from './ports/destination';
import { createInboundHandler } from './worker/process-inbound';
import { createDeliveryHandler } from './worker/process-delivery';
import type { DeliveryJobPayload, InboundJobPayload } from './worker/job-payloads';
import { errorMessage } from './core/error-message';

export interface ServiceOptions {
  config: CloseloopConfig;
  logger: winston.Logger;
  redactor: Redactor;
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  now?: () => number;
  random?: () => number;
  /** Tests: a shorter poll for delayed jobs. */
  pollIntervalMs?: number;
  /** Tests: the fetch the amoCRM client uses (nock intercepts the global one too). */
  fetchImpl?: typeof fetch;
  /** Tests: when the first reconciliation runs (5 s after start by default). */
  reconcileFirstRunMs?: number;
}

export interface RunningService {
  port: number;
  store: Store;
  destination: Destination;
  webhookPath: string;
  close(): Promise<void>;
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { config, logger, redactor } = options;
  const now = options.now ?? Date.now;
  redactor.add(config.ga4.apiSecret);
  redactor.add(config.webhook.secret);
  const auth = config.amocrm.api?.auth;
  redactor.add(auth?.kind === 'long-lived' ? auth.token : auth?.clientSecret);

  const store = createSqliteStore({
    dataDir: options.dataDir,
    deliveryLogMaxRows: config.deliveryLogMaxRows,
    now,
    pollIntervalMs: options.pollIntervalMs,
    onError: (e, context) =>
      logger.error(`store error while ${context}`, {
        error: errorMessage(e),
        stack: (e as Error)?.stack,
      }),
  });
  try {
    const webhookSecret = config.webhook.secret ?? readOrCreateSecret(options.dataDir);
    redactor.add(webhookSecret);

    const metrics = new Metrics();
    const deliveryLog: DeliveryLog = {
      record: async (entry) => {
        await store.deliveryLog.record(entry);
        metrics.deliveries.inc({
          destination: entry.destination ?? 'none',
          outcome: entry.outcome,
        });
      },
      list: (filter) => store.deliveryLog.list(filter),
    };
    const destination = new Ga4Destination(config.ga4);
    const amocrm = await connectAmocrm(config, store, logger, options.fetchImpl);
    const rules = amocrm?.rules ?? config.rules;
    const crmSource: CrmSource = amocrm
      ? new AmocrmApiCrmSource(new LeadBatcher(amocrm.client, amocrm.api.batchWindowMs), {
          rules,
          clientIdField: config.amocrm.fields.clientId,
        })
      : new WebhookCrmSource();
    store.queue.process<InboundJobPayload>(
      'inbound',
      createInboundHandler({
        config: { ...config, rules },
        crmSource,
        queue: store.queue,
        deliveryLog,
        destinationName: destination.name,
        logger,
        retryPolicy: config.delivery,
        now,
        random: options.random ?? Math.random,
      }),
      // Inbound jobs mostly wait for a batched API look-up; many in flight make full batches.
      { concurrency: amocrm ? 256 : config.delivery.concurrency },
    );
    store.queue.process<DeliveryJobPayload>(
      'deliver',
      createDeliveryHandler({
        destination,
        ledger: store.ledger,
        deliveryLog,
        retryPolicy: config.delivery,
        logger,
        now,
        random: options.random ?? Math.random,
      }),
      { concurrency: config.delivery.concurrency },
    );

    const app = createApp({
      logger,
      webhookSecret,
      maxBodyBytes: config.webhook.maxBodyBytes,
      now,
      ingest: async (events: readonly LeadEvent[], receivedAt: number) => {
        await store.queue.add<InboundJobPayload>(
          'inbound',
          events.map((event) => ({ payload: { event, receivedAt } })),
        );
        metrics.leadEvents.inc({}, events.length);
      },
      snippet: readSnippet(logger),
      leadIntake: config.leadIntake.enabled
        ? { settings: config.leadIntake, queue: store.queue }
        : undefined,
      onWebhookAnswered: (status) => metrics.webhooks.inc({ status: String(status) }),
      metrics: async () => {
        const queues = ['inbound', 'deliver', 'create_lead'] as const;
        const counts = await Promise.all(queues.map((q) => store.queue.counts(q)));
        return metrics.render([
          {
            name: 'closeloop_queue_jobs',
            help: 'Jobs in the queue by state (waiting, delayed, active, failed).',
            values: queues.flatMap((queue, i) =>
              Object.entries(counts[i]!).map(([state, value]: [string, number]) => ({
                labels: { queue, state },
                value,
              })),
            ),
          },
          {
            name: 'closeloop_ga4_dry_run',
            help: '1 when GA4 credentials are missing and nothing is sent.',
            values: [{ labels: {}, value: destination.dryRun ? 1 : 0 }],
          },
        ]);
      },
      health: async () => {
        await store.ping();
        return { store: store.kind, dryRun: destination.dryRun };
      },
    });

    const server: Server = await new Promise((resolve, reject) => {
      const s = http.createServer(app);
      s.listen(options.port, options.host ?? '0.0.0.0', () => resolve(s));
      s.once('error', reject);
    });
    // Longer than common proxies' idle timeouts, so they never reuse a socket we just closed.
    server.keepAliveTimeout = 65_000;
    const port = (server.address() as AddressInfo).port;

    logger.info('closeloop started', {
      port,
      store: `sqlite (${path.resolve(options.dataDir)})`,
      config: config.file,
      rules: config.rules.length,
      ga4: destination.dryRun ? 'dry run' : config.ga4.endpoint,
      amocrmApi: amocrm ? amocrm.api.baseUrl : 'not configured (webhook data only)',
    });
    if (destination.dryRun) {
      const missing = [
        config.ga4.measurementId ? null : 'GA4_MEASUREMENT_ID',
        config.ga4.apiSecret ? null : 'GA4_API_SECRET',
      ].filter(Boolean);
      logger.warn(
        `DRY-RUN MODE: nothing is sent to GA4. ${missing.length ? `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set` : 'ga4.dry_run is true'}; payloads are validated, logged and recorded in the delivery log only.`,
      );
    }
    logger.info(
      config.webhook.secret
        ? 'amoCRM webhook URL: http(s)://<this host>/webhooks/amocrm/ followed by the value of CLOSELOOP_WEBHOOK_SECRET'
        : `amoCRM webhook URL: http(s)://<this host>/webhooks/amocrm/ followed by the secret in ${path.join(options.dataDir, 'webhook-secret')} (set CLOSELOOP_WEBHOOK_SECRET to choose your own)`,
    );

    if (config.leadIntake.enabled && amocrm) {
      // The config check refuses lead intake without amoCRM API access.
      store.queue.process<CreateLeadJobPayload>(
        'create_lead',
        createCreateLeadHandler({
          client: amocrm.client,
          queue: store.queue,
          deliveryLog,
          settings: config.leadIntake,
          retryPolicy: config.delivery,
          logger,
          now,
          random: options.random ?? Math.random,
        }),
        { concurrency: 4 },
      );
    }

    const reconciler =
      amocrm && amocrm.api.reconcile.enabled
        ? new Reconciler({
            client: amocrm.client,
            queue: store.queue,
            settings: store,
            intervalMs: amocrm.api.reconcile.intervalMs,
            logger,
            now,
          })
        : null;
    reconciler?.start(options.reconcileFirstRunMs);

    let closing: Promise<void> | null = null;
    return {
      port,
      store,
      destination,
      webhookPath: `/webhooks/amocrm/${webhookSecret}`,
      close: () => {
        closing ??= (async () => {
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeIdleConnections();
          });
          await reconciler?.stop();
          await store.close();
          logger.info('closeloop stopped');
        })();
        return closing;
      },
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}

/**
 * The amoCRM API, when configured: the client (one rate limiter for the whole process) and the
 * rules with pipeline and status names resolved to ids. A name that does not exist stops the start
 * with the real names listed; an unreachable API with names in the rules stops it too (the rules
 * cannot be known), while without names the API is only needed later and may come back.
 */
async function connectAmocrm(
  config: CloseloopConfig,
  store: Store,
  logger: winston.Logger,
  fetchImpl: typeof fetch | undefined,
): Promise<{ api: AmocrmApiSettings; client: AmocrmClient; rules: readonly Rule[] } | null> {
  const api = config.amocrm.api;
  if (api === null) return null;
  const client = createAmocrmClient(api, { store, logger, fetchImpl });
  if (!hasRuleNames(config)) return { api, client, rules: config.rules };
  let pipelines;
  try {
    pipelines = await client.getPipelines();
  } catch (e) {
    throw new AppError(
      'CONFIG_INVALID',
      `the rules name pipelines or statuses, and closeloop could not read them from amoCRM: ${errorMessage(e)}`,
      { cause: e },
    );
  }
  const resolved = resolveRuleNames(config, pipelines);
  if (resolved.problems.length > 0) throw new ConfigError(resolved.problems);
  return { api, client, rules: resolved.rules };
}

/** The form snippet built by `npm run build` (browser/build.js); without it /snippet.js is a 404. */
function readSnippet(logger: winston.Logger): Buffer | undefined {
  const file = path.join(__dirname, '..', 'browser', 'snippet.min.js');
  try {
    return fs.readFileSync(file);
  } catch {
    logger.warn(
      `the form snippet is not built (${file} is missing): GET /snippet.js answers 404; run npm run build`,
    );
    return undefined;
  }
}

/** A generated webhook secret lives in the data folder, readable by the operator only. */
function readOrCreateSecret(dataDir: string): string {
  const file = path.join(dataDir, 'webhook-secret');
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing) return existing;
  } catch {
    // first start
  }
  const secret = randomBytes(24).toString('base64url');
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
