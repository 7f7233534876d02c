/**
 * Turns the raw body of an amoCRM webhook into lead events of the internal model (src/core/lead.ts).
 * Facts behind every rule here: research/amocrm.md §1 (format, real bodies) and §2 (delivery).
 *
 * The webhook is a trigger, not the truth (DESIGN.md): this parser only checks that the body is
 * shaped like an amoCRM webhook and that every lead entry has a usable id, and keeps whatever else
 * is there. It never throws on keys it does not know.
 */
import { amountOrNull } from '../../../core/amount';
import { PayloadError } from '../../../core/errors';
import {
  LEAD_ACTIONS,
  type CustomField,
  type CustomFieldValue,
  type LeadAction,
  type LeadEvent,
  type LeadSnapshot,
} from './amocrm-lead';
import { decodeForm, type FormTree } from './decode-form';
import { htmlUnescape } from './html-unescape';
import {
  AMOCRM_ENTITIES,
  DP_HOOK_LEAD_KEYS,
  type AmoAccountWire,
  type AmoCustomFieldValueWire,
  type AmoCustomFieldWire,
  type AmoLeadWire,
  type AmoTagWire,
  type AmoWebhookBody,
} from './webhook-types';

export interface ParsedWebhook {
  account: { id: string | null; subdomain: string | null };
  /** One per leads[<action>][<index>] entry, every action and every index, in body order. */
  events: LeadEvent[];
  /**
   * What the body holds that closeloop does not store, by entity and action: other entities
   * (`contacts[update]`, `unsorted[add]`, `message[add]`), lead actions such as `note`, and
   * sections it does not know beside one it does. ignored-entries.ts says why for each.
   */
  ignored: Array<{ entity: string; action: string; count: number }>;
}

const EXAMPLE = 'leads[status][0][id]=…&account[subdomain]=…';
const ENTITY_NAMES: ReadonlySet<string> = new Set(AMOCRM_ENTITIES);
const LEAD_ACTION_NAMES: ReadonlySet<string> = new Set(LEAD_ACTIONS);
const DP_KEYS: ReadonlySet<string> = DP_HOOK_LEAD_KEYS;

/**
 * Parses a form-encoded amoCRM webhook body.
 *
 * Events come in body order of their actions (`leads[add]` before `leads[status]` if the body says
 * so), and within an action by index. Index order is the body's order as amoCRM writes it (0, 1, 2…);
 * a body listing `[1]` before `[0]` would still yield index 0 first, because plain objects order
 * integer keys numerically.
 *
 * @throws PayloadError `WEBHOOK_NOT_AMOCRM` when the body is empty, not form-encoded, names no account,
 *   has no amoCRM entity section, or has a lead entry without a positive integer `id`.
 */
export function parseWebhook(body: string): ParsedWebhook {
  // A trailing newline is not part of form encoding (spaces are `+` or `%20`), but test tools and
  // proxies add one; leading or trailing whitespace never carries data.
  const text = body.trim();
  if (text === '') {
    throw notAmo(`the body is empty; expected a form-encoded body such as ${EXAMPLE}`);
  }
  if (text.startsWith('{') || text.startsWith('[')) {
    throw notAmo(
      `the body looks like JSON; amoCRM sends webhooks form-encoded (application/x-www-form-urlencoded), such as ${EXAMPLE}`,
    );
  }

  const tree = decodeForm(text);
  const account = readAccount(tree);
  const accountId = account.id ?? account.subdomain;
  if (accountId === null) {
    throw notAmo(
      `the body has neither account[id] nor account[subdomain]; every amoCRM webhook names its account (${EXAMPLE})`,
    );
  }

  const events: LeadEvent[] = [];
  const ignored: ParsedWebhook['ignored'] = [];
  let sections = 0;
  for (const entity of Object.keys(tree)) {
    const section = tree[entity];
    if (entity === 'account' || typeof section !== 'object') continue;
    if (!ENTITY_NAMES.has(entity)) {
      // A section amoCRM may add one day, or noise: not an amoCRM body by itself, but beside a
      // known section it is listed, so that nothing the body held goes without a trace.
      for (const action of Object.keys(section)) ignored.push({ entity, action, count: 1 });
      continue;
    }
    sections++;
    for (const action of Object.keys(section)) {
      const entries = section[action] as string | FormTree;
      if (entity === 'leads' && LEAD_ACTION_NAMES.has(action)) {
        readLeadAction(action as LeadAction, entries, { ...account, accountId }, events);
      } else {
        // Everything amoCRM can send that the model does not hold: other entities, and lead actions
        // such as `note` (§1.3: `leads[note][0][note][…]`) or ones added after this was written.
        const count = typeof entries === 'object' ? Object.keys(entries).length : 1;
        ignored.push({ entity, action, count });
      }
    }
  }
  if (sections === 0) {
    throw notAmo(
      `the body has account[…] but no entity section (expected one of ${AMOCRM_ENTITIES.map((e) => `${e}[…]`).join(', ')}, such as ${EXAMPLE})`,
    );
  }

  return { account, events, ignored };
}

interface AccountRef {
  id: string | null;
  subdomain: string | null;
  /** `account[id]`, else `account[subdomain]`: the idempotency part of every event. */
  accountId: string;
}

function readAccount(tree: FormTree): ParsedWebhook['account'] {
  const node = branch<AmoWebhookBody>(tree, 'account');
  if (node === undefined) return { id: null, subdomain: null };
  return {
    id: nonEmpty(scalar<AmoAccountWire>(node, 'id')),
    subdomain: nonEmpty(scalar<AmoAccountWire>(node, 'subdomain')),
  };
}

function readLeadAction(
  action: LeadAction,
  entries: string | FormTree,
  account: AccountRef,
  out: LeadEvent[],
): void {
  if (typeof entries !== 'object') {
    throw notAmo(
      `leads[${action}] is a plain value; expected entries such as leads[${action}][0][id]=…`,
    );
  }
  for (const index of Object.keys(entries)) {
    const key = `leads[${action}][${index}]`;
    const entry = entries[index];
    if (typeof entry !== 'object') {
      throw notAmo(
        `${key} is a plain value; expected a lead entry such as ${key}[id]=…`,
        `${key}[id]`,
      );
    }
    out.push(readLeadEntry(action, key, entry, account));
  }
}

function readLeadEntry(
  action: LeadAction,
  key: string,
  entry: FormTree,
  account: AccountRef,
): LeadEvent {
  const lead = (k: keyof AmoLeadWire): string | undefined => scalar<AmoLeadWire>(entry, k);

  const createdAt = toInteger(lead('created_at')) ?? toInteger(lead('date_create'));
  const updatedAt = toInteger(lead('updated_at')) ?? toInteger(lead('last_modified'));
  const snapshot: LeadSnapshot = {
    id: readLeadId(key, lead('id')),
    statusId: toInteger(lead('status_id')),
    pipelineId: toInteger(lead('pipeline_id')),
    // Often absent (§1.6 ex. 4): null means "not said", which the rules must not read as a zero deal.
    price: readPrice(lead('price')),
    responsibleUserId: toInteger(lead('responsible_user_id')),
    createdAt,
    updatedAt,
    customFields: readCustomFields(entry),
    tags: readTags(branch<AmoLeadWire>(entry, 'tags')),
  };
  // `name` is deliberately not read: it is often the client's name (personal data, DESIGN.md).
  return {
    crm: 'amocrm',
    accountId: account.accountId,
    subdomain: account.subdomain,
    action,
    oldStatusId: toInteger(lead('old_status_id')),
    oldPipelineId: toInteger(lead('old_pipeline_id')),
    occurredAt: action === 'add' ? (createdAt ?? updatedAt) : (updatedAt ?? createdAt),
    lead: snapshot,
  };
}

const POSITIVE_INTEGER = /^[1-9]\d*$/;

function readLeadId(key: string, raw: string | undefined): number {
  if (raw === undefined) {
    throw notAmo(
      `${key}[id] is missing; every amoCRM lead entry carries its lead id (a positive integer)`,
      `${key}[id]`,
    );
  }
  const n = POSITIVE_INTEGER.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n)) {
    const shown = raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
    throw notAmo(
      `${key}[id] is ${JSON.stringify(shown)}; expected the amoCRM lead id, a positive integer`,
      `${key}[id]`,
    );
  }
  return n;
}

/**
 * `customFields` is `null` only when the source carried no field data at all, so that the worker
 * knows it must read the lead from the API (src/core/lead.ts). A lead entry without a
 * `custom_fields` key means one of two things:
 * - a Digital Pipeline "send webhook" entry, which has only id, status and pipeline keys and never
 *   any field (§1.4): the fields are unknown → `null`;
 * - a full account/API webhook entry whose lead has no field values, since amoCRM omits fields
 *   without a value (§1.5; §1.6 ex. 3 and 4 are such full entries): the fields are known to be
 *   empty → `[]`.
 */
function readCustomFields(entry: FormTree): CustomField[] | null {
  const raw = branchOrScalar<AmoLeadWire>(entry, 'custom_fields');
  if (raw === undefined) {
    return Object.keys(entry).every((k) => DP_KEYS.has(k)) ? null : [];
  }
  if (typeof raw !== 'object') return [];
  const fields: CustomField[] = [];
  for (const index of Object.keys(raw)) {
    const field = raw[index];
    if (typeof field !== 'object') continue;
    fields.push({
      id: toInteger(scalar<AmoCustomFieldWire>(field, 'id')),
      name: unescapedOrNull(scalar<AmoCustomFieldWire>(field, 'name')),
      code: unescapedOrNull(scalar<AmoCustomFieldWire>(field, 'code')),
      values: readValues(branchOrScalar<AmoCustomFieldWire>(field, 'values')),
    });
  }
  return fields;
}

function readValues(raw: string | FormTree | undefined): CustomFieldValue[] {
  if (raw === undefined) return [];
  if (typeof raw !== 'object') return [{ value: htmlUnescape(raw), enumId: null }];
  const values: CustomFieldValue[] = [];
  for (const index of Object.keys(raw)) {
    const item = raw[index];
    if (item === undefined) continue;
    if (typeof item !== 'object') {
      // Date fields: the value sits directly at `values[m]` (§1.3, Unix seconds).
      values.push({ value: htmlUnescape(item), enumId: null });
      continue;
    }
    const value = scalar<AmoCustomFieldValueWire>(item, 'value');
    if (value === undefined) continue;
    values.push({
      value: htmlUnescape(value),
      enumId: toInteger(scalar<AmoCustomFieldValueWire>(item, 'enum')),
    });
  }
  return values;
}

function readTags(raw: FormTree | undefined): string[] {
  if (raw === undefined) return [];
  const tags: string[] = [];
  for (const index of Object.keys(raw)) {
    const tag = raw[index];
    if (typeof tag !== 'object') continue;
    const name = unescapedOrNull(scalar<AmoTagWire>(tag, 'name'));
    if (name !== null) tags.push(name);
  }
  return tags;
}

// --- checked access to the untrusted tree, keyed by the wire vocabulary of webhook-types.ts ---

function scalar<T>(node: FormTree, key: keyof T & string): string | undefined {
  const v = node[key];
  return typeof v === 'string' ? v : undefined;
}

function branch<T>(node: FormTree, key: keyof T & string): FormTree | undefined {
  const v = node[key];
  return typeof v === 'object' ? v : undefined;
}

function branchOrScalar<T>(node: FormTree, key: keyof T & string): FormTree | string | undefined {
  return node[key];
}

function nonEmpty(s: string | undefined): string | null {
  const t = s?.trim();
  return t === undefined || t === '' ? null : t;
}

function unescapedOrNull(s: string | undefined): string | null {
  return s === undefined || s === '' ? null : htmlUnescape(s);
}

const UNSIGNED_INTEGER = /^\d+$/;

/** Ids and Unix times. Missing, empty or not a plain integer → null: never 0, never NaN. */
function toInteger(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const s = raw.trim();
  if (!UNSIGNED_INTEGER.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Prices, as exact decimal text: `"22500"`, `"1500.50"`, and as people write them (`"1 500"`,
 * `"1500,50"`, `"22 500"` with a no-break space, `"1500 ₽"`), by the one reader every path uses
 * (core/amount.ts). Missing, empty or unreadable → null: "not known", never 0.
 */
function readPrice(raw: string | undefined): string | null {
  return raw === undefined ? null : amountOrNull(htmlUnescape(raw));
}

function notAmo(problem: string, key?: string): PayloadError {
  return new PayloadError('WEBHOOK_NOT_AMOCRM', `Not an amoCRM webhook: ${problem}`, {
    details: key === undefined ? undefined : { key },
  });
}
