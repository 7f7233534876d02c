/**
 * A sender's own body (a RetailCRM trigger's, a call tracker's) as a generic deal event, by a
 * mapping from the config: each target field takes the value at a dot path of the body, or a fixed
 * value, and the sender's stage may name an outcome. Pure; the result is then checked like any
 * event (read-deal-event.ts). No code from the config is run: a path only selects a value.
 */
import type { GenericMapping } from './config';

/** The value at `a.b.0.c` in a JSON body, or undefined. Own keys only. */
export function valueAt(body: unknown, path: string): unknown {
  let node = body;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    if (!Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Sets `identities.ga_client_id` in `target`. */
function setAt(target: Record<string, unknown>, path: string, value: unknown): void {
  const [head, tail] = path.split('.', 2) as [string, string | undefined];
  if (tail === undefined) {
    target[head] = value;
    return;
  }
  const child = (target[head] ??= {}) as Record<string, unknown>;
  child[tail] = value;
}

/** Scalars pass; an object or a list at a path is not a value (the schema reports its type). */
function scalar(value: unknown): unknown {
  return value === undefined || value === '' ? undefined : value;
}

export function applyMapping(body: unknown, mapping: GenericMapping): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  for (const [target, value] of Object.entries(mapping.fixed)) setAt(event, target, value);
  for (const [target, path] of Object.entries(mapping.fields)) {
    const value = scalar(valueAt(body, path));
    if (value !== undefined)
      setAt(
        event,
        target,
        typeof value === 'number' && target !== 'amount' && target !== 'occurred_at'
          ? String(value)
          : value,
      );
  }
  const stage = event.stage;
  if (event.outcome === undefined && (typeof stage === 'string' || typeof stage === 'number')) {
    const outcome = mapping.outcomes[String(stage)];
    if (outcome !== undefined) event.outcome = outcome;
  }
  return event;
}
