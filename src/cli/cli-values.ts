/**
 * Parsers of the commands' option values. A bad value is named in the message, with what would be
 * right, because a person reading `--outcome nope` already knows the flag; what they need is the
 * list. Pure; they throw commander's InvalidArgumentError.
 */
import { InvalidArgumentError } from 'commander';
import { DELIVERY_OUTCOMES, type DeliveryOutcome } from '../ports/delivery-log';
import { shown } from './cli-run';

export const OUTCOMES: readonly DeliveryOutcome[] = DELIVERY_OUTCOMES;

export function parseOutcome(value: string): DeliveryOutcome {
  const outcome = OUTCOMES.find((o) => o === value);
  if (outcome === undefined) {
    throw new InvalidArgumentError(
      `${shown(value)} is not an outcome; one of ${OUTCOMES.join(', ')}`,
    );
  }
  return outcome;
}

/** How many rows to print: a whole number from 1. */
export function parseRowCount(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(
      `${shown(value)} is not a number of rows; give a whole number from 1, e.g. 100`,
    );
  }
  return n;
}

/** An amoCRM lead id: the number in the deal's address, …/leads/detail/4242. */
export function parseLeadId(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(
      `${shown(value)} is not a lead id; a lead id is a whole number, the one in the deal's address in amoCRM (…/leads/detail/4242)`,
    );
  }
  return n;
}

/** A deal id as the CRM shows it: amoCRM's number, a generic sender's `A-77`. */
export function parseDealId(value: string): string {
  const id = value.trim();
  if (id === '' || id.length > 128 || /\s/.test(id)) {
    throw new InvalidArgumentError(
      `${shown(value)} is not a deal id; give the id as your CRM shows it (amoCRM: the number in the deal's address, …/leads/detail/4242)`,
    );
  }
  return id;
}

/** An account name, as the config writes it (`default`, `shop`). */
export function parseAccountName(value: string): string {
  if (!/^[a-z0-9][a-z0-9_-]{0,39}$/.test(value)) {
    throw new InvalidArgumentError(
      `${shown(value)} is not an account name; use default or a name listed under accounts: in the config`,
    );
  }
  return value;
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A moment, as a person writes it: how long ago (`30m`, `12h`, `7d`) or an ISO date
 * (`2026-12-01`, `2026-12-01T10:00:00Z`). Returns Unix ms; `now` is the command's clock.
 */
export function parseMoment(value: string, now: number = Date.now()): number {
  const ago = /^(\d{1,6})([mhd])$/.exec(value.trim());
  if (ago) return now - Number(ago[1]) * (UNIT_MS[ago[2] as string] as number);
  const at = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())
    ? Date.parse(value.trim())
    : NaN;
  if (Number.isNaN(at)) {
    throw new InvalidArgumentError(
      `${shown(value)} is not a moment; write how long ago (30m, 12h, 7d) or a date (2026-12-01, 2026-12-01T10:00:00Z)`,
    );
  }
  return at;
}
