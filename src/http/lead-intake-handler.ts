/**
 * `POST /leads` (and its CORS preflight, `OPTIONS /leads`): site forms posted straight to
 * closeloop, for sites without a backend of their own. The route stores the form as a
 * `create_lead` job and answers 202; the worker creates the lead in amoCRM (process-create-lead.ts),
 * so a visitor's form is never lost to an amoCRM outage and never waits for amoCRM's API.
 *
 * On bare node:http in front of express, like the webhook route: a public form endpoint is what
 * bots hammer, and each refusal here (wrong origin, too many posts, too large) costs no body
 * parsing. In order:
 * 1. CORS: a browser's `Origin` must be listed in `lead_intake.cors_origins` (or be closeloop's own
 *    host); others get 403 and nothing is stored. Requests without `Origin` come from servers.
 * 2. Per-address limit over a sliding minute, shared by every process on the store (Redis: the
 *    whole deployment), the address being the client's behind the trusted proxies
 *    (client-address.ts, CLOSELOOP_TRUSTED_PROXIES): 429 with `Retry-After`.
 * 3. `application/json` or `application/x-www-form-urlencoded`, at most 16 kB (413).
 * 4. Honeypot filled: 202 as if accepted, so a bot learns nothing, and nothing is stored.
 * 5. parseLeadForm: 400 listing every problem.
 * 6. Stored durably, then 202; a store that cannot take it is 503, so the site can say "try again".
 *
 * Personal data (name, phone, email, comment) goes into the job and to amoCRM, never into a log
 * line: problem messages do not repeat values, and log lines carry only flags and ids.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseLeadForm } from '../core/lead-form';
import type { LeadIntakeSettings } from '../core/config-types';
import { AppError, PayloadError } from '../core/errors';
import { asClause } from '../core/error-message';
import { errorMessage } from '../core/error-message';
import type { JobQueue } from '../ports/job-queue';
import type { WindowLimiter } from '../ports/window-limiter';
import type { CreateLeadJobPayload } from '../ports/job-payloads';
import { sendError, storeUnavailable, type RequestLogger } from './send-error';
import { readLimitedBody } from './read-limited-body';
import { clientAddress, type TrustedProxies } from './client-address';

export const LEADS_PATH = '/leads';
/** A lead form is a few short fields; 16 kB leaves room for a long comment and nothing else. */
export const MAX_LEAD_BODY_BYTES = 16 * 1024;
/** The window of `lead_intake.per_ip_per_minute`. */
export const LEAD_LIMIT_WINDOW_MS = 60_000;
/** How long a browser may reuse a preflight answer. */
const PREFLIGHT_MAX_AGE_S = 600;

export interface LeadIntakeDeps {
  logger: RequestLogger;
  settings: Pick<LeadIntakeSettings, 'corsOrigins' | 'honeypotField' | 'perIpPerMinute'>;
  queue: Pick<JobQueue, 'add'>;
  /** `per_ip_per_minute` posts per client address per minute (store.createWindowLimiter). */
  limiter: WindowLimiter;
  /** Whose X-Forwarded-For names the client (CLOSELOOP_TRUSTED_PROXIES). */
  trustedProxies: TrustedProxies;
  now: () => number;
}

/** True for `/leads` and `/leads?…`: the paths this handler answers. */
export function isLeadsRequest(req: IncomingMessage): boolean {
  if (req.method !== 'POST' && req.method !== 'OPTIONS') return false;
  const url = req.url ?? '';
  const end = url.indexOf('?');
  return (end === -1 ? url : url.slice(0, end)) === LEADS_PATH;
}

export function createLeadIntakeHandler(deps: LeadIntakeDeps) {
  const allowed = new Set(deps.settings.corsOrigins);
  const fail = (req: IncomingMessage, res: ServerResponse, e: unknown): void => {
    req.resume();
    sendError(req, res, e, deps.logger, LEADS_PATH);
  };

  return function handleLeads(req: IncomingMessage, res: ServerResponse): void {
    // Every answer depends on Origin: caches must keep one per origin.
    res.setHeader('vary', 'Origin');
    const origin = req.headers.origin;
    if (origin !== undefined && !isAllowedOrigin(origin, req, allowed)) {
      fail(
        req,
        res,
        new AppError(
          'LEAD_INTAKE_FORBIDDEN_ORIGIN',
          `pages of ${origin.slice(0, 100)} may not post leads here; closeloop's operator can add the origin to lead_intake.cors_origins`,
          { httpStatus: 403 },
        ),
      );
      return;
    }
    if (origin !== undefined) res.setHeader('access-control-allow-origin', origin);

    if (req.method === 'OPTIONS') {
      req.resume();
      if (origin !== undefined) {
        res.setHeader('access-control-allow-methods', 'POST');
        res.setHeader('access-control-allow-headers', 'Content-Type');
        res.setHeader('access-control-max-age', String(PREFLIGHT_MAX_AGE_S));
      } else {
        res.setHeader('allow', 'POST, OPTIONS');
      }
      res.writeHead(204);
      res.end();
      return;
    }

    const ip = clientAddress(req, deps.trustedProxies);
    // The body waits unread meanwhile; Redis answers in a millisecond or fails within a second.
    deps.limiter.take(ip).then(
      ({ retryAfterMs }) => {
        if (retryAfterMs === null) {
          readForm(req, res, ip, origin);
          return;
        }
        res.setHeader('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
        fail(
          req,
          res,
          new AppError(
            'LEAD_INTAKE_RATE_LIMITED',
            `too many forms from this address: at most ${deps.settings.perIpPerMinute} a minute; try again later`,
            { httpStatus: 429 },
          ),
        );
      },
      (e: unknown) => {
        // The store is away: no limit rather than no forms. Storing the form fails too if it
        // really is, and that answer (503) tells the site to try again.
        deps.logger.warn('the lead form limit could not be checked; the form is let through', {
          code: 'STORE_UNAVAILABLE',
          route: LEADS_PATH,
          error: errorMessage(e),
        });
        readForm(req, res, ip, origin);
      },
    );
  };

  function readForm(
    req: IncomingMessage,
    res: ServerResponse,
    ip: string,
    origin: string | undefined,
  ): void {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (type !== 'application/json' && type !== 'application/x-www-form-urlencoded') {
      fail(
        req,
        res,
        new PayloadError(
          'LEAD_FORM_INVALID',
          `send the form as application/json or application/x-www-form-urlencoded, not ${type === '' ? 'without a Content-Type' : type}`,
        ),
      );
      return;
    }
    const tooLarge = (): AppError =>
      new AppError('LEAD_FORM_INVALID', `the form is over the ${MAX_LEAD_BODY_BYTES} byte limit`, {
        httpStatus: 413,
      });
    readLimitedBody(req, res, MAX_LEAD_BODY_BYTES, {
      tooLarge: () => fail(req, res, tooLarge()),
      error: (e) =>
        fail(
          req,
          res,
          new PayloadError(
            'LEAD_FORM_INVALID',
            `the body could not be read: ${asClause(e.message)}`,
          ),
        ),
      body: (text) => {
        const receivedAt = deps.now();
        const input = type === 'application/json' ? readJson(text) : readUrlEncoded(text);
        if (input === null) {
          fail(
            req,
            res,
            new PayloadError('LEAD_FORM_INVALID', 'the body is not a JSON object of form fields'),
          );
          return;
        }
        if (isFilled(input[deps.settings.honeypotField])) {
          deps.logger.info('lead form ignored: the honeypot field is filled (a bot?)', {
            route: LEADS_PATH,
            ip,
            origin,
            honeypotField: deps.settings.honeypotField,
          });
          accepted(res);
          return;
        }
        const parsed = parseLeadForm(input);
        if ('problems' in parsed) {
          fail(
            req,
            res,
            new PayloadError(
              'LEAD_FORM_INVALID',
              `the form has ${parsed.problems.length === 1 ? 'a problem' : `${parsed.problems.length} problems`}: ${parsed.problems.join('; ')}`,
            ),
          );
          return;
        }
        const id = `lead:${randomUUID()}`;
        deps.queue
          .add<CreateLeadJobPayload>('create_lead', [
            { id, payload: { form: parsed.form, receivedAt } },
          ])
          .then(
            () => {
              // Flags only: whether the IDs came, never who the visitor is.
              deps.logger.info('lead form stored', {
                route: LEADS_PATH,
                jobId: id,
                origin,
                clientId: parsed.form.clientId !== null,
                sessionId: parsed.form.sessionId !== null,
              });
              accepted(res);
            },
            (e: unknown) => fail(req, res, storeUnavailable(e, 'lead form')),
          );
      },
    });
  }
}

function accepted(res: ServerResponse): void {
  const body = '{"ok":true}';
  res.writeHead(202, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function isFilled(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  return typeof value !== 'string' || value.trim() !== '';
}

/** A JSON object's own fields, or null. `__proto__` stays an ordinary (ignored) key. */
function readJson(text: string): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : null;
}

/** Form fields, the first value of each (a form has no reason to repeat one). */
function readUrlEncoded(text: string): Record<string, unknown> {
  const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of new URLSearchParams(text)) {
    if (!(key in fields)) fields[key] = value;
  }
  return fields;
}

/**
 * Listed origins, and closeloop's own host (a page it serves is same-origin). Browsers send
 * `Origin` as scheme, host and port, lower case, which is how the config stores them.
 */
function isAllowedOrigin(origin: string, req: IncomingMessage, allowed: Set<string>): boolean {
  if (allowed.has(origin)) return true;
  const host = req.headers.host;
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
