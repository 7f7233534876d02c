/**
 * Bitrix24's wire shapes, in its own spelling (research bitrix24.md §1.3, §3, §4). Legacy
 * `crm.deal.*` / `crm.lead.*` answers: every value is a string or null (`"OPPORTUNITY":
 * "1000000.00"`), custom fields keep their `UF_CRM_…` names, and an empty custom field may come as
 * `false`, `""`, `null` or `[]` (§3.6, §8 item 10).
 */

/** What `crm.deal.get` answers (the fields closeloop reads; the rest are ignored). */
export interface B24Deal {
  ID: string;
  CATEGORY_ID?: string | null;
  STAGE_ID?: string | null;
  /** `P` in progress, `S` success, `F` failure (read-only). */
  STAGE_SEMANTIC_ID?: string | null;
  OPPORTUNITY?: string | number | null;
  CURRENCY_ID?: string | null;
  LEAD_ID?: string | null;
  ASSIGNED_BY_ID?: string | null;
  DATE_CREATE?: string | null;
  DATE_MODIFY?: string | null;
  MOVED_TIME?: string | null;
  [field: string]: unknown;
}

/** What `crm.lead.get` answers. */
export interface B24Lead {
  ID: string;
  STATUS_ID?: string | null;
  STATUS_SEMANTIC_ID?: string | null;
  OPPORTUNITY?: string | number | null;
  CURRENCY_ID?: string | null;
  ASSIGNED_BY_ID?: string | null;
  DATE_CREATE?: string | null;
  DATE_MODIFY?: string | null;
  MOVED_TIME?: string | null;
  [field: string]: unknown;
}

/** One row of `crm.stagehistory.list` for deals (entityTypeId 2), §3.5. */
export interface B24StageHistoryRow {
  ID: string | number;
  /** 1 created, 2 moved to an intermediate stage, 3 moved to a final stage, 5 pipeline changed. */
  TYPE_ID: string | number;
  OWNER_ID: string | number;
  CREATED_TIME?: string | null;
  CATEGORY_ID?: string | number | null;
  STAGE_SEMANTIC_ID?: string | null;
  STAGE_ID?: string | null;
}

/** `crm.category.list` (entityTypeId 2) → `result.categories[]`, §3.3. */
export interface B24Category {
  id: number | string;
  name: string;
  sort?: number | string;
  /** `Y` for the general pipeline. */
  isDefault?: string;
}

/** `crm.status.list` rows, §3.3. */
export interface B24Status {
  STATUS_ID: string;
  NAME: string;
  SORT?: string | number;
  ENTITY_ID?: string;
  CATEGORY_ID?: string | number | null;
  /** null / `S` / `F`. */
  SEMANTICS?: string | null;
}

/** `crm.deal.userfield.list` / `crm.lead.userfield.list` rows. */
export interface B24UserField {
  ID?: string;
  FIELD_NAME: string;
  USER_TYPE_ID?: string;
}

/** The envelope of every answer, §4.3: `result`, paging, `time`, or an error. */
export interface B24Envelope {
  result?: unknown;
  next?: number;
  total?: number;
  time?: { operating?: number; operating_reset_at?: number };
  error?: string;
  error_description?: string;
}

/** `batch`'s result, §4.3: per command key, its result or its error. */
export interface B24BatchResult {
  result: Record<string, unknown> | unknown[];
  result_error: Record<string, { error?: string; error_description?: string }> | unknown[];
  result_total?: Record<string, number> | unknown[];
  result_next?: Record<string, number> | unknown[];
  /** Per command: its `time`, with `operating_reset_at` when the portal reports it (§4.2). */
  result_time?: Record<string, { operating?: number; operating_reset_at?: number }> | unknown[];
}
