/** Completing leads from the API: when, how look-ups are batched, and what the merge keeps. */
import assert from 'node:assert/strict';
import { LeadBatcher, MAX_IDS_PER_CALL } from '../../src/adapters/crm/amocrm/lead-batcher';
import {
  AmocrmCrmSource,
  completionReason,
  mergeApiDeal,
  readIdentities,
} from '../../src/adapters/crm/amocrm/amocrm-crm-source';
import {
  toDealEvent,
  toDealSnapshot,
  type LeadEvent,
  type LeadSnapshot,
} from '../../src/adapters/crm/amocrm/amocrm-lead';
import { RetryableError } from '../../src/core/errors';
import { AmocrmAccount } from '../../src/adapters/crm/amocrm/amocrm-account';
import { DEFAULT_RULES, field, leadEvent as amoEvent, rule } from '../helpers/builders';

const policy = {
  rules: DEFAULT_RULES,
  fields: { clientId: { code: 'GCLIENTID' }, sessionId: { name: 'ga_session_id' } },
};

/** API access over a scripted client: look-ups batched within 5 ms, the account it answers. */
function api(client: ReturnType<typeof fakeClient>) {
  return { batcher: new LeadBatcher(client, 5), account: new AmocrmAccount('example', client) };
}

/** The amoCRM lead event of the builder, as the webhook intake turns it into a deal event. */
const leadEvent = (over: Parameters<typeof amoEvent>[0] = {}) => toDealEvent(amoEvent(over));

function apiLead(id: number, over: Partial<LeadSnapshot> = {}): LeadSnapshot {
  return {
    id,
    statusId: 143,
    pipelineId: 999,
    price: '90000',
    responsibleUserId: 1,
    createdAt: 1,
    updatedAt: 2,
    customFields: [field('GCLIENTID', `GA1.1.${id}.1700000000`)],
    tags: ['api'],
    ...over,
  };
}

function fakeClient(fail?: () => Error) {
  const calls: number[][] = [];
  return {
    calls,
    getAccount: () => Promise.resolve({ id: '29638927', subdomain: 'example' }),
    getLeads(ids: readonly number[]): Promise<LeadSnapshot[]> {
      calls.push([...ids]);
      if (fail) return Promise.reject(fail());
      // id 13 does not exist (deleted)
      return Promise.resolve(ids.filter((id) => id !== 13).map((id) => apiLead(id)));
    },
  };
}

describe('lead completion from the amoCRM API', () => {
  it('asks the API only when a rule matches and the webhook lacks fields, client ID or price', () => {
    assert.equal(completionReason(leadEvent(), policy), null);
    assert.equal(
      completionReason(leadEvent({ lead: { customFields: null } }), policy),
      'the webhook carried no fields',
    );
    assert.equal(
      completionReason(leadEvent({ lead: { customFields: [] } }), policy),
      'the webhook has no client ID',
    );
    assert.equal(
      completionReason(leadEvent({ lead: { price: null } }), policy),
      'the webhook has no price',
    );
    // no rule for an update, or for status 777: no API call, whatever is missing
    assert.equal(
      completionReason(leadEvent({ action: 'update', lead: { customFields: null } }), policy),
      null,
    );
    assert.equal(
      completionReason(leadEvent({ lead: { statusId: 777, customFields: null } }), policy),
      null,
    );
    // A hook naming only the lead may be a won deal: its stage must be read.
    assert.equal(
      completionReason(
        leadEvent({ lead: { statusId: null, pipelineId: null, customFields: null } }),
        policy,
      ),
      'the webhook named no stage',
    );
  });

  it('keeps what happened (kind, stage before, when) and takes the whole deal from the API', () => {
    // The webhook says won (142); amoCRM says the lead is lost (143): amoCRM is right.
    const event = leadEvent({ lead: { customFields: null, price: null } });
    const merged = mergeApiDeal(event, toDealSnapshot(apiLead(30307415)));
    assert.equal(merged.kind, 'stage_changed');
    assert.equal(merged.previous?.stageId, '41893093');
    assert.equal(merged.occurredAt, event.occurredAt);
    assert.equal(merged.lookup, 'read');
    assert.equal(merged.deal.stageId, '143');
    assert.equal(merged.deal.outcome, 'lost');
    assert.equal(merged.deal.pipelineId, '999');
    assert.deepEqual(merged.deal.amount, { amount: '90000', currency: null });
    assert.deepEqual(merged.deal.tags, ['api']);
  });

  it('gathers look-ups within the window into one call, and answers each caller', async () => {
    const client = fakeClient();
    const batcher = new LeadBatcher(client, 20);
    const results = await Promise.all([1, 2, 13, 2, 3].map((id) => batcher.load(id)));
    assert.deepEqual(client.calls, [[1, 2, 13, 3]]);
    assert.deepEqual(
      results.map((l) => l?.id ?? null),
      [1, 2, null, 2, 3],
    );
  });

  it('sends a full batch of 250 at once and starts the next', async () => {
    const client = fakeClient();
    const batcher = new LeadBatcher(client, 10_000);
    const ids = Array.from({ length: MAX_IDS_PER_CALL + 10 }, (_, i) => i + 1000);
    const first = Promise.all(ids.slice(0, MAX_IDS_PER_CALL).map((id) => batcher.load(id)));
    await first; // resolved without waiting for the 10 s window
    assert.equal(client.calls.length, 1);
    assert.equal(client.calls[0]!.length, MAX_IDS_PER_CALL);
    const rest = ids.slice(MAX_IDS_PER_CALL).map((id) => batcher.load(id));
    assert.equal(client.calls.length, 1, 'the rest waits for its window');
    (batcher as unknown as { flush(): void }).flush();
    await Promise.all(rest);
    assert.equal(client.calls[1]!.length, 10);
  });

  it('passes an API failure to every waiter (the job is retried)', async () => {
    const batcher = new LeadBatcher(
      fakeClient(() => new RetryableError('AMOCRM_UNAVAILABLE', 'amoCRM answered 503')),
      5,
    );
    const results = await Promise.allSettled([batcher.load(1), batcher.load(2)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
  });

  it('reads every event a rule could act on through the API, and only those', async () => {
    const client = fakeClient();
    const source = new AmocrmCrmSource(policy, api(client));
    const done = await source.complete(
      leadEvent({ lead: { id: 77, customFields: null, price: null } }),
    );
    assert.deepEqual(done.deal.amount, { amount: '90000', currency: null });
    assert.equal(done.deal.identities.gaClientId, 'GA1.1.77.1700000000');
    assert.equal(done.lookup, 'read');
    // A complete webhook is read too: its stage, amount and identities are not taken on trust.
    const complete = await source.complete(leadEvent({ lead: { id: 78 } }));
    assert.equal(complete.deal.stageId, '143');
    assert.equal(complete.deal.identities.gaClientId, 'GA1.1.78.1700000000');
    // No rule for an update: nothing to read.
    const update = leadEvent({ action: 'update', lead: { id: 79 } });
    assert.equal((await source.complete(update)).lookup, undefined);
    assert.deepEqual(client.calls, [[77], [78]]);
  });

  it('uses nothing of a deal the API does not have, and says so; a delete is taken as it came', async () => {
    const client = fakeClient();
    const source = new AmocrmCrmSource(policy, api(client));
    const gone = await source.complete(leadEvent({ lead: { id: 13 } }));
    assert.equal(gone.lookup, 'not_found');
    assert.equal(gone.deal.stageId, null);
    assert.equal(gone.deal.fields, null);
    assert.equal(gone.deal.identities.gaClientId, null);
    assert.equal(gone.kind, 'stage_changed');
    const deletion = leadEvent({ action: 'delete', lead: { id: 13 } });
    const rules = [
      ...policy.rules,
      rule({ name: 'Deleted', on: 'lead_deleted', send: [{ name: 'lead_gone', params: {} }] }),
    ];
    const deleted = await new AmocrmCrmSource({ ...policy, rules }, api(client)).complete(deletion);
    assert.equal(deleted.lookup, 'not_found');
    assert.equal(deleted.deal.stageId, '142');
  });

  it('keys events by the API’s account id, from a body with only the subdomain too', async () => {
    const source = new AmocrmCrmSource(policy, api(fakeClient()));
    const bySubdomain = await source.complete(leadEvent({ accountId: 'Example' }));
    assert.equal(bySubdomain.account, '29638927');
    const byId = await source.complete(leadEvent({ accountId: '29638927' }));
    assert.equal(byId.account, '29638927');
    const other = await source.complete(leadEvent({ accountId: '11111111' }));
    assert.equal(other.lookup, 'other_account');
    assert.equal(other.account, '11111111');
    assert.equal(other.deal.stageId, null);
  });

  it('skips reading what reconciliation read through the API a moment ago', async () => {
    const client = fakeClient();
    const source = new AmocrmCrmSource(policy, api(client));
    const done = await source.complete({ ...leadEvent(), lookup: 'read' });
    assert.equal(done.deal.stageId, '142');
    assert.equal(done.deal.identities.gaClientId, 'GA1.1.1234567890.1700000000');
    assert.deepEqual(client.calls, []);
  });

  it('reads the identities from the configured fields and amoCRM’s tracking fields', () => {
    const ids = readIdentities(
      [
        field('GCLIENTID', 'GA1.1.1.2'),
        field(null, '1747132561', { name: 'ga_session_id' }),
        field('_YM_UID', '17000000001234567'),
        field('YCLID', 'yc-1'),
        field('GCLID', 'gc-1'),
        field('UTM_SOURCE', 'yandex'),
        field('UTM_CAMPAIGN', 'brand'),
      ],
      policy.fields,
    );
    assert.deepEqual(ids, {
      gaClientId: 'GA1.1.1.2',
      gaSessionId: '1747132561',
      ymClientId: '17000000001234567',
      yclid: 'yc-1',
      gclid: 'gc-1',
      utm: { source: 'yandex', medium: null, campaign: 'brand', content: null, term: null },
    });
    assert.equal(readIdentities(null, policy.fields).gaClientId, null);
  });

  it('works from the webhook alone without API access, identities included', async () => {
    const source = new AmocrmCrmSource(policy, null);
    const done = await source.complete(leadEvent({ lead: { customFields: null } }));
    assert.equal(done.deal.fields, null);
    assert.equal(done.deal.identities.gaClientId, null);
    assert.equal(done.lookup, 'no_access');
    assert.equal(done.account, '29638927');
    const e: LeadEvent = amoEvent();
    assert.equal(
      (await source.complete(toDealEvent(e))).deal.identities.gaClientId,
      'GA1.1.1234567890.1700000000',
    );
  });
});
