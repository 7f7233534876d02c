/**
 * The `ga4:` section of the config, and GA4's naming rules for the events and parameters rules
 * send. Limits: research ga4-mp.md A3 (names), A5 (revenue).
 */
import Joi from 'joi';
import type {
  ConfigHint,
  ConfigPath,
  ConfigSection,
  ProblemSink,
} from '../../../ports/config-section';
import {
  constant,
  isPersonalName,
  isRecord,
  sectionHint,
  toSnakeCase,
  wholeNumber,
} from '../../config-kit';
import type { Ga4Settings } from './ga4-settings';
import { CONFIG_RESERVED_EVENT_NAMES, RESERVED_NAME_PREFIXES } from './reserved-names';

const MEASUREMENT_ID = /^G-[A-Z0-9]+$/;
/** GA4: "alpha-numeric characters and underscores, and must start with an alphabetic character" (A3). */
const GA4_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** GA4: event and parameter names are at most 40 characters (A3). */
export const MAX_NAME_LENGTH = 40;
/** GA4 takes 25 params per event (A3); closeloop adds engagement_time_msec, session_id, currency. */
export const MAX_PARAMS_PER_EVENT = 22;
/** Reserved by GA4 for events (A3, web naming rules). */
const RESERVED_EVENT_PREFIXES = [...RESERVED_NAME_PREFIXES, 'query_id'] as const;
/** closeloop sets these itself on every event (A4: needed for reports). */
const CLOSELOOP_PARAMS: Readonly<Record<string, string>> = {
  engagement_time_msec:
    'closeloop sets it on every event so that GA4 counts the event in its reports',
  session_id:
    'closeloop sets it from the deal’s session ID field (amocrm.fields.session_id) when the deal has one',
};
const LEAD_EVENTS_HINT =
  'generate_lead, working_lead, qualify_lead, disqualify_lead, close_convert_lead, close_unconvert_lead, purchase';

const keys = {
  measurement_id: Joi.string().trim().pattern(MEASUREMENT_ID).allow(null).empty('').default(null),
  api_secret: Joi.string().trim().allow(null).empty('').default(null),
  endpoint: Joi.string()
    .trim()
    .uri({ scheme: ['http', 'https'] })
    .empty(Joi.valid('', null))
    .default('https://www.google-analytics.com'),
  timeout_ms: wholeNumber(100, 120_000, 10_000),
  dry_run: Joi.boolean().empty(Joi.valid('', null)).default(false),
};

interface RawGa4 {
  measurement_id: string | null;
  api_secret: string | null;
  endpoint: string;
  timeout_ms: number;
  dry_run: boolean;
}

const hints: Record<string, ConfigHint> = {
  '': sectionHint('ga4'),
  measurement_id: {
    expect:
      'a GA4 measurement ID such as G-ABC123XYZ (GA4 → Admin → Data streams → your web stream)',
    fix: (value) => {
      if (typeof value === 'string' && /^ua-/i.test(value.trim())) {
        return 'UA- IDs belong to Universal Analytics, which stopped processing data in July 2023; use the G- ID of a GA4 web stream';
      }
      if (typeof value === 'string' && MEASUREMENT_ID.test(value.trim().toUpperCase())) {
        return `write it in capital letters: measurement_id: ${value.trim().toUpperCase()}`;
      }
      return 'copy the measurement ID of your GA4 web data stream, or leave it empty to run in dry-run mode';
    },
  },
  api_secret: {
    expect: 'text: the Measurement Protocol API secret of your GA4 web stream',
    fix: constant(
      'put the secret in the GA4_API_SECRET environment variable and write api_secret: ${GA4_API_SECRET:-}',
    ),
    secret: true,
  },
  endpoint: {
    expect:
      'a web address starting with https:// (or http://), such as https://www.google-analytics.com',
    fix: constant(
      'write endpoint: https://www.google-analytics.com (or https://region1.google-analytics.com to keep data collection in the EU), or remove the line',
    ),
  },
  timeout_ms: {
    expect: 'a whole number of milliseconds from 100 to 120000',
    fix: constant(
      'write e.g. timeout_ms: 10000 (10 seconds), or remove the line to use the default',
    ),
  },
  dry_run: {
    expect: 'true or false',
    fix: constant('write dry_run: true to only record what would be sent, or dry_run: false'),
  },
};

export const ga4Section: ConfigSection<Ga4Settings> = {
  key: 'ga4',
  title: 'GA4',
  keys,
  sectionKeys: { '': Object.keys(keys) },
  hints,
  env: [
    { variable: 'GA4_MEASUREMENT_ID', path: ['measurement_id'], secret: false },
    { variable: 'GA4_API_SECRET', path: ['api_secret'], secret: true },
    {
      variable: 'GA4_ENDPOINT',
      path: ['endpoint'],
      secret: false,
      fallback: 'https://www.google-analytics.com',
    },
  ],
  build(value: unknown): Ga4Settings {
    const g = value as RawGa4;
    return {
      measurementId: g.measurement_id,
      apiSecret: g.api_secret,
      endpoint: g.endpoint.replace(/\/+$/, ''),
      timeoutMs: g.timeout_ms,
      dryRun: g.dry_run || g.measurement_id === null || g.api_secret === null,
    };
  },
};

/** A suggestion for a bad GA4 name: `Purchase!` → `purchase`, `Lead source` → `lead_source`. */
function suggestGa4Name(name: string): string {
  const snake = toSnakeCase(name)
    .replace(/_+/g, '_')
    .replace(/^[_0-9]+|_+$/g, '');
  return snake.slice(0, MAX_NAME_LENGTH).replace(/_+$/, '');
}

function ga4NameProblem(
  kind: 'event' | 'parameter',
  name: string,
): { message: string; fix: string } | null {
  const label = kind === 'event' ? 'event name' : 'parameter name';
  const suggestion = suggestGa4Name(name);
  const usable =
    suggestion !== '' && !CONFIG_RESERVED_EVENT_NAMES.has(suggestion) && suggestion !== name
      ? suggestion
      : null;
  if (!GA4_NAME.test(name)) {
    // eslint-disable-next-line no-control-regex
    const letters = /[^\x00-\x7F]/.test(name) ? 'Latin letters (a-z)' : 'letters';
    return {
      message: `${label} "${name}" may contain only ${letters}, digits and underscores and must start with a letter`,
      fix:
        usable !== null
          ? `use ${usable}`
          : `use a name made of Latin letters, digits and underscores, such as ${kind === 'event' ? 'generate_lead' : 'lead_source'}`,
    };
  }
  if (name.length > MAX_NAME_LENGTH) {
    return {
      message: `${label} "${name}" is ${name.length} characters long; GA4 takes at most ${MAX_NAME_LENGTH}`,
      fix: `shorten it, e.g. to ${suggestGa4Name(name)}`,
    };
  }
  const lower = name.toLowerCase();
  const prefixes = kind === 'event' ? RESERVED_EVENT_PREFIXES : RESERVED_NAME_PREFIXES;
  const prefix = prefixes.find((p) => lower.startsWith(p));
  if (prefix !== undefined) {
    const rest = name.slice(prefix.length).replace(/^_+/, '');
    return {
      message: `${label}s starting with "${prefix}" are reserved by Google Analytics`,
      fix:
        GA4_NAME.test(rest) && !CONFIG_RESERVED_EVENT_NAMES.has(rest.toLowerCase())
          ? `use ${rest} (the name without "${prefix}")`
          : `use a name that does not start with "${prefix}"`,
    };
  }
  if (kind === 'event' && CONFIG_RESERVED_EVENT_NAMES.has(lower)) {
    return {
      message: `event name "${name}" is reserved by Google Analytics and cannot be sent`,
      fix: `use one of the lead events (${LEAD_EVENTS_HINT}) or a name of your own, such as crm_${lower}`,
    };
  }
  return null;
}

/**
 * GA4's rules for one event a rule sends (`send[j]` at `path`): its name, its parameters' names,
 * how many there are, and the parameters closeloop sets itself. Defensive about shapes.
 */
export function checkGa4Event(
  item: Record<string, unknown>,
  path: ConfigPath,
  add: ProblemSink,
): void {
  const event = item.event;
  if (typeof event === 'string' && event !== '') {
    const bad = ga4NameProblem('event', event);
    if (bad !== null) add([...path, 'event'], bad.message, bad.fix);
  }
  const params = item.params;
  if (!isRecord(params)) return;
  const names = Object.keys(params);
  if (names.length > MAX_PARAMS_PER_EVENT) {
    const extra = names.length - MAX_PARAMS_PER_EVENT;
    add(
      [...path, 'params'],
      `this event has ${names.length} parameters; at most ${MAX_PARAMS_PER_EVENT} are allowed (GA4 takes 25 per event, and closeloop adds engagement_time_msec, session_id and currency itself)`,
      `remove ${extra} parameter${extra === 1 ? '' : 's'}`,
    );
  }
  for (const name of names) {
    // A name that says it is personal data is refused as such, which says more than its spelling.
    if (isPersonalName(name)) continue;
    const where = [...path, 'params', name];
    const bad = ga4NameProblem('parameter', name);
    if (bad !== null) {
      add(where, bad.message, bad.fix);
      continue;
    }
    const owned = Object.hasOwn(CLOSELOOP_PARAMS, name.toLowerCase())
      ? CLOSELOOP_PARAMS[name.toLowerCase()]
      : undefined;
    if (owned !== undefined) {
      add(
        where,
        `parameter "${name}" cannot be set here: ${owned}`,
        name.toLowerCase() === 'session_id'
          ? 'remove it; to change where the session ID comes from, set amocrm.fields.session_id'
          : 'remove it',
      );
    }
  }
}
