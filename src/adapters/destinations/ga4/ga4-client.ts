/**
 * Sends one built GA4 request and says what its answer means. The only I/O in the GA4 adapter.
 *
 * - 2xx: done. `/mp/collect` answers 2xx (204) even for payloads it drops, which is why payloads
 *   are validated before they get here (research ga4-mp.md A1).
 * - 429 and 5xx, network errors, timeouts: `RetryableError('GA4_UNAVAILABLE')`, with
 *   `retryAfterMs` from a `Retry-After` header.
 * - Anything else (4xx, 3xx): `DeliveryError('GA4_REJECTED')`. Google: "If you don't get a 2xx
 *   status code, correct any errors in your HTTP request. Don't retry the same request." (A1)
 *
 * The `api_secret` sits in the URL query, and transport errors like to quote the URL. No message,
 * `details` or `cause` leaving this file holds it: messages use `redactedUrl`, and causes are
 * rebuilt with the secret scrubbed, never passed through.
 *
 * The transport is node:http(s) with a keep-alive agent, not fetch: on Node 20, fetch (undici and
 * its web streams) took about a fifth of a worker's CPU per delivery in `npm run bench:e2e`.
 */
import http from 'node:http';
import https from 'node:https';
import { DeliveryError, RetryableError } from '../../../core/errors';
import { asClause } from '../../../core/error-message';
import { parseRetryAfter } from '../../../core/retry-after';
import type { Ga4HttpRequest } from './build-request';
import { scrubbedErrorCopy, type Scrub } from '../../../core/scrubbed-error-copy';

export interface SendGa4Options {
  /** Whole-request budget: connecting, sending and reading the answer. */
  timeoutMs: number;
  /** Injected in tests; `postOverHttp` by default. */
  postImpl?: PostImpl;
}

/** An HTTP answer; its body read up to MAX_ANSWER_BYTES. */
export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * POSTs `body` and reads the answer within `timeoutMs` (its body up to MAX_ANSWER_BYTES); never
 * follows a redirect. Rejects with an error named `TimeoutError` when the budget runs out, else
 * with the transport's error; an error after the request was written whole carries
 * `requestWritten: true` (GA4 may have it).
 */
export type PostImpl = (
  url: string,
  init: { headers: Record<string, string>; body: string; timeoutMs: number },
) => Promise<HttpAnswer>;

export interface Ga4SendResult {
  status: number;
  durationMs: number;
}

/** How much of an error body to keep for the delivery log. */
const MAX_BODY_CHARS = 500;
/**
 * How much of an answer's body is read: /mp/collect answers with an empty body, /debug/mp/collect
 * with a few kB of validation messages. A proxy's error page of megabytes (RSS reached 627 MB with
 * 50 MB ones) is cut here and its connection closed rather than read to the end.
 */
export const MAX_ANSWER_BYTES = 64 * 1024;

export async function sendGa4Request(
  req: Ga4HttpRequest,
  options: SendGa4Options,
): Promise<Ga4SendResult> {
  const post = options.postImpl ?? postOverHttp;
  const scrub = buildScrubber(req);
  const target = `POST ${req.redactedUrl}`;
  const started = performance.now();

  let answer: HttpAnswer;
  try {
    // A redirect would re-send the secret-bearing URL elsewhere; GA4 does not redirect
    // /mp/collect, so a 3xx is reported as a refusal instead of being followed.
    answer = await post(req.url, {
      headers: req.headers,
      body: req.body,
      timeoutMs: options.timeoutMs,
    });
  } catch (error) {
    throw buildTransportError(error, req.redactedUrl, options.timeoutMs, scrub);
  }

  const durationMs = Math.round(performance.now() - started);
  const { status, body } = answer;
  if (status >= 200 && status < 300) return { status, durationMs };

  const details = {
    status,
    url: req.redactedUrl,
    body: scrub(body).slice(0, MAX_BODY_CHARS),
    durationMs,
  };
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(answer.headers['retry-after'] ?? null, Date.now());
    throw new RetryableError(
      'GA4_UNAVAILABLE',
      `GA4 answered HTTP ${status} to ${target}; retryable${retryAfterMs === null ? '' : ` after ${retryAfterMs} ms (Retry-After)`}`,
      { details, retryAfterMs },
    );
  }
  throw new DeliveryError(
    'GA4_REJECTED',
    `GA4 refused ${target} with HTTP ${status}; not retried (Google: "Don't retry the same request"). Check the measurement ID, the API secret and GA4_ENDPOINT`,
    { details },
  );
}

/** Replaces the secret, raw or URL-encoded, and the full URL, wherever they appear. */
function buildScrubber(req: Ga4HttpRequest): Scrub {
  const secret = readApiSecret(req.url);
  const needles = [req.url];
  if (secret) needles.push(encodeURIComponent(secret), secret);
  return (text) => {
    let out = text;
    for (const needle of needles) {
      out = out.split(needle).join(needle === req.url ? req.redactedUrl : 'REDACTED');
    }
    return out;
  };
}

function readApiSecret(url: string): string | null {
  try {
    return new URL(url).searchParams.get('api_secret');
  } catch {
    return null;
  }
}

/** Network failure or timeout → retryable, with a cause that cannot leak the secret. */
function buildTransportError(
  error: unknown,
  redactedUrl: string,
  timeoutMs: number,
  scrub: Scrub,
): RetryableError {
  const cause = scrubbedErrorCopy(error, scrub);
  const target = `POST ${redactedUrl}`;
  // Written whole and unanswered: GA4 may have counted it (the worker decides what to resend).
  const maybeDelivered = (error as { requestWritten?: unknown } | null)?.requestWritten === true;
  const maybe = maybeDelivered ? '; the request was sent, so GA4 may have received it' : '';
  if (cause.name === 'TimeoutError') {
    return new RetryableError(
      'GA4_UNAVAILABLE',
      `GA4 did not answer ${target} within ${timeoutMs} ms${maybe}; retryable`,
      {
        cause,
        maybeDelivered,
        details: { url: redactedUrl, timeoutMs, maybeDelivered },
      },
    );
  }
  // Some transports (fetch: "fetch failed") put the reason (ECONNREFUSED, ENOTFOUND…) in a cause.
  const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
  return new RetryableError(
    'GA4_UNAVAILABLE',
    `Could not reach GA4 (${target}): ${asClause(`${cause.message}${inner}`)}${maybe}; retryable`,
    {
      cause,
      maybeDelivered,
      details: { url: redactedUrl, maybeDelivered },
    },
  );
}

/**
 * Connections stay open between requests and are shared per origin (DESIGN.md: keep connections
 * alive). No cap on sockets: `delivery.concurrency` bounds requests in flight, and a request
 * waiting for a free socket would spend its timeout unsent.
 *
 * An idle connection is dropped a second before the server's `Keep-Alive: timeout=N` says it
 * would close it, and after a minute without one. Node 20's agent applies the server's hint only
 * when the agent has a timeout of its own (`keepSocketAlive` in _http_agent.js); without one, a
 * request sent on a connection the server had just closed failed with ECONNRESET after being
 * written, which counts as a send that may have arrived (uncertain) when it never left.
 */
const IDLE_SOCKET_MS = 60_000;
const AGENTS = {
  'http:': new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  'https:': new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
};

/** The default PostImpl: node:http or node:https by the URL's scheme. */
export const postOverHttp: PostImpl = (url, init) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      reject(new Error(`unsupported protocol ${target.protocol}`));
      return;
    }
    let settled = false;
    // Flushed whole to the socket: from here on, a failure cannot tell whether GA4 got it.
    let written = false;
    const finish = (error: Error | null, answer?: HttpAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(written ? Object.assign(error, { requestWritten: true }) : error);
      else resolve(answer!);
    };
    const request = (target.protocol === 'https:' ? https : http).request(
      target,
      {
        method: 'POST',
        agent: AGENTS[target.protocol],
        headers: { ...init.headers, 'Content-Length': String(Buffer.byteLength(init.body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const answer = (): HttpAnswer => ({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          const room = MAX_ANSWER_BYTES - size;
          if (chunk.length < room) {
            chunks.push(chunk);
            size += chunk.length;
            return;
          }
          chunks.push(chunk.subarray(0, room));
          finish(null, answer());
          // The socket is closed instead of read to the end: cheaper than draining megabytes.
          res.destroy();
        });
        res.on('end', () => finish(null, answer()));
        res.on('error', (e) => finish(e));
        res.on('close', () => {
          if (!res.complete)
            finish(new Error('the connection closed before the answer was complete'));
        });
      },
    );
    const timer = setTimeout(() => {
      const timeout = new Error(`no complete answer within ${init.timeoutMs} ms`);
      timeout.name = 'TimeoutError';
      finish(timeout);
      request.destroy(timeout);
    }, init.timeoutMs);
    request.on('error', (e) => finish(e));
    request.on('finish', () => {
      written = true;
    });
    request.end(init.body);
  });
