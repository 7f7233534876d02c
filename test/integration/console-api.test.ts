/**
 * The console's server side over real HTTP (the service on loopback, the real store: SQLite, and
 * Redis when REDIS_URL is set; a GA4 stand-in): log-in, sessions and CSRF, the API token, the
 * deliveries API's filters, paging and CSV, a deal's trace, the overview's numbers against the
 * log, replay through the ledger, send-test and setup without a secret.
 */
import assert from 'node:assert/strict';
import type { RunningService } from '../../src/main';
import type { Overview } from '../../src/console/api-overview';
import type { Ga4StandIn } from '../helpers/ga4-stand-in';
import { webhookBody } from '../helpers/amocrm-webhook';
import { waitForDrained } from '../helpers/wait-for-drained';
import { describeOnEachStore } from '../helpers/redis-test-prefix';
import { startConsoleService, type ConsoleService } from '../helpers/console-service';

export const PASSWORD = 'correct horse battery staple';
export const API_TOKEN = 'tok_7f3a9c2e5b8d1f4a6c0e9b2d';

describeOnEachStore('console API', (storeName, redisUrl) => {
  describe(`console API (${storeName})`, function () {
    this.timeout(30_000);
    let running: ConsoleService | undefined;
    let ga4: Ga4StandIn;
    let service: RunningService;
    let base: string;
    let post: (body: string) => Promise<void>;

    beforeEach(async () => {
      running = await startConsoleService({
        redisUrl,
        name: 'console',
        password: PASSWORD,
        apiToken: API_TOKEN,
      });
      ({ ga4, service, base, postWebhook: post } = running);
    });
    afterEach(async () => {
      await running?.close();
      running = undefined;
    });

    async function login(
      password = PASSWORD,
      headers: Record<string, string> = {},
    ): Promise<Response> {
      return fetch(`${base}/console/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ password }).toString(),
        redirect: 'manual',
      });
    }

    /** A logged-in session: its cookie and the CSRF token its pages carry. */
    async function session(): Promise<{ cookie: string; csrf: string }> {
      const res = await login();
      assert.equal(res.status, 303);
      const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
      const page = await (await fetch(`${base}/console`, { headers: { cookie } })).text();
      const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(page)![1]!;
      return { cookie, csrf };
    }

    async function api(
      p: string,
      s: { cookie: string; csrf?: string } | { bearer: string },
      body?: unknown,
    ): Promise<Response> {
      const headers: Record<string, string> =
        'bearer' in s
          ? { authorization: `Bearer ${s.bearer}` }
          : { cookie: s.cookie, ...(s.csrf ? { 'x-csrf-token': s.csrf } : {}) };
      return fetch(`${base}${p}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    }

    it('answers 401 without a session, sends pages to the log-in, refuses a wrong password', async () => {
      const res = await fetch(`${base}/api/v1/deliveries`);
      assert.equal(res.status, 401);
      assert.equal(
        ((await res.json()) as { error: { code: string } }).error.code,
        'CONSOLE_UNAUTHORIZED',
      );
      for (const page of [
        '/console',
        '/console/deliveries',
        '/console/deals/4711',
        '/console/setup',
      ]) {
        const r = await fetch(`${base}${page}`, { redirect: 'manual' });
        assert.equal(r.status, 303, page);
        assert.equal(r.headers.get('location'), '/console/login');
      }
      const wrong = await login('not the password at all');
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers.get('set-cookie'), null);
      assert.match(await wrong.text(), /<form/);
      // A forged cookie is no session.
      const forged = await api('/api/v1/deliveries', {
        cookie:
          'closeloop_console=v1.99999999999999.AAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      });
      assert.equal(forged.status, 401);
    });

    it('sets an HttpOnly, SameSite=Strict cookie, Secure when a trusted proxy says https', async () => {
      const plain = (await login()).headers.get('set-cookie')!;
      assert.match(plain, /HttpOnly/);
      assert.match(plain, /SameSite=Strict/);
      assert.doesNotMatch(plain, /Secure/);
      // The test talks over loopback, the default trusted proxy.
      const proxied = (await login(PASSWORD, { 'x-forwarded-proto': 'https' })).headers.get(
        'set-cookie',
      )!;
      assert.match(proxied, /; Secure/);
    });

    it('refuses an action without its CSRF token (403), takes it with one or with the API token', async () => {
      const s = await session();
      assert.equal((await api('/api/v1/deliveries', { cookie: s.cookie })).status, 200);
      const refused = await api('/api/v1/replay', { cookie: s.cookie }, { id: 1 });
      assert.equal(refused.status, 403);
      assert.equal(
        ((await refused.json()) as { error: { code: string } }).error.code,
        'CONSOLE_CSRF_REFUSED',
      );
      assert.equal(
        (await api('/api/v1/replay', { cookie: s.cookie, csrf: 'x'.repeat(43) }, { id: 1 })).status,
        403,
      );
      const taken = await api('/api/v1/replay', s, { id: 1 });
      assert.equal(taken.status, 200);
      assert.deepEqual(((await taken.json()) as { replayed: number }).replayed, 0);
      assert.equal((await api('/api/v1/replay', { bearer: API_TOKEN }, { id: 1 })).status, 200);
      assert.equal(
        (await api('/api/v1/deliveries', { bearer: 'wrong-token-wrong-token-wrong' })).status,
        401,
      );
    });

    it('limits log-ins per address: the eleventh in 15 minutes is 429', async () => {
      for (let i = 0; i < 10; i++) assert.equal((await login('wrong password ' + i)).status, 401);
      const limited = await login();
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
    });

    it('filters and pages the deliveries, exports CSV, and traces a skipped deal with its reason', async () => {
      await post(webhookBody('status', [{ id: 101 }, { id: 102 }, { id: 103, clientId: null }]));
      await post(webhookBody('add', [{ id: 104 }]));
      const s = { bearer: API_TOKEN };
      type Page = {
        rows: Array<{
          id: number;
          dealId: string;
          outcome: string;
          event: string;
          value: number | null;
        }>;
        nextCursor: string | null;
      };
      const all = (await (await api('/api/v1/deliveries?limit=500', s)).json()) as Page;
      assert.ok(all.rows.length >= 4);
      // Pages of 2 walk the same rows, newest first, none twice.
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const page = (await (
          await api(`/api/v1/deliveries?limit=2${cursor ? `&cursor=${cursor}` : ''}`, s)
        ).json()) as Page;
        assert.ok(page.rows.length <= 2);
        seen.push(...page.rows.map((r) => r.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      assert.deepEqual(
        seen,
        all.rows.map((r) => r.id),
      );
      const skipped = (await (
        await api('/api/v1/deliveries?outcome=skipped&deal=103', s)
      ).json()) as Page;
      assert.equal(skipped.rows.length, 1);
      const byText = (await (await api('/api/v1/deliveries?q=LEAD_NO_CLIENT', s)).json()) as Page;
      assert.deepEqual(
        byText.rows.map((r) => r.dealId),
        ['103'],
      );
      const purchases = (await (
        await api('/api/v1/deliveries?event=purchase&outcome=sent', s)
      ).json()) as Page;
      assert.deepEqual(purchases.rows.map((r) => r.dealId).sort(), ['101', '102']);
      assert.equal(purchases.rows[0]!.value, 150000);
      assert.equal((await api('/api/v1/deliveries?outcome=lost', s)).status, 400);
      const csv = await api('/api/v1/deliveries.csv?outcome=sent', s);
      assert.match(csv.headers.get('content-type')!, /text\/csv/);
      const bytes = Buffer.from(await csv.arrayBuffer());
      // A byte-order mark first, so a spreadsheet reads UTF-8.
      assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
      const lines = bytes.subarray(3).toString('utf8').trim().split('\r\n');
      assert.match(lines[0]!, /^id,at,firstAt,dealId,event/);
      assert.equal(lines.length - 1, all.rows.filter((r) => r.outcome === 'sent').length);

      const trace = (await (await api('/api/v1/deals/103', s)).json()) as {
        steps: Array<{ kind: string; title: string; detail: unknown }>;
      };
      const kinds = trace.steps.map((st) => st.kind);
      // No CRM API here: the read step says the deal was taken as the webhook had it.
      assert.deepEqual(kinds.slice(0, 4), ['webhook', 'api_read', 'identities', 'rule']);
      assert.match(trace.steps[1]!.title, /no API access/);
      const skip = trace.steps.find((st) => st.kind === 'skipped')!;
      assert.match(skip.title, /client ID/i);
      assert.match(JSON.stringify(skip.detail), /LEAD_NO_CLIENT_ID/);
      const sent = (await (await api('/api/v1/deals/101', s)).json()) as {
        steps: Array<{ kind: string; detail: unknown }>;
      };
      const payload = JSON.stringify(sent.steps.find((st) => st.kind === 'sent')!.detail);
      assert.match(payload, /"purchase"/);
      assert.doesNotMatch(payload, /test-api-secret-value/);
    });

    it('counts the overview from the log: conversions, revenue once, won vs accepted with the gap', async () => {
      await post(
        webhookBody('status', [
          { id: 201, price: 1000 },
          { id: 202, price: 2500 },
          { id: 203, clientId: null },
        ]),
      );
      const o = (await (
        await api('/api/v1/overview?days=30', { bearer: API_TOKEN })
      ).json()) as Overview;
      assert.equal(o.days.length, 30);
      const today = o.days.at(-1)!;
      const sentRows = (await service.store.deliveryLog.list({ outcome: 'sent' })).filter(
        (r) => r.firstAt >= Date.parse(today.date),
      );
      assert.equal(
        today.conversions,
        sentRows.reduce((n, r) => n + r.events.length, 0),
      );
      assert.equal(today.revenue, 3500);
      assert.equal(today.byEvent.purchase, 2);
      assert.equal(today.byDestination.ga4, today.conversions);
      assert.equal(o.currency, 'RUB');
      assert.deepEqual(o.funnel, {
        won: 3,
        accepted: 2,
        gap: {
          no_client_id: 1,
          skipped_by_rule: 0,
          expired: 0,
          failed: 0,
          uncertain: 0,
          pending: 0,
        },
      });
    });

    it('replays a failed delivery once: the ledger keeps a second replay from sending again', async () => {
      ga4.failNext(1, 400);
      await post(webhookBody('status', [{ id: 301 }]));
      const [failed] = await service.store.deliveryLog.list({ dealId: '301', outcome: 'failed' });
      assert.ok(failed, 'the delivery failed');
      const s = await session();
      const answer = (await (await api('/api/v1/replay', s, { id: failed.id })).json()) as {
        replayed: number;
      };
      assert.equal(answer.replayed, 1);
      await waitForDrained(service.store.queue);
      const again = (await (
        await api('/api/v1/replay', s, { filter: { deal: '301' } })
      ).json()) as { replayed: number; skipped: unknown[] };
      assert.equal(again.replayed, 0);
      await waitForDrained(service.store.queue);
      const purchases = ga4
        .collected()
        .flatMap((r) => (r.json as { events: Array<{ name: string }> }).events)
        .filter((e) => e.name === 'purchase');
      assert.equal(purchases.length, 1);
    });

    it('sends a test event through the validation server, and shows setup without a secret', async () => {
      const s = await session();
      const test = (await (await api('/api/v1/send-test', s, {})).json()) as {
        valid: boolean;
        messages: unknown[];
        url: string;
      };
      assert.equal(test.valid, true, JSON.stringify(test.messages));
      assert.match(
        test.url,
        /\/debug\/mp\/collect\?measurement_id=G-TEST123&api_secret=\[?REDACTED/,
      );
      const bad = (await (await api('/api/v1/send-test', s, { event: 'ga_reserved' })).json()) as {
        valid: boolean;
        messages: unknown[];
      };
      assert.equal(bad.valid, false);
      assert.ok(bad.messages.length > 0);
      const setupRes = await api('/api/v1/setup', s);
      const text = await setupRes.text();
      for (const secret of [
        'test-api-secret-value',
        'test-webhook-secret-0123456789',
        PASSWORD,
        API_TOKEN,
      ]) {
        assert.ok(!text.includes(secret), `setup shows a secret: ${secret.slice(0, 4)}…`);
      }
      const setup = JSON.parse(text) as {
        webhookUrls: Array<{ crm: string; url: string }>;
        snippetTag: string;
        problems: unknown[];
      };
      assert.deepEqual(
        setup.webhookUrls.map((w) => w.crm),
        ['amocrm'],
      );
      assert.match(setup.webhookUrls[0]!.url, /\/webhooks\/amocrm\/<webhook secret>$/);
      assert.match(
        setup.snippetTag,
        /<script src="http:\/\/127\.0\.0\.1:\d+\/snippet\.js" defer><\/script>/,
      );
      const reconcile = (await (await api('/api/v1/reconcile', s, {})).json()) as {
        started: boolean;
      };
      assert.equal(reconcile.started, false);
    });

    it('logs out: the cookie is cleared, and a log-out without the token is refused', async () => {
      const s = await session();
      const refused = await fetch(`${base}/console/logout`, {
        method: 'POST',
        headers: { cookie: s.cookie },
        redirect: 'manual',
      });
      assert.equal(refused.status, 403);
      const out = await fetch(`${base}/console/logout`, {
        method: 'POST',
        headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: `csrf_token=${encodeURIComponent(s.csrf)}`,
        redirect: 'manual',
      });
      assert.equal(out.status, 303);
      assert.match(out.headers.get('set-cookie')!, /closeloop_console=;.*Max-Age=0/);
    });
  });
});
