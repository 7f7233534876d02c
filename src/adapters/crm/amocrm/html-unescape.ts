/**
 * amoCRM HTML-escapes the string values of its webhooks: a URL stored in a field arrives as
 * `…?utm_source=salid&amp;utm_medium=offer1234` (research/amocrm.md §1.6 ex. 2 and ex. 5). The escaping
 * is PHP's `htmlspecialchars`, so the named entities it can produce are few; anything else that looks
 * like an entity is user text and stays as it is.
 */

const NAMED: ReadonlyMap<string, string> = new Map([
  ['amp', '&'],
  ['quot', '"'],
  ['lt', '<'],
  ['gt', '>'],
  ['apos', "'"],
]);

// Digits are bounded so that a hostile `&#99999999999…;` is not parsed as a huge number; the largest
// code point (0x10FFFF) has 7 decimal or 6 hex digits, zero-padded forms (`&#039;`) fit as well.
const ENTITY = /&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,8})|([a-z]{2,4}));/g;

/**
 * Decodes `&amp;`, `&quot;`, `&lt;`, `&gt;`, `&apos;`, and numeric (`&#39;`, `&#039;`) and hex
 * (`&#x27;`) references, in one pass: `&amp;quot;` becomes `&quot;`, never `"`. Unknown names, and
 * numbers that are not a Unicode scalar value (0, surrogates, above 0x10FFFF), are left untouched.
 */
export function htmlUnescape(s: string): string {
  if (s.indexOf('&') === -1) return s;
  return s.replace(ENTITY, (whole, dec?: string, hex?: string, name?: string) => {
    if (name !== undefined) return NAMED.get(name) ?? whole;
    const code = dec !== undefined ? parseInt(dec, 10) : parseInt(hex as string, 16);
    return isScalarValue(code) ? String.fromCodePoint(code) : whole;
  });
}

function isScalarValue(code: number): boolean {
  return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
}
