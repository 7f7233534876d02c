/** What starting the service takes and gives: the options of startService, and the process roles. */
import type winston from 'winston';
import type { CloseloopConfig } from './config/config-types';
import type { Redactor } from './adapters/log/redactor';
import type { Destination } from './ports/destination';
import type { Store } from './ports/store';
import type { ServerBounds } from './http/server-bounds';
import type { TrustedProxies } from './http/client-address';

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
  /** How often each Metrica upload loop looks at its outbox (default 1000 ms). */
  metricaTickMs?: number;
  /** Tests: when the first reconciliation runs (5 s after start by default). */
  reconcileFirstRunMs?: number;
  /**
   * How long close() lets requests and jobs in flight finish (default 25 s: platforms send SIGKILL
   * about 30 s after SIGTERM). Past it, close() rejects; jobs still in flight go back to the queue
   * (their lock expires, or the embedded store recovers them at the next start).
   */
  shutdownTimeoutMs?: number;
  /** CLOSELOOP_METRICS_TOKEN: when set, GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken?: string | null;
  /** The HTTP server's bounds (CLOSELOOP_MAX_CONNECTIONS; tests: shorter timeouts). */
  serverBounds?: Partial<ServerBounds>;
  /** CLOSELOOP_TRUSTED_PROXIES: whose X-Forwarded-For names the client (default: loopback). */
  trustedProxies?: TrustedProxies;
  /**
   * The marketers' console at /console and its API at /api/v1 (CLOSELOOP_CONSOLE_PASSWORD, and
   * CLOSELOOP_API_TOKEN for scripts); absent or null: off.
   */
  console?: { password: string; apiToken: string | null } | null;
  /** Bench: 0 reads queue depths on every scrape, as before they were cached (default 5 s). */
  queueDepthsMaxAgeMs?: number;
}

export interface RunningService {
  role: Role;
  /** 0 when no HTTP server runs. */
  port: number;
  store: Store;
  /** The default account's GA4 destination. */
  destination: Destination;
  /** The default account's amoCRM webhook path (`/webhooks/amocrm/<secret>`); '' in a worker. */
  webhookPath: string;
  /** Each account's webhook paths by source (`{ amocrm: '/webhooks/amocrm/…', generic: … }`). */
  webhookPaths: ReadonlyMap<string, Readonly<Record<string, string>>>;
  close(): Promise<void>;
}
