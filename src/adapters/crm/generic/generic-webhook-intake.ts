/**
 * The signed intake for every other system, as a WebhookIntake:
 *
 * - `POST /webhooks/generic/<secret>`: JSON deal events (one, or a list of up to 1,000; the schema
 *   is deal-event-schema.ts), signed with `X-Closeloop-Signature: sha256=<hex>`, the HMAC-SHA256 of
 *   the raw body under the account's intake secret (CLOSELOOP_INTAKE_SECRET). A missing or wrong
 *   signature is a 401 and nothing is stored; an invalid event is a 400 listing every problem.
 * - `POST /webhooks/generic/<secret>/<mapping>`: a sender's own body (JSON, or form fields from
 *   the body and the URL's query), translated by the mapping of that name (apply-mapping.ts).
 *   Signed too, unless the mapping says `signed: false` for a sender that cannot sign (RetailCRM
 *   triggers, call trackers): then the URL's secret is the only check, as for amoCRM's webhooks.
 *
 * The signature is checked over the bytes as they came, before anything is parsed; a UTF-8 byte
 * order mark (which 1C may write) is dropped after that. Hex digits in either case are taken.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AuthError, PayloadError } from '../../../core/errors';
import type { DealEvent } from '../../../core/deal';
import type { IntakeRequest, IntakeResult, WebhookIntake } from '../../../ports/webhook-intake';
import { applyMapping } from './apply-mapping';
import type { GenericMapping, GenericSettings } from './config';
import { MAX_EVENTS_PER_REQUEST } from './deal-event-schema';
import { GENERIC_SOURCE, readDealEvent, type EventProblem } from './read-deal-event';

export const SIGNATURE_HEADER = 'x-closeloop-signature';

/** `sha256=<hex>` of `body` under `secret`: what a sender puts in X-Closeloop-Signature. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function checkSignature(secret: string | null, request: IntakeRequest): void {
  if (secret === null) {
    throw new AuthError(
      'WEBHOOK_SIGNATURE_INVALID',
      'this account takes no signed events: its intake secret (CLOSELOOP_INTAKE_SECRET) is not set',
    );
  }
  const header = request.headers[SIGNATURE_HEADER];
  const given = (Array.isArray(header) ? header[0] : header)?.trim() ?? '';
  const m = /^sha256=([0-9a-f]{64})$/i.exec(given);
  if (m?.[1] === undefined) {
    throw new AuthError(
      'WEBHOOK_SIGNATURE_INVALID',
      given === ''
        ? `the request has no ${SIGNATURE_HEADER} header; sign the body with HMAC-SHA256 under the intake secret and send sha256=<hex>`
        : `the ${SIGNATURE_HEADER} header is not sha256=<64 hex digits>`,
    );
  }
  const expected = createHmac('sha256', secret).update(request.raw).digest();
  if (!timingSafeEqual(Buffer.from(m[1].toLowerCase(), 'hex'), expected)) {
    throw new AuthError(
      'WEBHOOK_SIGNATURE_INVALID',
      `the ${SIGNATURE_HEADER} does not match the body: sign the exact bytes sent, with the intake secret`,
    );
  }
}

/** The body as text, without a UTF-8 byte order mark (JSON.parse refuses one). */
function textOf(request: IntakeRequest): string {
  return request.text.replace(/^\uFEFF/, '');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new PayloadError('WEBHOOK_INVALID', `the body is not JSON: ${(e as Error).message}`);
  }
}

/**
 * A mapped sender's body: JSON, or form fields as a flat object (names as they are, `order[id]`
 * included), with the URL's query parameters under them (a body's field wins over the query's).
 * An empty body is its query's parameters: a sender that puts everything in the URL.
 */
function readMappedBody(request: IntakeRequest, form: boolean): unknown {
  const text = textOf(request);
  if (!form && text.trim() !== '') return parseJson(text);
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of new URLSearchParams(request.query)) fields[k] = v;
  for (const [k, v] of new URLSearchParams(text)) fields[k] = v;
  return fields;
}

function refuse(problems: EventProblem[]): never {
  const shown = problems.slice(0, 20).map((p) => `${p.path}: ${p.message}`);
  const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : '';
  throw new PayloadError(
    'WEBHOOK_INVALID',
    `${problems.length} problem${problems.length === 1 ? '' : 's'} in the events, nothing was stored: ${shown.join('; ')}${more}`,
    { details: { problems: problems.slice(0, 1000) } },
  );
}

/** A body's events: one (not a list) or a list of 1 to 1,000; a 400 or 413 otherwise. */
function itemsOf(body: unknown): { items: unknown[]; list: boolean } {
  if (!Array.isArray(body)) return { items: [body], list: false };
  if (body.length === 0 || body.length > MAX_EVENTS_PER_REQUEST) {
    throw new PayloadError(
      'WEBHOOK_INVALID',
      `a list of events must hold 1 to ${MAX_EVENTS_PER_REQUEST} events, not ${body.length}; send more in several requests`,
      { httpStatus: body.length === 0 ? 400 : 413 },
    );
  }
  return { items: body, list: true };
}

/**
 * A mapped event's problem, with where its value came from: `amount: must be string or number
 * (mapped from order.totalSumm)`, `deal_id: is required (mapped from order.id, absent in the body)`.
 */
function withSource(problem: EventProblem, prefix: string, mapping: GenericMapping): EventProblem {
  const target = problem.path.slice(prefix.length).replace(/^\./, '');
  const from = Object.hasOwn(mapping.fields, target)
    ? mapping.fields[target as keyof GenericMapping['fields']]
    : undefined;
  if (from === undefined) return problem;
  const absent = problem.message === 'is required' ? ', absent in the body' : '';
  return { path: problem.path, message: `${problem.message} (mapped from ${from}${absent})` };
}

export class GenericWebhookIntake implements WebhookIntake {
  readonly source = GENERIC_SOURCE;
  readonly contentTypes = ['application/json', 'application/x-www-form-urlencoded'] as const;
  readonly invalidCode = 'WEBHOOK_INVALID' as const;
  readonly subpaths = true;

  constructor(private readonly settings: GenericSettings) {}

  parse(request: IntakeRequest): IntakeResult {
    const form = String(request.headers['content-type'] ?? '').startsWith(
      'application/x-www-form-urlencoded',
    );
    if (request.subpath === '') {
      checkSignature(this.settings.secret, request);
      if (form) {
        throw new PayloadError('WEBHOOK_INVALID', 'signed deal events are JSON, not a form');
      }
      return { events: this.readEvents(itemsOf(parseJson(textOf(request))), null), ignored: [] };
    }
    const mapping: GenericMapping | undefined = Object.hasOwn(
      this.settings.mappings,
      request.subpath,
    )
      ? this.settings.mappings[request.subpath]
      : undefined;
    if (mapping === undefined) {
      throw new PayloadError(
        'WEBHOOK_INVALID',
        `there is no mapping named "${request.subpath.slice(0, 40)}" (mappings: ${Object.keys(this.settings.mappings).join(', ') || 'none'})`,
        { httpStatus: 404 },
      );
    }
    if (mapping.signed) checkSignature(this.settings.secret, request);
    const body = itemsOf(readMappedBody(request, form));
    return { events: this.readEvents(body, mapping), ignored: [] };
  }

  /**
   * Every event checked, all or nothing: one bad event refuses the request, with every problem of
   * every event listed, so a sender never has to work out which half of a list was stored.
   */
  private readEvents(
    body: { items: unknown[]; list: boolean },
    mapping: GenericMapping | null,
  ): DealEvent[] {
    const events: DealEvent[] = [];
    const problems: EventProblem[] = [];
    body.items.forEach((item, i) => {
      const prefix = body.list ? `[${i}]` : '';
      const input = mapping === null ? item : applyMapping(item, mapping);
      const read = readDealEvent(input, prefix, this.settings.accounts);
      if ('event' in read) events.push(read.event);
      else
        problems.push(
          ...(mapping === null
            ? read.problems
            : read.problems.map((p) => withSource(p, prefix, mapping))),
        );
    });
    if (problems.length > 0) refuse(problems);
    return events;
  }
}
