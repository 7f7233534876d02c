/**
 * The composition root: the only place that knows concrete classes. Builds the store, the
 * destination, the worker and the HTTP app from the config, and starts what the process's role
 * asks for: `web` takes webhooks and lead forms, `worker` processes jobs, `all` (the default) both.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import http, { type RequestListener, type Server } from 'node:http';
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
import { createRedisStore, DEFAULT_REDIS_PREFIX } from './adapters/store/redis';
import { Ga4Destination } from './adapters/destinations/ga4';
import { WebhookCrmSource } from './adapters/crm/amocrm/webhook-crm-source';
import type { Redactor } from './adapters/log/redactor';
import type { Store } from './ports/store';
import { QUEUE_NAMES } from './ports/job-queue';
import type { DeliveryLog } from './ports/delivery-log';
import { Metrics } from './adapters/metrics/metrics';
import type { Destination } from './ports/destination';
import { createInboundHandler } from './worker/process-inbound';
import { createDeliveryHandler } from './worker/process-delivery';
import type { DeliveryJobPayload, InboundJobPayload } from './worker/job-payloads';
import { asClause, errorMessage } from './core/error-message';
import { withTimeout } from './adapters/with-timeout';

export type Role = 'all' | 'web' | 'worker';

export const ROLES: readonly Role[] = ['all', 'web', 'worker'];

/** Why `web` or `worker` cannot run without Redis, and the fix. */
export function roleNeedsRedis(role: Role): string {
  return `CLOSELOOP_ROLE=${role} needs REDIS_URL: web and worker processes share their jobs through Redis. Fix: set REDIS_URL=redis://host:6379, or unset CLOSELOOP_ROLE to run everything in one process on the embedded store.`;
}

export interface RedisSettings {
  url: string;
  /** Key prefix (default `closeloop`). */
  prefix?: string;
  /** Job lock (default 15 s): how soon a dead worker's jobs are handed out again. */
  lockMs?: number;
}

export interface ServiceOptions {
  config: CloseloopConfig;
  logger: winston.Logger;
  redactor: Redactor;
  dataDir: string;
  /** `all` when absent. `web` and `worker` need Redis. */
  role?: Role;
  /** Absent: the embedded SQLite store in `dataDir`. */
  redis?: RedisSettings;
  /** 0 picks a free port; null: no HTTP server (a worker without PORT). */
  port: number | null;
  host?: string;
  now?: () => number;
  random?: () => number;
  /** Tests: a shorter poll for delayed jobs. */
  pollIntervalMs?: number;
  /** Tests: the fetch the amoCRM client uses (nock intercepts the global one too). */
  fetchImpl?: typeof fetch;
  /** Tests: when the first reconciliation runs (5 s after start by default). */
  reconcileFirstRunMs?: number;
  /**
   * How long close() lets requests and jobs in flight finish (default 25 s: platforms send SIGKILL
   * about 30 s after SIGTERM). Past it, close() rejects; jobs still in flight go back to the queue
   * (their lock expires, or the embedded store recovers them at the next start).
   */
  shutdownTimeoutMs?: number;
}

export interface RunningService {
  role: Role;
  /** 0 when no HTTP server runs. */
  port: number;
  store: Store;
  destination: Destination;
  webhookPath: string;
  close(): Promise<void>;
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { config, logger, redactor } = options;
  const now = options.now ?? Date.now;
  const role = options.role ?? 'all';
  const web = role !== 'worker';
  const work = role !== 'web';
  redactor.add(config.ga4.apiSecret);
  redactor.add(config.webhook.secret);
  const auth = config.amocrm.api?.auth;
  redactor.add(auth?.kind === 'long-lived' ? auth.token : auth?.clientSecret);
  if (role !== 'all' && !options.redis) {
    throw new AppError('CONFIG_INVALID', roleNeedsRedis(role));
  }

  const store = await openStore(options);
  let worker: StartedWorker | null = null;
  try {
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
    worker = work ? await startWorker(options, store, deliveryLog, destination) : null;

    const webhookSecret = web ? await webhookSecretOf(options, store) : undefined;
    redactor.add(webhookSecret);
    const app = createApp({
      logger,
      now,
      webhooks:
        webhookSecret === undefined
          ? undefined
          : {
              webhookSecret,
              maxBodyBytes: config.webhook.maxBodyBytes,
              ingest: async (events: readonly LeadEvent[], receivedAt: number) => {
                await store.queue.add<InboundJobPayload>(
                  'inbound',
                  events.map((event) => ({ payload: { event, receivedAt } })),
                );
                metrics.leadEvents.inc({}, events.length);
              },
            },
      snippet: web ? readSnippet(logger) : undefined,
      leadIntake:
        web && config.leadIntake.enabled
          ? { settings: config.leadIntake, queue: store.queue }
          : undefined,
      onWebhookAnswered: (status) => metrics.webhooks.inc({ status: String(status) }),
      metrics: async () => {
        const counts = await Promise.all(QUEUE_NAMES.map((q) => store.queue.counts(q)));
        return metrics.render([
          {
            name: 'closeloop_queue_jobs',
            help: 'Jobs in the queue by state (waiting, delayed, active, failed).',
            values: QUEUE_NAMES.flatMap((queue, i) =>
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
        return { store: store.kind, role, dryRun: destination.dryRun };
      },
    });

    const httpServer = options.port === null ? null : await listen(app, options.port, options.host);
    const port = httpServer?.port ?? 0;

    logger.info('closeloop started', {
      role,
      port,
      host: httpServer?.host,
      store: store.describe(),
      config: config.file,
      rules: config.rules.length,
      // Which documented variables the config took its values from (check-config says more).
      fromEnvironment: config.sources.flatMap((s) => (s.source.kind === 'env' ? [s.variable] : [])),
      ga4: destination.dryRun ? 'dry run' : config.ga4.endpoint,
      amocrmApi: !work
        ? 'not used by a web process'
        : worker?.amocrm
          ? worker.amocrm.api.baseUrl
          : 'not configured (webhook data only)',
    });
    if (work && destination.dryRun) {
      const missing = [
        config.ga4.measurementId ? null : 'GA4_MEASUREMENT_ID',
        config.ga4.apiSecret ? null : 'GA4_API_SECRET',
      ].filter(Boolean);
      logger.warn(
        `DRY-RUN MODE: nothing is sent to GA4. ${missing.length ? `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set` : 'ga4.dry_run is true'}; payloads are validated, logged and recorded in the delivery log only.`,
      );
    }
    if (web) {
      logger.info(
        config.webhook.secret
          ? 'amoCRM webhook URL: http(s)://<this host>/webhooks/amocrm/ followed by the value of CLOSELOOP_WEBHOOK_SECRET'
          : store.kind === 'sqlite'
            ? `amoCRM webhook URL: http(s)://<this host>/webhooks/amocrm/ followed by the secret in ${path.join(options.dataDir, 'webhook-secret')} (set CLOSELOOP_WEBHOOK_SECRET to choose your own)`
            : `amoCRM webhook URL: http(s)://<this host>/webhooks/amocrm/ followed by the secret generated in Redis (redis-cli HGET ${options.redis?.prefix ?? DEFAULT_REDIS_PREFIX}:settings ${WEBHOOK_SECRET_SETTING}; set CLOSELOOP_WEBHOOK_SECRET to choose your own)`,
      );
    }

    let closing: Promise<void> | null = null;
    const close = async (): Promise<void> => {
      // Stop taking requests (webhooks in flight are answered), then stop taking jobs and let the
      // ones in flight finish, then close the store's connections.
      await httpServer?.close();
      await worker?.stop();
      await store.close();
      logger.info('closeloop stopped');
    };
    return {
      role,
      port,
      store,
      destination,
      webhookPath: webhookSecret ? `/webhooks/amocrm/${webhookSecret}` : '',
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

/** The store the options name: Redis when given, else the embedded SQLite file. */
async function openStore(options: ServiceOptions): Promise<Store> {
  const { logger } = options;
  const onError = throttled((e: unknown, context: string) =>
    logger.error(`store error while ${context}`, {
      error: errorMessage(e),
      stack: (e as Error)?.stack,
    }),
  );
  if (options.redis) {
    options.redactor.add(passwordOf(options.redis.url));
    return createRedisStore({
      url: options.redis.url,
      prefix: options.redis.prefix,
      lockMs: options.redis.lockMs,
      deliveryLogMaxRows: options.config.deliveryLogMaxRows,
      onError,
      onConnection: (event, kind, detail) =>
        event === 'lost'
          ? logger.error(
              `Redis unreachable (${kind} connection): ${detail}; ${kind === 'intake' && options.role !== 'worker' ? 'webhooks are answered 503 (amoCRM retries them)' : 'jobs wait'} until it is back`,
            )
          : logger.info(`Redis reachable again (${kind} connection): ${detail}`),
    });
  }
  return createSqliteStore({
    dataDir: options.dataDir,
    deliveryLogMaxRows: options.config.deliveryLogMaxRows,
    now: options.now,
    pollIntervalMs: options.pollIntervalMs,
    onError,
  });
}

interface StartedWorker {
  amocrm: Awaited<ReturnType<typeof connectAmocrm>>;
  stop(): Promise<void>;
}

/** The worker side: job handlers on the three queues and the reconciliation. */
async function startWorker(
  options: ServiceOptions,
  store: Store,
  deliveryLog: DeliveryLog,
  destination: Destination,
): Promise<StartedWorker> {
  const { config, logger } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
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
      random,
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
      random,
    }),
    { concurrency: config.delivery.concurrency },
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
        random,
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
          // However many workers run, one of them reconciles per interval.
          lease: (ms) => store.acquireLease('amocrm-reconcile', ms),
          intervalMs: amocrm.api.reconcile.intervalMs,
          logger,
          now,
        })
      : null;
  reconciler?.start(options.reconcileFirstRunMs);
  return {
    amocrm,
    stop: async () => {
      await reconciler?.stop();
    },
  };
}

interface Listening {
  port: number;
  /** The address listened on (`0.0.0.0`, `::`, `127.0.0.1`). */
  host: string;
  close(): Promise<void>;
}

/**
 * The HTTP server. Closing stops accepting connections, answers requests in flight and tells
 * keep-alive clients to go (`Connection: close` on every answer from then on), closing idle
 * sockets at once and the rest when their answer is sent.
 */
async function listen(app: RequestListener, port: number, host = '0.0.0.0'): Promise<Listening> {
  let closing = false;
  const server: Server = http.createServer((req, res) => {
    if (closing) res.setHeader('connection', 'close');
    app(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Longer than common proxies' idle timeouts, so they never reuse a socket we just closed.
  server.keepAliveTimeout = 65_000;
  return {
    port: (server.address() as AddressInfo).port,
    host: (server.address() as AddressInfo).address,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        server.close(() => resolve());
        server.closeIdleConnections();
        // A socket idle again after its last answer must not wait for the keep-alive timeout.
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        server.once('close', () => clearInterval(sweep));
      }),
  };
}

function withDeadline(work: Promise<void>, ms: number): Promise<void> {
  return withTimeout(
    work,
    ms,
    () =>
      new Error(
        `work in flight did not finish within ${Math.round(ms / 1000)} s; unfinished jobs are handed out again (Redis: when their lock expires; embedded store: at the next start)`,
      ),
  );
}

/** The same error logged at most once every 30 s per context: an outage is not a log flood. */
function throttled(
  log: (e: unknown, context: string) => void,
): (e: unknown, context: string) => void {
  const last = new Map<string, number>();
  return (e, context) => {
    const key = `${context}\u0000${errorMessage(e)}`;
    const t = Date.now();
    if ((last.get(key) ?? 0) > t - 30_000) return;
    if (last.size > 1000) last.clear();
    last.set(key, t);
    log(e, context);
  };
}

function passwordOf(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

const WEBHOOK_SECRET_SETTING = 'webhook.secret';

/**
 * The webhook secret: CLOSELOOP_WEBHOOK_SECRET, else one generated on first start and kept (the
 * embedded store: in `<data dir>/webhook-secret`; Redis: in the store, so every web process on
 * every machine answers the same URL).
 */
async function webhookSecretOf(options: ServiceOptions, store: Store): Promise<string> {
  if (options.config.webhook.secret) return options.config.webhook.secret;
  if (store.kind === 'sqlite') return readOrCreateSecret(options.dataDir);
  return store.initSetting(WEBHOOK_SECRET_SETTING, randomBytes(24).toString('base64url'));
}

/**
 * The amoCRM API, when configured: the client (its rate limiter comes from the store, so the limit
 * holds for every process sharing it) and the rules with pipeline and status names resolved to
 * ids. A name that does not exist stops the start with the real names listed; an unreachable API
 * with names in the rules stops it too (the rules cannot be known), while without names the API is
 * only needed later and may come back.
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
      `the rules name pipelines or statuses, and closeloop could not read them from amoCRM: ${asClause(errorMessage(e))}`,
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
