/**
 * The `metrica:` section of the config: one Yandex Metrica counter per account (an agency gives
 * each client's account its own `metrica:`). Without a counter id the destination is off.
 *
 *   metrica:
 *     counter_id: ${METRICA_COUNTER_ID:-}
 *     token: ${METRICA_TOKEN:-}            # OAuth, scope metrika:offline_data (+ metrika:read)
 *     goals: { close_convert_lead: deal_won }
 */
import Joi from 'joi';
import type { ConfigHint, ConfigSection } from '../../../ports/config-section';
import { constant, sectionHint, wholeNumber } from '../../config-kit';
import type { MetricaSettings } from './metrica-settings';

export const DEFAULT_METRICA_ENDPOINT = 'https://api-metrika.yandex.net';
/** Every won deal of the example rules (their `close_convert_lead`) becomes goal `deal_won`. */
export const DEFAULT_METRICA_GOALS: Readonly<Record<string, string>> = Object.freeze({
  close_convert_lead: 'deal_won',
});
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
      dryRun: m.dry_run || m.token === null,
    };
  },
};
