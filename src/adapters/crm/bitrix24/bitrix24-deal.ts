/**
 * Bitrix24's deals and leads as the core's deal model. Pure.
 *
 * - Ids: a deal keeps its own id (`"42"`, which is also GA4's `transaction_id`); a lead, whose ids
 *   are counted apart from deals', is `L42`, so lead 42 and deal 42 are two things in every key.
 * - Pipelines: a deal's pipeline is its `CATEGORY_ID` (`"0"` is the general pipeline); leads sit in
 *   a pipeline of their own, `leads`. Stages are `STAGE_ID` as Bitrix24 writes it (`WON`, `C1:WON`)
 *   and a lead's `STATUS_ID` (research bitrix24.md §3.2–§3.4).
 * - Outcome from the stage's semantics, never from its name or id: `S` won, `F` lost, `P` open, so
 *   `WON`, `C1:WON` and a renamed success stage all count (§3.3). A lead's `S` is "converted into a
 *   deal": the sale is still to come, so it is open; its `F` (junk) is lost.
 * - Amount: `OPPORTUNITY` as `crm.deal.get` writes it, a decimal string (`"15000.50"`), in the
 *   deal's own `CURRENCY_ID` (§7).
 * - Identities: the configured UF_CRM_ fields and the native `UTM_*`; an empty value is `false`,
 *   `""`, `null` or `[]` (§3.6), all "missing"; the source lead fills what the deal lacks (§5.4).
 */
import { amountOrNull } from '../../../core/amount';
import type {
  CustomField,
  DealOutcome,
  DealSnapshot,
  Identities,
  UtmKey,
} from '../../../core/deal';
import { NO_IDENTITIES, UTM_KEYS } from '../../../core/deal';
import type { Bitrix24FieldSettings } from './config';
import type { B24Deal, B24Lead } from './bitrix24-types';

export const BITRIX24_SOURCE = 'bitrix24';
/** The pipeline id leads are in: leads have statuses, not pipelines (§3.4). */
export const LEAD_PIPELINE = 'leads';
/**
 * The account part of every Bitrix24 event. Webhooks carry the portal's `member_id`, but REST
 * through an incoming webhook does not say it (UNCONFIRMED), and reconciliation and lead creation
 * must key their events like webhooks do. One closeloop account has one portal, and every ledger
 * key starts with the account's destination id, so a constant keeps keys equal and apart.
 */
export const PORTAL_ACCOUNT = 'portal';

export type EntityKind = 'deal' | 'lead';

/** `L42` for lead 42; a deal's id as it is. */
export function dealIdOf(kind: EntityKind, id: string): string {
  return kind === 'lead' ? `L${id}` : id;
}

/** The entity and Bitrix24's own id of a deal id made by dealIdOf. */
export function entityOf(dealId: string): { kind: EntityKind; id: string } {
  return dealId.startsWith('L')
    ? { kind: 'lead', id: dealId.slice(1) }
    : { kind: 'deal', id: dealId };
}

/** `S`/`F`/`P` (a deal's STAGE_SEMANTIC_ID, a status row's SEMANTICS) as an outcome. */
export function outcomeOfSemantic(semantic: unknown, kind: EntityKind): DealOutcome | null {
  if (semantic === 'S') return kind === 'deal' ? 'won' : 'open';
  if (semantic === 'F') return 'lost';
  if (semantic === 'P' || semantic === null || semantic === '') return 'open';
  return null;
}

/** A custom-field value as text, or null when Bitrix24 says "empty" in any of its ways. */
export function textOf(value: unknown): string | null {
  if (Array.isArray(value)) {
    for (const v of value) {
      const t = textOf(v);
      if (t !== null) return t;
    }
    return null;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return null;
  const t = value.trim();
  return t === '' ? null : t;
}

/** ISO 8601 with the portal's offset (`2024-08-30T14:29:00+02:00`) → Unix seconds. */
export function secondsOf(value: unknown): number | null {
  if (typeof value !== 'string' || value === '') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

type B24Record = B24Deal | B24Lead;

/** The record's `UF_CRM_*` and `UTM_*` fields, for rules that read fields by code. */
function fieldsOf(record: B24Record): CustomField[] {
  const fields: CustomField[] = [];
  for (const [code, raw] of Object.entries(record)) {
    if (!code.startsWith('UF_CRM_') && !code.startsWith('UTM_')) continue;
    const values = (Array.isArray(raw) ? raw : [raw])
      .map(textOf)
      .filter((v): v is string => v !== null)
      .map((value) => ({ value, enumId: null }));
    fields.push({ id: null, name: null, code, values });
  }
  return fields;
}

/** The visitor's identities from a deal, each missing one from its source lead when given. */
export function readIdentities(
  record: B24Record,
  fields: Bitrix24FieldSettings,
  lead: B24Lead | null,
): Identities {
  const read = (code: string | null): string | null => {
    if (code === null) return null;
    return textOf(record[code]) ?? (lead === null ? null : textOf(lead[code]));
  };
  const utm = Object.fromEntries(
    UTM_KEYS.map((k) => [k, read(`UTM_${k.toUpperCase()}`)]),
  ) as Record<UtmKey, string | null>;
  return {
    gaClientId: read(fields.gaClientId),
    gaSessionId: read(fields.gaSessionId),
    ymClientId: read(fields.ymClientId),
    yclid: read(fields.yclid),
    gclid: read(fields.gclid),
    utm,
  };
}

/** Whether any configured identity of the deal is empty (then its lead may have it). */
export function lacksIdentity(record: B24Record, fields: Bitrix24FieldSettings): boolean {
  const codes = [
    fields.gaClientId,
    fields.gaSessionId,
    fields.ymClientId,
    fields.yclid,
    fields.gclid,
  ];
  return codes.some((code) => code !== null && textOf(record[code]) === null);
}

/** A deal as `crm.deal.get` answers it, as a snapshot (identities are the caller's). */
export function dealSnapshot(deal: B24Deal): DealSnapshot {
  const amount = amountOrNull(deal.OPPORTUNITY);
  return {
    id: dealIdOf('deal', String(deal.ID)),
    pipelineId: textOf(deal.CATEGORY_ID) ?? '0',
    stageId: textOf(deal.STAGE_ID),
    outcome: outcomeOfSemantic(deal.STAGE_SEMANTIC_ID ?? null, 'deal'),
    amount: amount === null ? null : { amount, currency: textOf(deal.CURRENCY_ID) },
    responsibleUserId: textOf(deal.ASSIGNED_BY_ID),
    createdAt: secondsOf(deal.DATE_CREATE),
    updatedAt: secondsOf(deal.DATE_MODIFY),
    identities: NO_IDENTITIES,
    fields: fieldsOf(deal),
    tags: [],
  };
}

/** A lead as `crm.lead.get` answers it, as a snapshot. */
export function leadSnapshot(lead: B24Lead): DealSnapshot {
  const amount = amountOrNull(lead.OPPORTUNITY);
  return {
    id: dealIdOf('lead', String(lead.ID)),
    pipelineId: LEAD_PIPELINE,
    stageId: textOf(lead.STATUS_ID),
    outcome: outcomeOfSemantic(lead.STATUS_SEMANTIC_ID ?? null, 'lead'),
    amount: amount === null ? null : { amount, currency: textOf(lead.CURRENCY_ID) },
    responsibleUserId: textOf(lead.ASSIGNED_BY_ID),
    createdAt: secondsOf(lead.DATE_CREATE),
    updatedAt: secondsOf(lead.DATE_MODIFY),
    identities: NO_IDENTITIES,
    fields: fieldsOf(lead),
    tags: [],
  };
}
