/**
 * How many `<section>[<name>][<index>]` entries a form-encoded body holds, for names in `names`,
 * counted by their `[<field>]` key (`leads[status][0][id]=…`) with one scan of the text and no
 * parsing: in amoCRM's webhooks each such entry is one deal event, and each has an `id`. The
 * webhook route uses it to refuse a body with too many events before parsing it: a 1 MB body of
 * 32,000 tiny `leads[delete][i][id]=…` entries took 70–165 ms of the event loop to parse, only to
 * be refused after.
 *
 * It may count fewer entries than the parser finds (a key in an unusual encoding, an entry without
 * its field, which the parser refuses anyway), never more: each distinct name and index it counts
 * is an entry the parser builds too. The route checks the parsed count again, so an undercount
 * costs only the parse.
 */
const patterns = new Map<string, RegExp>();

function patternOf(section: string, field: string): RegExp {
  const id = `${section}\u0000${field}`;
  let re = patterns.get(id);
  if (re === undefined) {
    const open = '(?:%5B|\\[)';
    const close = '(?:%5D|\\])';
    // One bracketed part: anything but a bracket, raw or percent-encoded, or the end of the field.
    const part = '((?:(?!%5[BD])[^&=[\\]])*)';
    re = new RegExp(
      `(?:^|&)${escape(section)}${open}${part}${close}${open}${part}${close}${open}${escape(field)}${close}=`,
      'gi',
    );
    patterns.set(id, re);
  }
  return re;
}

/** The count; once it is over `stopAbove`, that count at once (the rest is not scanned). */
export function countFormEntries(
  text: string,
  entry: { section: string; names: readonly string[]; field: string },
  stopAbove = Infinity,
): number {
  const wanted = new Set(entry.names);
  const seen = new Set<string>();
  for (const m of text.matchAll(patternOf(entry.section, entry.field))) {
    const name = decode(m[1]!);
    if (!wanted.has(name)) continue;
    seen.add(`${name}\u0000${decode(m[2]!)}`);
    if (seen.size > stopAbove) break;
  }
  return seen.size;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function decode(part: string): string {
  if (!/[%+]/.test(part)) return part;
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return part;
  }
}
