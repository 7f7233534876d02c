/**
 * docs/try-it.md, as a new user follows it: the example config, the doc's webhook secret, its
 * curl body posted to a real service on loopback, and the answer, delivery-log lines and payload
 * the doc shows. Its "things to try next" hold too. A doc that drifts from the code fails here.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import { loadConfig } from '../../src/config/load-config';
import { runCli } from '../../src/cli';
import { loopbackService } from '../helpers/builders';
import { captureLogger } from '../helpers/capture-logger';
import { waitForDrained } from '../helpers/wait-for-drained';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';

const DOC = fs.readFileSync('docs/try-it.md', 'utf8');

/** The fenced blocks of the doc, in order, with their language. */
function blocks(): { lang: string; text: string }[] {
  return [...DOC.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1] ?? '',
    text: m[2] ?? '',
  }));
}

function block(find: (b: { lang: string; text: string }) => boolean): string {
  const found = blocks().find(find);
  assert.ok(found, 'the block is missing from docs/try-it.md');
  return found.text;
}

const SECRET = /CLOSELOOP_WEBHOOK_SECRET=(\S+) npm start/.exec(DOC)?.[1] ?? '';
const CURL = block((b) => b.lang === 'sh' && b.text.includes('curl'));
/** The curl's fields, as curl's --data-urlencode sends them (the name as written, the value encoded). */
const FIELDS = [...CURL.matchAll(/--data-urlencode '([^']*)'/g)].map((m) => {
  const text = m[1] ?? '';
  const eq = text.indexOf('=');
  return [text.slice(0, eq), text.slice(eq + 1)] as const;
});
const body = (fields: ReadonlyArray<readonly [string, string]>): string =>
  fields.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');

describe('docs/try-it.md, followed step by step', function () {
  this.timeout(20_000);
  let dir: string;
  let service: RunningService;
  let ga4: Ga4StandIn | null = null;

  async function start(env: NodeJS.ProcessEnv): Promise<void> {
    const config = loadConfig({
      path: 'config/closeloop.example.yaml',
      env: { CLOSELOOP_WEBHOOK_SECRET: SECRET, ...env },
    });
    service = await startService(loopbackService(config, captureLogger(), dir));
  }

  async function post(fields: ReadonlyArray<readonly [string, string]>): Promise<string> {
    const port = /localhost:(\d+)\//.exec(CURL)?.[1];
    assert.equal(port, '3000', 'the doc posts to the default port');
    const url = /curl -s http:\/\/localhost:\d+(\S+)/.exec(CURL)?.[1] ?? '';
    const res = await fetch(`http://127.0.0.1:${service.port}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body(fields),
    });
    const text = await res.text();
    await waitForDrained(service.store.queue);
    return text;
  }

  async function deliveries(...args: string[]): Promise<string> {
    const out: string[] = [];
    const code = await runCli(
      ['deliveries', ...args],
      { out: (l) => out.push(l), err: (l) => out.push(l) },
      { CLOSELOOP_DATA_DIR: dir },
    );
    assert.equal(code, 0, out.join('\n'));
    return out.join('\n');
  }

  const withoutTimes = (text: string): string =>
    text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<time>').trim();

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-try-it-'));
  });
  afterEach(async () => {
    await service.close();
    await ga4?.close();
    ga4 = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers, logs and would send exactly what the doc shows', async () => {
    assert.match(SECRET, /^[A-Za-z0-9_-]{16,}$/);
    await start({});
    const answer = await post(FIELDS);
    assert.equal(answer, block((b) => b.lang === 'json' && b.text.includes('"ok"')).trim());

    const expectedLog = block((b) => b.lang === 'text' && b.text.includes('deal 4711'));
    assert.equal(withoutTimes(await deliveries()), withoutTimes(expectedLog));

    const row = JSON.parse(await deliveries('--json')) as { payload: { payload: unknown }[] };
    const shown: unknown = JSON.parse(
      block((b) => b.lang === 'json' && b.text.includes('"events"')),
    );
    assert.deepEqual(row.payload[0]?.payload, shown);
  });

  it('holds its "things to try next": no client ID, no price, a wrong secret', async () => {
    await start({});
    await post(FIELDS.filter(([k]) => !k.includes('custom_fields')));
    assert.match(
      await deliveries(),
      /SKIPPED {2}close_convert_lead, purchase {2}\[LEAD_NO_CLIENT_ID\]/,
    );

    await post(
      FIELDS.filter(([k]) => !k.endsWith('[price]')).map(
        ([k, v]) => [k, v === '4711' ? '4712' : v] as const,
      ),
    );
    const log = await deliveries('--lead', '4712');
    assert.match(log, /SKIPPED {2}purchase {2}\[RULE_VALUE_MISSING\]/);
    assert.match(log, /DRY_RUN {2}close_convert_lead\n/);

    const res = await fetch(
      `http://127.0.0.1:${service.port}/webhooks/amocrm/not-the-secret-0123456789`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: body(FIELDS),
      },
    );
    assert.equal(res.status, 404);
  });

  it('with credentials sends once, and the second post is a duplicate', async () => {
    ga4 = await startGa4StandIn();
    await start({
      GA4_MEASUREMENT_ID: 'G-TRYIT1',
      GA4_API_SECRET: 'try-it-api-secret',
      GA4_ENDPOINT: ga4.url,
    });
    await post(FIELDS);
    await post(FIELDS);
    assert.equal(ga4.collected().length, 1);
    const outcomes = [...(await deliveries()).matchAll(/ (SENT|DUPLICATE) /g)].map((m) => m[1]);
    assert.deepEqual(outcomes, ['DUPLICATE', 'SENT']);
  });
});
