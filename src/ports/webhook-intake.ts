/**
 * WebhookIntake: one CRM's webhooks, for one account: `POST /webhooks/<source>/<secret>[/<more>]`.
 *
 * The HTTP route finds the account by the URL's secret (compared in constant time), reads the body
 * within the size limit, and hands it here. The intake checks what its vendor lets it check (a
 * Bitrix24 application token, an HMAC signature) and translates the body into deal events; the
 * route stores them durably, then answers 200. The hot path: no I/O here, nothing slow.
 *
 * Contract:
 * - `parse` throws `PayloadError` (400) for a body that is not what this CRM sends, with the
 *   problems in `details.problems` when there are several; `AuthError` (401) when the request
 *   fails the vendor's own check. Nothing is stored then.
 * - A body the CRM sends that carries nothing closeloop uses (amoCRM's `contacts[update]`) gives no
 *   events and its `ignored` entries, not an error: the CRM must not switch the hook off. The
 *   intake says so in one log line per such body, with why, and counts them (`ignoredSoFar`).
 * - Every event names the account the request is for; an intake never invents identities.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { DealEvent } from '../core/deal';
import type { ErrorCode } from '../core/errors';

export interface IntakeRequest {
  /** The body as received: a signature is over these bytes. */
  raw: Buffer;
  text: string;
  headers: IncomingHttpHeaders;
  /** What follows the secret in the path (`retailcrm` for `/webhooks/generic/<secret>/retailcrm`). */
  subpath: string;
  /**
   * The URL's query string without the `?` (`''` when none): some senders put their parameters
   * there even on a POST (a call tracker's "GET or POST with the selected parameters").
   */
  query: string;
  /** Unix ms when closeloop received it. */
  receivedAt: number;
}

export interface IntakeResult {
  events: DealEvent[];
  /** What the body held that closeloop does not use, by kind, and why, for the log. */
  ignored: Array<{ what: string; count: number; reason?: string }>;
}

export interface WebhookIntake {
  /** The path segment after `/webhooks/`: `amocrm`, `generic`. */
  readonly source: string;
  /** The content types it takes (a request with another gets a 400 before its body is read). */
  readonly contentTypes: readonly string[];
  /** The code of a body that is not what this source sends (`WEBHOOK_NOT_AMOCRM`). */
  readonly invalidCode: ErrorCode;
  /** Whether it takes more path after the secret (a mapping's name). */
  readonly subpaths: boolean;
  parse(request: IntakeRequest): IntakeResult;
  /**
   * Entries read and not used since the process started, by kind (`message[add]`), for
   * /metrics. A fixed few kinds: names from the body never become labels.
   */
  ignoredSoFar?(): ReadonlyMap<string, number>;
}
