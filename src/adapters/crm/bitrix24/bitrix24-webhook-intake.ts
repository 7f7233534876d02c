/**
 * Bitrix24's outgoing webhooks as a WebhookIntake: `POST /webhooks/bitrix24/<secret>`, one event
 * per call, checked by the application token (parse-webhook.ts; research bitrix24.md §1.3–§1.4).
 * Bitrix24 never resends a call that failed (§1.5), so the route answers as soon as it is stored.
 */
import type { IntakeRequest, IntakeResult, WebhookIntake } from '../../../ports/webhook-intake';
import { BITRIX24_SOURCE } from './bitrix24-deal';
import { parseWebhook } from './parse-webhook';

export class Bitrix24WebhookIntake implements WebhookIntake {
  readonly source = BITRIX24_SOURCE;
  readonly contentTypes = ['application/x-www-form-urlencoded'] as const;
  readonly invalidCode = 'WEBHOOK_NOT_BITRIX24' as const;
  readonly subpaths = false;

  constructor(private readonly applicationToken: string) {}

  parse(request: IntakeRequest): IntakeResult {
    const parsed = parseWebhook(request.text, this.applicationToken);
    return {
      events: parsed.events,
      ignored: parsed.ignored === null ? [] : [{ what: parsed.ignored, count: 1 }],
    };
  }
}
