/**
 * The meaning checks: what joi cannot say well. Names and values that would carry personal data
 * to analytics, checks across keys (`from_status` without `status_changed`, duplicate rule names,
 * names that need API access, lead intake without a CRM to write to), GA4's naming rules for the
 * events rules send, and each adapter section's own checks, for the top level and every account.
 * Works on the parsed YAML before joi, so it is defensive about shapes (joi reports those).
 */
import { isCurrencyCode, suggestCurrency } from '../core/currency';
import { RULE_TRIGGERS } from '../core/config-types';
import type { ErrorCode } from '../core/errors';
import { LEAD_FORM_FIELDS } from '../core/lead-form';
import { amocrmApiConfigured } from '../adapters/crm/amocrm/config';
import { bitrix24RestConfigured } from '../adapters/crm/bitrix24/config';
import { checkGa4Event } from '../adapters/destinations/ga4/config';
import {
  describeValue,
  filled,
  isPersonalName,
  isRecord,
  PERSONAL_WHY,
  personalField,
  personalValueKind,
} from '../adapters/config-kit';
import type { ProblemSink } from '../ports/config-section';
import { CURRENCY, type ConfigPath, type SchemaProblem } from './schema';
import { ACCOUNT_SECTIONS } from './sections';

/** Each adapter section's own checks, at `prefix` (the top level, or an account). */
function checkAccountSections(
  holder: Record<string, unknown>,
  prefix: ConfigPath,
  add: ProblemSink,
): void {
  for (const section of ACCOUNT_SECTIONS) {
    if (holder[section.key] === undefined || section.check === undefined) continue;
    section.check(holder[section.key], (path, message, fix, code) =>
      add([...prefix, section.key, ...path], message, fix, code),
    );
  }
}

/** Fewer different characters than this, and a secret is a word, a pattern or a placeholder. */
const MIN_DISTINCT_SECRET_CHARS = 8;

/**
 * Why a webhook secret is easy to guess, or null. The secret in the URL is all that guards
 * amoCRM's unsigned webhooks (research amocrm.md §2): whoever guesses it can post a won deal. The
 * schema asks for 16 characters; `aaaaaaaaaaaaaaaa` has them (issue 12). Never says the secret.
 */
export function weakSecretReason(secret: string): string | null {
  const text = secret.trim();
  if (text.length < 16) return null; // the schema says so, with its own message
  const distinct = new Set(text).size;
  if (distinct < MIN_DISTINCT_SECRET_CHARS) {
    return `it has only ${distinct} different character${distinct === 1 ? '' : 's'}`;
  }
  for (let unit = 1; unit <= text.length / 2; unit++) {
    if (text.length % unit === 0 && text.slice(0, unit).repeat(text.length / unit) === text) {
      return `it is a piece of ${unit} characters repeated`;
    }
  }
  return null;
}

/** A problem for a webhook secret that is easy to guess, at `path`. */
function checkWebhookSecret(
  secret: unknown,
  path: ConfigPath,
  variable: string,
  add: ProblemSink,
): void {
  if (typeof secret !== 'string') return;
  const why = weakSecretReason(secret);
  if (why === null) return;
  add(
    path,
    `the webhook secret is easy to guess (${why}); it is all that keeps strangers from posting deals to closeloop`,
    `make a random one with \`openssl rand -hex 16\` (or \`node -e "console.log(require('crypto').randomBytes(16).toString('hex'))"\`), put it in ${variable}, and paste the new webhook URL into amoCRM`,
  );
}

/** Accounts: unique names and webhook secrets, and their own sections and rules. */
function checkAccounts(raw: Record<string, unknown>, add: ProblemSink): void {
  if (!Array.isArray(raw.accounts)) return;
  const names = new Map<string, number>();
  const webhook = isRecord(raw.webhook) ? raw.webhook.secret : undefined;
  const secrets = new Map<string, string>();
  if (typeof webhook === 'string' && webhook.trim() !== '') secrets.set(webhook.trim(), 'default');
  raw.accounts.forEach((account: unknown, i) => {
    if (!isRecord(account)) return;
    const name = typeof account.name === 'string' ? account.name.trim() : null;
    if (name !== null) {
      const first = names.get(name);
      if (first !== undefined) {
        add(
          ['accounts', i, 'name'],
          `another account (accounts[${first}]) is also named "${name}"; each account needs its own name`,
          'rename one of the two accounts',
        );
      } else names.set(name, i);
    }
    const secret = account.webhook_secret;
    checkWebhookSecret(
      secret,
      ['accounts', i, 'webhook_secret'],
      'an environment variable (webhook_secret: ${SHOP_WEBHOOK_SECRET})',
      add,
    );
    if (typeof secret === 'string' && secret.trim() !== '') {
      const other = secrets.get(secret.trim());
      if (other !== undefined) {
        add(
          ['accounts', i, 'webhook_secret'],
          `the account "${other}" has the same webhook secret; closeloop tells accounts apart by their webhook address`,
          'give each account a secret of its own (openssl rand -hex 16)',
        );
      } else secrets.set(secret.trim(), name ?? String(i));
    } else {
      add(
        ['accounts', i, 'webhook_secret'],
        'the account has no webhook secret; closeloop tells accounts apart by their webhook address',
        'add webhook_secret: ${SHOP_WEBHOOK_SECRET} and set that variable to a long random text (openssl rand -hex 16)',
      );
    }
    checkAccountSections(account, ['accounts', i], add);
    if (Array.isArray(account.rules)) checkRules(account.rules, ['accounts', i, 'rules'], add);
  });
}

/**
 * Checks that need the meaning of several keys, or GA4's naming rules. Works on the parsed YAML
 * before joi, so it is defensive about shapes (joi reports those). `lineOf` helps point at the
 * other half of a duplicate.
 */
export function checkMeaning(
  raw: unknown,
  lineOf: (path: ConfigPath) => number | null = () => null,
): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const add: ProblemSink = (path, message, fix, code: ErrorCode = 'CONFIG_INVALID') => {
    problems.push({ path, message, fix, code });
  };
  if (!isRecord(raw)) return problems;

  checkAccountSections(raw, [], add);
  if (isRecord(raw.webhook)) {
    checkWebhookSecret(raw.webhook.secret, ['webhook', 'secret'], 'CLOSELOOP_WEBHOOK_SECRET', add);
  }
  checkAccounts(raw, add);
  const amocrm = raw.amocrm;
  const apiConfigured = amocrmApiConfigured(amocrm) || bitrix24RestConfigured(raw.bitrix24);
  // Text in a rule's stage list is a name to look up, or an id a sender uses as it is (Bitrix24's
  // C1:WON, a generic sender's "complete"); with neither an API nor such a sender it can only be a
  // name that nothing can look up.
  const literalSender =
    isRecord(raw.generic) && (filled(raw.generic.secret) || filled(raw.generic.mappings));
  if (!apiConfigured && !literalSender && Array.isArray(raw.rules)) {
    raw.rules.forEach((rule: unknown, i) => {
      if (!isRecord(rule)) return;
      for (const key of ['pipeline', 'status', 'from_status'] as const) {
        const names = (Array.isArray(rule[key]) ? (rule[key] as unknown[]) : [rule[key]]).filter(
          (v): v is string =>
            typeof v === 'string' &&
            !/^\s*\d+\s*$/.test(v) &&
            !/^\s*any\s*$/i.test(v) &&
            v.trim() !== '',
        );
        if (names.length > 0) {
          add(
            ['rules', i, key],
            `"${names[0]}" is a name; closeloop looks names up in amoCRM, which needs API access (amocrm.subdomain and a token)`,
            'write the id instead (closeloop statuses prints them once API access is set up), or set AMOCRM_SUBDOMAIN and AMOCRM_TOKEN',
          );
        }
      }
    });
  }

  const intake = raw.lead_intake;
  if (isRecord(intake)) {
    const enabled = intake.enabled === true || /^\s*true\s*$/i.test(String(intake.enabled));
    const intakeAccount = typeof intake.account === 'string' ? intake.account.trim() : 'default';
    const accounts: unknown[] = Array.isArray(raw.accounts) ? raw.accounts : [];
    const home: unknown =
      intakeAccount === '' || intakeAccount === 'default'
        ? raw
        : accounts.find((a: unknown) => isRecord(a) && a.name === intakeAccount);
    if (enabled && intakeAccount !== 'default' && intakeAccount !== '' && home === undefined) {
      add(
        ['lead_intake', 'account'],
        `there is no account named "${intakeAccount}" (accounts: default${(Array.isArray(raw.accounts) ? raw.accounts : []).map((a: unknown) => (isRecord(a) ? `, ${String(a.name)}` : '')).join('')})`,
        'write the name of an account listed under accounts:, or remove the line for the default account',
      );
    } else if (
      enabled &&
      !amocrmApiConfigured(isRecord(home) ? home.amocrm : undefined) &&
      !bitrix24RestConfigured(isRecord(home) ? home.bitrix24 : undefined)
    ) {
      add(
        ['lead_intake', 'enabled'],
        "lead intake creates leads through the CRM's API, and no API access is set up (amocrm.subdomain and a token, or Bitrix24's incoming webhook)",
        'set AMOCRM_SUBDOMAIN and AMOCRM_TOKEN, or BITRIX24_WEBHOOK_URL (see config/closeloop.example.yaml), or write enabled: false',
      );
    } else if (
      enabled &&
      amocrmApiConfigured(isRecord(home) ? home.amocrm : undefined) &&
      typeof intake.status === 'string' &&
      !/^\s*\d+\s*$/.test(intake.status)
    ) {
      // A text status is Bitrix24's (NEW, C1:NEW); amoCRM's statuses are numbers.
      add(
        ['lead_intake', 'status'],
        `"${intake.status}" is not an amoCRM status id (a whole number)`,
        'write the id closeloop statuses prints, e.g. status: 41893093',
      );
    }
    const honeypot = intake.honeypot_field;
    if (
      typeof honeypot === 'string' &&
      (LEAD_FORM_FIELDS as readonly string[]).includes(honeypot.trim())
    ) {
      add(
        ['lead_intake', 'honeypot_field'],
        `${honeypot.trim()} is a field of the lead form itself; every real lead fills it, and every lead would be thrown away as spam`,
        'name a field no person fills in and the form hides, e.g. honeypot_field: website',
      );
    }
    // `{ id: 123 }` and `{ id: '123' }` (from ${VAR}) name the same field; so do codes in any case.
    const fieldKey = (ref: unknown): string | null => {
      if (!isRecord(ref)) return null;
      if (typeof ref.id === 'number' || typeof ref.id === 'string')
        return `id:${String(ref.id).trim()}`;
      if (typeof ref.code === 'string') return `code:${ref.code.trim().toUpperCase()}`;
      return null;
    };
    const sessionField = fieldKey(intake.session_id_field);
    if (sessionField !== null && sessionField === fieldKey(intake.comment_field)) {
      add(
        ['lead_intake', 'comment_field'],
        'comment_field names the same field as session_id_field; the comment would overwrite the GA session ID',
        'point comment_field at a text field of its own, or remove it',
      );
    }
  }

  const delivery = raw.delivery;
  if (isRecord(delivery)) {
    const base = Number(delivery.retry_base_seconds);
    const max = Number(delivery.retry_max_delay_minutes);
    if (Number.isFinite(base) && Number.isFinite(max) && base > max * 60) {
      add(
        ['delivery', 'retry_base_seconds'],
        `the first retry delay (${base} seconds) is longer than the longest retry delay (retry_max_delay_minutes: ${max})`,
        'make retry_base_seconds smaller, or retry_max_delay_minutes larger',
      );
    }
  }

  checkRevenue(raw, add);
  if (Array.isArray(raw.rules)) checkRules(raw.rules, ['rules'], add, lineOf);
  return problems;
}

/**
 * A revenue setting that refunds or resends acts on a `purchase` with a `transaction_id` (a
 * refund names the purchase it takes back): without a rule sending one, it would never act.
 */
function checkRevenue(raw: Record<string, unknown>, add: ProblemSink): void {
  const revenue = raw.revenue;
  if (!isRecord(revenue)) return;
  const acting = (['won_again', 'lost_after_won', 'amount_changed'] as const).filter(
    (key) => typeof revenue[key] === 'string' && /refund/.test(revenue[key]),
  );
  if (acting.length === 0) return;
  const accounts: unknown[] = Array.isArray(raw.accounts) ? raw.accounts : [];
  const lists: unknown[] = [raw, ...accounts];
  const rules = lists.flatMap((holder): unknown[] =>
    isRecord(holder) && Array.isArray(holder.rules) ? holder.rules : [],
  );
  const sendsPurchase = rules.some(
    (rule: unknown) =>
      isRecord(rule) &&
      Array.isArray(rule.send) &&
      rule.send.some(
        (e: unknown) =>
          isRecord(e) &&
          e.event === 'purchase' &&
          isRecord(e.params) &&
          'transaction_id' in e.params,
      ),
  );
  if (sendsPurchase) return;
  for (const key of acting) {
    add(
      ['revenue', key],
      'a refund names the purchase it takes back by its transaction_id, and no rule sends a purchase with one, so this would never send anything',
      'add transaction_id: { deal: id } to the params of the rule that sends purchase (as in config/closeloop.example.yaml), or remove the line',
    );
  }
}

/** A list of rules (the top level's, or an account's own) at `at`. */
function checkRules(
  rules: unknown[],
  at: ConfigPath,
  add: ProblemSink,
  lineOf: (path: ConfigPath) => number | null = () => null,
): void {
  const ruleNames = new Map<string, number>();
  rules.forEach((rule: unknown, i) => {
    if (!isRecord(rule)) return;
    const rulePath = [...at, i];

    if (typeof rule.name === 'string' && rule.name.trim() !== '') {
      const key = rule.name.trim().toLowerCase();
      const first = ruleNames.get(key);
      if (first === undefined) {
        ruleNames.set(key, i);
      } else {
        const line = lineOf([...at, first, 'name']);
        add(
          [...rulePath, 'name'],
          `another rule${line === null ? '' : ` (line ${line})`} already has the name "${rule.name.trim()}"; each rule needs its own name so the delivery log can say which rule sent what`,
          'rename one of the two rules',
        );
      }
    }

    if (
      rule.from_status !== undefined &&
      typeof rule.on === 'string' &&
      (RULE_TRIGGERS as readonly string[]).includes(rule.on) &&
      rule.on !== 'status_changed'
    ) {
      add(
        [...rulePath, 'from_status'],
        `from_status works only with on: status_changed (only a stage change knows the previous stage); this rule is on: ${rule.on}`,
        'remove from_status, or change the rule to on: status_changed',
      );
    }

    const send = rule.send;
    if (!Array.isArray(send)) return;
    const eventNames = new Set<string>();
    send.forEach((item: unknown, j) => {
      if (!isRecord(item)) return;
      const itemPath = [...rulePath, 'send', j];
      checkGa4Event(item, itemPath, add);
      const event = item.event;
      if (typeof event === 'string' && event !== '') {
        if (eventNames.has(event)) {
          add(
            [...itemPath, 'event'],
            `event "${event}" is listed twice in this rule; closeloop sends each event at most once per deal and stage, so the second would never be sent`,
            'remove one of them, or merge their params',
          );
        }
        eventNames.add(event);
      }
      const params = item.params;
      if (!isRecord(params)) return;
      for (const name of Object.keys(params)) {
        checkParam(add, [...itemPath, 'params', name], name, params[name]);
      }
    });
  });
}

function checkParam(add: ProblemSink, path: ConfigPath, name: string, value: unknown): void {
  if (isPersonalName(name)) {
    add(
      path,
      `parameter "${name}" looks like personal data; ${PERSONAL_WHY}`,
      'remove this parameter; to tell deals apart in GA, send the deal id instead: { deal: id }',
      'CONFIG_PERSONAL_DATA',
    );
    return;
  }
  const literals: [ConfigPath, unknown][] = [];
  if (isRecord(value)) {
    const ref = value.field;
    const which = isRecord(ref) ? personalField(ref) : null;
    if (which !== null) {
      add(
        [...path, 'field'],
        `${which} holds personal data; ${PERSONAL_WHY}`,
        'remove this parameter; send only fields that do not identify a person (for example the product or the program)',
        'CONFIG_PERSONAL_DATA',
      );
    }
    if (value.default !== undefined) literals.push([[...path, 'default'], value.default]);
  } else {
    literals.push([path, value]);
  }

  for (const [where, literal] of literals) {
    const kind = personalValueKind(literal);
    if (kind !== null) {
      add(
        where,
        `the value ${describeValue(literal)} looks like ${kind}; ${PERSONAL_WHY}`,
        'remove it; closeloop cannot tell a company’s phone or email from a person’s, so none may be sent (for your office line, send a label such as main_office instead)',
        'CONFIG_PERSONAL_DATA',
      );
      continue;
    }
    if (
      name === 'currency' &&
      !(typeof literal === 'string' && CURRENCY.test(literal) && isCurrencyCode(literal))
    ) {
      const suggested = typeof literal === 'string' ? suggestCurrency(literal) : null;
      add(
        where,
        `currency ${describeValue(literal)} is not a currency code in use (ISO 4217: three capital letters, such as RUB)`,
        suggested === null
          ? 'use a code such as RUB, USD or EUR'
          : `did you mean ${suggested.code}? use ${suggested.code}${suggested.why === null ? '' : ` (${suggested.why})`}`,
      );
    }
    if (
      name === 'value' &&
      typeof literal === 'string' &&
      !/^\s*-?\d+(?:\.\d+)?\s*$/.test(literal)
    ) {
      add(
        where,
        `value ${describeValue(literal)} must be a number: GA4 adds it up as revenue`,
        'write a number such as 1500, or take it from the deal: value: { lead: price }',
      );
    }
  }
}
