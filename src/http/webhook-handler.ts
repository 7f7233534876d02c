/**
 * The webhook routes, `POST /webhooks/<source>/<secret>[/<more>]`, on bare node:http: the hot path.
 * amoCRM waits at most 2 s for an answer and switches a hook off after 100 failed answers in 2 h
 * (research amocrm.md §2), and Bitrix24 never resends one (bitrix24.md §1.5). It does the least it
 * can: find the account by the URL's secret, read the body within the limit, let the source's
 * intake check and translate it, store durably, answer. Everything else happens in the worker.
 * Express's router and body parser cost about a third of the throughput here (bench/intake.ts), so
 * the route sits in front of express instead of in it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError, PayloadError } from '../core/errors';
import type { DealEvent } from '../core/deal';
import type { WebhookIntake } from '../ports/webhook-intake';
import { sendError, storeUnavailable, type RequestLogger } from './send-error';
import { readLimitedBody } from './read-limited-body';

export const WEBHOOK_PREFIX = '/webhooks/';
/**
 * The most events one webhook may carry (a 413 above), unless its route says otherwise. amoCRM
 * never comes near it (a lead's entry is a few kB and the body at most webhook.max_body, 1 MB);
 * a body of 15,000 tiny entries would otherwise become 15,000 jobs in one write.
 */
export const MAX_EVENTS_PER_WEBHOOK = 500;

/** One account's webhook URL for one source. */
export interface WebhookRoute {
  /** The closeloop account whose events these are. */
  account: string;
  secret: string;
  intake: WebhookIntake;
  /** The most events one request may carry (default MAX_EVENTS_PER_WEBHOOK); a 413 above. */
  maxEvents?: number;
  /**
   * How many events the body holds, counted cheaply without parsing it and never more than the
   * parse would find (count-form-entries.ts): a body over `maxEvents` is refused before the parse.
   */
  countEvents?: (text: string, stopAbove: number) => number;
}

export interface WebhookDeps {
  logger: RequestLogger;
  routes: readonly WebhookRoute[];
  maxBodyBytes: number;
  /** Stores the events durably; resolves only once they would survive a crash. */
  ingest: (account: string, events: readonly DealEvent[], receivedAt: number) => Promise<void>;
  now: () => number;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** `/webhooks/amocrm/<secret>/more?x` → `{ source: 'amocrm', secret, subpath: 'more', query: 'x' }`. */
function splitPath(
  url: string,
): { source: string; secret: string; subpath: string; query: string } | null {
  const end = url.indexOf('?');
  const path = url.slice(WEBHOOK_PREFIX.length, end === -1 ? undefined : end);
  const [source, rawSecret, ...rest] = path.split('/');
  if (source === undefined || rawSecret === undefined || rawSecret === '') return null;
  let secret: string;
  try {
    secret = decodeURIComponent(rawSecret);
  } catch {
    secret = rawSecret;
  }
  return { source, secret, subpath: rest.join('/'), query: end === -1 ? '' : url.slice(end + 1) };
}

export function createWebhookHandler(deps: WebhookDeps) {
  // By source, each route's secret digest. A guess is compared with every digest of its source in
  // constant time, so the comparison takes the same time whatever the guess and whichever matches.
  const bySource = new Map<string, Array<{ digest: Buffer; route: WebhookRoute }>>();
  for (const route of deps.routes) {
    const list = bySource.get(route.intake.source) ?? [];
    list.push({ digest: digest(route.secret), route });
    bySource.set(route.intake.source, list);
  }

  return function handleWebhook(req: IncomingMessage, res: ServerResponse): void {
    const parts = splitPath(req.url ?? '');
    const candidates = parts === null ? undefined : bySource.get(parts.source);
    const route = parts === null ? null : findRoute(candidates, parts.secret);
    const where = `${WEBHOOK_PREFIX}${parts?.source ?? ':source'}/:secret`;
    const fail = (e: unknown): void => sendError(req, res, e, deps.logger, where);
    if (parts === null || route === null || (parts.subpath !== '' && !route.intake.subpaths)) {
      req.resume();
      fail(new AppError('HTTP_NOT_FOUND', 'not found', { httpStatus: 404 }));
      return;
    }
    const intake = route.intake;
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (type !== '' && !intake.contentTypes.includes(type)) {
      req.resume();
      fail(
        new PayloadError(
          intake.invalidCode,
          `expected an ${intake.contentTypes.join(' or ')} body, got ${type}`,
        ),
      );
      return;
    }
    readLimitedBody(req, res, deps.maxBodyBytes, {
      tooLarge: () =>
        fail(
          new AppError(
            'WEBHOOK_TOO_LARGE',
            `the body is over the ${deps.maxBodyBytes} byte limit (webhook.max_body in the config)`,
            { httpStatus: 413 },
          ),
        ),
      error: (e) =>
        fail(new PayloadError(intake.invalidCode, `the body could not be read: ${e.message}`)),
      body: (text, raw) => {
        const receivedAt = deps.now();
        const maxEvents = route.maxEvents ?? MAX_EVENTS_PER_WEBHOOK;
        const counted = route.countEvents?.(text, maxEvents) ?? 0;
        if (counted > maxEvents) {
          fail(tooManyEvents(`more than ${maxEvents}`, maxEvents));
          return;
        }
        let events: readonly DealEvent[];
        try {
          events = intake.parse({
            raw,
            text,
            headers: req.headers,
            subpath: parts.subpath,
            query: parts.query,
            receivedAt,
          }).events;
        } catch (e) {
          fail(e);
          return;
        }
        if (events.length > maxEvents) {
          fail(tooManyEvents(String(events.length), maxEvents));
          return;
        }
        deps.ingest(route.account, events, receivedAt).then(
          () => {
            const body = `{"ok":true,"stored":${events.length}}`;
            res.writeHead(200, {
              'content-type': 'application/json; charset=utf-8',
              'content-length': Buffer.byteLength(body),
            });
            res.end(body);
          },
          (e: unknown) => fail(storeUnavailable(e, 'webhook')),
        );
      },
    });
  };
}

function tooManyEvents(count: string, max: number): AppError {
  return new AppError(
    'WEBHOOK_TOO_MANY_EVENTS',
    `the webhook holds ${count} events, over the limit of ${max} per request; nothing was stored (send them in several requests)`,
    { httpStatus: 413 },
  );
}

function findRoute(
  candidates: ReadonlyArray<{ digest: Buffer; route: WebhookRoute }> | undefined,
  secret: string,
): WebhookRoute | null {
  if (candidates === undefined || secret.includes('/')) return null;
  const given = digest(secret);
  let found: WebhookRoute | null = null;
  for (const c of candidates) if (timingSafeEqual(given, c.digest)) found ??= c.route;
  return found;
}
