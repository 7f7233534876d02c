/** Over-long text values are cut to GA4's limit with a warning, never losing the purchase. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fitParamValues } from '../../src/adapters/destinations/ga4/fit-param-values';
import { Ga4Destination } from '../../src/adapters/destinations/ga4';
import { parseWebhook } from '../../src/adapters/crm/amocrm/parse-webhook';
import type { Ga4Payload } from '../../src/adapters/destinations/ga4/ga4-types';
import type { DeliveryRequest } from '../../src/ports/destination';
import { testConfig } from '../helpers/builders';

/** The 118-character landing URL of research amocrm.md §1.6 ex. 2, as the parser reads it. */
function landingUrl(): string {
  const body = fs.readFileSync(
    'test/fixtures/amocrm/webhooks/constructed-status-won-long-url.txt',
    'utf8',
  );
  const field = parseWebhook(body).events[0]?.lead.customFields?.find((f) => f.id === 715391);
  const url = field?.values[0]?.value;
  assert.ok(url !== undefined);
  return url;
}

function payload(params: Record<string, string | number>): Ga4Payload {
  return {
    client_id: '1.2',
    events: [
      { name: 'close_convert_lead', params: { value: 1 } },
      { name: 'purchase', params },
    ],
  };
}

describe('fitParamValues', () => {
  it('cuts the 118-character URL of a real webhook to 100 and says so, without the value', () => {
    const url = landingUrl();
    assert.equal(url.length, 118);
    const input = payload({ value: 1, landing_page: url, transaction_id: '30307415' });
    const { payload: out, warnings } = fitParamValues(input);
    assert.equal(out.events[1]!.params.landing_page, url.slice(0, 100));
    assert.equal(out.events[1]!.params.transaction_id, '30307415');
    assert.deepEqual(out.events[0], input.events[0]);
    assert.deepEqual(warnings, [
      "event 1 (purchase) param [landing_page] was 118 characters; cut to GA4's limit of 100",
    ]);
    assert.ok(!warnings[0]!.includes('moscow.mba'));
    // The input is left as it was.
    assert.equal(input.events[1]!.params.landing_page, url);
  });

  it('counts characters, not UTF-16 units, and never splits one', () => {
    const emoji = '😀'.repeat(101);
    const cyrillic = 'я'.repeat(100);
    const { payload: out, warnings } = fitParamValues(payload({ note: emoji, name_ru: cyrillic }));
    assert.equal(out.events[1]!.params.note, '😀'.repeat(100));
    assert.equal(out.events[1]!.params.name_ru, cyrillic);
    assert.equal(warnings.length, 1);
  });

  it('keeps GA4’s own longer limits and the unchecked session parameters', () => {
    const long = 'x'.repeat(500);
    const { payload: out, warnings } = fitParamValues(
      payload({ page_title: long, page_location: long, session_id: long }),
    );
    assert.equal(out.events[1]!.params.page_title, 'x'.repeat(300));
    assert.equal(out.events[1]!.params.page_location, long);
    assert.equal(out.events[1]!.params.session_id, long);
    assert.equal(warnings.length, 1);
  });

  it('returns the same payload when nothing is over a limit', () => {
    const input = payload({ value: 1500, transaction_id: '1' });
    assert.equal(fitParamValues(input).payload, input);
    assert.deepEqual(fitParamValues(input).warnings, []);
  });
});

describe('Ga4Destination with an over-long value', () => {
  const request = (url: string): DeliveryRequest => ({
    account: '29638927',
    dealId: '30307415',
    identity: { clientId: '1689256449.1689256449' },
    occurredAtMs: null,
    events: [
      { name: 'close_convert_lead', params: { value: 1, currency: 'RUB' } },
      {
        name: 'purchase',
        params: { value: 1, currency: 'RUB', transaction_id: '30307415', landing_page: url },
      },
    ],
  });

  it('validates and records the cut payload with its warning, and logs the cut once', async () => {
    const warned: Array<{ message: string; meta?: Record<string, unknown> }> = [];
    const ga4 = new Ga4Destination(
      { ...testConfig().ga4, dryRun: true },
      { logger: { warn: (message, meta) => warned.push({ message, meta }) } },
    );
    const result = await ga4.deliver(request(landingUrl()), Date.now());
    assert.equal(result.outcome, 'dry_run');
    const [recorded] = result.requests;
    const body = recorded!.payload as Ga4Payload;
    assert.equal(String(body.events[1]!.params.landing_page).length, 100);
    assert.deepEqual(recorded!.warnings, [
      "event 1 (purchase) param [landing_page] was 118 characters; cut to GA4's limit of 100",
    ]);
    assert.equal(warned.length, 1);
    assert.equal(warned[0]!.meta?.dealId, '30307415');
  });

  it('sends the cut payload, so the purchase goes, however often it is delivered', async () => {
    const bodies: string[] = [];
    const ga4 = new Ga4Destination(testConfig().ga4, {
      postImpl: (_url, init) => {
        bodies.push(init.body);
        return Promise.resolve({ status: 204, headers: {}, body: '' });
      },
    });
    for (let i = 0; i < 2; i++) {
      const result = await ga4.deliver(request(landingUrl()), Date.now());
      assert.equal(result.outcome, 'sent');
    }
    assert.equal(bodies.length, 2);
    const sent = JSON.parse(bodies[0]!) as Ga4Payload;
    assert.equal(String(sent.events[1]!.params.landing_page).length, 100);
    assert.equal(sent.events[1]!.name, 'purchase');
  });
});
