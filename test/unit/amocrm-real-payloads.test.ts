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
