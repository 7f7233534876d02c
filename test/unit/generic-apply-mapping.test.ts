/**
 * applyMapping: a sender's own body as a generic event, by dot paths and fixed values from the
 * config, with the sender's stage naming an outcome. A path only selects a value: nothing runs,
 * and nothing inherited is reached.
 */
import assert from 'node:assert/strict';
import { applyMapping, valueAt } from '../../src/adapters/crm/generic/apply-mapping';
import type { GenericMapping } from '../../src/adapters/crm/generic/config';

function mapping(over: Partial<GenericMapping>): GenericMapping {
  return { signed: false, fields: {}, fixed: {}, outcomes: {}, ...over };
}

describe('applyMapping (generic intake)', () => {
  it('finds values at dot paths, list items by index, own keys only', () => {
    const body = { order: { id: 5, items: [{ price: 10 }], customFields: { 'ga.cid': 'x' } } };
    assert.equal(valueAt(body, 'order.id'), 5);
    assert.equal(valueAt(body, 'order.items.0.price'), 10);
    assert.equal(valueAt(body, 'order.missing.deeper'), undefined);
    assert.equal(valueAt(body, 'order.id.more'), undefined);
    assert.equal(valueAt(body, 'order.constructor'), undefined);
    assert.equal(valueAt(body, '__proto__'), undefined);
    assert.equal(valueAt(body, 'order.items.length'), 1, 'a list’s own length is data');
    assert.equal(valueAt('text', 'length'), undefined);
  });

  it('builds the event: fields by path, fixed values, numbers as text except amount and time', () => {
    const event = applyMapping(
      { id: 77, status: 'complete', sum: 2500.5, at: 1_796_119_200, cid: '111.222', utm: 'ya' },
      mapping({
        fields: {
          deal_id: 'id',
          stage: 'status',
          amount: 'sum',
          occurred_at: 'at',
          'identities.ga_client_id': 'cid',
          'utm.source': 'utm',
        },
        fixed: { account: 'shop', currency: 'RUB' },
      }),
    );
    assert.deepEqual(event, {
      account: 'shop',
      currency: 'RUB',
      deal_id: '77',
      stage: 'complete',
      amount: 2500.5,
      occurred_at: 1_796_119_200,
      identities: { ga_client_id: '111.222' },
      utm: { source: 'ya' },
    });
  });

  it('leaves out empty and absent values; a fixed value stands when the path finds none', () => {
    const m = mapping({
      fields: { deal_id: 'id', currency: 'cur', stage: 'status' },
      fixed: { account: 'shop', currency: 'RUB' },
    });
    assert.deepEqual(applyMapping({ id: 'A', cur: '', status: null }, m), {
      account: 'shop',
      currency: 'RUB',
      deal_id: 'A',
      stage: null,
    });
    assert.equal(applyMapping({ id: 'A', cur: 'USD' }, m).currency, 'USD');
  });

  it('names the outcome from the stage, unless the body says one', () => {
    const m = mapping({
      fields: { deal_id: 'id', stage: 'status', outcome: 'result' },
      fixed: { account: 'shop' },
      outcomes: { complete: 'won', '143': 'lost' },
    });
    assert.equal(applyMapping({ id: 1, status: 'complete' }, m).outcome, 'won');
    assert.equal(applyMapping({ id: 1, status: 143 }, m).outcome, 'lost');
    assert.equal(applyMapping({ id: 1, status: 'new' }, m).outcome, undefined);
    assert.equal(applyMapping({ id: 1, status: 'complete', result: 'open' }, m).outcome, 'open');
  });

  it('passes an object or a list found at a path on, for the schema to report', () => {
    const event = applyMapping({ id: { nested: 1 } }, mapping({ fields: { deal_id: 'id' } }));
    assert.deepEqual(event.deal_id, { nested: 1 });
  });
});
