/**
 * The HTTP app, built apart from `listen` so tests drive it with supertest.
 *
 * amoCRM waits at most 2 s for an answer and switches a hook off after 100 failed answers in 2 h
 * (research amocrm.md §2), so the webhook route does the least it can: check the secret, parse,
 * store durably, answer. Everything else happens in the worker.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError, isAppError, PayloadError } from '../core/errors';
import type { LeadEvent } from '../core/lead';
import { parseWebhook } from '../adapters/crm/amocrm/parse-webhook';
import type { WorkerLogger } from '../worker/worker-logger';
import { errorMessage } from '../core/error-message';

export interface AppDeps {
  logger: WorkerLogger;
  webhookSecret: string;
  maxBodyBytes: number;
  /** Stores the events durably; resolves only once they would survive a crash. */
  ingest: (events: readonly LeadEvent[], receivedAt: number) => Promise<void>;
  /** Resolves with details when healthy; throws when the store cannot serve. */
  health: () => Promise<Record<string, unknown>>;
  now?: () => number;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  const now = deps.now ?? Date.now;
  const secretDigest = digest(deps.webhookSecret);

  app.get('/healthz', (_req, res, next) => {
    deps.health().then(
      (details) => res.json({ status: 'ok', ...details }),
      (e: unknown) =>
        next(new AppError('STORE_UNAVAILABLE', `store: ${errorMessage(e)}`, { httpStatus: 503 })),
    );
  });

  const readBody = express.text({
    type: () => true,
    limit: deps.maxBodyBytes,
    defaultCharset: 'utf-8',
  });

  app.post(
    '/webhooks/amocrm/:secret',
    (req, _res, next) => {
      // Compare digests so the comparison takes the same time whatever the guess.
      const given = digest(String(req.params.secret ?? ''));
      if (!timingSafeEqual(given, secretDigest)) {
        next(new AppError('HTTP_NOT_FOUND', 'not found', { httpStatus: 404 }));
        return;
      }
      next();
    },
    readBody,
    (req, res, next) => {
      const receivedAt = now();
      const type = req.headers['content-type'] ?? '';
      if (type && !type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
        next(
          new PayloadError(
            'WEBHOOK_NOT_AMOCRM',
            `expected an application/x-www-form-urlencoded body as amoCRM sends, got ${type.split(';')[0]}`,
          ),
        );
        return;
      }
      const body = typeof req.body === 'string' ? req.body : '';
      let parsed;
      try {
        parsed = parseWebhook(body);
      } catch (e) {
        next(e);
        return;
      }
      deps.ingest(parsed.events, receivedAt).then(
        () => {
          res.status(200).json({ ok: true, stored: parsed.events.length });
        },
        (e: unknown) => {
          next(
            isAppError(e) && e.code === 'STORE_UNAVAILABLE'
              ? new AppError('STORE_UNAVAILABLE', e.message, { httpStatus: 503, cause: e })
              : new AppError(
                  'STORE_UNAVAILABLE',
                  `could not store the webhook: ${errorMessage(e)}`,
                  { httpStatus: 503, cause: e },
                ),
          );
        },
      );
    },
  );

  app.use((_req, _res, next) =>
    next(new AppError('HTTP_NOT_FOUND', 'not found', { httpStatus: 404 })),
  );

  // The one error handler: every error leaves as {"error":{"code","message"}} and a log line.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toAppError(err);
    const route = req.route ? String((req.route as { path: string }).path) : req.path;
    const meta = {
      code: e.code,
      status: e.httpStatus,
      method: req.method,
      route,
      ip: req.ip,
      message: e.message,
    };
    if (e.httpStatus >= 500)
      deps.logger.error('request failed', { ...meta, stack: (err as Error)?.stack });
    else if (e.httpStatus !== 404 || route.startsWith('/webhooks'))
      deps.logger.warn('request rejected', meta);
    if (res.headersSent) return;
    res.status(e.httpStatus).json({
      error: {
        code: e.code,
        message: e.httpStatus >= 500 && e.code === 'INTERNAL' ? 'internal error' : e.message,
      },
    });
  });

  return app;
}

function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.too.large' || e?.status === 413) {
    return new AppError(
      'WEBHOOK_TOO_LARGE',
      `the body is over the ${e.message?.match(/\d+/)?.[0] ?? ''} byte limit (webhook.max_body in the config)`,
      { httpStatus: 413 },
    );
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new PayloadError(
      'WEBHOOK_NOT_AMOCRM',
      `unreadable request body: ${e.message ?? 'bad request'}`,
    );
  }
  return new AppError('INTERNAL', e?.message ?? String(err), { cause: err });
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
