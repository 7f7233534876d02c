/**
 * Decoding of `application/x-www-form-urlencoded` bodies with PHP-style bracket keys, the format of
 * every amoCRM webhook (research/amocrm.md §1.2: `leads[status][0][custom_fields][0][values][0][value]=…`).
 *
 * The body comes from anyone who knows the URL (amoCRM webhooks are unsigned, research §2), so the
 * decoder is written for hostile input: prototype keys are dropped, nesting is capped, conflicting
 * shapes never throw. It runs on the hot path of webhook intake (amoCRM waits at most 2 s, research
 * §2), so keys are split with a single `indexOf` scan, not a regex.
 */

/** A decoded form body: every leaf is a string; numeric indices (`[0]`) stay string keys. */
export type FormTree = { [k: string]: string | FormTree };

/**
 * Deepest key kept, counted in segments: `a[b][c]` has 3. amoCRM's deepest key has 8
 * (`leads[status][0][custom_fields][0][values][0][value]`, research §1.3); deeper keys are dropped
 * whole, as PHP does past `max_input_nesting_level`, rather than half-nested.
 */
export const MAX_FORM_DEPTH = 10;

/** Names that would reach `Object.prototype` if a consumer ever copied the tree into a plain object. */
const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function createNode(): FormTree {
  // No prototype: `tree.toString` or `tree.hasOwnProperty` are never inherited, so a body key of that
  // name is just data.
  return Object.create(null) as FormTree;
}

/**
 * Splits `a[b][c]` into `['a', 'b', 'c']`. Text after a closing bracket that does not open a new
 * one is ignored (`a[b]x` → `['a', 'b']`), as PHP does. A key whose bracket never closes (`a[b`) is
 * taken literally as one segment. Returns null for a key too deep to keep.
 */
function splitKey(key: string): string[] | null {
  const open = key.indexOf('[');
  if (open === -1) return [key];
  if (key.indexOf(']', open) === -1) return [key];
  const segments = [key.slice(0, open)];
  let i = open;
  while (i < key.length && key.charCodeAt(i) === 0x5b /* [ */) {
    const close = key.indexOf(']', i + 1);
    if (close === -1) break;
    if (segments.length === MAX_FORM_DEPTH) return null;
    segments.push(key.slice(i + 1, close));
    i = close + 1;
  }
  return segments;
}

/**
 * Parses a form-encoded body into a tree of null-prototype objects.
 *
 * Decoding (`+` as space, percent-escapes, UTF-8 such as Cyrillic names) is URLSearchParams'.
 * Rules for hostile or odd input, none of which throws:
 * - a key with an empty name or an empty segment (`=x`, `[a]=x`, `a[]=x`) is ignored: amoCRM always
 *   writes explicit indices (research §1.6), and PHP's append semantics for `[]` would cost a scan of
 *   the siblings per key, which a hostile body could repeat by the thousand;
 * - a key with a `__proto__`, `constructor` or `prototype` segment is ignored;
 * - a key deeper than {@link MAX_FORM_DEPTH} segments is ignored;
 * - when a name is both a scalar and an object (`a=1&a[b]=2`, either order) the object wins;
 * - a repeated scalar key keeps the last value.
 */
export function decodeForm(body: string): FormTree {
  const root = createNode();
  for (const [key, value] of new URLSearchParams(body)) {
    if (key === '') continue;
    const segments = splitKey(key);
    if (segments === null || !segments.every(isUsableSegment)) continue;
    insert(root, segments, value);
  }
  return root;
}

function isUsableSegment(segment: string): boolean {
  return segment !== '' && !FORBIDDEN_SEGMENTS.has(segment);
}

function insert(root: FormTree, segments: string[], value: string): void {
  let node = root;
  const last = segments.length - 1;
  for (let i = 0; i < last; i++) {
    const seg = segments[i] as string;
    const child = node[seg];
    if (typeof child === 'object') {
      node = child;
    } else {
      // Absent, or a scalar that conflicts with this deeper key: the object replaces the scalar.
      const created = createNode();
      node[seg] = created;
      node = created;
    }
  }
  const leaf = segments[last] as string;
  // A scalar never overwrites an object already built under the same name.
  if (typeof node[leaf] !== 'object') node[leaf] = value;
}
