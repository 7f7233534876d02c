/**
 * The HTTP app, built apart from `listen` so tests drive it with supertest: a request listener
 * that sends amoCRM webhooks and site lead forms to their lean handlers (see webhook-handler.ts
 * and lead-intake-handler.ts) and everything else to express.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AppError, isAppError } from '../core/errors';
import { asClause, errorMessage } from '../core/error-message';
import { sendError, type RequestLogger } from './send-error';
import { prepareSnippet } from './serve-snippet';
import { prepareSchemas, type SchemaDocuments } from './serve-schemas';
import { createWebhookHandler, WEBHOOK_PREFIX, type WebhookDeps } from './webhook-handler';
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
  /** Called when a webhook request has been answered, with its status. */
  onWebhookAnswered?: (status: number) => void;
  /** Lead intake (`POST /leads`, `OPTIONS /leads`); absent: those requests are 404. */
  leadIntake?: Pick<LeadIntakeDeps, 'settings' | 'queue'>;
  /** The built form snippet (dist/browser/snippet.min.js), served at GET /snippet.js. */
  snippet?: Buffer;
  /** JSON Schema documents served at `GET /schemas/<name>` (the signed intake's deal-event.json). */
  schemas?: SchemaDocuments;
  now?: () => number;
}

export function createApp(deps: AppDeps): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', 'loopback');

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
    app.get('/metrics', (_req, res, next) => {
      metrics().then(
        (text) => res.type('text/plain; version=0.0.4').send(text),
        (e: unknown) => next(e),
      );
    });
  }

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
        logger: deps.logger,
        now: deps.now ?? Date.now,
      })
    : null;

  return (req: IncomingMessage, res: ServerResponse) => {
    if (handleWebhook !== null && req.method === 'POST' && req.url?.startsWith(WEBHOOK_PREFIX)) {
      const answered = deps.onWebhookAnswered;
      if (answered) res.once('finish', () => answered(res.statusCode));
      handleWebhook(req, res);
    } else if (handleLeads !== null && isLeadsRequest(req)) {
      handleLeads(req, res);
    } else {
      app(req, res);
    }
  };
}
