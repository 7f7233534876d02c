/**
 * ISO 4217 currency codes: which exist today, and what to write instead of one that does not.
 *
 * The list is the one Node's ICU data holds (`Intl.supportedValuesOf('currency')`: the codes in
 * use, kept current with every Node release), so no table of our own goes stale. Withdrawn codes a
 * marketer may still meet in a CRM are mapped to their successors: the rouble's RUR became RUB in
 * 1998, and amoCRM and 1C still offer «RUR» in places.
 */

let codes: ReadonlySet<string> | null = null;

/** Codes in use. ICU lists a few more than the banks trade (it follows ISO's list). */
export function currencyCodes(): ReadonlySet<string> {
  codes ??= new Set(Intl.supportedValuesOf('currency'));
  return codes;
}

export function isCurrencyCode(code: string): boolean {
  return currencyCodes().has(code);
}

/** Withdrawn codes and what replaced them (ISO 4217 amendments). */
const WITHDRAWN: Readonly<Record<string, { now: string; note: string }>> = {
  RUR: { now: 'RUB', note: 'RUR is the rouble’s code until 1998' },
  SUR: { now: 'RUB', note: 'SUR is the Soviet rouble' },
  BYR: { now: 'BYN', note: 'BYR is the Belarusian rouble until 2016' },
  BYB: { now: 'BYN', note: 'BYB is the Belarusian rouble until 2000' },
  UAK: { now: 'UAH', note: 'UAK is the Ukrainian karbovanets' },
  AZM: { now: 'AZN', note: 'AZM is the Azerbaijani manat until 2006' },
  TMM: { now: 'TMT', note: 'TMM is the Turkmen manat until 2009' },
  GEK: { now: 'GEL', note: 'GEK is the Georgian coupon' },
  TRL: { now: 'TRY', note: 'TRL is the Turkish lira until 2005' },
  LTL: { now: 'EUR', note: 'Lithuania uses the euro since 2015' },
  LVL: { now: 'EUR', note: 'Latvia uses the euro since 2014' },
  EEK: { now: 'EUR', note: 'Estonia uses the euro since 2011' },
  DEM: { now: 'EUR', note: 'Germany uses the euro' },
  FRF: { now: 'EUR', note: 'France uses the euro' },
};

/** What people write instead of a code, upper-cased. */
const CURRENCY_WORDS: Readonly<Record<string, string>> = {
  '₽': 'RUB',
  РУБ: 'RUB',
  РУБЛЬ: 'RUB',
  РУБЛИ: 'RUB',
  RUBLE: 'RUB',
  RUBLES: 'RUB',
  ROUBLES: 'RUB',
  $: 'USD',
  DOLLARS: 'USD',
  ДОЛЛАР: 'USD',
  '€': 'EUR',
  EURO: 'EUR',
  ЕВРО: 'EUR',
  ТЕНГЕ: 'KZT',
  '₸': 'KZT',
};

/**
 * For a code that is not in use: the code to write instead and why (`RUB`, "RUR is the rouble’s
 * code until 1998"), a close spelling (`RUBB` → RUB, `usd` → USD), or null.
 */
export function suggestCurrency(given: string): { code: string; why: string | null } | null {
  const upper = given.trim().toUpperCase();
  const withdrawn = WITHDRAWN[upper];
  if (withdrawn !== undefined) return { code: withdrawn.now, why: withdrawn.note };
  const word = CURRENCY_WORDS[upper.replace(/[.\s]+$/, '')];
  if (word !== undefined) return { code: word, why: null };
  if (upper !== given && isCurrencyCode(upper)) return { code: upper, why: null };
  // One letter off (RUV, USB) or one letter too many or too few (RUBL, RB).
  const close = [...currencyCodes()].filter((c) => oneEditApart(upper, c));
  const preferred = ['RUB', 'USD', 'EUR', 'KZT', 'BYN', 'UAH', 'UZS', 'AMD', 'GEL', 'AZN', 'KGS'];
  const best = preferred.find((c) => close.includes(c)) ?? (close.length === 1 ? close[0] : null);
  return best === undefined || best === null ? null : { code: best, why: null };
}

function oneEditApart(a: string, b: string): boolean {
  if (a === b || Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) return a.slice(i + 1) === b.slice(i + 1);
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}
