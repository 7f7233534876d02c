/**
 * amoCRM's webhooks as a WebhookIntake: `POST /webhooks/amocrm/<secret>`, form-encoded, each
 * `leads[<action>][i]` entry one deal event, or two when an update shows a stage move
 * (parse-webhook.ts reads the body; research amocrm.md §1). amoCRM's webhooks are unsigned: the
 * secret URL is the check, and a body must name the account the URL is for (amocrm-account.ts:
 * a 400 otherwise). Entries closeloop does not use are logged with why, one line per webhook,
 * and counted (ignored-entries.ts).
 */
import type { IntakeRequest, IntakeResult, WebhookIntake } from '../../../ports/webhook-intake';
import { AMOCRM_SOURCE, toDealEvents } from './amocrm-lead';
import { ignoredKind, ignoredReason, shownName } from './ignored-entries';
import { parseWebhook } from './parse-webhook';
import type { AmocrmAccount } from './amocrm-account';
import { PayloadError } from '../../../core/errors';

export interface AmocrmIntakeOptions {
  /** The closeloop account whose URL this is, for the log line. */
  account: string;
  logger?: { info(message: string, meta?: Record<string, unknown>): unknown };
  /** The amoCRM account this URL is for (amocrm-account.ts); absent: any. */
  expected?: Pick<AmocrmAccount, 'mismatch'>;
}

/** A bound on the kinds counted: they are a fixed few, this only guards the map. */
const MAX_KINDS = 100;

export class AmocrmWebhookIntake implements WebhookIntake {
  readonly source = AMOCRM_SOURCE;
  readonly contentTypes = ['application/x-www-form-urlencoded'] as const;
  readonly invalidCode = 'WEBHOOK_NOT_AMOCRM' as const;
  readonly subpaths = false;
  private readonly ignoredCounts = new Map<string, number>();

  constructor(private readonly options: AmocrmIntakeOptions = { account: 'default' }) {}

  parse(request: IntakeRequest): IntakeResult {
    const parsed = parseWebhook(request.text);
    const mismatch = this.options.expected?.mismatch(parsed.account) ?? null;
    if (mismatch !== null) {
      throw new PayloadError(
        'WEBHOOK_ACCOUNT_MISMATCH',
        `Not this account's webhook: ${mismatch}. Nothing was stored; if the account is yours, give it its own closeloop account (accounts: in the config) with its own webhook_secret`,
        { details: { account: parsed.account } },
      );
    }
    const events = parsed.events.flatMap(toDealEvents);
    const ignored = parsed.ignored.map((i) => ({
      what: `${shownName(i.entity)}[${shownName(i.action)}]`,
      count: i.count,
      reason: ignoredReason(i.entity, i.action),
    }));
    if (ignored.length > 0) {
      for (const i of parsed.ignored) {
        const kind = ignoredKind(i.entity, i.action);
        if (this.ignoredCounts.size < MAX_KINDS || this.ignoredCounts.has(kind)) {
          this.ignoredCounts.set(kind, (this.ignoredCounts.get(kind) ?? 0) + i.count);
        }
      }
      this.options.logger?.info('amoCRM webhook: entries closeloop does not use were ignored', {
        account: this.options.account,
        ignored: ignored.map((i) => `${i.what} ×${i.count}: ${i.reason}`),
        events: events.length,
      });
    }
    return { events, ignored };
  }

  ignoredSoFar(): ReadonlyMap<string, number> {
    return this.ignoredCounts;
  }
}
