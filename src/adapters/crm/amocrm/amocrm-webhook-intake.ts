/**
 * amoCRM's webhooks as a WebhookIntake: `POST /webhooks/amocrm/<secret>`, form-encoded, each
 * `leads[<action>][i]` entry one deal event (parse-webhook.ts reads the body; research amocrm.md
 * §1). amoCRM's webhooks are unsigned: the secret URL is the check.
 */
import type { IntakeRequest, IntakeResult, WebhookIntake } from '../../../ports/webhook-intake';
import { AMOCRM_SOURCE, toDealEvent } from './amocrm-lead';
import { parseWebhook } from './parse-webhook';

export class AmocrmWebhookIntake implements WebhookIntake {
  readonly source = AMOCRM_SOURCE;
  readonly contentTypes = ['application/x-www-form-urlencoded'] as const;
  readonly invalidCode = 'WEBHOOK_NOT_AMOCRM' as const;
  readonly subpaths = false;

  parse(request: IntakeRequest): IntakeResult {
    const parsed = parseWebhook(request.text);
    return {
      events: parsed.events.map(toDealEvent),
      ignored: parsed.ignored.map((i) => ({ what: `${i.entity}[${i.action}]`, count: i.count })),
    };
  }
}
