/**
 * Parsers of the commands' option values. A bad value is named in the message, with what would be
 * right, because a person reading `--outcome nope` already knows the flag; what they need is the
 * list. Pure; they throw commander's InvalidArgumentError.
 */
import { InvalidArgumentError } from 'commander';
import type { DeliveryOutcome } from '../ports/delivery-log';
import { shown } from './cli-run';

export const OUTCOMES: readonly DeliveryOutcome[] = [
  'sent',
  'dry_run',
  'skipped',
  'duplicate',
  'retrying',
  'failed',
];

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
