/**
 * The wire shape of amoCRM (Kommo) API v4, in the vendor's spelling: only the parts closeloop
 * reads or writes. Facts and real responses: research/amocrm.md §3 (leads, custom fields,
 * pipelines, complex add) and §6 (errors).
 *
 * Success bodies are `application/hal+json`, errors `application/problem+json` (§3, §6). A list
 * that matches nothing is `204 No Content` with no body at all (§3.1), which the client turns into
 * an empty list before these types are involved.
 */

/** One value of a custom field. Select options carry `enum_id` (webhooks spell it `enum`, §1.3). */
export interface AmoApiFieldValue {
  /**
   * Text fields give strings, numeric and date fields numbers (dates as Unix seconds), checkboxes
   * booleans; a few types (file, chained list) give objects.
   */
  value: string | number | boolean | Record<string, unknown> | null;
  enum_id?: number | null;
  enum_code?: string | null;
}

/** `custom_fields_values[n]` (§3.2, a real response with tracking fields). */
export interface AmoApiCustomField {
  field_id: number;
  field_name: string;
  /** Only fields with a code have one: tracking fields (`GCLIENTID`, `UTM_SOURCE`), `PHONE`… */
  field_code: string | null;
  /** `text`, `numeric`, `select`, `date`, `checkbox`, `tracking_data`, … */
  field_type: string;
  values: AmoApiFieldValue[];
}

export interface AmoApiTag {
  id: number;
  name: string;
  color?: string | null;
}

/** A lead as `GET /api/v4/leads` returns it (§3.1 "Lead model"). */
export interface AmoApiLead {
  id: number;
  /** Free text typed by managers, often a person's name: never leaves the adapter. */
  name: string;
  price: number | null;
  responsible_user_id: number | null;
  group_id?: number;
  status_id: number;
  pipeline_id: number;
  loss_reason_id?: number | null;
  created_by?: number;
  updated_by?: number;
  created_at: number;
  updated_at: number;
  closed_at: number | null;
  closest_task_at?: number | null;
  is_deleted: boolean;
  /** `null` when the lead has no field values at all (§3.2). */
  custom_fields_values: AmoApiCustomField[] | null;
  score?: number | null;
  account_id?: number;
  _links?: AmoApiLinks;
  _embedded?: {
    tags?: AmoApiTag[];
    /** Only with `with=contacts`; ids and `is_main` (§3.1). */
    contacts?: Array<{ id: number; is_main?: boolean }>;
    companies?: Array<{ id: number }>;
  };
}

/** HAL links. `next` is absent on the last page (§5 "Pagination"). */
export interface AmoApiLinks {
  self?: { href: string };
  next?: { href: string };
  prev?: { href: string };
}

/** `GET /api/v4/leads` with at least one match. */
export interface AmoApiLeadList {
  _page?: number;
  _links?: AmoApiLinks;
  _embedded: { leads: AmoApiLead[] };
}

/** `_embedded.statuses[n]` of a pipeline (§3.4). `type`: 1 incoming leads, 0 a regular stage. */
export interface AmoApiStatus {
  id: number;
  name: string;
  sort: number;
  is_editable?: boolean;
  pipeline_id: number;
  color?: string;
  type: number;
  account_id?: number;
}

export interface AmoApiPipeline {
  id: number;
  name: string;
  sort: number;
  is_main: boolean;
  is_unsorted_on?: boolean;
  is_archive: boolean;
  account_id?: number;
  _embedded?: { statuses?: AmoApiStatus[] };
}

/** `GET /api/v4/leads/pipelines` (§3.4). At most 50 pipelines per account, so one page. */
export interface AmoApiPipelineList {
  _total_items?: number;
  _links?: AmoApiLinks;
  _embedded: { pipelines: AmoApiPipeline[] };
}

/**
 * `GET /api/v4/account`: only the fields closeloop reads. Not covered by the research; the field
 * names are those of the Kommo reference ("Account parameters").
 */
export interface AmoApiAccount {
  id: number;
  name?: string;
  subdomain: string;
}

/** One entry of the `POST /api/v4/leads/complex` answer, in the order of the request (§3.3). */
export interface AmoComplexLeadResult {
  id: number;
  contact_id: number | null;
  company_id: number | null;
  request_id: string[];
  /** True when amoCRM's duplicate control merged the lead into an existing one. */
  merged: boolean;
}

/** One entry of `validation-errors` (§6): errors of one entity of the request. */
export interface AmoValidationErrors {
  request_id?: string;
  errors?: Array<{ code?: string; path?: string; detail?: string }>;
}

/**
 * An error body (`application/problem+json`, §6). OAuth errors add `hint` ("Token has been
 * revoked"). 429 and 403 answers may be HTML pages instead (§5).
 */
export interface AmoProblemJson {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  hint?: string;
  'validation-errors'?: AmoValidationErrors[];
}
