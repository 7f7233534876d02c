/**
 * The words a marketer reads when a core setting's value is wrong: what it must be, and how to fix
 * it, by key pattern (`rules[].on`). Each adapter's section has its own (src/ports/config-section.ts);
 * describe-problem.ts composes both.
 */
import { suggestCurrency } from '../core/currency';
import {
  AMOUNT_CHANGED_ACTIONS,
  DEAL_ATTRIBUTES,
  LEGACY_ATTRIBUTES,
  LOST_AFTER_WON_ACTIONS,
  RULE_TRIGGERS,
  UTM_KEYS,
  WON_AGAIN_ACTIONS,
} from '../core/config-types';
import { DEAL_OUTCOMES } from '../core/deal';
import type { ConfigHint } from '../ports/config-section';
import { constant, FIELD_REF_EXPECT, sectionHint, suggestionFix } from '../adapters/config-kit';
import { MAX_EVENTS_PER_RULE, MAX_TEXT_VALUE_LENGTH, parseOrigin, SOURCE_NAMES } from './schema';

const DEAL_ATTRIBUTE_WORDS = [...DEAL_ATTRIBUTES, ...Object.keys(LEGACY_ATTRIBUTES)];

const WRITABLE_FIELD_REF_EXPECT =
  'a deal field amoCRM can write to: { id: 123456 } or { code: FIELD_CODE } (the API takes no field names)';
const ID_LIST_EXPECT = (what: string, example: string, other: string): string =>
  `a ${what} id (a whole number such as ${example}) or name, a list of them like [${example}, ${other}], or any`;

export const CORE_HINTS: Readonly<Record<string, ConfigHint>> = {
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
  webhook: sectionHint('webhook'),
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
  delivery: sectionHint('delivery'),
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
  'delivery.resend_uncertain': {
    expect: 'a list of event names, e.g. [purchase, refund], or [] to hold every uncertain send',
    fix: constant(
      'write e.g. resend_uncertain: [purchase, refund], or remove the line to use the default',
    ),
  },
  'delivery.resend_uncertain[]': {
    expect: 'an event name, as in the rules: letters, digits and _, starting with a letter',
    fix: constant('write the event as the rules send it, e.g. purchase'),
  },
  'delivery.max_value': {
    expect: 'a number above 0: the largest deal amount closeloop sends (in the account’s currency)',
    fix: constant(
      'write e.g. max_value: 1000000000 (a billion, the default), or more if your deals are larger',
    ),
  },
  revenue: sectionHint('revenue'),
  'revenue.won_again': {
    expect: `${WON_AGAIN_ACTIONS.join(' or ')} (what a deal that was won, reopened and won again sends)`,
    fix: suggestionFix(
      WON_AGAIN_ACTIONS,
      'won_again',
      'write won_again: ignore (the purchase is counted once) or won_again: refund_and_resend',
    ),
  },
  'revenue.lost_after_won': {
    expect: `${LOST_AFTER_WON_ACTIONS.join(' or ')} (what a won deal moved to lost sends)`,
    fix: suggestionFix(
      LOST_AFTER_WON_ACTIONS,
      'lost_after_won',
      'write lost_after_won: ignore (the purchase stays) or lost_after_won: refund',
    ),
  },
  'revenue.amount_changed': {
    expect: `${AMOUNT_CHANGED_ACTIONS.join(' or ')} (what closeloop does when a won deal’s amount changes after its purchase was sent)`,
    fix: suggestionFix(
      AMOUNT_CHANGED_ACTIONS,
      'amount_changed',
      'write amount_changed: record (shown in closeloop deliveries) or amount_changed: refund_and_resend',
    ),
  },
  delivery_log: sectionHint('delivery_log'),
  'delivery_log.max_rows': {
    expect: 'a whole number from 1000 to 10000000',
    fix: constant('write e.g. max_rows: 100000, or remove the line to use the default'),
  },
  'delivery_log.max_age_days': {
    expect: 'a whole number of days from 1 to 3650',
    fix: constant('write e.g. max_age_days: 90, or remove the line to use the default'),
  },
  lead_intake: sectionHint('lead_intake'),
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
  'lead_intake.keep_personal_data_days': {
    expect: 'a whole number of days from 1 to 365',
    fix: constant('write e.g. keep_personal_data_days: 30, or remove the line to use the default'),
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
