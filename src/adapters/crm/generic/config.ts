/**
 * The `generic:` section: the signed intake for every other system (RetailCRM, 1C, call
 * tracking), and mappings for senders that post their own shape.
 *
 *   generic:
 *     secret: ${CLOSELOOP_INTAKE_SECRET:-}   # HMAC-SHA256 key of X-Closeloop-Signature
 *     accounts: [shop]                        # the `account` names this closeloop account takes
 *     mappings:
 *       retailcrm:                            # POST /webhooks/generic/<secret>/retailcrm
 *         signed: false                       # the sender cannot sign: the URL's secret is the check
 *         fields: { deal_id: order.id, stage: order.status, amount: order.totalSumm }
 *         fixed: { account: shop, currency: RUB }
 *         outcomes: { complete: won, cancel: lost }
 */
import Joi from 'joi';
import { DEAL_OUTCOMES, type DealOutcome } from '../../../core/deal';
import type { ConfigHint, ConfigSection, ProblemSink } from '../../../ports/config-section';
import { constant, filled, isRecord, sectionHint } from '../../config-kit';
import { MAPPING_TARGETS, type MappingTarget } from './deal-event-fields';

export interface GenericMapping {
  /** false: the sender cannot sign; the URL's secret is the only check, as for amoCRM. */
  signed: boolean;
  /** Target field → dot path in the sender's body (`order.customFields.ga_client_id`). */
  fields: Readonly<Partial<Record<MappingTarget, string>>>;
  /** Target field → a fixed value; for a target in `fields` too, the value when its path finds none. */
  fixed: Readonly<Partial<Record<MappingTarget, string>>>;
  /** The sender's stage value → what it means. */
  outcomes: Readonly<Record<string, DealOutcome>>;
}

export interface GenericSettings {
  /** The HMAC-SHA256 key signed events are checked with; null: signed events are refused. */
  secret: string | null;
  /** The `account` names this closeloop account takes; null: any. */
  accounts: readonly string[] | null;
  mappings: Readonly<Record<string, GenericMapping>>;
}

/** An intake secret: a key, not a password to remember; 16+ characters, and not a repeated one. */
const INTAKE_SECRET = /^[\x21-\x7e]{16,200}$/;
const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAPPING_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;
/** A dot path: `order.id`, `customFields.ga_client_id`, `items.0.price`. */
const DOT_PATH = /^[^.\s]+(?:\.[^.\s]+)*$/;

const mappingKeys = {
  signed: Joi.boolean().empty(Joi.valid('', null)).default(true),
  fields: Joi.object()
    .pattern(Joi.string().valid(...MAPPING_TARGETS), Joi.string().trim().pattern(DOT_PATH))
    .empty(null)
    .default({}),
  fixed: Joi.object()
    .pattern(
      Joi.string().valid(...MAPPING_TARGETS),
      Joi.alternatives().try(Joi.string().max(256), Joi.number()),
    )
    .empty(null)
    .default({}),
  outcomes: Joi.object()
    .pattern(Joi.string(), Joi.string().valid(...DEAL_OUTCOMES))
    .empty(null)
    .default({}),
};
const keys = {
  secret: Joi.string().trim().pattern(INTAKE_SECRET).allow(null).empty('').default(null),
  accounts: Joi.array()
    .items(Joi.string().trim().pattern(ACCOUNT_NAME))
    .single()
    .allow(null)
    .empty('')
    .default(null),
  mappings: Joi.object()
    .pattern(Joi.string().pattern(MAPPING_NAME), Joi.object(mappingKeys))
    .empty(null)
    .default({}),
};

interface RawGeneric {
  secret: string | null;
  accounts: string[] | null;
  mappings: Record<
    string,
    {
      signed: boolean;
      fields: Record<string, string>;
      fixed: Record<string, string | number>;
      outcomes: Record<string, DealOutcome>;
    }
  >;
}

const hints: Record<string, ConfigHint> = {
  '': sectionHint('generic'),
  secret: {
    expect:
      'a key of at least 16 characters without spaces, shared with the sending system (it signs each request with it)',
    fix: constant(
      'make one with `openssl rand -hex 32`, put it in CLOSELOOP_INTAKE_SECRET, and give the same key to the sending system',
    ),
    secret: true,
  },
  accounts: {
    expect:
      'a list of account names (letters, digits, ".", "_" and "-") that the events\' "account" may carry',
    fix: constant('write e.g. accounts: [shop], or remove the line to take every account name'),
  },
  'accounts[]': {
    expect: 'an account name: letters, digits, ".", "_" and "-", at most 64 characters',
    fix: constant('write e.g. shop'),
  },
  mappings: {
    expect: 'a section of mappings, one per sending system, each named in lower case (retailcrm)',
    fix: constant('see docs/generic-intake.md for the recipes'),
  },
  'mappings.*': {
    expect: 'a mapping with fields:, and optionally fixed:, outcomes: and signed:',
    fix: constant('see docs/generic-intake.md for the recipes'),
  },
  'mappings.*.signed': {
    expect: 'true or false',
    fix: constant(
      'write signed: false only for a sender that cannot sign its requests (the secret URL is then the only check)',
    ),
  },
  'mappings.*.fields': {
    expect: `a section of target: path lines; the targets are ${MAPPING_TARGETS.join(', ')}`,
    fix: constant('write e.g. deal_id: order.id'),
  },
  'mappings.*.fixed': {
    expect: `a section of target: value lines; the targets are ${MAPPING_TARGETS.join(', ')}`,
    fix: constant('write e.g. currency: RUB'),
  },
  'mappings.*.outcomes': {
    expect: `a section of stage: outcome lines, the outcome one of ${DEAL_OUTCOMES.join(', ')}`,
    fix: constant('write e.g. complete: won'),
  },
};

function check(raw: unknown, add: ProblemSink): void {
  if (!isRecord(raw)) return;
  const secret = raw.secret;
  if (typeof secret === 'string' && filled(secret.trim()) && new Set(secret.trim()).size < 8) {
    add(
      ['secret'],
      'the intake secret repeats a few characters; a key anyone could guess lets them send fake won deals',
      'make one with `openssl rand -hex 32`, and put it in CLOSELOOP_INTAKE_SECRET',
    );
  }
  if (!isRecord(raw.mappings)) return;
  const listed = Array.isArray(raw.accounts)
    ? raw.accounts.filter((a): a is string => typeof a === 'string').map((a) => a.trim())
    : typeof raw.accounts === 'string' && filled(raw.accounts.trim())
      ? [raw.accounts.trim()]
      : null;
  for (const [name, mapping] of Object.entries(raw.mappings)) {
    if (!isRecord(mapping)) continue;
    const fields = isRecord(mapping.fields) ? mapping.fields : {};
    const fixed = isRecord(mapping.fixed) ? mapping.fixed : {};
    if (!filled(fields.deal_id)) {
      add(
        ['mappings', name, 'fields'],
        'the mapping does not say where the deal id is; every event needs one (it keeps a deal from being sent twice)',
        'add deal_id: with the path of the sender’s order, call or deal id, e.g. deal_id: order.id',
      );
    }
    const account = typeof fixed.account === 'string' ? fixed.account.trim() : null;
    if (listed !== null && account !== null && account !== '' && !listed.includes(account)) {
      add(
        ['mappings', name, 'fixed', 'account'],
        `the mapping's account "${account}" is not one of generic.accounts (${listed.join(', ')}), so every event it maps would be refused`,
        `add ${account} to accounts:, or write one of them here`,
      );
    }
    if (!filled(fields.account) && !filled(fixed.account)) {
      add(
        ['mappings', name],
        'the mapping does not say which account its events belong to',
        'add fixed: { account: shop } (or fields: { account: <path> })',
      );
    }
  }
}

export const genericSection: ConfigSection<GenericSettings | null> = {
  key: 'generic',
  title: 'the signed intake',
  keys,
  sectionKeys: {
    '': Object.keys(keys),
    'mappings.*': Object.keys(mappingKeys),
  },
  hints,
  env: [{ variable: 'CLOSELOOP_INTAKE_SECRET', path: ['secret'], secret: true }],
  check,
  build(value: unknown): GenericSettings | null {
    const g = value as RawGeneric;
    if (g.secret === null && Object.keys(g.mappings).length === 0) return null;
    return {
      secret: g.secret,
      accounts: g.accounts === null ? null : [...new Set(g.accounts)],
      mappings: Object.fromEntries(
        Object.entries(g.mappings).map(([name, m]) => [
          name,
          {
            signed: m.signed,
            fields: m.fields,
            fixed: Object.fromEntries(Object.entries(m.fixed).map(([k, v]) => [k, String(v)])),
            outcomes: m.outcomes,
          },
        ]),
      ),
    };
  },
};
