/** Which identity the GA4 destination sends with, or why a deal cannot reach GA4. */
import assert from 'node:assert/strict';
import { Ga4Destination } from '../../src/adapters/destinations/ga4';
import { NO_IDENTITIES } from '../../src/core/deal';
import { testConfig } from '../helpers/builders';

describe('Ga4Destination.identify', () => {
  const ga4 = new Ga4Destination(testConfig().ga4);
  const known = { fieldsKnown: true };

  it('normalises the client ID from cookie form and reads the session ID (GS2)', () => {
    assert.deepEqual(
      ga4.identify(
        {
          ...NO_IDENTITIES,
          gaClientId: 'GA1.2.987654321.1690000000',
          gaSessionId: 'GS2.1.s1747132561$o1$g0$t1747132655',
        },
        known,
      ),
      { identity: { clientId: '987654321.1690000000', sessionId: '1747132561' } },
    );
  });

  it('sends without a session ID when the deal has none, never inventing one', () => {
    assert.deepEqual(ga4.identify({ ...NO_IDENTITIES, gaClientId: '1.2' }, known), {
      identity: { clientId: '1.2' },
    });
  });

  it('skips a client-ID field that holds something else, saying what it holds', () => {
    assert.deepEqual(ga4.identify({ ...NO_IDENTITIES, gaClientId: 'not-a-client-id' }, known), {
      skip: {
        code: 'LEAD_CLIENT_ID_INVALID',
        reason: 'the client-ID field holds "not-a-client-id", which is not a GA client ID',
      },
    });
  });

  it('skips a deal without a client ID, and says whether its fields were ever read', () => {
    const none = ga4.identify(NO_IDENTITIES, known);
    assert.ok('skip' in none && none.skip.code === 'LEAD_NO_CLIENT_ID');
    assert.match('skip' in none ? none.skip.reason : '', /is the form snippet on the site/);
    const unread = ga4.identify(NO_IDENTITIES, { fieldsKnown: false });
    assert.match('skip' in unread ? unread.skip.reason : '', /the CRM sent no deal fields/);
  });

  it('has its id and says why it runs dry', () => {
    assert.equal(ga4.id, 'ga4');
    assert.equal(new Ga4Destination(testConfig().ga4, { id: 'shop/ga4' }).id, 'shop/ga4');
    assert.equal(ga4.dryRunReason, null);
    const dry = new Ga4Destination({ ...testConfig().ga4, apiSecret: null });
    assert.equal(dry.dryRun, true);
    assert.equal(dry.dryRunReason, 'GA4 credentials are not set');
  });
});
