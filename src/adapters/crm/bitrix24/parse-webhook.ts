/**
 * Bitrix24's outgoing webhooks: `application/x-www-form-urlencoded` with PHP-style bracket keys,
 * `event`, `event_handler_id`, `data[FIELDS][ID]`, `ts` and `auth[...]` (research bitrix24.md
 * §1.3). They carry the entity's id and nothing else ("Events do not pass field values"), so each
 * becomes a deal event with an empty deal that the worker reads through REST.
 *
 * The check is the outgoing webhook's application token (§1.4: "the main way to make sure that the
 * request came from Bitrix24"; there is no signature), compared in constant time. A body without
 * `event` is not Bitrix24's at all (400); one with a missing or wrong token is refused (401). Pure.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { emptyDeal, type DealEvent, type DealEventKind } from '../../../core/deal';
import { AuthError, PayloadError } from '../../../core/errors';
import {
  BITRIX24_SOURCE,
  dealIdOf,
  LEAD_PIPELINE,
  PORTAL_ACCOUNT,
  type EntityKind,
} from './bitrix24-deal';

/** The events closeloop takes (§1.2), as the entity and what happened. */
const EVENTS: Readonly<Record<string, { entity: EntityKind; kind: DealEventKind }>> = {
  ONCRMDEALADD: { entity: 'deal', kind: 'created' },
  // A stage move inside a pipeline arrives as an ordinary update (§1.2): the source tells a move
  // from an edit by the stage it remembers.
  ONCRMDEALUPDATE: { entity: 'deal', kind: 'updated' },
  ONCRMDEALDELETE: { entity: 'deal', kind: 'deleted' },
  ONCRMLEADADD: { entity: 'lead', kind: 'created' },
  ONCRMLEADUPDATE: { entity: 'lead', kind: 'updated' },
  ONCRMLEADDELETE: { entity: 'lead', kind: 'deleted' },
};

/** A Bitrix24 id: a positive whole number, written as a string (`"759"`). */
const ENTITY_ID = /^[1-9]\d{0,18}$/;

export interface ParsedBitrix24Webhook {
  events: DealEvent[];
  /** An event closeloop does not use (a contact's, a test's), by name. */
  ignored: string | null;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Equal in constant time whatever the guess's length (both sides are hashed first). */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export function parseWebhook(text: string, applicationToken: string): ParsedBitrix24Webhook {
  const form = new URLSearchParams(text);
  const event = form.get('event')?.trim().toUpperCase() ?? '';
  if (event === '') {
    throw new PayloadError(
      'WEBHOOK_NOT_BITRIX24',
      'the body has no `event`: it is not a Bitrix24 outgoing webhook (form-encoded event, data[FIELDS][ID], auth[application_token])',
    );
  }
  const token = form.get('auth[application_token]');
  if (token === null || token === '' || !tokenMatches(token, applicationToken)) {
    throw new AuthError(
      'WEBHOOK_TOKEN_INVALID',
      token === null || token === ''
        ? 'the webhook has no auth[application_token]; Bitrix24 sends the token of the outgoing webhook with every call'
        : "auth[application_token] is not the outgoing webhook's token (BITRIX24_APPLICATION_TOKEN)",
    );
  }
  const known = EVENTS[event];
  if (known === undefined) return { events: [], ignored: event };
  const id = form.get('data[FIELDS][ID]')?.trim() ?? '';
  if (!ENTITY_ID.test(id)) {
    throw new PayloadError(
      'WEBHOOK_NOT_BITRIX24',
      id === ''
        ? `${event} has no data[FIELDS][ID]`
        : `data[FIELDS][ID] of ${event} is not an id: "${id.slice(0, 30)}"`,
    );
  }
  const deal = emptyDeal(dealIdOf(known.entity, id));
  return {
    events: [
      {
        source: BITRIX24_SOURCE,
        account: PORTAL_ACCOUNT,
        kind: known.kind,
        previous: null,
        // `ts` is when the portal queued the event (§1.3), not when the deal moved: the deal's
        // MOVED_TIME, read through REST, says that.
        occurredAt: null,
        deal: known.entity === 'lead' ? { ...deal, pipelineId: LEAD_PIPELINE } : deal,
      },
    ],
    ignored: null,
  };
}
