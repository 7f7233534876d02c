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
 * The `api_secret` sits in the URL query, and fetch errors like to quote the URL. No message,
 * `details` or `cause` leaving this file holds it: messages use `redactedUrl`, and causes are
 * rebuilt with the secret scrubbed, never passed through.
 */
import { DeliveryError, RetryableError } from '../../../core/errors';
import { parseRetryAfter } from '../../../core/retry-after';
import type { Ga4HttpRequest } from './build-request';
import { scrubbedErrorCopy, type Scrub } from '../../../core/scrubbed-error-copy';

export interface SendGa4Options {
  /** Whole-request budget: connecting, sending and reading the answer. */
  timeoutMs: number;
  /** Injected in tests; global fetch by default. */
  fetchImpl?: typeof fetch;
}

export interface Ga4SendResult {
  status: number;
  durationMs: number;
}

/** How much of an error body to keep for the delivery log. */
const MAX_BODY_CHARS = 500;

export async function sendGa4Request(
  req: Ga4HttpRequest,
  options: SendGa4Options,
): Promise<Ga4SendResult> {
  const fetchImpl = options.fetchImpl ?? fetch;
  const scrub = buildScrubber(req);
  const target = `POST ${req.redactedUrl}`;
  const started = performance.now();

  let response: Response;
  let body: string;
  try {
    // Node's fetch (undici) keeps connections alive and pools them per origin by default, so
    // consecutive requests to GA4 reuse one TLS connection (DESIGN.md: keep connections alive).
    response = await fetchImpl(req.url, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      // A redirect would re-send the secret-bearing URL elsewhere; GA4 does not redirect
      // /mp/collect, so a 3xx is reported as a refusal instead of being followed.
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    // Read the body within the same timeout; it also releases the connection back to the pool.
    body = await response.text();
  } catch (error) {
    throw buildTransportError(error, req.redactedUrl, options.timeoutMs, scrub);
  }

  const durationMs = Math.round(performance.now() - started);
  const { status } = response;
  if (status >= 200 && status < 300) return { status, durationMs };

  const details = {
    status,
    url: req.redactedUrl,
    body: scrub(body).slice(0, MAX_BODY_CHARS),
    durationMs,
  };
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
    throw new RetryableError(
      'GA4_UNAVAILABLE',
      `GA4 answered HTTP ${status} to ${target}; retryable${retryAfterMs === null ? '' : ` after ${retryAfterMs} ms (Retry-After)`}.`,
      { details, retryAfterMs },
    );
  }
  throw new DeliveryError(
    'GA4_REJECTED',
    `GA4 refused ${target} with HTTP ${status}; not retried (Google: "Don't retry the same request"). Check the measurement ID, the API secret and GA4_ENDPOINT.`,
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
  if (cause.name === 'TimeoutError') {
    return new RetryableError(
      'GA4_UNAVAILABLE',
      `GA4 did not answer ${target} within ${timeoutMs} ms; retryable.`,
      {
        cause,
        details: { url: redactedUrl, timeoutMs },
      },
    );
  }
  // undici says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause.
  const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
  return new RetryableError(
    'GA4_UNAVAILABLE',
    `Could not reach GA4 (${target}): ${cause.message}${inner}; retryable.`,
    {
      cause,
      details: { url: redactedUrl },
    },
  );
}
