/**
 * The `metrica:` section of the config: one Yandex Metrica counter per account (an agency gives
 * each client's account its own `metrica:`). Without a counter id the destination is off.
 *
 *   metrica:
 *     counter_id: ${METRICA_COUNTER_ID:-}
 *     token: ${METRICA_TOKEN:-}            # OAuth, scope metrika:offline_data (+ metrika:read)
 *     goals: { close_convert_lead: deal_won }
 *     mode: conversions                    # or orders: deals as CRM orders (docs/metrica.md)
 */
import Joi from 'joi';
import type { ConfigHint, ConfigSection } from '../../../ports/config-section';
import { constant, sectionHint, suggestionFix, wholeNumber } from '../../config-kit';
import {
  METRICA_MODES,
  ORDER_STATUSES,
  type MetricaMode,
  type MetricaSettings,
} from './metrica-settings';

export const DEFAULT_METRICA_ENDPOINT = 'https://api-metrika.yandex.net';
/** Every won deal of the example rules (their `close_convert_lead`) becomes goal `deal_won`. */
export const DEFAULT_METRICA_GOALS: Readonly<Record<string, string>> = Object.freeze({
  close_convert_lead: 'deal_won',
});
/**
 * Orders mode: a new deal is an order in progress, a purchase pays it, a refund or a lost deal
 * cancels it (the example rules' events; deal life sends the refunds and the new purchases).
 */
export const DEFAULT_ORDER_STATUSES: Readonly<Record<string, string>> = Object.freeze({
  generate_lead: 'IN_PROGRESS',
  purchase: 'PAID',
  refund: 'CANCELLED',
  close_unconvert_lead: 'CANCELLED',
});
/** Most Metrica counters of Russian sites keep Moscow time; the counter's settings say. */
export const DEFAULT_METRICA_TIME_ZONE = 'Europe/Moscow';

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A JavaScript-event goal's identifier: Latin letters, digits, `_`, `-`, `.` (research §5). */
const GOAL_ID = /^[A-Za-z0-9_.-]{1,100}$/;

const keys = {
  enabled: Joi.boolean().empty(Joi.valid('', null)).default(true),
  counter_id: Joi.alternatives()
    .try(
      Joi.string()
        .trim()
        .pattern(/^\d{1,12}$/),
      Joi.number().integer().min(1),
    )
    .allow(null)
    .empty('')
    .default(null),
  token: Joi.string().trim().max(500).allow(null).empty('').default(null),
  endpoint: Joi.string()
    .trim()
    .uri({ scheme: ['http', 'https'] })
    .empty(Joi.valid('', null))
    .default(DEFAULT_METRICA_ENDPOINT),
  flush_seconds: wholeNumber(1, 86_400, 600),
  poll_seconds: wholeNumber(1, 86_400, 900),
  batch_rows: wholeNumber(1, 100_000, 1000),
  timeout_ms: wholeNumber(100, 300_000, 30_000),
  daily_requests: wholeNumber(10, 100_000, 5000),
  goals: Joi.object()
    .pattern(Joi.string().trim().min(1).max(100), Joi.string().trim().pattern(GOAL_ID))
    .empty(null)
    .default(DEFAULT_METRICA_GOALS),
  dry_run: Joi.boolean().empty(Joi.valid('', null)).default(false),
  mode: Joi.string()
    .trim()
    .valid(...METRICA_MODES)
    .empty(Joi.valid('', null))
    .default('conversions'),
  order_statuses: Joi.object()
    .pattern(
      Joi.string().trim().min(1).max(100),
      Joi.alternatives().try(
        Joi.string()
          .trim()
          .valid(...ORDER_STATUSES),
        Joi.string().trim().pattern(GOAL_ID),
      ),
    )
    .empty(null)
    .default(DEFAULT_ORDER_STATUSES),
  time_zone: Joi.string()
    .trim()
    .max(64)
    .custom((v: string, helpers) => (isTimeZone(v) ? v : helpers.error('any.invalid')))
    .empty(Joi.valid('', null))
    .default(DEFAULT_METRICA_TIME_ZONE),
};

interface RawMetrica {
  enabled: boolean;
  counter_id: string | number | null;
  token: string | null;
  endpoint: string;
  flush_seconds: number;
  poll_seconds: number;
  batch_rows: number;
  timeout_ms: number;
  daily_requests: number;
  goals: Record<string, string>;
  dry_run: boolean;
  mode: MetricaMode;
  order_statuses: Record<string, string>;
  time_zone: string;
}

const seconds = (what: string, example: number): ConfigHint => ({
  expect: 'a whole number of seconds from 1 to 86400',
  fix: constant(`write e.g. ${what}: ${example}, or remove the line to use the default`),
});

const hints: Record<string, ConfigHint> = {
  '': sectionHint('metrica'),
  enabled: { expect: 'true or false', fix: constant('write enabled: false to turn Metrica off') },
  counter_id: {
    expect: 'the counter number, digits only (Metrica → your counter → its number beside the name)',
    fix: constant('write counter_id: ${METRICA_COUNTER_ID:-} and set METRICA_COUNTER_ID'),
  },
  token: {
    expect: 'text: an OAuth token with the metrika:offline_data and metrika:read scopes',
    fix: constant(
      'put the token in the METRICA_TOKEN environment variable and write token: ${METRICA_TOKEN:-}',
    ),
    secret: true,
  },
  endpoint: {
    expect: `a web address starting with https:// (or http://), such as ${DEFAULT_METRICA_ENDPOINT}`,
    fix: constant(`write endpoint: ${DEFAULT_METRICA_ENDPOINT}, or remove the line`),
  },
  flush_seconds: seconds('flush_seconds', 600),
  poll_seconds: seconds('poll_seconds', 900),
  batch_rows: {
    expect: 'a whole number of rows from 1 to 100000',
    fix: constant('write batch_rows: 1000, or remove the line'),
  },
  timeout_ms: {
    expect: 'a whole number of milliseconds from 100 to 300000',
    fix: constant('write timeout_ms: 30000, or remove the line'),
  },
  daily_requests: {
    expect: 'a whole number from 10 to 100000',
    fix: constant('write daily_requests: 5000 (Yandex’s limit per login), or remove the line'),
  },
  goals: {
    expect:
      'a section: an event name of your rules, then the identifier of a JavaScript-event goal in Metrica, such as close_convert_lead: deal_won',
    fix: constant(
      'write goals: { close_convert_lead: deal_won }; the goal identifier has Latin letters, digits, _ - and . only',
    ),
  },
  dry_run: {
    expect: 'true or false',
    fix: constant('write dry_run: true to only record what would be uploaded, or dry_run: false'),
  },
  mode: {
    expect:
      'conversions (won deals as offline conversions, the default) or orders (deals as CRM orders whose status and amount can be corrected; docs/metrica.md, "Conversions or orders?")',
    fix: suggestionFix(
      METRICA_MODES,
      'mode',
      'write mode: conversions or mode: orders (METRICA_MODE for the counter set in the environment), or remove the line',
    ),
  },
  order_statuses: {
    expect: `a section: an event name of your rules, then the order status it sets: ${ORDER_STATUSES.join(', ')}, or the identifier of a JavaScript-event goal`,
    fix: constant(
      'write order_statuses: { generate_lead: IN_PROGRESS, purchase: PAID, refund: CANCELLED, close_unconvert_lead: CANCELLED }, or remove the line',
    ),
  },
  time_zone: {
    expect:
      'the counter’s time zone as in the tz database, such as Europe/Moscow (Metrica → the counter’s settings → «Часовой пояс»)',
    fix: constant(`write time_zone: ${DEFAULT_METRICA_TIME_ZONE}, or remove the line`),
  },
};

export const metricaSection: ConfigSection<MetricaSettings | null> = {
  key: 'metrica',
  title: 'Yandex Metrica',
  keys,
  sectionKeys: { '': Object.keys(keys) },
  hints,
  env: [
    { variable: 'METRICA_COUNTER_ID', path: ['counter_id'], secret: false },
    { variable: 'METRICA_TOKEN', path: ['token'], secret: true },
    {
      variable: 'METRICA_ENDPOINT',
      path: ['endpoint'],
      secret: false,
      fallback: DEFAULT_METRICA_ENDPOINT,
    },
    { variable: 'METRICA_FLUSH_SECONDS', path: ['flush_seconds'], secret: false, fallback: '600' },
    { variable: 'METRICA_POLL_SECONDS', path: ['poll_seconds'], secret: false, fallback: '900' },
    { variable: 'METRICA_MODE', path: ['mode'], secret: false, fallback: 'conversions' },
  ],
  build(value: unknown): MetricaSettings | null {
    const m = value as RawMetrica;
    if (!m.enabled || m.counter_id === null) return null;
    return {
      counterId: String(m.counter_id),
      token: m.token,
      endpoint: m.endpoint.replace(/\/+$/, ''),
      flushMs: m.flush_seconds * 1000,
      pollMs: m.poll_seconds * 1000,
      batchRows: m.batch_rows,
      timeoutMs: m.timeout_ms,
      dailyRequests: m.daily_requests,
      goals: { ...m.goals },
      mode: m.mode,
      orderStatuses: { ...m.order_statuses },
      timeZone: m.time_zone,
      dryRun: m.dry_run || m.token === null,
    };
  },
};
