/**
 * The wire shape of amoCRM (Kommo) webhooks, in the vendor's spelling, after form decoding
 * (`decodeForm`). Facts and real bodies: research/amocrm.md §1.
 *
 * Everything on the wire is a string and any key may be missing (§1.6, "Parsing notes"): these types
 * say what may be there, never what is. The parser reads them through checked accessors, and uses the
 * key names below as its vocabulary so that a misspelt key is a compile error.
 *
 * Indexed lists (`[0]`, `[1]`, …) are objects keyed by the index string, as the body spells them.
 */

/** `<list>[0]`, `<list>[1]`, …: positional entries. Indices need not be contiguous (§1.6 ex. 2). */
export type AmoIndexed<T> = Record<string, T>;

/**
 * A webhook body: `<entity>[<action>][<index>][<field>]…` plus `account[…]` (§1.2).
 * Several entities, actions and indices may share one POST; the format allows it, though no real
 * capture with an index ≥ 1 was found (§1.2, §2 "Batching").
 */
export interface AmoWebhookBody {
  account?: AmoAccountWire;
  /** Keyed by action: `add`, `update`, `status`, `delete`, `restore`, `responsible`, `note` (§1.1, §1.3). */
  leads?: Record<string, AmoIndexed<AmoLeadWire>>;
  contacts?: Record<string, AmoIndexed<unknown>>;
  companies?: Record<string, AmoIndexed<unknown>>;
  customers?: Record<string, AmoIndexed<unknown>>;
  task?: Record<string, AmoIndexed<unknown>>;
  catalogs?: Record<string, AmoIndexed<unknown>>;
  /** Chat messages: `message[add][0][id|chat_id|talk_id|text|author[…]…]` (§1.3). */
  message?: Record<string, AmoIndexed<unknown>>;
  talk?: Record<string, AmoIndexed<unknown>>;
  unsorted?: Record<string, AmoIndexed<unknown>>;
}

/**
 * Top-level entity sections that make a body an amoCRM webhook. Entities listed by the webhook docs
 * (§1.2: leads, contacts, companies, customers, tasks, lists = catalogs, talks, incoming leads =
 * unsorted) plus `message` seen in real chat bodies (§1.3).
 */
export const AMOCRM_ENTITIES = [
  'leads',
  'contacts',
  'companies',
  'customers',
  'task',
  'catalogs',
  'message',
  'talk',
  'unsorted',
] as const satisfies ReadonlyArray<keyof AmoWebhookBody>;

export type AmoEntity = (typeof AMOCRM_ENTITIES)[number];

/**
 * `account[…]`. The 2018 body (§1.6 ex. 1) has only `subdomain`; bodies from about 2020 on also carry
 * `id` and `_links[self]` (`https://<subdomain>.amocrm.ru`).
 */
export interface AmoAccountWire {
  subdomain?: string;
  id?: string;
  _links?: { self?: string };
}

/**
 * One `leads[<action>][<index>]` entry of an account or API webhook (§1.3). Not every key is always
 * present: empty or zero fields are sometimes omitted (`price` is absent in §1.6 ex. 4).
 */
export interface AmoLeadWire {
  id?: string;
  /** Personal data (often the client's name): read by nobody, kept nowhere. */
  name?: string;
  status_id?: string;
  /** Only in `status` entries and Digital Pipeline hooks. */
  old_status_id?: string;
  pipeline_id?: string;
  /** Seen in Digital Pipeline hooks (§1.4); in account hooks unconfirmed. */
  old_pipeline_id?: string;
  /** A decimal string, or absent. */
  price?: string;
  /** `'0'` when nobody is responsible (§1.6 ex. 4). */
  responsible_user_id?: string;
  modified_user_id?: string;
  created_user_id?: string;
  account_id?: string;
  /** Unix seconds, API v2-era names, present in every real body found (2018–2023). */
  date_create?: string;
  last_modified?: string;
  /** Unix seconds, in bodies from about 2022 on; absent in the 2018 body (§1.6 ex. 1). */
  created_at?: string;
  updated_at?: string;
  tags?: AmoIndexed<AmoTagWire>;
  /** Only fields that hold a value are present (§1.5). */
  custom_fields?: AmoIndexed<AmoCustomFieldWire>;
}

export interface AmoTagWire {
  id?: string;
  /** HTML-escaped. */
  name?: string;
}

/**
 * `custom_fields[n]`. Tracking fields (`ROISTAT`, `GCLIENTID`, `UTM_SOURCE`, …) are custom fields that
 * carry a `code` (§1.5, §1.6 ex. 2); ordinary fields have none.
 */
export interface AmoCustomFieldWire {
  id?: string;
  /** HTML-escaped. */
  name?: string;
  /** HTML-escaped; present only when the field has a code. */
  code?: string;
  /**
   * Either `values[m][value]` (+ `[enum]`), or, for date fields, a bare `values[m]` holding Unix
   * seconds (§1.3: `…[custom_fields][2][values][0]=1542067200`). Both shapes can occur in one body.
   */
  values?: AmoIndexed<string | AmoCustomFieldValueWire>;
}

export interface AmoCustomFieldValueWire {
  /** HTML-escaped (`&amp;` in URLs, §1.6 ex. 2). */
  value?: string;
  /** Enum id of a select option. Spelt `enum` here, `enum_id` in API v4 (§1.3). */
  enum?: string;
}

/**
 * The only keys of a Digital Pipeline "send webhook" lead entry (§1.4): a trigger without field data.
 * A lead entry with no other keys must be completed from the API.
 */
export const DP_HOOK_LEAD_KEYS: ReadonlySet<keyof AmoLeadWire> = new Set<keyof AmoLeadWire>([
  'id',
  'status_id',
  'pipeline_id',
  'old_status_id',
  'old_pipeline_id',
]);
