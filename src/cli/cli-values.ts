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
