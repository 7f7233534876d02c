/**
 * The amoCRM webhook route, on bare node:http: it is the hot path, and amoCRM waits at most 2 s for
 * an answer and switches a hook off after 100 failed answers in 2 h (research amocrm.md §2). It does
 * the least it can: check the secret, read the body within the limit, parse, store durably, answer.
 * Everything else happens in the worker. Express's router and body parser cost about a third of
 * the throughput here (bench/intake.ts), so the route sits in front of express instead of in it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError, PayloadError } from '../core/errors';
import { asClause } from '../core/error-message';
import type { LeadEvent } from '../core/lead';
import { parseWebhook } from '../adapters/crm/amocrm/parse-webhook';
import { sendError, storeUnavailable, type RequestLogger } from './send-error';
import { readLimitedBody } from './read-limited-body';

export const WEBHOOK_PREFIX = '/webhooks/amocrm/';

export interface WebhookDeps {
  logger: RequestLogger;
  webhookSecret: string;
  maxBodyBytes: number;
  /** Stores the events durably; resolves only once they would survive a crash. */
  ingest: (events: readonly LeadEvent[], receivedAt: number) => Promise<void>;
  now: () => number;
}

export function createWebhookHandler(deps: WebhookDeps) {
  const secretDigest = digest(deps.webhookSecret);
  const fail = (req: IncomingMessage, res: ServerResponse, e: unknown): void =>
    sendError(req, res, e, deps.logger, `${WEBHOOK_PREFIX}:secret`);

  return function handleWebhook(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    const end = url.indexOf('?');
    const raw = url.slice(WEBHOOK_PREFIX.length, end === -1 ? undefined : end);
    let given: string;
    try {
      given = decodeURIComponent(raw);
    } catch {
      given = raw;
    }
    // Compare digests, so the comparison takes the same time whatever the guess.
    if (raw.includes('/') || !timingSafeEqual(digest(given), secretDigest)) {
      req.resume();
      fail(req, res, new AppError('HTTP_NOT_FOUND', 'not found', { httpStatus: 404 }));
      return;
    }
    const type = req.headers['content-type'] ?? '';
    if (type && !type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      req.resume();
      fail(
        req,
        res,
        new PayloadError(
          'WEBHOOK_NOT_AMOCRM',
          `expected an application/x-www-form-urlencoded body as amoCRM sends, got ${type.split(';')[0]}`,
        ),
      );
      return;
    }
    const tooLarge = (): AppError =>
      new AppError(
        'WEBHOOK_TOO_LARGE',
        `the body is over the ${deps.maxBodyBytes} byte limit (webhook.max_body in the config)`,
        { httpStatus: 413 },
      );
    readLimitedBody(req, res, deps.maxBodyBytes, {
      tooLarge: () => fail(req, res, tooLarge()),
      error: (e) =>
        fail(
          req,
          res,
          new PayloadError(
            'WEBHOOK_NOT_AMOCRM',
            `the body could not be read: ${asClause(e.message)}`,
          ),
        ),
      body: (text) => {
        const receivedAt = deps.now();
        let events: readonly LeadEvent[];
        try {
          events = parseWebhook(text).events;
        } catch (e) {
          fail(req, res, e);
          return;
        }
        deps.ingest(events, receivedAt).then(
          () => {
            const body = `{"ok":true,"stored":${events.length}}`;
            res.writeHead(200, {
              'content-type': 'application/json; charset=utf-8',
              'content-length': Buffer.byteLength(body),
            });
            res.end(body);
          },
          (e: unknown) => {
            fail(req, res, storeUnavailable(e, 'webhook'));
          },
        );
      },
    });
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
