/**
 * joi's errors in plain language: what the value must be, and how to fix it, for the core's keys
 * and, composed in, each adapter section's own hints (src/ports/config-section.ts).
 */
import type Joi from 'joi';
import { RULE_TRIGGERS } from '../core/config-types';
import type { ConfigHint } from '../ports/config-section';
import {
  closestMatch,
  constant,
  describeValue,
  fieldRefKeys,
  isRecord,
  writableFieldRefKeys,
} from '../adapters/config-kit';
import {
  accountKeys,
  deliveryKeys,
  deliveryLogKeys,
  leadIntakeKeys,
  MAX_EVENTS_PER_RULE,
  revenueKeys,
  ruleKeys,
  sendKeys,
  sourceKeys,
  topKeys,
  webhookKeys,
  type ConfigPath,
  type SchemaProblem,
} from './schema';
import { ACCOUNT_SECTIONS } from './sections';
import { CORE_HINTS } from './core-hints';

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
  revenue: Object.keys(revenueKeys),
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
  'revenue',
  'delivery_log',
  'lead_intake',
];

type Hint = ConfigHint;

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
