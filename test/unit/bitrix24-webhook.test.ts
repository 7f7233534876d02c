/**
 * Bitrix24's outgoing webhooks (parse-webhook.ts) from real-shaped bodies in
 * test/fixtures/bitrix24/webhooks, each described in index.json; and the token check.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseWebhook, tokenMatches } from '../../src/adapters/crm/bitrix24/parse-webhook';
import { AuthError, PayloadError } from '../../src/core/errors';

const DIR = path.resolve('test/fixtures/bitrix24/webhooks');
const TOKEN = 's8gj3kd92jfq0wn4u7x6z1c5v0b2n9m4';
const INDEX = JSON.parse(fs.readFileSync(path.join(DIR, 'index.json'), 'utf8')) as Record<
  string,
  string
>;
const FIXTURES = fs
  .readdirSync(DIR)
  .filter((f) => f !== 'index.json')
  .sort();
const parse = (file: string) => parseWebhook(fs.readFileSync(path.join(DIR, file), 'utf8'), TOKEN);

describe('Bitrix24 outgoing webhooks', () => {
  it('lists every fixture in index.json, each described in one line that names its source', () => {
    assert.deepEqual(Object.keys(INDEX).sort(), FIXTURES);
    for (const [file, what] of Object.entries(INDEX)) {
      assert.ok(what.length > 20 && !what.includes('\n'), file);
      assert.match(what, /research|constructed/, `${file} names no source`);
    }
  });

  it('reads a deal update as an updated event with nothing but the id', () => {
    const { events, ignored } = parse('deal-update-759.txt');
    assert.equal(ignored, null);
    assert.equal(events.length, 1);
    const [event] = events;
    assert.equal(event?.source, 'bitrix24');
    assert.equal(event?.account, 'portal');
    assert.equal(event?.kind, 'updated');
    assert.equal(event?.occurredAt, null, "ts is the queue's time, not the deal's");
    assert.equal(event?.deal.id, '759');
    assert.equal(event?.deal.stageId, null);
    assert.equal(event?.deal.fields, null, 'the deal must be read through REST');
  });

  it('reads adds, deletes and lead events, leads as L<id> in the leads pipeline', () => {
    const kinds = (file: string) => parse(file).events.map((e) => [e.kind, e.deal.id]);
    assert.deepEqual(kinds('deal-add.txt'), [['created', '761']]);
    assert.deepEqual(kinds('deal-delete.txt'), [['deleted', '759']]);
    assert.deepEqual(kinds('lead-add.txt'), [['created', 'L1223']]);
    assert.deepEqual(kinds('lead-update.txt'), [['updated', 'L1223']]);
    assert.equal(parse('lead-add.txt').events[0]?.deal.pipelineId, 'leads');
    assert.deepEqual(kinds('app-deal-update-with-oauth.txt'), [['updated', '759']]);
    assert.deepEqual(kinds('event-lowercase.txt'), [['updated', '42']]);
  });

  it('takes an event it does not use without an error, and lists it as ignored', () => {
    assert.deepEqual(parse('contact-update.txt'), { events: [], ignored: 'ONCRMCONTACTUPDATE' });
  });

  it('refuses a missing or wrong token with 401, and a body that is not Bitrix24 with 400', () => {
    for (const file of ['invalid-wrong-token.txt', 'invalid-no-token.txt']) {
      assert.throws(
        () => parse(file),
        (e: unknown) =>
          e instanceof AuthError && e.code === 'WEBHOOK_TOKEN_INVALID' && e.httpStatus === 401,
        file,
      );
    }
    for (const file of [
      'invalid-no-event.txt',
      'invalid-no-id.txt',
      'invalid-id-not-a-number.txt',
      'invalid-json.txt',
    ]) {
      assert.throws(
        () => parse(file),
        (e: unknown) =>
          e instanceof PayloadError && e.code === 'WEBHOOK_NOT_BITRIX24' && e.httpStatus === 400,
        file,
      );
    }
  });

  it('never puts the token in a message', () => {
    try {
      parse('invalid-wrong-token.txt');
      assert.fail('refused');
    } catch (e) {
      assert.equal((e as Error).message.includes('guessed'), false);
      assert.equal((e as Error).message.includes(TOKEN), false);
    }
  });

  it('compares tokens whole, whatever their length', () => {
    assert.equal(tokenMatches(TOKEN, TOKEN), true);
    assert.equal(tokenMatches(TOKEN.slice(0, -1), TOKEN), false);
    assert.equal(tokenMatches(`${TOKEN}x`, TOKEN), false);
    assert.equal(tokenMatches('', TOKEN), false);
  });
});
