/**
 * The cheap count of amoCRM lead entries before parsing: never more than the parser finds (so a
 * real webhook is never refused by it), equal on real-shaped bodies, and fast to stop.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { countFormEntries } from '../../src/http/count-form-entries';
import { LEAD_ACTIONS } from '../../src/adapters/crm/amocrm/amocrm-lead';
import { AmocrmWebhookIntake } from '../../src/adapters/crm/amocrm/amocrm-webhook-intake';

const LEADS = { section: 'leads', names: LEAD_ACTIONS, field: 'id' };
const FIXTURES = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  'test',
  'fixtures',
  'amocrm',
  'webhooks',
);

function parsedEvents(text: string): number | null {
  try {
    return new AmocrmWebhookIntake().parse({
      raw: Buffer.from(text),
      text,
      headers: {},
      subpath: '',
      query: '',
      receivedAt: 0,
    }).events.length;
  } catch {
    return null;
  }
}

describe('countFormEntries', () => {
  it('never counts more events than the parser finds in a fixture webhook', () => {
    let some = 0;
    for (const file of fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.txt'))) {
      const text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
      const parsed = parsedEvents(text);
      const counted = countFormEntries(text, LEADS);
      // An entry is one event, or two when an update shows a stage move (toDealEvents).
      if (parsed === null) assert.ok(counted <= 1, file);
      else assert.ok(counted <= parsed && counted >= parsed / 2, `${file}: ${counted}, ${parsed}`);
      if (counted > 0) some += 1;
    }
    assert.ok(some >= 10, 'the fixtures have lead entries');
  });

  it('reads raw and percent-encoded brackets, counts each action and index once', () => {
    const body =
      'leads[status][0][id]=1&leads%5Bstatus%5D%5B0%5D%5Bname%5D=x&leads%5bstatus%5d%5b1%5d%5bid%5d=2' +
      '&leads[add][0][id]=3&leads[add][0][id]=3&leads[note][0][id]=4&contacts[update][0][id]=5' +
      '&leads[status][2][custom_fields][0][id]=6&leads[status][2][id]=7&account[id]=1';
    assert.equal(countFormEntries(body, LEADS), 4);
    assert.equal(parsedEvents(body), 4);
  });

  it('stops once over the limit', () => {
    const body = Array.from({ length: 20_000 }, (_, i) => `leads[delete][${i}][id]=${i + 1}`).join(
      '&',
    );
    assert.equal(countFormEntries(body, LEADS, 500), 501);
    assert.equal(countFormEntries(body, LEADS), 20_000);
  });
});
