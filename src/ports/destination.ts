/**
 * Destination: where conversions go (GA4 today; Yandex Metrica next).
 *
 * Contract:
 * - `deliver` validates every payload locally before sending anything. An invalid payload is never
 *   sent: it throws `DeliveryError` (code `GA4_PAYLOAD_INVALID`, the exact reasons in `details`).
 * - A refusal for good (a 4xx other than 429) throws `DeliveryError`; the caller records it and does
 *   not retry. Transient failures (network, timeout, 429, 5xx) throw `RetryableError`, with
 *   `retryAfterMs` when the destination said how long to wait; the caller schedules the retry.
 * - In dry-run mode nothing goes on the wire: payloads are validated and returned with outcome
 *   `dry_run`.
 * - Every outbound call has a timeout. Secrets (GA4's `api_secret` is in the URL query) never
 *   appear in a returned URL, an error message or `details`.
 *
 * Out of scope: idempotency (the worker checks the ledger before calling `deliver`), retries and
 * backoff (the job queue and the core retry policy own them).
 */
import type { ParamScalar } from '../core/config-types';

export interface ConversionEvent {
  name: string;
  params: Readonly<Record<string, ParamScalar>>;
}

export interface DeliveryRequest {
  accountId: string;
  leadId: number;
  /** Normalised GA client ID (`123.456`). */
  clientId: string;
  /** GA session ID (digits) when the lead has one; never invented. */
  sessionId: string | null;
  /** When it happened in the CRM, Unix milliseconds; null when unknown. */
  occurredAtMs: number | null;
  events: readonly ConversionEvent[];
}

/** What went (or would have gone) on the wire, minus secrets. */
export interface RecordedRequest {
  /** URL with `api_secret` redacted. */
  url: string;
  payload: unknown;
  status: number | null;
}

export interface DeliveryResult {
  outcome: 'sent' | 'dry_run';
  requests: RecordedRequest[];
}

export interface Destination {
  readonly name: string;
  readonly dryRun: boolean;
  /** `nowMs` decides `timestamp_micros` (GA4 backdates at most 72 hours). */
  deliver(request: DeliveryRequest, nowMs: number): Promise<DeliveryResult>;
}
