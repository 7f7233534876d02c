/**
 * Turns a delivery request into the exact HTTP requests GA4 will get. Pure: no I/O and no clock
 * (`nowMs` is passed in), so every byte that goes on the wire can be checked in a unit test.
 */
import type { ParamScalar } from '../../../core/config-types';
import type { Ga4Settings } from './ga4-settings';
import { GA4_MAX_BACKDATE_MS, GA4_MAX_EVENTS } from './ga4-payload-limits';
import type { ConversionEvent, DeliveryRequest } from '../../../ports/destination';
import type { Ga4Event, Ga4Payload } from './ga4-types';

export interface Ga4HttpRequest {
  /** Real URL: carries `api_secret`. Never log it; use `redactedUrl`. */
  url: string;
  /** The same URL with `api_secret=REDACTED`: safe for logs, errors and the delivery log. */
  redactedUrl: string;
  headers: Record<string, string>;
  body: string;
  payload: Ga4Payload;
}

/**
 * Keeps `timestamp_micros` off events this close to the 72-hour backdating limit: the request may
 * sit in a retry queue or cross the wire for a while, and GA4 decides against its own clock.
 */
export const TIMESTAMP_SAFETY_MARGIN_MS = 5 * 60 * 1000;

const COLLECT_PATH = '/mp/collect';
const DEBUG_PATH = '/debug/mp/collect';

/**
 * One request per 25 events (GA4 takes at most 25 per request; research A2), all with the same
 * `client_id`. A request with no events still yields one (empty) request, so that the validator
 * reports it instead of the delivery silently doing nothing.
 */
export function buildGa4Requests(
  settings: Ga4Settings,
  request: DeliveryRequest,
  nowMs: number,
): Ga4HttpRequest[] {
  const url = buildGa4Url(settings, COLLECT_PATH);
  const redactedUrl = redactGa4Url(url);
  const timestampMicros = buildTimestampMicros(request.occurredAtMs, nowMs);
  const sessionId = request.identity.sessionId ?? null;
  const events = request.events.map((event) => buildGa4Event(event, sessionId));

  const chunks: Ga4Event[][] = [];
  for (let start = 0; start < events.length; start += GA4_MAX_EVENTS) {
    chunks.push(events.slice(start, start + GA4_MAX_EVENTS));
  }
  if (chunks.length === 0) chunks.push([]);

  return chunks.map((chunk) => {
    const payload: Ga4Payload = {
      client_id: request.identity.clientId ?? '',
      ...(timestampMicros === undefined ? {} : { timestamp_micros: timestampMicros }),
      events: chunk,
    };
    return {
      url,
      redactedUrl,
      // The documented content type; GA4 does not enforce it (research A1).
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(payload),
      payload,
    };
  });
}

/** The validation server's URL (`/debug/mp/collect`): same host and query (research A1). */
export function buildDebugUrl(settings: Ga4Settings): string {
  return buildGa4Url(settings, DEBUG_PATH);
}

/** Replaces the value of `api_secret` in a GA4 URL with `REDACTED`. */
export function redactGa4Url(url: string): string {
  return url.replace(/([?&]api_secret=)[^&#]*/g, '$1REDACTED');
}

/**
 * `<endpoint><path>?measurement_id=…&api_secret=…`. Missing credentials (dry run) give empty
 * values: the URL is still recorded, it is just never called.
 */
function buildGa4Url(settings: Ga4Settings, path: string): string {
  const base = settings.endpoint.replace(/\/+$/, '');
  const measurementId = encodeURIComponent(settings.measurementId ?? '');
  const apiSecret = encodeURIComponent(settings.apiSecret ?? '');
  return `${base}${path}?measurement_id=${measurementId}&api_secret=${apiSecret}`;
}

function buildGa4Event(event: ConversionEvent, sessionId: string | null): Ga4Event {
  const params: Record<string, ParamScalar> = { ...event.params };
  // Users are not counted as active, and events miss Realtime, without it (research A4, [I4]).
  // 1 ms: a server-side conversion has no engagement of its own.
  if (params.engagement_time_msec === undefined) params.engagement_time_msec = 1;
  // Only a real session ID: an invented one creates a new session (research A4). Without it the
  // conversion shows as Unassigned/Direct at session scope; that is the honest answer.
  if (sessionId !== null && params.session_id === undefined) params.session_id = sessionId;
  return { name: event.name, params };
}

/**
 * Microseconds since the epoch when GA4 will accept the backdating; otherwise undefined, so GA
 * uses the time of receipt. Older than 72 hours cannot be backdated (research A2, A4: the Ads
 * export window is "≥ request time − 72 hours and ≤ request time"); a time in the future is clock
 * skew between the CRM and us.
 */
function buildTimestampMicros(occurredAtMs: number | null, nowMs: number): number | undefined {
  if (occurredAtMs === null || !Number.isFinite(occurredAtMs)) return undefined;
  const oldestMs = nowMs - GA4_MAX_BACKDATE_MS + TIMESTAMP_SAFETY_MARGIN_MS;
  if (occurredAtMs <= oldestMs || occurredAtMs > nowMs) return undefined;
  return Math.round(occurredAtMs) * 1000;
}
