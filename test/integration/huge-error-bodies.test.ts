/**
 * An error answer of 50 MB (a proxy's page, a misconfigured endpoint) is read only up to 64 kB by
 * the GA4 and amoCRM clients, which then close the connection: RSS reached 627 MB when such bodies
 * were read whole. Real loopback stand-ins stream the body and count what the client took.
 */
import assert from 'node:assert/strict';
import { AmocrmClient } from '../../src/adapters/crm/amocrm/amocrm-client';
import { LongLivedTokenSource } from '../../src/adapters/crm/amocrm/long-lived-token-source';
import { buildGa4Requests } from '../../src/adapters/destinations/ga4/build-request';
import { sendGa4Request } from '../../src/adapters/destinations/ga4/ga4-client';
import { InProcessRateLimiter } from '../../src/adapters/rate-limit/in-process-rate-limiter';
import { RetryableError } from '../../src/core/errors';
import { startAmocrmStandIn, type AmocrmStandIn } from '../helpers/amocrm-stand-in';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';

const FIFTY_MB = 50 * 1024 * 1024;
/** Well above 64 kB plus what loopback socket buffers hold, far below 50 MB. */
const TAKEN_AT_MOST = 16 * 1024 * 1024;

describe('huge error bodies', function () {
  this.timeout(20_000);
  let ga4: Ga4StandIn | null = null;
  let amocrm: AmocrmStandIn | null = null;
  afterEach(async () => {
    await ga4?.close();
    await amocrm?.close();
    ga4 = null;
    amocrm = null;
  });

  it('GA4: reads 64 kB of a 50 MB error body, keeps 500 characters, and closes', async () => {
    ga4 = await startGa4StandIn();
    ga4.failNext(1, 502, { 'content-type': 'text/html' }, FIFTY_MB);
    const [request] = buildGa4Requests(
      {
        measurementId: 'G-HUGE',
        apiSecret: 'huge-body-secret',
        endpoint: ga4.url,
        timeoutMs: 10_000,
        dryRun: false,
      },
      {
        account: '1',
        dealId: '1',
        identity: { clientId: '1234567890.1700000000' },
        occurredAtMs: Date.now(),
        events: [{ name: 'close_convert_lead', params: {} }],
      },
      Date.now(),
    );
    const error = await sendGa4Request(request!, { timeoutMs: 10_000 }).then(
      () => assert.fail('a 502 must be an error'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RetryableError);
    assert.equal(error.code, 'GA4_UNAVAILABLE');
    assert.equal((error.details as { body: string }).body.length, 500);
    const taken = await ga4.attempts()[0]!.bodyBytesTaken!;
    assert.ok(taken < TAKEN_AT_MOST, `the client took ${taken} bytes of the 50 MB body`);
  });

  it('amoCRM: reads 64 kB of a 50 MB error body, keeps a snippet, and closes', async () => {
    amocrm = await startAmocrmStandIn();
    const taken = amocrm.hugeErrorNext(503, FIFTY_MB);
    const client = new AmocrmClient(
      { baseUrl: amocrm.url, requestsPerSecond: 7, timeoutMs: 10_000 },
      {
        tokens: new LongLivedTokenSource('huge-body-token'),
        limiter: new InProcessRateLimiter(7),
        accountKey: 'huge',
        logger: { warn: () => undefined, error: () => undefined },
      },
    );
    const error = await client.getLeads([1]).then(
      () => assert.fail('a 503 must be an error'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RetryableError);
    assert.equal(error.code, 'AMOCRM_UNAVAILABLE');
    assert.ok(error.message.length < 1000, `the message is ${error.message.length} characters`);
    const bytes = await taken;
    assert.ok(bytes < TAKEN_AT_MOST, `the client took ${bytes} bytes of the 50 MB body`);
  });
});
