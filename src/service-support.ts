/**
 * Part of the composition root (with main.ts): opening the store, the HTTP server, the generated
 * webhook secret and the built form snippet.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import http, { type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type winston from 'winston';
import { errorMessage } from './core/error-message';
import type { Store } from './ports/store';
import type { PruneReport } from './ports/delivery-log';
import { createSqliteStore } from './adapters/store/sqlite';
import { createRedisStore } from './adapters/store/redis';
import { withTimeout } from './adapters/with-timeout';
import {
  boundServer,
  DEFAULT_SERVER_BOUNDS,
  serverOptions,
  type ServerBounds,
  type ServerWatch,
} from './http/server-bounds';
import type { ServiceOptions } from './service-options';

/** The store the options name: Redis when given, else the embedded SQLite file. */
export async function openStore(options: ServiceOptions): Promise<Store> {
  const { logger } = options;
  const onError = throttled((e: unknown, context: string) =>
    logger.error(`store error while ${context}`, {
      error: errorMessage(e),
      stack: (e as Error)?.stack,
    }),
  );
  const deliveryLogLimits = {
    deliveryLogMaxRows: options.config.deliveryLogMaxRows,
    deliveryLogMaxAgeMs: options.config.deliveryLogMaxAgeMs,
    onDeliveryLogPruned: (report: PruneReport) =>
      logger.info(`delivery log pruned by ${report.reason}`, { removed: report.removed }),
  };
  if (options.redis) {
    options.redactor.add(passwordOf(options.redis.url));
    return createRedisStore({
      url: options.redis.url,
      prefix: options.redis.prefix,
      lockMs: options.redis.lockMs,
      ...deliveryLogLimits,
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
    ...deliveryLogLimits,
    now: options.now,
    pollIntervalMs: options.pollIntervalMs,
    onError,
  });
}

export interface Listening {
  port: number;
  /** The address listened on (`0.0.0.0`, `::`, `127.0.0.1`). */
  host: string;
  close(): Promise<void>;
}

/**
 * The HTTP server, bounded (http/server-bounds.ts: request timeouts, a connection cap). Closing
 * stops accepting connections, answers requests in flight and tells keep-alive clients to go
 * (`Connection: close` on every answer from then on), closing idle sockets at once and the rest
 * when their answer is sent.
 */
export async function listen(
  app: RequestListener,
  port: number,
  host = '0.0.0.0',
  bounds: ServerBounds = DEFAULT_SERVER_BOUNDS,
  watch?: ServerWatch,
): Promise<Listening> {
  let closing = false;
  const server: Server = http.createServer(serverOptions(bounds), (req, res) => {
    if (closing) res.setHeader('connection', 'close');
    app(req, res);
  });
  boundServer(server, bounds, watch);
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

export function withDeadline(work: Promise<void>, ms: number): Promise<void> {
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
export function throttled(
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

export function passwordOf(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

export const WEBHOOK_SECRET_SETTING = 'webhook.secret';

/**
 * The webhook secret: CLOSELOOP_WEBHOOK_SECRET, else one generated on first start and kept (the
 * embedded store: in `<data dir>/webhook-secret`; Redis: in the store, so every web process on
 * every machine answers the same URL).
 */
export async function webhookSecretOf(options: ServiceOptions, store: Store): Promise<string> {
  if (options.config.webhook.secret) return options.config.webhook.secret;
  if (store.kind === 'sqlite') return readOrCreateSecret(options.dataDir);
  return store.initSetting(WEBHOOK_SECRET_SETTING, randomBytes(24).toString('base64url'));
}

/** The form snippet built by `npm run build` (browser/build.js); without it /snippet.js is a 404. */
export function readSnippet(logger: winston.Logger): Buffer | undefined {
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
