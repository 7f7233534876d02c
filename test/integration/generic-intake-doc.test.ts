/**
 * docs/generic-intake.md, as a sender's developer follows it: each recipe's mapping YAML, exactly
 * as the doc prints it, put in the example config in place of its `generic:` section and started
 * on loopback; each documented sample posted to the recipe's URL; the conversions the doc promises
 * checked at the GA4 stand-in. The signing code of the doc is run as it is (shell, Node.js, Python;
 * PHP where it is installed) against the service, and its fields table is the schema's. A doc that
 * drifts from the code fails here.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { startService, type RunningService } from '../../src/main';
import { parseConfig } from '../../src/config/load-config';
import { DEAL_EVENT_SCHEMA } from '../../src/adapters/crm/generic/deal-event-schema';
import { loopbackService } from '../helpers/builders';
import { captureLogger } from '../helpers/capture-logger';
import { waitForDrained } from '../helpers/wait-for-drained';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { skipBecause } from '../helpers/skip-because';

const run = promisify(execFile);
const DOC = fs.readFileSync('docs/generic-intake.md', 'utf8');
const EXAMPLE_CONFIG = fs.readFileSync('config/closeloop.example.yaml', 'utf8');
/** The example config's own `generic:` section, which a recipe's block replaces. */
const EXAMPLE_GENERIC = 'generic:\n  secret: ${CLOSELOOP_INTAKE_SECRET:-}\n';

const WEBHOOK_SECRET = 'doc-webhook-secret-0123456789';
const INTAKE_SECRET = 'doc-intake-key-0123456789abcdef';

interface Block {
  lang: string;
  text: string;
}

/** The fenced blocks under the heading with this title (up to the next heading of any level). */
function blocksUnder(title: string): Block[] {
  const start = DOC.search(new RegExp(`^#{2,3} ${title}$`, 'm'));
  assert.ok(start >= 0, `docs/generic-intake.md has no section "${title}"`);
  const rest = DOC.slice(start).replace(/^#.*\n/, '');
  const end = rest.search(/^#{2,3} /m);
  const section = end === -1 ? rest : rest.slice(0, end);
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1] ?? '',
    text: m[2] ?? '',
  }));
}

function block(title: string, lang: string, index = 0): string {
  const found = blocksUnder(title).filter((b) => b.lang === lang)[index];
  assert.ok(found, `no ${lang} block #${index} under "${title}"`);
  return found.text;
}

interface Ga4Body {
  client_id: string;
  events: Array<{ name: string; params: Record<string, unknown> }>;
}

function sign(body: string): string {
  return `sha256=${createHmac('sha256', INTAKE_SECRET).update(body).digest('hex')}`;
}

describe('docs/generic-intake.md, recipe by recipe', function () {
  this.timeout(30_000);
  let dir: string;
  let ga4: Ga4StandIn;
  let service: RunningService | null;

  /** The example config with the recipe's `generic:` block in place of its own. */
  async function start(genericBlock: string = EXAMPLE_GENERIC): Promise<void> {
    assert.ok(EXAMPLE_CONFIG.includes(EXAMPLE_GENERIC), 'the example config’s generic section');
    const config = parseConfig(
      EXAMPLE_CONFIG.replace(EXAMPLE_GENERIC, genericBlock),
      'config/closeloop.example.yaml',
      {
        CLOSELOOP_WEBHOOK_SECRET: WEBHOOK_SECRET,
        CLOSELOOP_INTAKE_SECRET: INTAKE_SECRET,
        GA4_MEASUREMENT_ID: 'G-DOCTEST1',
        GA4_API_SECRET: 'doc-api-secret',
        GA4_ENDPOINT: ga4.url,
      },
    );
    service = await startService(loopbackService(config, captureLogger(), dir));
  }

  function url(subpath = ''): string {
    return `http://127.0.0.1:${service!.port}/webhooks/generic/${WEBHOOK_SECRET}${subpath}`;
  }

  async function post(
    subpath: string,
    body: string,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ): Promise<void> {
    const res = await fetch(url(subpath), { method: 'POST', headers, body });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    await waitForDrained(service!.store.queue);
  }

  function sent(): Ga4Body[] {
    return ga4.collected().map((r) => r.json as Ga4Body);
  }

  /** The one mapping a recipe's YAML block defines, by name, with the block itself. */
  function recipe(title: string): { yaml: string; name: string; lostStages: string[] } {
    const yaml = block(title, 'yaml');
    const parsed = parseYaml(yaml) as {
      generic: { mappings: Record<string, { outcomes?: Record<string, string> }> };
    };
    const names = Object.keys(parsed.generic.mappings);
    assert.equal(names.length, 1, 'one mapping per recipe');
    const outcomes = parsed.generic.mappings[names[0]!]?.outcomes ?? {};
    return {
      yaml,
      name: names[0]!,
      lostStages: Object.keys(outcomes).filter((k) => outcomes[k] === 'lost'),
    };
  }

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-generic-doc-'));
    ga4 = await startGa4StandIn();
    service = null;
  });
  afterEach(async () => {
    await service?.close();
    await ga4.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the endpoint’s example, signed: close_convert_lead + purchase of 2,500 RUB, A-77', async () => {
    await start();
    const body = block('The endpoint', 'json').trim();
    await post('', body, {
      'content-type': 'application/json',
      'x-closeloop-signature': sign(body),
    });
    const [only, ...more] = sent();
    assert.deepEqual(more, []);
    assert.equal(only?.client_id, '111.222');
    assert.deepEqual(
      only?.events.map((e) => e.name),
      ['close_convert_lead', 'purchase'],
    );
    const purchase = only?.events[1]?.params;
    assert.equal(purchase?.value, 2500);
    assert.equal(purchase?.currency, 'RUB');
    assert.equal(purchase?.transaction_id, 'A-77');
  });

  it('1C: the documented body, signed, needs no mapping', async () => {
    await start();
    const body = block('1C: an HTTP service call', 'json');
    assert.match(body, /^\t"account"/m, 'as ЗаписатьJSON writes it, with tabs');
    await post('', body, {
      'content-type': 'application/json',
      'x-closeloop-signature': sign(body),
    });
    const [only, ...more] = sent();
    assert.deepEqual(more, []);
    assert.equal(only?.client_id, '111.222');
    const purchase = only?.events.find((e) => e.name === 'purchase')?.params;
    assert.equal(purchase?.transaction_id, 'ЗК-000123');
    assert.equal(purchase?.value, 2500);
  });

  it('RetailCRM: the trigger’s order, unsigned, through the documented mapping', async () => {
    const { yaml, name, lostStages } = recipe('RetailCRM: a trigger that sends an HTTP request');
    assert.equal(name, 'retailcrm');
    await start(yaml);
    const sample = block('RetailCRM: a trigger that sends an HTTP request', 'json');
    await post(`/${name}`, sample);
    const [won, ...more] = sent();
    assert.deepEqual(more, []);
    assert.equal(won?.client_id, '111.222');
    assert.deepEqual(
      won?.events.map((e) => [e.name, e.params.value, e.params.currency, e.params.transaction_id]),
      [
        ['close_convert_lead', 2500, 'RUB', undefined],
        ['purchase', 2500, 'RUB', '5012'],
      ],
    );
    const rows = await service!.store.deliveryLog.list({ dealId: '5012' });
    assert.deepEqual(
      rows.map((r) => [r.source, r.crmAccount, r.stageId, r.outcome]),
      [['generic', 'shop', 'complete', 'sent']],
    );

    // The same order shape reaching a status the mapping calls lost.
    assert.deepEqual(lostStages, ['cancel-other']);
    const order = JSON.parse(sample) as { order: { id: number; status: string } };
    order.order.id = 5013;
    order.order.status = lostStages[0]!;
    await post(`/${name}`, JSON.stringify(order));
    assert.deepEqual(
      sent()[1]?.events.map((e) => e.name),
      ['close_unconvert_lead'],
    );
  });

  it('Roistat: the call webhook’s JSON becomes one generate_lead, sent once, without the phone', async () => {
    const { yaml, name } = recipe('Roistat');
    assert.equal(name, 'roistat');
    await start(yaml);
    const sample = block('Roistat', 'json');
    await post(`/${name}`, sample);
    await post(`/${name}`, sample); // the webhook after the call: the same call
    const [lead, ...more] = sent();
    assert.deepEqual(more, [], 'sent once');
    assert.equal(lead?.client_id, '111.222');
    assert.deepEqual(
      lead?.events.map((e) => e.name),
      ['generate_lead'],
    );
    assert.equal(lead?.events[0]?.params.lead_source, 'generic');
    for (const r of ga4.collected()) assert.equal(r.rawBody.includes('79001234567'), false);
    const rows = await service!.store.deliveryLog.list({ dealId: '48213' });
    assert.deepEqual(rows.map((r) => r.outcome).sort(), ['duplicate', 'sent']);
  });

  it('Calltouch: the form-encoded webhook becomes one generate_lead, with the Metrica ClientID kept', async () => {
    const { yaml, name } = recipe('Calltouch');
    assert.equal(name, 'calltouch');
    await start(yaml);
    const sample = block('Calltouch', 'text').trim();
    await post(`/${name}`, sample, { 'content-type': 'application/x-www-form-urlencoded' });
    const [lead, ...more] = sent();
    assert.deepEqual(more, []);
    assert.equal(lead?.client_id, '111.222');
    assert.deepEqual(
      lead?.events.map((e) => e.name),
      ['generate_lead'],
    );
    for (const r of ga4.collected()) assert.equal(r.rawBody.includes('79001234567'), false);
    const [row] = await service!.store.deliveryLog.list({ dealId: '93117' });
    assert.equal(row?.crmAccount, 'calltouch');
    assert.equal(row?.kind, 'created');
  });

  it('gives an HMAC self-test vector that is right', () => {
    const vector = /the key `key` and the message\s+`([^`]+)` give\s+`([0-9a-f]{64})`/.exec(DOC);
    assert.ok(vector, 'the self-test vector is in the doc');
    assert.equal(createHmac('sha256', 'key').update(vector[1]!).digest('hex'), vector[2]);
  });

  describe('the signing code, run as the doc prints it', () => {
    let env: NodeJS.ProcessEnv;
    let cwd: string;

    beforeEach(async () => {
      await start();
      cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-signing-'));
      fs.writeFileSync(path.join(cwd, 'event.json'), block('The endpoint', 'json'));
      env = {
        ...process.env,
        CLOSELOOP_URL: url(),
        CLOSELOOP_INTAKE_SECRET: INTAKE_SECRET,
      };
    });
    afterEach(() => fs.rmSync(cwd, { recursive: true, force: true }));

    /** Runs a program with the doc's code, and checks what it printed and what GA4 got. */
    async function runs(file: string, args: string[]): Promise<void> {
      const { stdout } = await run(file, args, { env, cwd, timeout: 20_000 });
      assert.match(stdout, /\{"ok":true,"stored":1\}/);
      await waitForDrained(service!.store.queue);
      const purchases = sent().flatMap((b) => b.events.filter((e) => e.name === 'purchase'));
      assert.deepEqual(
        purchases.map((e) => e.params.transaction_id),
        ['A-77'],
      );
    }

    async function has(program: string, ctx: Mocha.Context): Promise<void> {
      try {
        await run('sh', ['-c', `command -v ${program}`], { env });
      } catch {
        skipBecause(ctx, `${program} is not installed`);
      }
    }

    it('shell: openssl and curl', async function () {
      await has('openssl', this);
      await has('curl', this);
      await runs('sh', ['-c', block('Signing', 'sh')]);
    });

    it('Node.js', async () => {
      await runs(process.execPath, ['-e', block('Signing', 'js')]);
    });

    it('Python', async function () {
      await has('python3', this);
      await runs('python3', ['-c', block('Signing', 'python')]);
    });

    it('PHP', async function () {
      await has('php', this);
      const file = path.join(cwd, 'send.php');
      fs.writeFileSync(file, block('Signing', 'php'));
      await runs('php', [file]);
    });
  });

  it('lists every field of the schema in its fields table, and no other', () => {
    const table = DOC.slice(DOC.indexOf('## The fields'), DOC.indexOf('## Responses'));
    const documented = [...table.matchAll(/^\| (`[^|]+`) \|/gm)].flatMap((m) =>
      [...(m[1] ?? '').matchAll(/`([^`]+)`/g)].map((x) => x[1]!),
    );
    const props = DEAL_EVENT_SCHEMA.properties;
    const expected = Object.entries(props).flatMap(([key, value]) =>
      key !== 'fields' && 'properties' in value
        ? Object.keys(value.properties).map((k) => `${key}.${k}`)
        : [key],
    );
    assert.deepEqual([...documented].sort(), [...expected].sort());
  });
});
