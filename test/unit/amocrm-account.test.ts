/** The amoCRM account a URL is for: read once, what a webhook must name, the key's account part. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  AmocrmAccount,
  canonicalAccountId,
  configuredSubdomain,
} from '../../src/adapters/crm/amocrm/amocrm-account';
import { AmocrmWebhookIntake } from '../../src/adapters/crm/amocrm/amocrm-webhook-intake';
import { PayloadError } from '../../src/core/errors';
import type { IntakeRequest } from '../../src/ports/webhook-intake';

const API = { id: '29638927', subdomain: 'mbamoscow' };

function client(fail = 0) {
  let calls = 0;
  return {
    calls: () => calls,
    getAccount: () => {
      calls++;
      return calls <= fail
        ? Promise.reject(new Error('amoCRM answered 503'))
        : Promise.resolve(API);
    },
  };
}

function request(file: string): IntakeRequest {
  const text = fs.readFileSync(`test/fixtures/amocrm/webhooks/${file}`, 'utf8');
  return { raw: Buffer.from(text), text, headers: {}, subpath: '', query: '', receivedAt: 0 };
}

describe('AmocrmAccount', () => {
  it('reads the account once, however many ask at once, and tries again after a failure', async () => {
    const c = client(1);
    const account = new AmocrmAccount('mbamoscow', c);
    assert.equal(account.peek(), null);
    await assert.rejects(account.getAccount(), /503/);
    const all = await Promise.all([account.getAccount(), account.getAccount()]);
    assert.deepEqual(all, [API, API]);
    await account.getAccount();
    assert.equal(c.calls(), 2);
    assert.deepEqual(account.peek(), API);
    await assert.rejects(new AmocrmAccount('x', null).getAccount(), /no amoCRM API access/);
  });

  it('takes a body naming the configured subdomain, and, once known, the API’s id', async () => {
    const account = new AmocrmAccount('mbamoscow', client());
    assert.equal(account.mismatch({ id: '29638927', subdomain: 'MbaMoscow' }), null);
    assert.equal(account.mismatch({ id: '1', subdomain: null }), null, 'the id is not known yet');
    assert.match(
      account.mismatch({ id: null, subdomain: 'apfitness' }) ?? '',
      /"apfitness" \(account\[subdomain\]\), and this URL is for "mbamoscow" \(amocrm\.subdomain\)/,
    );
    await account.getAccount();
    assert.match(
      account.mismatch({ id: '1', subdomain: null }) ?? '',
      /account\[id\] 1, and the amoCRM account of this URL \("mbamoscow"\) has the id 29638927/,
    );
  });

  it('takes any account when nothing is configured, and the API’s subdomain when only it is', async () => {
    assert.equal(new AmocrmAccount(null, null).mismatch({ id: '1', subdomain: 'any' }), null);
    const viaProxy = new AmocrmAccount(null, client());
    await viaProxy.getAccount();
    assert.match(
      viaProxy.mismatch({ id: null, subdomain: 'other' }) ?? '',
      /this URL is for "mbamoscow" \(the account the API answers for\)/,
    );
  });

  it('finds the configured subdomain in the subdomain or an amoCRM base_url, not in a proxy', () => {
    assert.equal(configuredSubdomain('example', null), 'example');
    assert.equal(configuredSubdomain('Example.kommo.com', null), 'example');
    assert.equal(configuredSubdomain(null, 'https://shop.amocrm.ru'), 'shop');
    assert.equal(configuredSubdomain(null, 'https://shop.amocrm.com/'), 'shop');
    assert.equal(configuredSubdomain(null, 'http://127.0.0.1:8080'), null);
    assert.equal(configuredSubdomain(null, 'https://amo-proxy.example.com'), null);
    assert.equal(configuredSubdomain(null, null), null);
  });

  it('keys by the account id whether the event names it by id or by subdomain', () => {
    assert.equal(canonicalAccountId('29638927', API), '29638927');
    assert.equal(canonicalAccountId('MBAmoscow', API), '29638927');
    assert.equal(canonicalAccountId('11111111', API), null);
    assert.equal(canonicalAccountId('apfitness', API), null);
  });
});

describe('amoCRM intake: the webhook’s account', () => {
  it('refuses a body for another account with WEBHOOK_ACCOUNT_MISMATCH (400), storing nothing', () => {
    const intake = new AmocrmWebhookIntake({
      account: 'default',
      expected: new AmocrmAccount('mbamoscow', null),
    });
    assert.equal(intake.parse(request('status-won-roistat-2023.txt')).events.length, 1);
    assert.throws(
      () => intake.parse(request('status-won-2018.txt')),
      (e: unknown) =>
        e instanceof PayloadError &&
        e.code === 'WEBHOOK_ACCOUNT_MISMATCH' &&
        e.httpStatus === 400 &&
        /"apfitness".*"mbamoscow"/.test(e.message),
    );
  });
});
