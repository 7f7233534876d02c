/**
 * What every config section shares (src/ports/config-section.ts): typo suggestions, how a value
 * reads in a message, common joi shapes (whole numbers with defaults, field references), and the
 * personal-data tests no value sent to analytics may fail. Pure.
 */
import Joi from 'joi';
import type { ConfigHint } from '../ports/config-section';

/** Optimal string alignment distance: edits, counting a swap of two neighbours as one. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i < rows; i++) {
    const row = d[i];
    if (row === undefined) continue;
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** `measurementId`, `Measurement-ID` → `measurement_id`. */
export function toSnakeCase(s: string): string {
  return s
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_');
}

/** Words people use for our keys. Only offered when the target is allowed where the typo is. */
const SYNONYMS: Readonly<Record<string, string>> = {
  events: 'send',
  event: 'send',
  actions: 'send',
  trigger: 'on',
  when: 'on',
  pipelines: 'pipeline',
  pipeline_id: 'pipeline',
  pipeline_ids: 'pipeline',
  statuses: 'status',
  status_id: 'status',
  status_ids: 'status',
  to_status: 'status',
  from: 'from_status',
  from_statuses: 'from_status',
  old_status: 'from_status',
  old_status_id: 'from_status',
  parameters: 'params',
  param: 'params',
  name: 'event',
  event_name: 'event',
  rule: 'rules',
  keyword: 'term',
};

/** The closest of `candidates` to `input`, or null when nothing is close enough to be a typo. */
export function closestMatch(input: string, candidates: readonly string[]): string | null {
  const snake = toSnakeCase(input);
  if (candidates.includes(snake)) return snake;
  const synonym = Object.hasOwn(SYNONYMS, snake) ? SYNONYMS[snake] : undefined;
  if (synonym !== undefined && candidates.includes(synonym)) return synonym;
  const limit = snake.length <= 4 ? 1 : snake.length <= 8 ? 2 : 3;
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(snake, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : null;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How a value reads in a message. Long text is cut, so a message stays one line. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null || value === '') return 'empty';
  if (typeof value === 'string') {
    const oneLine = value.replace(/\s+/g, ' ');
    return oneLine.length > 40
      ? `"${oneLine.slice(0, 40)}…" (${value.length} characters)`
      : `"${oneLine}"`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const scalars = value.every((v) => ['string', 'number', 'boolean'].includes(typeof v));
    return scalars && value.length <= 5 ? `[${value.map(describeValue).join(', ')}]` : 'a list';
  }
  return 'a section of settings';
}

/** A value the YAML actually sets: not missing, null or empty. */
export function filled(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

export const constant = (text: string) => (): string => text;

/** The hint of a section key (`ga4:`) holding something else than a section. */
export function sectionHint(name: string): ConfigHint {
  return {
    expect: `a section: \`${name}:\` on its own line, with its settings indented under it`,
    fix: constant(`see the ${name} section of config/closeloop.example.yaml`),
  };
}

/** A fix suggesting the closest valid word: `did you mean lead_added? write on: lead_added`. */
export function suggestionFix(valids: readonly string[], key: string, fallback: string) {
  return (value: unknown): string => {
    const guess = typeof value === 'string' ? closestMatch(value, valids) : null;
    return guess === null ? fallback : `did you mean ${guess}? write ${key}: ${guess}`;
  };
}

export const wholeNumber = (min: number, max: number, fallback: number): Joi.NumberSchema =>
  Joi.number().integer().min(min).max(max).empty(Joi.valid('', null)).default(fallback);

export const fieldRefKeys = {
  code: Joi.string().trim().min(1),
  id: Joi.number().integer().positive(),
  name: Joi.string().trim().min(1),
};
export const fieldRef = Joi.object(fieldRefKeys).xor('code', 'id', 'name');

/** Where lead intake writes a value: the API takes a field by id or code, not by name (§3.2). */
export const writableFieldRefKeys = {
  code: fieldRefKeys.code,
  id: fieldRefKeys.id,
};
export const writableFieldRef = Joi.object(writableFieldRefKeys).xor('code', 'id');

export const FIELD_REF_EXPECT =
  'a field reference: { code: GCLIENTID }, { id: 123456 } or { name: Field name }';

const PERSONAL_WORDS: ReadonlySet<string> = new Set([
  'email',
  'emails',
  'mail',
  'phone',
  'phones',
  'telephone',
  'tel',
  'mobile',
  'fio',
  'address',
  'passport',
  'surname',
  'patronymic',
  'firstname',
  'lastname',
  'fullname',
  'username',
  'birthday',
  'birthdate',
]);
/** Russian stems: телефон(а), почта/почты, фамилия, отчество, адрес, … */
const PERSONAL_STEMS =
  /^(?:телефон|тел|почт|фио|имя|имени|фамили|отчеств|мобильн|емейл|емэйл|имейл|паспорт|адрес|контакт)/;
/** `name` is personal alone or next to one of these: `first_name`, `client_name`; not `campaign_name`. */
const PERSON_WORDS: ReadonlySet<string> = new Set([
  'first',
  'last',
  'full',
  'middle',
  'given',
  'family',
  'sur',
  'user',
  'contact',
  'client',
  'customer',
  'person',
  'buyer',
  'lead',
  'deal',
]);

function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .replace(/e[-_ ]mail/g, 'email')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '');
}

/** A parameter or field name that says it holds a person's name, email, phone or address. */
export function isPersonalName(text: string): boolean {
  const ws = words(text);
  if (ws.some((w) => PERSONAL_WORDS.has(w) || PERSONAL_STEMS.test(w))) return true;
  if (ws.includes('name')) return ws.length === 1 || ws.some((w) => PERSON_WORDS.has(w));
  return false;
}

/** 'an email address' / 'a phone number' when a fixed value looks like one. */
export function personalValueKind(value: unknown): string | null {
  if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) {
    return null;
  }
  const text = String(value).trim();
  if (/[^\s@<>()"',;:]+@[^\s@<>()"',;:]+\.[A-Za-z]{2,}/.test(text)) return 'an email address';
  const digitCount = (s: string): number => s.replace(/\D/g, '').length;
  const international = /\+\d[\d\s().-]{8,}\d/.exec(text);
  if (
    international !== null &&
    digitCount(international[0]) >= 10 &&
    digitCount(international[0]) <= 15
  ) {
    return 'a phone number';
  }
  if (/^[\d\s().-]+$/.test(text) && /[\s().-]/.test(text)) {
    const n = digitCount(text);
    if (n >= 10 && n <= 15 && !/^\d{4}[-.]\d{2}[-.]\d{2}/.test(text)) return 'a phone number';
  }
  if (/^[78]\d{10}$/.test(text)) return 'a phone number';
  return null;
}

export const PERSONAL_WHY =
  'Google forbids sending personal data (names, email addresses, phone numbers) to Google Analytics, and whatever is sent would also be stored in GA';

export function personalField(ref: Record<string, unknown>): string | null {
  const code = ref.code;
  if (typeof code === 'string' && (/^(phone|email)$/i.test(code.trim()) || isPersonalName(code))) {
    return `the field with code ${code.trim()}`;
  }
  const name = ref.name;
  if (typeof name === 'string' && isPersonalName(name)) return `the field "${name.trim()}"`;
  return null;
}
