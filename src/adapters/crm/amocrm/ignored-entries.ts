/**
 * Why closeloop does not use an entry of an amoCRM webhook, and the kind it is counted as.
 *
 * An account or API webhook may be subscribed to events that carry no deal: incoming leads not
 * yet accepted (`unsorted[add]`, Kommo's "Incoming lead added"), chat messages and talks
 * (`message[add]`, `talk[update]`), contacts, companies, tasks, notes (research amocrm.md §1.2,
 * §1.3). They are answered 200 (a 400 would count towards amoCRM switching the hook off, §2) and
 * must not vanish: each webhook that holds any says what and why in one log line, and the counts
 * are exposed on /metrics. Every action name comes from the body, which anyone holding the URL
 * can write, so the counted kind is one of a fixed few, never the raw name.
 */

/** The lead actions amoCRM documents besides those closeloop stores (research §1.1, §1.3). */
const KNOWN_ACTIONS: ReadonlySet<string> = new Set([
  'add',
  'update',
  'delete',
  'restore',
  'status',
  'responsible',
  'note',
]);

const REASONS: Readonly<Record<string, string>> = {
  unsorted:
    'an incoming lead (Неразобранное) not accepted yet; closeloop acts once it is a lead (leads[add])',
  message: 'a chat message, not a change to a deal',
  talk: 'a chat conversation, not a change to a deal',
  contacts: 'a contact, not a deal; closeloop acts on leads',
  companies: 'a company, not a deal; closeloop acts on leads',
  customers: 'a customer (amoCRM’s periodic purchases), not a lead; closeloop acts on leads',
  task: 'a task, not a change to a deal',
  catalogs: 'a list (catalog) element, not a deal',
};

/** One line of the log: `message[add]`, how many, and why it is not used. */
export function ignoredReason(entity: string, action: string): string {
  if (entity === 'leads') {
    return action === 'note'
      ? 'a note on a lead; it changes nothing closeloop sends'
      : 'a lead action closeloop does not know';
  }
  return REASONS[entity] ?? 'not an amoCRM entity closeloop knows';
}

/** The kind an entry is counted as: `message[add]`, or `other` parts for names it does not know. */
export function ignoredKind(entity: string, action: string): string {
  const e = entity === 'leads' || entity in REASONS ? entity : 'other';
  const a = KNOWN_ACTIONS.has(action) ? action : 'other';
  return `${e}[${a}]`;
}

/** A name from the body, safe to print: at most 40 characters, nothing but word characters. */
export function shownName(name: string): string {
  const clean = name.replace(/[^\w-]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}
