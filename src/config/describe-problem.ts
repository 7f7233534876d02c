/**
 * joi's errors in plain language: what the value must be, and how to fix it, for the core's keys
 * and, composed in, each adapter section's own hints (src/ports/config-section.ts).
 */
import type Joi from 'joi';
import { suggestCurrency } from '../core/currency';
import { DEAL_ATTRIBUTES, LEGACY_ATTRIBUTES, RULE_TRIGGERS, UTM_KEYS } from '../core/config-types';
import { DEAL_OUTCOMES } from '../core/deal';
import type { ConfigHint } from '../ports/config-section';
import {
  closestMatch,
  constant,
  describeValue,
  FIELD_REF_EXPECT,
  fieldRefKeys,
  isRecord,
  sectionHint,
  suggestionFix,
  writableFieldRefKeys,
} from '../adapters/config-kit';
import {
  accountKeys,
  deliveryKeys,
  deliveryLogKeys,
  leadIntakeKeys,
  MAX_EVENTS_PER_RULE,
  MAX_TEXT_VALUE_LENGTH,
  parseOrigin,
  ruleKeys,
  sendKeys,
  SOURCE_NAMES,
  sourceKeys,
  topKeys,
  webhookKeys,
  type ConfigPath,
  type SchemaProblem,
} from './schema';
import { ACCOUNT_SECTIONS } from './sections';

const DEAL_ATTRIBUTE_WORDS = [...DEAL_ATTRIBUTES, ...Object.keys(LEGACY_ATTRIBUTES)];

/**
 * A path with list positions as `[]` and parameter names as `*`, to look up what a key means:
 * `['rules', 2, 'send', 0, 'params', 'value', 'lead']` → `rules[].send[].params.*.lead`.
 */
export function pathPattern(path: ConfigPath): string {
  let out = '';
  path.forEach((seg, i) => {
    if (typeof seg === 'number') out += '[]';
    else if (i > 0 && path[i - 1] === 'params') out += '.*';
    else out += out === '' ? seg : `.${seg}`;
  });
  return out.replace(/^\./, '');
}

/** The keys each section takes, for "unknown setting" messages: the core's and the adapters'. */
const SECTION_KEYS: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(topKeys),
  webhook: Object.keys(webhookKeys),
  delivery: Object.keys(deliveryKeys),
  delivery_log: Object.keys(deliveryLogKeys),
  'rules[]': Object.keys(ruleKeys),
  'rules[].send[]': Object.keys(sendKeys),
  'rules[].send[].params.*': Object.keys(sourceKeys),
  'rules[].send[].params.*.field': Object.keys(fieldRefKeys),
  lead_intake: Object.keys(leadIntakeKeys),
  'lead_intake.session_id_field': Object.keys(writableFieldRefKeys),
  'lead_intake.comment_field': Object.keys(writableFieldRefKeys),
  'accounts[]': Object.keys(accountKeys),
  ...Object.fromEntries(
    ACCOUNT_SECTIONS.flatMap((s) =>
      Object.entries(s.sectionKeys).map(([rel, keys]) => [
        rel === '' ? s.key : `${s.key}.${rel}`,
        keys,
      ]),
    ),
  ),
};
/** Plain sections a misplaced key can be moved into (not lists: their items differ). */
const MOVABLE_SECTIONS = [
  '',
  ...ACCOUNT_SECTIONS.flatMap((s) =>
    Object.keys(s.sectionKeys)
      .filter((rel) => !rel.includes('*') && !rel.includes('_id'))
      .map((rel) => (rel === '' ? s.key : `${s.key}.${rel}`)),
  ),
  'webhook',
  'delivery',
  'delivery_log',
  'lead_intake',
];

type Hint = ConfigHint;
const section = sectionHint;

const WRITABLE_FIELD_REF_EXPECT =
  'a deal field amoCRM can write to: { id: 123456 } or { code: FIELD_CODE } (the API takes no field names)';
const ID_LIST_EXPECT = (what: string, example: string, other: string): string =>
  `a ${what} id (a whole number such as ${example}) or name, a list of them like [${example}, ${other}], or any`;

const CORE_HINTS: Readonly<Record<string, Hint>> = {
  '': {
    expect: 'a set of settings, one `key: value` per line',
    fix: constant('start from a copy of config/closeloop.example.yaml'),
  },
  currency: {
    expect: 'a currency code in use (ISO 4217): three capital letters such as RUB, USD or EUR',
    fix: (value) => {
      const suggested = typeof value === 'string' ? suggestCurrency(value) : null;
      if (suggested !== null) {
        return `did you mean ${suggested.code}? write currency: ${suggested.code}${suggested.why === null ? '' : ` (${suggested.why})`}`;
      }
      return 'write the currency of the deal amounts in your CRM, e.g. currency: RUB';
    },
  },
  'fieldref.code': {
    expect: 'the field code as text, such as GCLIENTID or UTM_SOURCE',
    fix: constant('write e.g. { code: GCLIENTID }'),
  },
  'fieldref.id': {
    expect: 'the field id: a whole number, as shown in the field’s settings in amoCRM',
    fix: constant('write e.g. { id: 123456 }'),
  },
  'fieldref.name': {
    expect: 'the field name as text, exactly as it is spelled in amoCRM',
    fix: constant('write e.g. { name: Тип программы }'),
  },
  webhook: section('webhook'),
  'webhook.secret': {
    expect:
      'at least 16 characters, using only letters, digits, "_" and "-" (it becomes part of the webhook address)',
    fix: constant(
      'put a long random text (e.g. from `openssl rand -hex 16`) in CLOSELOOP_WEBHOOK_SECRET, or leave it empty and closeloop generates one',
    ),
    secret: true,
  },
  'webhook.max_body': {
    expect: 'a size from 1kb to 50mb, such as 512kb or 1mb (or a number of bytes)',
    fix: constant('write e.g. max_body: 1mb, or remove the line to use the default'),
  },
  delivery: section('delivery'),
  'delivery.retry_window_hours': {
    expect: 'a whole number of hours from 1 to 720',
    fix: constant('write e.g. retry_window_hours: 72 (GA4 accepts events at most 72 hours old)'),
  },
  'delivery.retry_base_seconds': {
    expect: 'a whole number of seconds from 1 to 3600',
    fix: constant('write e.g. retry_base_seconds: 5, or remove the line to use the default'),
  },
  'delivery.retry_max_delay_minutes': {
    expect: 'a whole number of minutes from 1 to 1440',
    fix: constant('write e.g. retry_max_delay_minutes: 60, or remove the line to use the default'),
  },
  'delivery.concurrency': {
    expect: 'a whole number from 1 to 256',
    fix: constant('write e.g. concurrency: 8, or remove the line to use the default'),
  },
  delivery_log: section('delivery_log'),
  'delivery_log.max_rows': {
    expect: 'a whole number from 1000 to 10000000',
    fix: constant('write e.g. max_rows: 100000, or remove the line to use the default'),
  },
  lead_intake: section('lead_intake'),
  'lead_intake.enabled': {
    expect: 'true or false',
    fix: constant(
      'write enabled: true to take leads from site forms at POST /leads, or enabled: false',
    ),
  },
  'lead_intake.cors_origins': {
    expect:
      'a list of the site addresses whose pages send the form, such as [https://example.com, https://www.example.com]',
    fix: constant(
      'write e.g. cors_origins: [https://example.com], or cors_origins: [] when only servers post leads',
    ),
  },
  'lead_intake.cors_origins[]': {
    expect:
      'a site address (an origin): http:// or https://, the domain, and a port only if it is not the usual one, without a path, such as https://example.com',
    fix: (value) => {
      if (typeof value === 'string' && value.includes('*')) {
        return 'list each site on its own; a wildcard would let any site on the internet post leads into your amoCRM';
      }
      const start =
        typeof value === 'string' ? /^(https?:\/\/[^/?#\s]+)/i.exec(value.trim()) : null;
      const origin = start?.[1] === undefined ? undefined : parseOrigin(start[1]);
      return origin === undefined
        ? 'write the address as the browser shows it, e.g. https://example.com'
        : `write ${origin}: the browser sends only the scheme and the domain, never the page's path`;
    },
  },
  'lead_intake.honeypot_field': {
    expect:
      'a form field name: Latin letters, digits, "_" or "-", starting with a letter or "_", at most 64 characters',
    fix: constant(
      'write e.g. honeypot_field: website, and add that field to the form hidden from people (the snippet guide shows how)',
    ),
  },
  'lead_intake.per_ip_per_minute': {
    expect: 'a whole number from 1 to 1000',
    fix: constant('write e.g. per_ip_per_minute: 10, or remove the line to use the default'),
  },
  'lead_intake.pipeline': {
    expect: 'a pipeline id: a whole number such as 4542166',
    fix: constant(
      'write the id (npx closeloop statuses prints them), or remove the line to use the main pipeline',
    ),
  },
  'lead_intake.status': {
    expect: 'a status id: a whole number such as 41893093',
    fix: constant(
      'write the id (npx closeloop statuses prints them), or remove the line to let amoCRM put new leads in the first status',
    ),
  },
  'lead_intake.lead_name': {
    expect: 'a text of 1 to 255 characters',
    fix: constant('write e.g. lead_name: Заявка с сайта, or remove the line to use the default'),
  },
  'lead_intake.session_id_field': {
    expect: WRITABLE_FIELD_REF_EXPECT,
    fix: constant(
      'write session_id_field: { id: 123456 } with the id of the deal field for the GA session ID, or remove the line',
    ),
  },
  'lead_intake.comment_field': {
    expect: WRITABLE_FIELD_REF_EXPECT,
    fix: constant(
      'write comment_field: { id: 123457 } with the id of a text field of the deal, or remove the line to keep no comments',
    ),
  },
  rules: {
    expect: 'a list of rules, each starting with "- name:"',
    fix: constant(
      'copy the rules of config/closeloop.example.yaml, or write rules: [] to send nothing',
    ),
  },
  'rules[]': {
    expect: 'a rule: a list item with name, on and send',
    fix: constant('start each rule with "- name: ..." and indent on:, send: etc. under the name'),
  },
  'rules[].name': {
    expect: 'a short text (up to 100 characters) naming the rule, such as Deal won',
    fix: constant('write e.g. name: Deal won'),
  },
  'rules[].on': {
    expect: `one of ${RULE_TRIGGERS.join(', ')}`,
    fix: suggestionFix(
      RULE_TRIGGERS,
      'on',
      'write on: status_changed for a deal moving to another stage, or on: lead_added for a new lead',
    ),
  },
  'rules[].pipeline': {
    expect: ID_LIST_EXPECT('pipeline', '1234567', '7654321'),
    fix: constant(
      'open the pipeline in amoCRM and copy the number from the address (…/leads/pipeline/1234567), or remove the line to match every pipeline',
    ),
  },
  'rules[].status': {
    expect: ID_LIST_EXPECT('status', '142', '143'),
    fix: constant(
      'write the status id, e.g. status: 142 (won; 143 is lost, in every pipeline); docs/configuration.md explains how to find other ids',
    ),
  },
  'rules[].from_status': {
    expect: ID_LIST_EXPECT('status', '555001', '555002'),
    fix: constant('write the id of the previous status, e.g. from_status: 555, or remove the line'),
  },
  'rules[].outcome': {
    expect: `one of ${DEAL_OUTCOMES.join(', ')}, or a list of them`,
    fix: suggestionFix(
      DEAL_OUTCOMES,
      'outcome',
      'write outcome: won for a deal won in any CRM and pipeline',
    ),
  },
  'rules[].outcome[]': {
    expect: `one of ${DEAL_OUTCOMES.join(', ')}`,
    fix: suggestionFix(DEAL_OUTCOMES, 'outcome', 'write outcome: won'),
  },
  'rules[].source': {
    expect: `one of ${SOURCE_NAMES.join(', ')}, or a list of them`,
    fix: suggestionFix(
      SOURCE_NAMES,
      'source',
      'write e.g. source: amocrm, or remove the line to match every CRM',
    ),
  },
  'rules[].source[]': {
    expect: `one of ${SOURCE_NAMES.join(', ')}`,
    fix: suggestionFix(SOURCE_NAMES, 'source', 'write e.g. source: amocrm'),
  },
  accounts: {
    expect: 'a list of accounts, each starting with "- name:"',
    fix: constant('see "Several accounts" in docs/configuration.md, or remove accounts:'),
  },
  'accounts[]': {
    expect: 'an account: a list item with name, and the sections of its CRM and destinations',
    fix: constant('start each account with "- name: shop" and indent its sections under the name'),
  },
  'accounts[].name': {
    expect:
      'a short name in lower case (letters, digits, "_" and "-", at most 40), not default: it is part of the account\'s keys',
    fix: constant('write e.g. name: shop'),
  },
  'accounts[].webhook_secret': {
    expect:
      'at least 16 characters, using only letters, digits, "_" and "-" (it becomes part of the account\'s webhook address)',
    fix: constant(
      'put a long random text (e.g. from `openssl rand -hex 16`) in an environment variable and write webhook_secret: ${SHOP_WEBHOOK_SECRET}',
    ),
    secret: true,
  },
  'lead_intake.account': {
    expect: 'the name of an account (default, or one listed under accounts:)',
    fix: constant('write e.g. account: shop, or remove the line for the default account'),
  },
  'rules[].send': {
    expect: `a list of 1 to ${MAX_EVENTS_PER_RULE} events, each starting with "- event:"`,
    fix: constant('write send: and under it a line like "- event: generate_lead"'),
  },
  'rules[].send[]': {
    expect: 'an event: a list item with event: and, if needed, params:',
    fix: constant('write e.g. "- event: generate_lead"'),
  },
  'rules[].send[].event': {
    expect: 'a GA4 event name as text, such as generate_lead or purchase',
    fix: constant('write e.g. event: generate_lead'),
  },
  'rules[].send[].params': {
    expect: 'a section of parameters, one `name: value` per line',
    fix: constant('indent each parameter under params:, e.g. value: { lead: price }'),
  },
  'rules[].send[].params.*': {
    expect: `a fixed value (text up to ${MAX_TEXT_VALUE_LENGTH} characters, a number, or true/false) or a source such as { lead: price }, { field: { name: Program } } or { utm: campaign }`,
    fix: (value) =>
      typeof value === 'string' && value.length > MAX_TEXT_VALUE_LENGTH
        ? `shorten it to ${MAX_TEXT_VALUE_LENGTH} characters (GA4 ignores longer values)`
        : 'give the parameter a value, or remove it',
  },
  'rules[].send[].params.*.deal': {
    expect: `one of the deal attributes ${DEAL_ATTRIBUTES.join(', ')}`,
    fix: suggestionFix(
      DEAL_ATTRIBUTE_WORDS,
      'deal',
      'write e.g. { deal: amount } for the deal amount',
    ),
  },
  'rules[].send[].params.*.lead': {
    expect: `one of the deal attributes ${DEAL_ATTRIBUTES.join(', ')}`,
    fix: suggestionFix(
      DEAL_ATTRIBUTE_WORDS,
      'lead',
      'write e.g. { lead: price } for the deal amount',
    ),
  },
  'rules[].send[].params.*.field': {
    expect: FIELD_REF_EXPECT,
    fix: constant('write e.g. { field: { name: Тип программы } } or { field: { id: 123456 } }'),
  },
  'rules[].send[].params.*.utm': {
    expect: `one of ${UTM_KEYS.join(', ')}`,
    fix: suggestionFix(UTM_KEYS, 'utm', 'write e.g. { utm: campaign }'),
  },
  'rules[].send[].params.*.default': {
    expect: `a fixed value: text up to ${MAX_TEXT_VALUE_LENGTH} characters, a number, or true/false`,
    fix: constant('write e.g. default: none'),
  },
  'rules[].send[].params.*.required': {
    expect: 'true or false',
    fix: constant(
      'write required: true to skip the event when the value is missing, or remove the line',
    ),
  },
};

const FALLBACK_HINT: Hint = {
  expect: 'a valid value',
  fix: constant('compare it with config/closeloop.example.yaml'),
};

/** The hints of every adapter section, at its own key (`amocrm.subdomain`). */
const HINTS: Readonly<Record<string, Hint>> = {
  ...CORE_HINTS,
  ...Object.fromEntries(
    ACCOUNT_SECTIONS.flatMap((s) =>
      Object.entries(s.hints).map(([rel, hint]) => [rel === '' ? s.key : `${s.key}.${rel}`, hint]),
    ),
  ),
};

/** Patterns whose value is a field reference: the adapters' and the core's. */
const FIELD_REF_PATTERNS: readonly string[] = [
  ...ACCOUNT_SECTIONS.flatMap((s) => (s.fieldRefs ?? []).map((rel) => `${s.key}.${rel}`)),
  'lead_intake.session_id_field',
  'lead_intake.comment_field',
];

/**
 * The pattern a hint or a key list is filed under: an account's sections and rules are the top
 * level's (`accounts[].amocrm.subdomain` → `amocrm.subdomain`); a mapping's name is `*`.
 */
function filedPattern(path: ConfigPath): string {
  let pattern = pathPattern(path);
  if (
    pattern.startsWith('accounts[].') &&
    !/^accounts\[\]\.(name|webhook_secret|currency)$/.test(pattern)
  ) {
    pattern = pattern.slice('accounts[].'.length);
  }
  return pattern.replace(/^(generic\.mappings)\.[^.]+/, '$1.*');
}

function hintFor(path: ConfigPath): Hint {
  const pattern = filedPattern(path);
  const ref = FIELD_REF_PATTERNS.find((p) => pattern.startsWith(`${p}.`));
  const fieldPart = /\.(code|id|name)$/.exec(pattern);
  if (
    fieldPart?.[1] !== undefined &&
    (ref !== undefined || /\.field\.(code|id|name)$/.test(pattern))
  ) {
    return HINTS[`fieldref.${fieldPart[1]}`] ?? FALLBACK_HINT;
  }
  return HINTS[pattern] ?? FALLBACK_HINT;
}

/** What to add when a required key is missing. */
const MISSING: Readonly<Record<string, { message?: string; fix: string }>> = {
  currency: {
    fix: 'add currency: RUB (the currency of the deal amounts in your CRM), as in config/closeloop.example.yaml',
  },
  rules: {
    message: 'there is no `rules:` list, so closeloop would not know what to send',
    fix: 'copy the rules of config/closeloop.example.yaml, or write rules: [] to send nothing',
  },
  'rules[].name': { fix: 'give the rule a short name, e.g. name: Deal won' },
  'rules[].on': { fix: `add on: with one of ${RULE_TRIGGERS.join(', ')}` },
  'rules[].send': {
    fix: 'add send: with at least one event under it, e.g. "- event: generate_lead"',
  },
  'rules[].send[].event': { fix: 'add event: with a GA4 event name, e.g. event: generate_lead' },
  'accounts[].name': { fix: 'give the account a short name, e.g. name: shop' },
};

function lastKey(path: ConfigPath): string {
  const last = path[path.length - 1];
  return last === undefined ? '' : String(last);
}

/** Sections naming a field lead intake writes to: by id or code only. */
const WRITABLE_FIELD_SECTIONS: readonly string[] = [
  'lead_intake.session_id_field',
  'lead_intake.comment_field',
];

function unknownKeyProblem(path: ConfigPath): SchemaProblem {
  const key = lastKey(path);
  const parent = path.slice(0, -1);
  const parentPattern = filedPattern(parent);
  if (key === 'name' && WRITABLE_FIELD_SECTIONS.includes(parentPattern)) {
    return {
      path,
      code: 'CONFIG_INVALID',
      message: 'amoCRM’s API writes a field by its id or code, not by its name',
      fix: 'use the field’s id instead, e.g. { id: 123456 }: amoCRM shows it in the field’s settings (Settings → Fields)',
    };
  }
  const allowed = SECTION_KEYS[parentPattern] ?? [];
  const guess = closestMatch(key, allowed);
  if (guess !== null) {
    return {
      path,
      code: 'CONFIG_INVALID',
      message: `unknown setting \`${key}\`; did you mean \`${guess}\`?`,
      fix: `rename it to ${guess}`,
    };
  }
  const home = MOVABLE_SECTIONS.filter(
    (s) => s !== parentPattern && (SECTION_KEYS[s] ?? []).includes(key),
  );
  if (home.length === 1 && home[0] !== undefined) {
    const where = home[0] === '' ? 'at the top level of the file' : `in the \`${home[0]}\` section`;
    return {
      path,
      code: 'CONFIG_INVALID',
      message: `\`${key}\` belongs ${where}, not here`,
      fix:
        home[0] === ''
          ? `move it to the start of a line, without indentation`
          : `move it under ${home[0].split('.').join(': → ')}: and indent it by two spaces`,
    };
  }
  return {
    path,
    code: 'CONFIG_INVALID',
    message: `unknown setting \`${key}\``,
    fix: `remove it or check its spelling; the settings allowed here are: ${allowed.join(', ')}`,
  };
}

const FIELD_OR_SOURCE = {
  field: {
    many: 'names the field in more than one way',
    none: 'does not say which field to read',
    fix: 'keep exactly one of code, id or name, e.g. { code: GCLIENTID } or { name: Тип программы }',
  },
  writable: {
    many: 'names the field in more than one way',
    none: 'does not say which field to write',
    fix: 'keep exactly one of id or code, e.g. { id: 123456 }',
  },
  source: {
    many: 'takes its value from more than one place',
    none: 'does not say where its value comes from',
    fix: 'keep exactly one of deal (or lead), field or utm, e.g. { deal: amount }; for a fixed value write it directly, e.g. lead_source: crm',
  },
} as const;

/** One joi error as a problem a marketer can act on. */
export function describeSchemaError(detail: Joi.ValidationErrorItem): SchemaProblem {
  const path = detail.path;
  const value: unknown = detail.context?.value;
  const pattern = filedPattern(path);
  const problem = (message: string, fix: string): SchemaProblem => ({
    path,
    code: 'CONFIG_INVALID',
    message,
    fix,
  });

  switch (detail.type) {
    case 'object.unknown':
      return unknownKeyProblem(path);
    case 'any.required': {
      const missing = MISSING[pattern];
      return problem(
        missing?.message ?? `\`${lastKey(path)}\` is missing`,
        missing?.fix ?? `add ${lastKey(path)}:`,
      );
    }
    case 'object.xor':
    case 'object.missing': {
      const kind =
        FIELD_OR_SOURCE[
          /^rules\[\]\.send\[\]\.params\.\*$/.test(pattern)
            ? 'source'
            : WRITABLE_FIELD_SECTIONS.includes(pattern)
              ? 'writable'
              : 'field'
        ];
      // `{ name: … }` where only id or code will do: said once, at the name (dedupe drops this copy).
      if (
        kind === FIELD_OR_SOURCE.writable &&
        detail.type === 'object.missing' &&
        isRecord(value) &&
        'name' in value
      ) {
        return unknownKeyProblem([...path, 'name']);
      }
      const present = (detail.context?.present as string[] | undefined) ?? [];
      const message =
        detail.type === 'object.xor' ? `${kind.many} (${present.join(' and ')})` : kind.none;
      return problem(message, kind.fix);
    }
    case 'array.min':
      return problem(
        'this rule sends no events',
        'add at least one event under send:, or delete the rule',
      );
    case 'array.max':
      return problem(
        `this rule sends ${Array.isArray(value) ? value.length : 'too many'} events; a rule may send at most ${MAX_EVENTS_PER_RULE}`,
        'split it into two rules with the same on: and status:',
      );
    default: {
      const hint = hintFor(path);
      if (hint.secret === true) {
        return problem(
          `must be ${hint.expect}; the value is not shown here because it is a secret`,
          hint.fix(undefined),
        );
      }
      const subject = path.length === 0 ? 'the file must be' : 'must be';
      return problem(`${subject} ${hint.expect}, not ${describeValue(value)}`, hint.fix(value));
    }
  }
}
