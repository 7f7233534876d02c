/**
 * The HTTP app, built apart from `listen` so tests drive it with supertest: a request listener
 * that sends amoCRM webhooks and site lead forms to their lean handlers (see webhook-handler.ts
 * and lead-intake-handler.ts) and everything else to express.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError, isAppError } from '../core/errors';
import { asClause, errorMessage } from '../core/error-message';
import { sendError, type RequestLogger } from './send-error';
import { prepareSnippet } from './serve-snippet';
import { prepareSchemas, type SchemaDocuments } from './serve-schemas';
import { createWebhookHandler, WEBHOOK_PREFIX, type WebhookDeps } from './webhook-handler';
import {
  DEFAULT_TRUSTED_PROXIES,
  parseTrustedProxies,
  plainIp,
  type TrustedProxies,
} from './client-address';
import {
  createLeadIntakeHandler,
  isLeadsRequest,
  type LeadIntakeDeps,
} from './lead-intake-handler';

export interface AppDeps {
  logger: RequestLogger;
  /** CRM webhooks (`POST /webhooks/<source>/<secret>`); absent (a worker process): 404. */
  webhooks?: Pick<WebhookDeps, 'routes' | 'maxBodyBytes' | 'ingest'>;
  /** Resolves with details when healthy; throws when the store cannot serve. */
  health: () => Promise<Record<string, unknown>>;
  /** Prometheus text for GET /metrics. */
  metrics?: () => Promise<string>;
  /** When set, GET /metrics needs `Authorization: Bearer <token>` (CLOSELOOP_METRICS_TOKEN). */
  metricsToken?: string | null;
  /** Called when a webhook request has been answered, with its status and how long it took. */
  onWebhookAnswered?: (status: number, seconds: number) => void;
  /** Called when a POST /leads request has been answered, with its status. */
  onLeadsAnswered?: (status: number) => void;
  /** Lead intake (`POST /leads`, `OPTIONS /leads`); absent: those requests are 404. */
  leadIntake?: Pick<LeadIntakeDeps, 'settings' | 'queue' | 'limiter'>;
  /**
   * Whose X-Forwarded-For names the client (CLOSELOOP_TRUSTED_PROXIES); loopback by default: a
   * proxy on this machine.
   */
  trustedProxies?: TrustedProxies;
  /** The built form snippet (dist/browser/snippet.min.js), served at GET /snippet.js. */
  snippet?: Buffer;
  /** The marketers' console and /api/v1 (src/console/create-console.ts); absent: both 404. */
  console?: express.Router;
  /** JSON Schema documents served at `GET /schemas/<name>` (the signed intake's deal-event.json). */
  schemas?: SchemaDocuments;
  now?: () => number;
}

const LOOPBACK = parseTrustedProxies(DEFAULT_TRUSTED_PROXIES) as TrustedProxies;

export function createApp(deps: AppDeps): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const trustedProxies = deps.trustedProxies ?? LOOPBACK;
  // express's req.ip and req.protocol believe the same proxies as the lead route.
  app.set('trust proxy', (ip: string) => trustedProxies.trusts(plainIp(ip)));

  if (deps.snippet) {
    // Compressed here, once, not per request (serve-snippet.ts); express routes HEAD here too.
    const snippet = prepareSnippet(deps.snippet);
    app.get('/snippet.js', (req, res) => snippet.serve(req, res));
  }

  if (deps.schemas) {
    const schemas = prepareSchemas(deps.schemas);
    app.get('/schemas/:name', (req, res, next) => {
      const name = String(req.params.name);
      if (schemas.has(name)) schemas.serve(name, req, res);
      else next();
    });
  }

  // 200 when the store can take writes; else 503 with why and what to do, for a load balancer and
  // for the person reading it.
  app.get('/healthz', (_req, res) => {
    deps.health().then(
      (details) => res.json({ status: 'ok', ...details }),
      (e: unknown) => {
        const reason = asClause(errorMessage(e));
        deps.logger.warn('unhealthy: the store cannot serve', { reason });
        res.status(503).json({
          status: 'unhealthy',
          code: isAppError(e) ? e.code : 'STORE_UNAVAILABLE',
          reason,
        });
      },
    );
  });

  const metrics = deps.metrics;
  if (metrics) {
    const allowed = bearerCheck(deps.metricsToken ?? null);
    app.get('/metrics', (req, res, next) => {
      if (!allowed(req.headers.authorization)) {
        res.setHeader('www-authenticate', 'Bearer realm="closeloop metrics"');
        next(
          new AppError(
            'METRICS_UNAUTHORIZED',
            'GET /metrics needs the header Authorization: Bearer <the value of CLOSELOOP_METRICS_TOKEN>',
            { httpStatus: 401 },
          ),
        );
        return;
      }
      metrics().then(
        (text) => res.type('text/plain; version=0.0.4').send(text),
        (e: unknown) => next(e),
      );
    });
  }

  if (deps.console) app.use(deps.console);

  app.use((_req, _res, next) =>
    next(new AppError('HTTP_NOT_FOUND', 'not found', { httpStatus: 404 })),
  );

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const route = req.route ? String((req.route as { path: string }).path) : req.path;
    sendError(req, res, err, deps.logger, route);
  });

  const handleWebhook = deps.webhooks
    ? createWebhookHandler({
        ...deps.webhooks,
        logger: deps.logger,
        now: deps.now ?? Date.now,
      })
    : null;

  const handleLeads = deps.leadIntake
    ? createLeadIntakeHandler({
        ...deps.leadIntake,
        trustedProxies,
        logger: deps.logger,
        now: deps.now ?? Date.now,
      })
    : null;

  return (req: IncomingMessage, res: ServerResponse) => {
    if (handleWebhook !== null && req.method === 'POST' && req.url?.startsWith(WEBHOOK_PREFIX)) {
      const answered = deps.onWebhookAnswered;
      if (answered) {
        const started = performance.now();
        res.once('finish', () => answered(res.statusCode, (performance.now() - started) / 1000));
      }
      handleWebhook(req, res);
    } else if (handleLeads !== null && isLeadsRequest(req)) {
      const answered = deps.onLeadsAnswered;
      if (answered && req.method === 'POST') res.once('finish', () => answered(res.statusCode));
      handleLeads(req, res);
    } else {
      app(req, res);
    }
  };
}

/**
 * Whether an Authorization header carries the token: compared as SHA-256 digests in constant
 * time, so neither the comparison's time nor the token's length tells a guesser anything. No token
 * configured: everyone may read.
 */
function bearerCheck(token: string | null): (header: string | undefined) => boolean {
  if (token === null || token === '') return () => true;
  const expected = createHash('sha256').update(token).digest();
  return (header) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
    const given = createHash('sha256')
      .update(match?.[1] ?? '')
      .digest();
    return timingSafeEqual(given, expected) && match !== null;
  };
}
