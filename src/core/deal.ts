/**
 * The internal model of a deal and of something that happened to it, the same for every CRM.
 *
 * Each CRM adapter (src/adapters/crm/<vendor>) translates its vendor's webhooks and API answers
 * into this model; the core (rules, idempotency keys) and the destinations see only this. Ids are
 * strings whatever the CRM uses (amoCRM's numbers, Bitrix24's `C1:WON`, a generic system's
 * `A-77`); the stage's meaning is its `outcome`, so one rule can say "won" for every CRM and every
 * pipeline. `null` always means "not known", never zero or empty. Times are Unix seconds.
 */

/** What a stage means: still open, won (the deal closed with a sale), or lost. */
export const DEAL_OUTCOMES = ['open', 'won', 'lost'] as const;
export type DealOutcome = (typeof DEAL_OUTCOMES)[number];

/** What happened to the deal. */
export const DEAL_EVENT_KINDS = [
  'created',
  'stage_changed',
  'updated',
  'deleted',
  'restored',
  'reassigned',
] as const;
export type DealEventKind = (typeof DEAL_EVENT_KINDS)[number];

export const UTM_KEYS = ['source', 'medium', 'campaign', 'content', 'term'] as const;
export type UtmKey = (typeof UTM_KEYS)[number];

/** An exact amount: a decimal string (`"1500.50"`), never a float, with its ISO 4217 currency. */
export interface Money {
  amount: string;
  /** null: the CRM does not say (amoCRM keeps one currency per account: the config's). */
  currency: string | null;
}

/**
 * The visitor's analytics identities, as the CRM holds them (the form snippet put them there).
 * Raw strings: each destination checks and normalises the one it needs (a GA client ID from the
 * `_ga` cookie, a Metrica ClientID of 17–20 digits), and reports a malformed one as such.
 */
export interface Identities {
  gaClientId: string | null;
  gaSessionId: string | null;
  /** Yandex Metrica's ClientID (`_ym_uid`). */
  ymClientId: string | null;
  yclid: string | null;
  gclid: string | null;
  utm: Readonly<Record<UtmKey, string | null>>;
}

export const NO_IDENTITIES: Identities = Object.freeze({
  gaClientId: null,
  gaSessionId: null,
  ymClientId: null,
  yclid: null,
  gclid: null,
  utm: Object.freeze({ source: null, medium: null, campaign: null, content: null, term: null }),
});

export interface CustomFieldValue {
  /** Always a string, as CRMs send them (HTML entities already decoded). Dates are Unix seconds. */
  value: string;
  /** Enum id of a select / multiselect option, where the CRM has them. */
  enumId: number | null;
}

/** One of the deal's own fields, as rules name them (`{ field: { name: Тип программы } }`). */
export interface CustomField {
  id: number | null;
  name: string | null;
  /** A machine name where the CRM has one (amoCRM's `GCLIENTID`, Bitrix24's `UF_CRM_…`). */
  code: string | null;
  values: CustomFieldValue[];
}

/** The state of a deal as far as we know it. */
export interface DealSnapshot {
  id: string;
  pipelineId: string | null;
  stageId: string | null;
  /** What the stage means; null when not known (the stage was not read yet). */
  outcome: DealOutcome | null;
  amount: Money | null;
  responsibleUserId: string | null;
  createdAt: number | null;
  updatedAt: number | null;
  identities: Identities;
  /**
   * The deal's own fields. null when the source carried no field data at all (a trigger such as
   * amoCRM's Digital Pipeline hook or any Bitrix24 webhook): the deal must be read from the CRM.
   */
  fields: CustomField[] | null;
  tags: string[];
}

/** A stage the deal was in. */
export interface StageRef {
  pipelineId: string | null;
  stageId: string | null;
}

/**
 * How the CRM source read the deal, when it had to (src/ports/crm-source.ts):
 * - `read`: through the CRM's API; the deal (stage, amount, identities) is the CRM's own;
 * - `not_found`: the CRM's API does not have the deal (deleted, or never in this account);
 * - `other_account`: the event names another CRM account than the one configured, so the deal
 *   was not read and nothing of the event's deal is used;
 * - `no_access`: closeloop has no API access to the CRM; the deal is the event's as it came.
 */
export const DEAL_LOOKUPS = ['read', 'not_found', 'other_account', 'no_access'] as const;
export type DealLookup = (typeof DEAL_LOOKUPS)[number];

/** What was tried to read the deal, in words for a reason: `not found through the CRM's API`. */
export function describeLookup(lookup: DealLookup): string {
  switch (lookup) {
    case 'read':
      return 'read through the CRM’s API';
    case 'not_found':
      return 'not found through the CRM’s API (deleted, or not in this account)';
    case 'other_account':
      return 'not read: the event names another CRM account than the one closeloop is configured for';
    case 'no_access':
      return 'not read: closeloop has no API access to the CRM';
  }
}

/** One thing that happened to one deal. Plain JSON: it is stored in the job queue as it is. */
export interface DealEvent {
  /** The CRM adapter that produced it (`amocrm`, `bitrix24`, `generic`). */
  source: string;
  /**
   * The account in that CRM: amoCRM's account id, Bitrix24's member_id, a generic sender's account
   * name. With `source`, part of every idempotency key.
   */
  account: string;
  kind: DealEventKind;
  /** The stage before a `stage_changed`, when the source says. */
  previous: StageRef | null;
  /** When it happened in the CRM (Unix seconds), or null when the source does not say. */
  occurredAt: number | null;
  deal: DealSnapshot;
  /** How the deal was read, once a CRM source completed it; absent when it needed no reading. */
  lookup?: DealLookup;
}

/** A deal snapshot with nothing known but its id: a trigger that carries no data. */
export function emptyDeal(id: string): DealSnapshot {
  return {
    id,
    pipelineId: null,
    stageId: null,
    outcome: null,
    amount: null,
    responsibleUserId: null,
    createdAt: null,
    updatedAt: null,
    identities: NO_IDENTITIES,
    fields: null,
    tags: [],
  };
}
