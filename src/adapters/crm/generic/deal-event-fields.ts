/**
 * The fields of a generic deal event (`POST /webhooks/generic/<secret>`), as a sender writes them
 * (snake_case; docs/generic-intake.md and GET /schemas/deal-event.json), and the targets a mapping
 * may fill, with dots for the nested ones (`identities.ga_client_id`).
 */

export const GENERIC_EVENT_KINDS = ['created', 'stage_changed', 'updated', 'deleted'] as const;

export const IDENTITY_KEYS = [
  'ga_client_id',
  'ga_session_id',
  'ym_client_id',
  'yclid',
  'gclid',
] as const;

export const MAPPING_TARGETS = [
  'account',
  'deal_id',
  'event',
  'pipeline',
  'stage',
  'previous_stage',
  'outcome',
  'amount',
  'currency',
  'occurred_at',
  ...IDENTITY_KEYS.map((k) => `identities.${k}` as const),
  'utm.source',
  'utm.medium',
  'utm.campaign',
  'utm.content',
  'utm.term',
] as const;
export type MappingTarget = (typeof MAPPING_TARGETS)[number];

/** A generic deal event as JSON, after the schema checked it. */
export interface GenericDealEventWire {
  account: string;
  deal_id: string | number;
  event?: (typeof GENERIC_EVENT_KINDS)[number];
  pipeline?: string | number | null;
  stage?: string | number | null;
  previous_stage?: string | number | null;
  outcome?: 'open' | 'won' | 'lost' | null;
  amount?: string | number | null;
  currency?: string | null;
  occurred_at?: string | number | null;
  identities?: Partial<Record<(typeof IDENTITY_KEYS)[number], string | null>>;
  utm?: Partial<Record<'source' | 'medium' | 'campaign' | 'content' | 'term', string | null>>;
  fields?: Record<string, string | number | boolean | null>;
}
