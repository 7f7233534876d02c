/**
 * Destination: where conversions go (GA4; Yandex Metrica next), one instance per account.
 *
 * Contract:
 * - `id` is unique in the process and stable across restarts: it is the first part of every ledger
 *   key (`ga4` for the default account, `<account>/ga4` for the others), so that a conversion is
 *   sent at most once to each place.
 * - `identify` says which of the deal's identities this destination sends with (GA4: the GA client
 *   ID, normalised, and the session ID), or why the deal cannot go there: a skip with its code and
 *   reason, recorded in the delivery log, saying what was tried (read through the CRM's API, not
 *   found there, no API access). A deal skipped by one destination still goes to others.
 * - `deliver` validates every payload locally before sending anything. An invalid payload is never
 *   sent: it throws `DeliveryError` (GA4: `GA4_PAYLOAD_INVALID`, the exact reasons in `details`).
 * - A refusal for good (a 4xx other than 429) throws `DeliveryError`; the caller records it and does
 *   not retry. Transient failures (network, timeout, 429, 5xx) throw `RetryableError`, with
 *   `retryAfterMs` when the destination said how long to wait; the caller schedules the retry. When
 *   the request was written whole and no answer came, `maybeDelivered` is set: the destination may
 *   have counted it, and the caller resends only what `deduplicates` says is safe.
 * - In dry-run mode nothing goes on the wire: payloads are validated and returned with outcome
 *   `dry_run`.
 * - Every outbound call has a timeout. Secrets (GA4's `api_secret` is in the URL query) never
 *   appear in a returned URL, an error message or `details`.
 * - Destinations are plural: every destination of an account sees the rules' conversions, and
 *   takes those `accepts` says (absent: all). A batch destination (Metrica) answers `deliver` by
 *   storing the conversions durably for its own upload (`resendsSafely`: storing twice stores
 *   once), and later updates the delivery-log row named by `trace` with the upload's fate.
 *
 * Out of scope: idempotency (the worker checks the ledger before calling `deliver`), retries and
 * backoff (the job queue and the core retry policy own them).
 */
import type { ParamScalar } from '../core/config-types';
import type { DealLookup, Identities } from '../core/deal';
import type { ErrorCode } from '../core/errors';
import type { DeliveryRecord } from './delivery-log';

export interface ConversionEvent {
  name: string;
  params: Readonly<Record<string, ParamScalar>>;
}

/** The identity a destination sends with, in its own terms (GA4: `clientId`, `sessionId`). */
export type DestinationIdentity = Readonly<Record<string, string>>;

/** What is known of how the deal was read, so that a skip can say what was tried. */
export interface IdentifyContext {
  /** Whether the deal's fields are known (read, or carried by the webhook). */
  fieldsKnown: boolean;
  /** How the CRM source read the deal; absent when it needed no reading. */
  lookup?: DealLookup;
}

export type IdentifyResult =
  { identity: DestinationIdentity } | { skip: { code: ErrorCode; reason: string } };

export interface DeliveryRequest {
  /** The CRM account and deal, for the destination's own records (never sent as personal data). */
  account: string;
  dealId: string;
  /** What `identify` chose. */
  identity: DestinationIdentity;
  /** When it happened in the CRM, Unix milliseconds; null when unknown. */
  occurredAtMs: number | null;
  /** When the deal was created in the CRM, Unix milliseconds, when known (Metrica's orders). */
  dealCreatedAtMs?: number | null;
  events: readonly ConversionEvent[];
  /** The ledger key of each event, in the same order (a batch destination keeps each once). */
  keys?: readonly string[];
  /** The delivery-log row this delivery writes, for a destination that reports later. */
  trace?: DeliveryTrace;
}

/** A delivery-log row without its outcome: whom a later record about the delivery is about. */
export type DeliveryTrace = Omit<
  DeliveryRecord,
  'outcome' | 'code' | 'reason' | 'events' | 'payload'
>;

/** What went (or would have gone) on the wire, minus secrets. */
export interface RecordedRequest {
  /** URL with secrets redacted. */
  url: string;
  payload: unknown;
  status: number | null;
  /** What the destination changed to make the payload fit its limits (a value cut), if anything. */
  warnings?: string[];
}

export interface DeliveryResult {
  outcome: 'sent' | 'dry_run';
  requests: RecordedRequest[];
  /** What the delivery-log row adds to its reason (Metrica: queued for the next upload). */
  note?: string;
}

export interface Destination {
  /** The kind (`ga4`), as the delivery log and the metrics show it. */
  readonly name: string;
  /** As people call it, for messages (`GA4`). */
  readonly label: string;
  /** Unique in the process; the ledger keys' first part (see the contract). */
  readonly id: string;
  readonly dryRun: boolean;
  /** Why the destination runs dry (`GA4_MEASUREMENT_ID is not set`); null when it sends. */
  readonly dryRunReason: string | null;
  identify(identities: Identities, context: IdentifyContext): IdentifyResult;
  /**
   * Whether the destination counts this event once even when it arrives twice (GA4: an event
   * with a `transaction_id`). Decides which events an interrupted send may resend.
   */
  deduplicates(event: ConversionEvent): boolean;
  /** Which of the rules' events this destination takes (Metrica: the ones its goals name). */
  accepts?(event: ConversionEvent): boolean;
  /** `deliver` stores each conversion key once: an interrupted attempt is safe to repeat. */
  readonly resendsSafely?: boolean;
  /** `nowMs` decides backdating (GA4 backdates at most 72 hours). */
  deliver(request: DeliveryRequest, nowMs: number): Promise<DeliveryResult>;
}
