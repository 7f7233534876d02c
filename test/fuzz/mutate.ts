/**
 * Mutators of the fuzz suite: each takes a well-formed input and breaks it the way a sender, a proxy
 * or an attacker would: fields dropped, repeated, renamed, retyped, values at the edges, bodies cut
 * short, encodings wrong. A mutated input is still mostly its original, so it reaches deep into the
 * parser instead of being refused on its first byte.
 */
import type { Random } from './random';

/** A form-encoded body (`a[b][0][c]=v&…`, amoCRM's and Bitrix24's webhooks, site forms) broken. */
export function mutateForm(rnd: Random, body: string): string {
  let pairs = body.split('&').filter(Boolean);
  const times = rnd.int(1, 4);
  for (let i = 0; i < times; i++) {
    const at = rnd.int(0, Math.max(0, pairs.length - 1));
    const pair = pairs[at] ?? 'x=1';
    const [key = '', value = ''] = pair.split('=', 2);
    switch (rnd.int(0, 9)) {
      case 0:
        pairs.splice(at, 1);
        break;
      case 1:
        pairs.splice(at, 0, pair, pair);
        break;
      case 2:
        pairs[at] = `${key}=${encodeLoosely(rnd, rnd.oddValue())}`;
        break;
      case 3:
        pairs[at] = `${renameKey(rnd, key)}=${value}`;
        break;
      case 4:
        pairs.push(`${renameKey(rnd, key)}=${encodeLoosely(rnd, rnd.oddValue())}`);
        break;
      case 5:
        pairs = pairs.map((p) => p.replace(rnd.pick(SECTIONS), rnd.pick(SECTIONS)));
        break;
      case 6:
        pairs[at] = rnd.pick([key, `${key}=`, `=${value}`, `${key}==${value}`, '&&', '%']);
        break;
      case 7:
        pairs = pairs.slice(0, rnd.int(0, pairs.length));
        break;
      case 8:
        pairs.sort(() => rnd.next() - 0.5);
        break;
      default: {
        const joined = pairs.join('&');
        return cut(rnd, joined);
      }
    }
  }
  return pairs.join('&');
}

/** A JSON value with parts replaced, removed, retyped or nested deeply; sometimes text cut short. */
export function mutateJson(rnd: Random, value: unknown): string {
  let v = structuredClone(value);
  const times = rnd.int(1, 3);
  for (let i = 0; i < times; i++) v = mutateValue(rnd, v, 0);
  const text = JSON.stringify(v) ?? 'null';
  if (rnd.chance(0.1)) return cut(rnd, text);
  if (rnd.chance(0.05))
    return rnd.pick(['', 'null', '[]', '{}', '"x"', '1', text + text, '\ufeff' + text]);
  return text;
}

const SECTIONS = [
  'leads[status]',
  'leads[add]',
  'leads[update]',
  'leads[delete]',
  'unsorted[add]',
  'contacts[update]',
  'message[add]',
  'account[id]',
  'data[FIELDS]',
  'auth[application_token]',
];

function renameKey(rnd: Random, key: string): string {
  switch (rnd.int(0, 5)) {
    case 0:
      return key.replace(/\[\d+\]/, `[${rnd.pick(['-1', '99999999', 'x', '', '1e3', '0x1'])}]`);
    case 1:
      return `${key}[0]`;
    case 2:
      return key.replace(/\[[^\]]*\]$/, '');
    case 3:
      return key.replace(/\]/g, '');
    case 4:
      return `${key}${'[a]'.repeat(rnd.int(1, 200))}`;
    default:
      return rnd.pick([
        '__proto__',
        'constructor[prototype][x]',
        'leads[__proto__][0][id]',
        key.toUpperCase(),
      ]);
  }
}

/** Percent-encodes, or not, or half: senders and proxies disagree. */
function encodeLoosely(rnd: Random, s: string): string {
  if (rnd.chance(0.6)) {
    try {
      return encodeURIComponent(s);
    } catch {
      return s; // a lone surrogate: sent raw
    }
  }
  return s;
}

function cut(rnd: Random, text: string): string {
  return text.slice(0, rnd.int(0, text.length));
}

function mutateValue(rnd: Random, v: unknown, depth: number): unknown {
  if (Array.isArray(v) && v.length > 0 && rnd.chance(0.7)) {
    const i = rnd.int(0, v.length - 1);
    const copy = [...(v as unknown[])];
    if (rnd.chance(0.15)) copy.splice(i, 1);
    else copy[i] = mutateValue(rnd, copy[i], depth + 1);
    return copy;
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && rnd.chance(0.75)) {
    const o = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(o);
    const key = keys.length > 0 && rnd.chance(0.8) ? rnd.pick(keys) : rnd.oddValue().slice(0, 30);
    if (rnd.chance(0.15)) delete o[key];
    else o[key] = mutateValue(rnd, o[key], depth + 1);
    return o;
  }
  return oddJson(rnd, depth);
}

function oddJson(rnd: Random, depth: number): unknown {
  switch (rnd.int(0, 7)) {
    case 0:
      return null;
    case 1:
      return rnd.pick([0, -1, 1.5, 1e300, -1e300, Number.MAX_SAFE_INTEGER + 2, 2 ** 64]);
    case 2:
      return rnd.pick([true, false]);
    case 3:
      return [];
    case 4:
      return {};
    case 5: {
      // Deep nesting: parsers that recurse must not blow the stack.
      let deep: unknown = 1;
      for (let i = 0; i < rnd.pick([10, 1000, 5000]); i++)
        deep = rnd.chance(0.5) ? [deep] : { a: deep };
      return depth > 3 ? 1 : deep;
    }
    case 6:
      return Array.from({ length: rnd.pick([2, 50, 1001]) }, () => rnd.oddValue().slice(0, 20));
    default:
      return rnd.oddValue();
  }
}
