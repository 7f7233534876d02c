/**
 * The `amocrm:` section of the config: where the account is, how closeloop may read it (a
 * long-lived token or OAuth), how fast, and which fields hold the visitor's GA identities.
 * Without an address and credentials closeloop works from webhook data alone.
 *
 * Limits: research amocrm.md §5 (about 7 requests per second per integration).
 */
import Joi from 'joi';
import type { FieldRef } from '../../../core/config-types';
import type { ConfigHint, ConfigSection, ProblemSink } from '../../../ports/config-section';
import {
  constant,
  FIELD_REF_EXPECT,
  fieldRef,
  fieldRefKeys,
  filled,
  isRecord,
  PERSONAL_WHY,
  personalField,
  sectionHint,
  wholeNumber,
} from '../../config-kit';

export type AmocrmAuth =
  | { kind: 'long-lived'; token: string }
  | { kind: 'oauth'; clientId: string; clientSecret: string; redirectUri: string };

/** Reading and writing leads through the amoCRM API. */
export interface AmocrmApiSettings {
  /** `https://<subdomain>.amocrm.ru`, a full domain, or AMOCRM_BASE_URL (proxy, test server). */
  baseUrl: string;
  auth: AmocrmAuth;
  /** amoCRM allows about 7 per second per integration and blocks accounts that keep exceeding it. */
  requestsPerSecond: number;
  timeoutMs: number;
  /** How long lead look-ups are gathered into one `filter[id][]` call (up to 250 ids). */
  batchWindowMs: number;
  reconcile: { enabled: boolean; intervalMs: number };
}

export interface AmocrmSettings {
  subdomain: string | null;
  /** null: no API access configured (webhook data only). */
  api: AmocrmApiSettings | null;
  fields: {
    clientId: FieldRef;
    sessionId: FieldRef | null;
  };
}

/** A subdomain (`example`) or a full domain (`example.kommo.com`). */
const AMOCRM_DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*$/;

const fieldsKeys = {
  client_id: fieldRef.empty(null).default({ code: 'GCLIENTID' }),
  session_id: fieldRef.allow(null).default(null),
};
const oauthKeys = {
  client_id: Joi.string().trim().required(),
  client_secret: Joi.string().trim().required(),
  redirect_uri: Joi.string()
    .trim()
    .uri({ scheme: ['http', 'https'] })
    .required(),
};
const reconcileKeys = {
  enabled: Joi.boolean().empty(Joi.valid('', null)).default(true),
  every_minutes: wholeNumber(1, 1440, 10),
};
const keys = {
  subdomain: Joi.string().trim().pattern(AMOCRM_DOMAIN).allow(null).empty('').default(null),
  base_url: Joi.string()
    .trim()
    .uri({ scheme: ['http', 'https'] })
    .allow(null)
    .empty('')
    .default(null),
  token: Joi.string().trim().allow(null).empty('').default(null),
  oauth: Joi.object(oauthKeys).allow(null).default(null),
  // amoCRM allows about 7 requests per second per integration (research amocrm.md §5).
  requests_per_second: wholeNumber(1, 7, 7),
  timeout_ms: wholeNumber(100, 120_000, 10_000),
  batch_window_ms: wholeNumber(0, 5000, 200),
  reconcile: Joi.object(reconcileKeys).empty(null).default(),
  fields: Joi.object(fieldsKeys).empty(null).default(),
};

interface RawAmocrm {
  subdomain: string | null;
  base_url: string | null;
  token: string | null;
  oauth: { client_id: string; client_secret: string; redirect_uri: string } | null;
  requests_per_second: number;
  timeout_ms: number;
  batch_window_ms: number;
  reconcile: { enabled: boolean; every_minutes: number };
  fields: {
    client_id: { code?: string; id?: number; name?: string };
    session_id: { code?: string; id?: number; name?: string } | null;
  };
}

const hints: Record<string, ConfigHint> = {
  '': sectionHint('amocrm'),
  subdomain: {
    expect:
      'your amoCRM address: the subdomain (example for example.amocrm.ru) or the full domain (example.kommo.com)',
    fix: constant(
      'write e.g. subdomain: example (without https:// and without a path), or leave it empty',
    ),
  },
  base_url: {
    expect:
      'a web address such as https://example.amocrm.ru (a proxy or a test server may use http://)',
    fix: constant(
      'write base_url: ${AMOCRM_BASE_URL:-} and set AMOCRM_BASE_URL only when calls must go through a proxy; otherwise subdomain is enough',
    ),
  },
  token: {
    expect: 'text: a long-lived token from your amoCRM integration (Keys and scopes tab)',
    fix: constant(
      'put the token in the AMOCRM_TOKEN environment variable and write token: ${AMOCRM_TOKEN:-}',
    ),
    secret: true,
  },
  oauth: {
    expect: 'a section with client_id, client_secret and redirect_uri of your amoCRM integration',
    fix: constant(
      'copy the three values from the integration in amoCRM (Settings → Integrations), keeping client_secret in an environment variable: client_secret: ${AMOCRM_CLIENT_SECRET}',
    ),
  },
  'oauth.client_id': {
    expect: 'text: the integration ID from amoCRM',
    fix: constant('copy the integration ID from the integration in amoCRM'),
  },
  'oauth.client_secret': {
    expect: 'text: the secret key of the amoCRM integration',
    fix: constant('write client_secret: ${AMOCRM_CLIENT_SECRET} and set that variable'),
    secret: true,
  },
  'oauth.redirect_uri': {
    expect: 'the redirect address registered in the amoCRM integration, starting with https://',
    fix: constant('copy the redirect URI exactly as it is written in the integration settings'),
  },
  requests_per_second: {
    expect:
      'a whole number from 1 to 7 (amoCRM allows about 7 requests per second and blocks accounts that exceed it)',
    fix: constant('write requests_per_second: 7, or lower if other integrations share the account'),
  },
  timeout_ms: {
    expect: 'a whole number of milliseconds from 100 to 120000',
    fix: constant('write e.g. timeout_ms: 10000, or remove the line to use the default'),
  },
  batch_window_ms: {
    expect: 'a whole number of milliseconds from 0 to 5000',
    fix: constant('write e.g. batch_window_ms: 200, or remove the line to use the default'),
  },
  reconcile: sectionHint('reconcile'),
  'reconcile.enabled': {
    expect: 'true or false',
    fix: constant('write enabled: true to poll amoCRM for missed webhooks, or enabled: false'),
  },
  'reconcile.every_minutes': {
    expect: 'a whole number of minutes from 1 to 1440',
    fix: constant('write e.g. every_minutes: 10, or remove the line to use the default'),
  },
  fields: sectionHint('fields'),
  'fields.client_id': {
    expect: FIELD_REF_EXPECT,
    fix: constant('write client_id: { code: GCLIENTID } to use amoCRM’s own tracking field'),
  },
  'fields.session_id': {
    expect: FIELD_REF_EXPECT,
    fix: constant(
      'write session_id: { name: ga_session_id }, or session_id: null to send no session ID',
    ),
  },
};

/** Whether a parsed `amocrm:` section gives API access (an address and credentials). */
export function amocrmApiConfigured(raw: unknown): boolean {
  return (
    isRecord(raw) &&
    [raw.subdomain, raw.base_url].some((v) => typeof v === 'string' && v.trim() !== '') &&
    [raw.token, raw.oauth].some(filled)
  );
}

function check(raw: unknown, add: ProblemSink): void {
  if (!isRecord(raw)) return;
  const fields = raw.fields;
  if (isRecord(fields)) {
    for (const key of ['client_id', 'session_id']) {
      const ref = fields[key];
      const which = isRecord(ref) ? personalField(ref) : null;
      if (which !== null) {
        add(
          ['fields', key],
          `${which} holds personal data, and its value would be sent to GA4 as the ${key === 'client_id' ? 'client ID' : 'session ID'}; ${PERSONAL_WHY}`,
          `point ${key} at the field where the site stores the GA ${key === 'client_id' ? 'client ID, e.g. { code: GCLIENTID }' : 'session ID, e.g. { name: ga_session_id }'}`,
          'CONFIG_PERSONAL_DATA',
        );
      }
    }
  }
  const hasToken = filled(raw.token);
  const hasOauth = filled(raw.oauth);
  if (hasToken && hasOauth) {
    add(
      ['oauth'],
      'both a long-lived token and OAuth are configured; closeloop would not know which to use',
      'keep one: token: ${AMOCRM_TOKEN:-} for a private integration, or the oauth section, not both',
    );
  }
  if ((hasToken || hasOauth) && !filled(raw.subdomain) && !filled(raw.base_url)) {
    add(
      [hasToken ? 'token' : 'oauth'],
      'amoCRM credentials are set but closeloop does not know which account to call',
      'set subdomain: ${AMOCRM_SUBDOMAIN:-} (example for example.amocrm.ru) and the AMOCRM_SUBDOMAIN variable',
    );
  }
}

function toFieldRef(ref: { code?: string; id?: number; name?: string }): FieldRef {
  if (ref.code !== undefined) return { code: ref.code };
  if (ref.id !== undefined) return { id: ref.id };
  return { name: ref.name ?? '' };
}

/**
 * API access needs an address (subdomain or base_url) and credentials (a long-lived token or
 * OAuth); with either missing closeloop works from webhook data alone. `check` reports a
 * half-configured pair.
 */
function buildApi(a: RawAmocrm): AmocrmApiSettings | null {
  const baseUrl =
    a.base_url?.replace(/\/+$/, '') ??
    (a.subdomain === null
      ? null
      : `https://${a.subdomain.includes('.') ? a.subdomain : `${a.subdomain}.amocrm.ru`}`);
  const auth: AmocrmAuth | null =
    a.token !== null
      ? { kind: 'long-lived', token: a.token }
      : a.oauth !== null
        ? {
            kind: 'oauth',
            clientId: a.oauth.client_id,
            clientSecret: a.oauth.client_secret,
            redirectUri: a.oauth.redirect_uri,
          }
        : null;
  if (baseUrl === null || auth === null) return null;
  return {
    baseUrl,
    auth,
    requestsPerSecond: a.requests_per_second,
    timeoutMs: a.timeout_ms,
    batchWindowMs: a.batch_window_ms,
    reconcile: { enabled: a.reconcile.enabled, intervalMs: a.reconcile.every_minutes * 60_000 },
  };
}

export const amocrmSection: ConfigSection<AmocrmSettings> = {
  key: 'amocrm',
  title: 'amoCRM',
  keys,
  sectionKeys: {
    '': Object.keys(keys),
    fields: Object.keys(fieldsKeys),
    oauth: Object.keys(oauthKeys),
    reconcile: Object.keys(reconcileKeys),
    'fields.client_id': Object.keys(fieldRefKeys),
    'fields.session_id': Object.keys(fieldRefKeys),
  },
  hints,
  fieldRefs: ['fields.client_id', 'fields.session_id'],
  env: [
    { variable: 'AMOCRM_SUBDOMAIN', path: ['subdomain'], secret: false },
    { variable: 'AMOCRM_TOKEN', path: ['token'], secret: true, unlessSet: ['oauth'] },
    { variable: 'AMOCRM_BASE_URL', path: ['base_url'], secret: false },
  ],
  check,
  build(value: unknown): AmocrmSettings {
    const a = value as RawAmocrm;
    return {
      subdomain: a.subdomain,
      api: buildApi(a),
      fields: {
        clientId: toFieldRef(a.fields.client_id),
        sessionId: a.fields.session_id === null ? null : toFieldRef(a.fields.session_id),
      },
    };
  },
};
