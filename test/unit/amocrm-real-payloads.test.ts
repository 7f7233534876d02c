/**
 * Issue 12's findings from real amoCRM and Kommo webhook bodies, in the amoCRM adapter and the
 * rules: amounts typed as text, stage moves reported as updates, bodies closeloop does not use.
 * Fixtures in test/fixtures/amocrm/webhooks (index.json says what each proves).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseWebhook } from '../../src/adapters/crm/amocrm/parse-webhook';
import { toDealEvent } from '../../src/adapters/crm/amocrm/amocrm-lead';
import { AmocrmWebhookIntake } from '../../src/adapters/crm/amocrm/amocrm-webhook-intake';
import type { IntakeRequest } from '../../src/ports/webhook-intake';
import { mapDealEvent } from '../../src/core/map-deal-event';
import type { Rule } from '../../src/core/config-types';
import { DEFAULT_RULES, rule } from '../helpers/builders';

const DIR = path.resolve('test/fixtures/amocrm/webhooks');
const body = (file: string): string => fs.readFileSync(path.join(DIR, file), 'utf8');

function form(pairs: Array<[string, string]>): string {
  return new URLSearchParams(pairs).toString();
}

describe('real payloads: amounts written as text', () => {
  it('reads a price with a no-break space, and amount fields as people type them', () => {
    const [event] = parseWebhook(body('constructed-status-won-price-text.txt')).events;
    assert.equal(event?.lead.price, '22500');
    const deal = toDealEvent(event);
    assert.deepEqual(deal.deal.amount, { amount: '22500', currency: null });

    // The purchase is sent with its value, not skipped "no price" beside a valueless close.
    const mapped = mapDealEvent(deal, { rules: DEFAULT_RULES, currency: 'RUB' });
    assert.deepEqual(mapped.skipped, []);
    assert.deepEqual(
      mapped.conversions.map((c) => [c.event.name, c.event.params.value]),
      [
        ['close_convert_lead', 22500],
        ['purchase', 22500],
      ],
    );

    const fromFields: Rule = rule({
      name: 'Contract amount',
      on: 'status_changed',
      send: [
        {
          name: 'purchase',
          params: {
            value: {
              kind: 'field',
              field: { name: 'Сумма по договору' },
              required: true,
            },
            tax: { kind: 'field', field: { name: 'Предоплата' }, required: true },
          },
        },
      ],
    });
    const byField = mapDealEvent(deal, { rules: [fromFields], currency: 'RUB' });
    assert.deepEqual(byField.conversions[0]?.event.params, {
      value: 1500.5,
      tax: 1500.5,
      currency: 'RUB',
    });
  });

  for (const [text, amount] of [
    ['1 500', '1500'],
    ['1500,50', '1500.50'],
    ['22\u00a0500', '22500'],
    ['1500 ₽', '1500'],
    ['1500 руб.', '1500'],
  ]) {
    it(`reads the webhook price ${JSON.stringify(text)} as ${amount}`, () => {
      const b = form([
        ['account[subdomain]', 'demo'],
        ['leads[status][0][id]', '7'],
        ['leads[status][0][status_id]', '142'],
        ['leads[status][0][price]', text!],
      ]);
      assert.equal(parseWebhook(b).events[0]?.lead.price, amount);
    });
  }

  it('keeps an unreadable price as "not known", never 0', () => {
    const b = form([
      ['account[subdomain]', 'demo'],
      ['leads[status][0][id]', '7'],
      ['leads[status][0][price]', 'договорная'],
    ]);
    assert.equal(parseWebhook(b).events[0]?.lead.price, null);
  });
});

function intakeRequest(text: string): IntakeRequest {
  return { raw: Buffer.from(text), text, headers: {}, subpath: '', query: '', receivedAt: 0 };
}

describe('real payloads: a stage move reported as leads[update]', () => {
  it('fires the status rules, and the update stays an update', () => {
    const { events } = new AmocrmWebhookIntake().parse(
      intakeRequest(body('constructed-update-status-move.txt')),
    );
    assert.deepEqual(
      events.map((e) => [e.kind, e.previous?.stageId, e.deal.stageId]),
      [
        ['updated', '59936194', '142'],
        ['stage_changed', '59936194', '142'],
      ],
    );
    const mapped = mapDealEvent(events[1]!, { rules: DEFAULT_RULES, currency: 'RUB' });
    assert.deepEqual(
      mapped.conversions.map((c) => [c.event.name, c.event.params.value]),
      [
        ['close_convert_lead', 1500],
        ['purchase', 1500],
      ],
    );
  });

  it('is one event when nothing moved, or when the entry is a status, add or delete', () => {
    const entry = (action: string, old: string): string =>
      form([
        ['account[id]', '1'],
        [`leads[${action}][0][id]`, '7'],
        [`leads[${action}][0][status_id]`, '142'],
        [`leads[${action}][0][old_status_id]`, old],
      ]);
    const kinds = (text: string): string[] =>
      new AmocrmWebhookIntake().parse(intakeRequest(text)).events.map((e) => e.kind);
    assert.deepEqual(kinds(entry('update', '142')), ['updated']);
    assert.deepEqual(kinds(entry('status', '555')), ['stage_changed']);
    assert.deepEqual(kinds(entry('add', '555')), ['created']);
    assert.deepEqual(kinds(entry('delete', '555')), ['deleted']);
    assert.deepEqual(kinds(entry('responsible', '555')), ['reassigned', 'stage_changed']);
    const pipelineMove = form([
      ['account[id]', '1'],
      ['leads[update][0][id]', '7'],
      ['leads[update][0][status_id]', '142'],
      ['leads[update][0][pipeline_id]', '2'],
      ['leads[update][0][old_pipeline_id]', '1'],
    ]);
    assert.deepEqual(kinds(pipelineMove), ['updated', 'stage_changed']);
  });
});

describe('real payloads: bodies closeloop does not use', () => {
  function intake() {
    const lines: Array<{ message: string; meta?: Record<string, unknown> }> = [];
    const logger = {
      info: (message: string, meta?: Record<string, unknown>) => lines.push({ message, meta }),
    };
    return { intake: new AmocrmWebhookIntake({ account: 'default', logger }), lines };
  }

  it('records unsorted[add] and message[add] as ignored, with why, in one log line each, and counts them', () => {
    const { intake: amo, lines } = intake();
    const unsorted = amo.parse(intakeRequest(body('constructed-unsorted-add.txt')));
    assert.deepEqual(unsorted.events, []);
    assert.deepEqual(unsorted.ignored, [
      {
        what: 'unsorted[add]',
        count: 1,
        reason:
          'an incoming lead (Неразобранное) not accepted yet; closeloop acts once it is a lead (leads[add])',
      },
    ]);
    const message = amo.parse(intakeRequest(body('constructed-message-add.txt')));
    assert.deepEqual(
      message.ignored.map((i) => [i.what, i.reason]),
      [['message[add]', 'a chat message, not a change to a deal']],
    );
    amo.parse(intakeRequest(body('constructed-message-add.txt')));
    assert.equal(lines.length, 3);
    assert.deepEqual(lines[1]?.meta, {
      account: 'default',
      ignored: ['message[add] ×1: a chat message, not a change to a deal'],
      events: 0,
    });
    // Nothing of the chat text or the visitor reaches the log line.
    assert.ok(!JSON.stringify(lines).includes('Иван'));
    assert.deepEqual(
      [...amo.ignoredSoFar()],
      [
        ['unsorted[add]', 1],
        ['message[add]', 2],
      ],
    );
  });

  it('says nothing for a body it uses whole', () => {
    const { intake: amo, lines } = intake();
    const result = amo.parse(intakeRequest(body('status-won-roistat-2023.txt')));
    assert.equal(result.events.length, 1);
    assert.deepEqual(result.ignored, []);
    assert.deepEqual(lines, []);
  });

  it('lists unknown sections beside a known one, and counts names from the body as "other"', () => {
    const { intake: amo } = intake();
    const result = amo.parse(
      intakeRequest(
        form([
          ['account[id]', '1'],
          ['leads[status][0][id]', '7'],
          ['leads[merge][0][id]', '8'],
          ['widgets<script>[install][0][id]', '9'],
        ]),
      ),
    );
    assert.deepEqual(
      result.ignored.map((i) => [i.what, i.reason]),
      [
        ['leads[merge]', 'a lead action closeloop does not know'],
        ['widgets?script?[install]', 'not an amoCRM entity closeloop knows'],
      ],
    );
    assert.deepEqual(
      [...amo.ignoredSoFar()],
      [
        ['leads[other]', 1],
        ['other[other]', 1],
      ],
    );
  });
});
