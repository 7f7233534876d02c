/**
 * Bitrix24's outgoing webhooks as a WebhookIntake: `POST /webhooks/bitrix24/<secret>`, one event
 * per call, checked by the application token (parse-webhook.ts; research bitrix24.md §1.3–§1.4).
 * Bitrix24 never resends a call that failed (§1.5), so the route answers as soon as it is stored.
 * An event closeloop does not use (a contact's, ticked in the outgoing webhook by mistake) is
 * answered 200, logged once per call with its name, and counted under one fixed kind.
 */
import type { IntakeRequest, IntakeResult, WebhookIntake } from '../../../ports/webhook-intake';
import { BITRIX24_SOURCE } from './bitrix24-deal';
import { parseWebhook } from './parse-webhook';

/** The one kind /metrics counts them under: names from the body never become labels. */
const UNUSED = 'unused event';

export class Bitrix24WebhookIntake implements WebhookIntake {
  readonly source = BITRIX24_SOURCE;
  readonly contentTypes = ['application/x-www-form-urlencoded'] as const;
  readonly invalidCode = 'WEBHOOK_NOT_BITRIX24' as const;
  readonly subpaths = false;
  private readonly ignoredCounts = new Map<string, number>();

  constructor(
    private readonly applicationToken: string,
    private readonly options: {
      account: string;
      logger?: { info(message: string, meta?: Record<string, unknown>): unknown };
    } = { account: 'default' },
  ) {}

  parse(request: IntakeRequest): IntakeResult {
    const parsed = parseWebhook(request.text, this.applicationToken);
    if (parsed.ignored === null) return { events: parsed.events, ignored: [] };
    // Shown as Bitrix24 names events (ONCRMCONTACTUPDATE), and nothing else of the body.
    const what = /^[A-Z0-9_]{1,60}$/.test(parsed.ignored) ? parsed.ignored : 'an unknown event';
    this.ignoredCounts.set(UNUSED, (this.ignoredCounts.get(UNUSED) ?? 0) + 1);
    const reason =
      'closeloop uses ONCRMDEALADD, ONCRMDEALUPDATE, ONCRMDEALDELETE and the same for leads; untick the others in the outgoing webhook';
    this.options.logger?.info('Bitrix24 webhook: an event closeloop does not use was ignored', {
      account: this.options.account,
      ignored: `${what}: ${reason}`,
    });
    return { events: [], ignored: [{ what, count: 1, reason }] };
  }

  ignoredSoFar(): ReadonlyMap<string, number> {
    return this.ignoredCounts;
  }
}
