/** Completing leads from the API: when, how look-ups are batched, and what the merge keeps. */
import assert from 'node:assert/strict';
import { LeadBatcher, MAX_IDS_PER_CALL } from '../../src/adapters/crm/amocrm/lead-batcher';
import {
  AmocrmApiCrmSource,
  completionReason,
  mergeApiLead,
} from '../../src/adapters/crm/amocrm/amocrm-api-crm-source';
import type { LeadSnapshot } from '../../src/core/lead';
import { RetryableError } from '../../src/core/errors';
import { DEFAULT_RULES, field, leadEvent } from '../helpers/builders';

const policy = { rules: DEFAULT_RULES, clientIdField: { code: 'GCLIENTID' } };

function apiLead(id: number, over: Partial<LeadSnapshot> = {}): LeadSnapshot {
  return {
    id,
    statusId: 143,
    pipelineId: 999,
    price: 90000,
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
  });

  it('keeps what happened (status, pipeline) and takes what the lead holds from the API', () => {
    const merged = mergeApiLead(
      leadEvent({ lead: { customFields: null, price: null } }),
      apiLead(30307415),
    );
    assert.equal(merged.lead.statusId, 142);
    assert.equal(merged.lead.pipelineId, 4542166);
    assert.equal(merged.lead.price, 90000);
    assert.deepEqual(merged.lead.tags, ['api']);
    assert.equal(merged.oldStatusId, 41893093);
    const dp = mergeApiLead(leadEvent({ lead: { statusId: null, pipelineId: null } }), apiLead(1));
    assert.equal(dp.lead.statusId, 143);
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

  it('completes a field-less Digital Pipeline event and leaves a complete one alone', async () => {
    const client = fakeClient();
    const source = new AmocrmApiCrmSource(new LeadBatcher(client, 5), policy);
    const done = await source.completeLead(
      leadEvent({ lead: { id: 77, customFields: null, price: null } }),
    );
    assert.equal(done.lead.price, 90000);
    assert.equal(done.lead.customFields?.[0]?.values[0]?.value, 'GA1.1.77.1700000000');
    const untouched = leadEvent();
    assert.equal(await source.completeLead(untouched), untouched);
    const gone = leadEvent({ lead: { id: 13, customFields: null } });
    assert.equal(await source.completeLead(gone), gone);
    assert.deepEqual(client.calls, [[77], [13]]);
  });
});
