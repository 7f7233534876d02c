/** `closeloop start`: load and check the config, then run the service until SIGTERM/SIGINT. */
import { readConsoleSettings } from '../console/console-password';
import type { Command } from 'commander';
import type winston from 'winston';
import type { CloseloopConfig } from '../config/config-types';
import { isAppError, type ErrorCode } from '../core/errors';
import {
  chooseLogFormat,
  createLogger,
  SERVICE_SAMPLE_WINDOW_MS,
} from '../adapters/log/create-logger';
import { captureConsole } from '../adapters/log/capture-console';
import { Redactor } from '../adapters/log/redactor';
import { ROLES, roleNeedsRedis, startService, type RedisSettings, type Role } from '../main';
import { locateDataDir } from '../config/locate-data-dir';
import type { CliRun } from './cli-run';
import { errorMessage } from '../core/error-message';
import { DEFAULT_SERVER_BOUNDS } from '../http/server-bounds';
import {
  DEFAULT_TRUSTED_PROXIES,
  parseTrustedProxies,
  type TrustedProxies,
} from '../http/client-address';
import { CONFIG_ARGUMENT, loadConfigOrReport } from './load-config-or-report';

/** Every interface (IPv4), as before HOST existed. */
export const DEFAULT_HOST = '0.0.0.0';

export function startCommand(run: CliRun): Command {
  return run
    .command('start')
    .summary('run the service: HTTP (webhooks, site forms, snippet) and the worker')
    .description(
      'Runs closeloop until SIGTERM or Ctrl-C: the HTTP server (amoCRM webhooks, site forms, the ' +
        'snippet, /healthz, /metrics) and the worker that turns deal changes into GA4 events. It checks ' +
        'the config first and refuses to start on any problem, listing each.',
    )
    .argument('[config]', CONFIG_ARGUMENT)
    .addHelpText(
      'after',
      `
Environment:
  PORT                HTTP port (default 3000; none for a worker unless set)
  HOST                the address to listen on (default 0.0.0.0, every IPv4
                      interface; :: every interface; 127.0.0.1 this machine
                      only, behind a proxy on it)
  CLOSELOOP_DATA_DIR  the embedded store (default: the folder data beside the
                      config's folder, so config/closeloop.yaml → ./data)
  REDIS_URL           Redis instead of the embedded store, shared by processes
  CLOSELOOP_ROLE      all (default), web (webhooks, forms) or worker (jobs);
                      web and worker need REDIS_URL
  CLOSELOOP_METRICS_TOKEN
                      when set, GET /metrics needs Authorization: Bearer <it>
  CLOSELOOP_CONSOLE_PASSWORD
                      turns the web console on at /console (12 characters
                      or more, not easy to guess)
  CLOSELOOP_API_TOKEN Authorization: Bearer <it> reaches /api/v1 without a
                      console session (24 characters or more)
  CLOSELOOP_MAX_CONNECTIONS
                      HTTP connections open at once (default 1024)
  CLOSELOOP_TRUSTED_PROXIES
                      proxies whose X-Forwarded-For names the client:
                      addresses, CIDR ranges, loopback (the default)
  LOG_LEVEL           info (default), warn, error, debug
  LOG_FORMAT          json or pretty (default: pretty in a terminal)`,
    )
    .action(run.action('start', (configPath: string | undefined) => start(configPath, run)));
}

async function start(
  configPath: string | undefined,
  { io, env, cwd, envFiles }: CliRun,
): Promise<number> {
  const config = loadConfigOrReport(io, env, cwd, configPath, 'closeloop cannot start: ');
  if (config === null) return 1;
  const redactor = new Redactor();
  const logger = createLogger({
    level: env.LOG_LEVEL ?? 'info',
    format: chooseLogFormat(env, Boolean(process.stdout.isTTY)),
    redactor,
    // A flood of one error (a scanner guessing secrets, a GA4 outage) is a line a minute.
    sampleWindowMs: SERVICE_SAMPLE_WINDOW_MS,
  });
  // Libraries' console output (BullMQ, ioredis) as JSON lines, not plain text among them.
  const releaseConsole = captureConsole(logger);
  try {
    return await serve(config, logger, redactor, configPath, { io, env, cwd, envFiles });
  } finally {
    releaseConsole();
  }
}

async function serve(
  config: CloseloopConfig,
  logger: winston.Logger,
  redactor: Redactor,
  configPath: string | undefined,
  { io, env, cwd, envFiles }: Pick<CliRun, 'io' | 'env' | 'cwd' | 'envFiles'>,
): Promise<number> {
  const settings = readProcessSettings(env);
  if (typeof settings === 'string') {
    io.err(`closeloop cannot start: ${settings}`);
    return 1;
  }
  // Signal handlers first: until a process listens for SIGTERM, the system's default ends it at
  // once, and a platform may send one while the service is still starting.
  let signalled: string | null = null;
  let onSignal: (signal: string) => void = (signal) => {
    signalled ??= signal;
  };
  const handle = (signal: string) => () => onSignal(signal);
  process.on('SIGTERM', handle('SIGTERM'));
  process.on('SIGINT', handle('SIGINT'));
  let service;
  try {
    service = await startService({
      config,
      logger,
      redactor,
      dataDir: locateDataDir(env, cwd, configPath).path,
      ...settings,
      // Checked by readProcessSettings.
      trustedProxies: parseTrustedProxies(settings.trustedProxies) as TrustedProxies,
    });
  } catch (e) {
    const listenProblem = settings.port === null ? null : describeListenError(e, settings);
    const code: ErrorCode | undefined =
      listenProblem === null ? (isAppError(e) ? e.code : undefined) : 'HTTP_LISTEN_FAILED';
    logger.error(`closeloop cannot start: ${listenProblem ?? errorMessage(e)}`, { code });
    return 1;
  }
  if (envFiles.length > 0) {
    logger.info('environment variables also read from .env files (the real environment wins)', {
      files: envFiles,
    });
  }
  const running = service;
  return new Promise<number>((resolve) => {
    let stopping = false;
    onSignal = (signal: string): void => {
      if (stopping) {
        logger.warn(`${signal} received again: stopping now, without waiting for work in flight`);
        resolve(1);
        return;
      }
      stopping = true;
      logger.info(`${signal} received: finishing work in flight`);
      running.close().then(
        () => resolve(0),
        (e: unknown) => {
          logger.error('error while stopping', { error: errorMessage(e) });
          resolve(1);
        },
      );
    };
    if (signalled !== null) onSignal(signalled);
  });
}

interface ProcessSettings {
  role: Role;
  port: number | null;
  host: string;
  redis?: RedisSettings;
  metricsToken: string | null;
  console: { password: string; apiToken: string | null } | null;
  serverBounds: { maxConnections: number };
  /** CLOSELOOP_TRUSTED_PROXIES, checked (parseTrustedProxies takes each). */
  trustedProxies: readonly string[];
}

/** PORT, HOST, CLOSELOOP_ROLE and the Redis variables; a string says what is wrong and how to fix it. */
export function readProcessSettings(env: NodeJS.ProcessEnv): ProcessSettings | string {
  const role = (env.CLOSELOOP_ROLE || 'all') as Role;
  if (!ROLES.includes(role)) {
    return `CLOSELOOP_ROLE="${env.CLOSELOOP_ROLE}" is not a role. Fix: set it to web (webhooks and lead forms), worker (job processing) or all (both, the default).`;
  }
  const redisUrl = env.REDIS_URL || undefined;
  if (role !== 'all' && redisUrl === undefined) {
    return roleNeedsRedis(role);
  }
  if (redisUrl !== undefined && !/^rediss?:\/\//i.test(redisUrl)) {
    return `REDIS_URL must start with redis:// or rediss:// (redis://[:password@]host:port[/db]). Fix: correct it, or unset it to use the embedded store.`;
  }
  const prefix = env.CLOSELOOP_REDIS_PREFIX || undefined;
  if (prefix !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) {
    return `CLOSELOOP_REDIS_PREFIX="${prefix}" may hold only letters, digits, "_", "." and "-" (at most 64). Fix: correct it or unset it (default closeloop).`;
  }
  let lockMs: number | undefined;
  if (env.CLOSELOOP_REDIS_LOCK_MS) {
    lockMs = Number(env.CLOSELOOP_REDIS_LOCK_MS);
    if (!Number.isInteger(lockMs) || lockMs < 1000 || lockMs > 600_000) {
      return `CLOSELOOP_REDIS_LOCK_MS="${env.CLOSELOOP_REDIS_LOCK_MS}" is not a whole number of milliseconds from 1000 to 600000. Fix: correct it or unset it (default 15000).`;
    }
  }
  // A worker has no HTTP server unless PORT is set (then /healthz and /metrics only).
  let port: number | null = role === 'worker' ? null : 3000;
  if (env.PORT !== undefined && env.PORT !== '') {
    const n = Number(env.PORT);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      return `PORT="${env.PORT}" is not a port number (0-65535). Fix: set PORT=3000 or unset it.`;
    }
    port = n;
  }
  const host = readHost(env.HOST);
  if (host === null) {
    return `HOST="${env.HOST}" is not a host name or an IP address. Fix: set HOST=0.0.0.0 (every IPv4 interface), HOST=:: (every interface) or HOST=127.0.0.1 (this machine only), or unset it (default ${DEFAULT_HOST}).`;
  }
  let maxConnections = DEFAULT_SERVER_BOUNDS.maxConnections;
  if (env.CLOSELOOP_MAX_CONNECTIONS) {
    maxConnections = Number(env.CLOSELOOP_MAX_CONNECTIONS);
    if (!Number.isInteger(maxConnections) || maxConnections < 16 || maxConnections > 1_000_000) {
      return `CLOSELOOP_MAX_CONNECTIONS="${env.CLOSELOOP_MAX_CONNECTIONS}" is not a whole number from 16 to 1000000. Fix: correct it (keep it below the open-files limit, ulimit -n) or unset it (default ${DEFAULT_SERVER_BOUNDS.maxConnections}).`;
    }
  }
  const metricsToken = env.CLOSELOOP_METRICS_TOKEN?.trim() || null;
  if (metricsToken !== null && !/^[\x21-\x7e]{16,}$/.test(metricsToken)) {
    // Never quote it: it is a secret, even a bad one.
    return `CLOSELOOP_METRICS_TOKEN must be at least 16 printable characters without spaces (it is sent as Authorization: Bearer <token>). Fix: set it to e.g. the output of openssl rand -hex 24, or unset it to leave /metrics open.`;
  }
  const consoleSettings = readConsoleSettings(env);
  if (typeof consoleSettings === 'string') return consoleSettings;
  const proxies = (env.CLOSELOOP_TRUSTED_PROXIES ?? '').split(/[\s,]+/).filter(Boolean);
  const trustedProxies = proxies.length === 0 ? DEFAULT_TRUSTED_PROXIES : proxies;
  const badProxy = parseTrustedProxies(trustedProxies);
  if (typeof badProxy === 'string') {
    return `CLOSELOOP_TRUSTED_PROXIES: ${badProxy}. Fix: list the addresses of the proxies in front of closeloop, separated by commas (e.g. loopback,10.0.0.0/8), or unset it (default: loopback, a proxy on this machine).`;
  }
  return {
    role,
    port,
    host,
    ...(redisUrl === undefined ? {} : { redis: { url: redisUrl, prefix, lockMs } }),
    metricsToken,
    console:
      consoleSettings.password === null
        ? null
        : { password: consoleSettings.password, apiToken: consoleSettings.apiToken },
    serverBounds: { maxConnections },
    trustedProxies,
  };
}

/** HOST: unset or empty is the default; spaces alone, or characters no host or address has, are not. */
function readHost(value: string | undefined): string | null {
  if (value === undefined || value === '') return DEFAULT_HOST;
  const host = value.trim();
  // Letters, digits, dots and hyphens (names, IPv4), colons (IPv6), and %zone for link-local IPv6.
  return /^[A-Za-z0-9._:%-]+$/.test(host) ? host : null;
}

/**
 * Why the HTTP server could not listen, for a person: the port taken, a port that needs rights, a
 * HOST that is not this machine's. Null for any other error.
 */
export function describeListenError(
  e: unknown,
  { host, port }: { host: string; port: number | null },
): string | null {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const on = host === DEFAULT_HOST ? '' : ` on ${host}`;
  const other = port === null || port >= 65535 ? 3001 : port + 1;
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port}${on} is in use (another closeloop, or another program). Fix: stop it, or set PORT to a free port, e.g. PORT=${other}`;
    case 'EACCES':
      return port !== null && port < 1024
        ? `port ${port} needs administrator rights (ports below 1024 do). Fix: set PORT to a port from 1024 up, e.g. PORT=3000, and let a proxy (nginx, Caddy) or the platform's router take port ${port}`
        : `the system does not let closeloop listen on port ${port}${on} (EACCES). Fix: set PORT to another port, e.g. PORT=${other}`;
    case 'EADDRNOTAVAIL':
      return `HOST=${host} is not an address of this machine, so closeloop cannot listen on it. Fix: set HOST to one of its addresses, or to 0.0.0.0 (every IPv4 interface), :: (every interface) or 127.0.0.1 (this machine only), or unset it`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return `HOST=${host} is not a host name this machine can resolve, so closeloop cannot listen on it. Fix: set HOST to an IP address of this machine, or to 0.0.0.0 (every IPv4 interface), :: (every interface) or 127.0.0.1 (this machine only), or unset it`;
    default:
      return null;
  }
}
