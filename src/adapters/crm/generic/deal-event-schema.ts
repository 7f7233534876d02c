/**
 * The JSON Schema of a generic deal event, served at `GET /schemas/deal-event.json` and used to
 * check every event the signed intake takes, so the document and the check cannot disagree. A
 * body is one event, or a list of 1 to 1,000.
 */
import { DEAL_OUTCOMES } from '../../../core/deal';
import { GENERIC_EVENT_KINDS, IDENTITY_KEYS } from './deal-event-fields';

/** At most this many events in one request (a 413 above). */
export const MAX_EVENTS_PER_REQUEST = 1000;

const text = (maxLength: number, description: string) => ({
  type: ['string', 'null'],
  maxLength,
  description,
});
/**
 * An id as text or a whole number. A number beyond 2^53 would reach us already rounded by the
 * sender's JSON writer or by ours (another deal's id), so it must come as text.
 */
const id = (description: string) => ({
  type: ['string', 'integer'],
  minLength: 1,
  maxLength: 128,
  minimum: -Number.MAX_SAFE_INTEGER,
  maximum: Number.MAX_SAFE_INTEGER,
  description,
});

export const DEAL_EVENT_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'deal-event.json',
  title: 'A deal event for closeloop’s signed intake',
  description:
    'What happened to one deal in your system: POST it (or a list of up to 1,000) to /webhooks/generic/<secret>, signed with X-Closeloop-Signature: sha256=<hex of HMAC-SHA256 of the body under CLOSELOOP_INTAKE_SECRET>.',
  type: 'object',
  required: ['account', 'deal_id'],
  additionalProperties: false,
  properties: {
    account: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
      description: 'Your name for the system or shop the deal is in; part of its idempotency keys.',
    },
    deal_id: id('The deal’s (order’s, call’s) id in your system; the purchase’s transaction_id.'),
    event: {
      enum: [...GENERIC_EVENT_KINDS],
      default: 'stage_changed',
      description:
        'What happened: created (a new lead: generate_lead), stage_changed (the default), updated, deleted.',
    },
    pipeline: {
      ...id('The pipeline (funnel) id, when your system has several.'),
      type: ['string', 'integer', 'null'],
    },
    stage: {
      ...id('The stage (status) the deal reached; rules may name it: status: complete.'),
      type: ['string', 'integer', 'null'],
    },
    previous_stage: {
      ...id('The stage before, when known; rules may name it: from_status.'),
      type: ['string', 'integer', 'null'],
    },
    outcome: {
      enum: [...DEAL_OUTCOMES, null],
      description: 'What the stage means: won, lost or open. Rules with outcome: won match it.',
    },
    amount: {
      type: ['string', 'number', 'null'],
      maxLength: 40,
      description:
        'The deal amount, exact: "2500.00" (a string keeps every cent); "2 500,00" and 2500 are read too.',
    },
    currency: {
      type: ['string', 'null'],
      pattern: '^[A-Z]{3}$',
      description: 'ISO 4217 code of the amount; the account’s currency when absent.',
    },
    occurred_at: {
      type: ['string', 'integer', 'null'],
      maxLength: 40,
      description: 'When it happened: ISO 8601 with a time zone, or Unix seconds.',
    },
    identities: {
      type: 'object',
      additionalProperties: false,
      description: 'The visitor’s analytics identities, as the site’s form captured them.',
      properties: Object.fromEntries(IDENTITY_KEYS.map((k) => [k, text(256, k)])),
    },
    utm: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(
        ['source', 'medium', 'campaign', 'content', 'term'].map((k) => [k, text(256, `utm_${k}`)]),
      ),
    },
    fields: {
      type: 'object',
      maxProperties: 50,
      description: 'Other values rules may send as parameters: { field: { name: product } }.',
      additionalProperties: { type: ['string', 'number', 'boolean', 'null'], maxLength: 256 },
    },
  },
} as const;

const { $schema, $id, ...event } = DEAL_EVENT_SCHEMA;

/**
 * The document served: one event or a list of 1 to 1,000, each event the schema above (a
 * definition, so the two cannot drift apart). The list's length is checked in code as well, with
 * the same constant, so a 1,001st event is a 413 there and an error here.
 */
export const DEAL_EVENT_DOCUMENT = {
  $schema,
  $id,
  title: 'Deal events for closeloop’s signed intake: one event, or a list of up to 1,000',
  description: event.description,
  definitions: { event },
  oneOf: [
    { $ref: '#/definitions/event' },
    {
      type: 'array',
      minItems: 1,
      maxItems: MAX_EVENTS_PER_REQUEST,
      items: { $ref: '#/definitions/event' },
    },
  ],
} as const;
