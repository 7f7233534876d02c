/**
 * The operator's commands against a real service and store: `deliveries` shows the log, `replay`
 * sends a failed delivery again (beside the running service), and `start` refuses a bad config
 * listing every problem.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import { runCli } from '../../src/cli';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { loopbackService, testConfig } from '../helpers/builders';
import { webhookBody } from '../helpers/amocrm-webhook';
import { captureLogger } from '../helpers/capture-logger';
import { waitFor } from '../helpers/wait-for';

async function cli(args: string[], env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('CLI: deliveries and replay', function () {
  this.timeout(20_000);
  let dir: string;
  let ga4: Ga4StandIn;
  let service: RunningService;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-cli-'));
    ga4 = await startGa4StandIn();
    const log = captureLogger();
    const base = testConfig();
    service = await startService(
      loopbackService({ ...base, ga4: { ...base.ga4, endpoint: ga4.url } }, log, dir),
    );
  });
  afterEach(async () => {
    await service.close();
    await ga4.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function post(body: string): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${service.port}${service.webhookPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    assert.equal(res.status, 200);
  }

  it('lists a failed delivery and replays it beside the running service, once', async () => {
    ga4.failNext(1, 403);
    await post(webhookBody('status', [{ id: 4242 }]));
    await waitFor(async () => (await service.store.queue.listFailed('deliver', 10)).length === 1, {
      timeoutMs: 5000,
      message: 'the delivery did not fail',
    });
    const env = { CLOSELOOP_DATA_DIR: dir };

    const listed = await cli(['replay'], env);
    assert.equal(listed.code, 0);
    assert.match(listed.out, /1 failed delivery/);
    assert.match(listed.out, /amocrm deal 4242 {2}close_convert_lead, purchase/);
    assert.match(listed.out, /GA4_REJECTED/);

    const log = await cli(['deliveries', '--lead', '4242'], env);
    assert.equal(log.code, 0);
    assert.match(
      log.out,
      /amocrm deal 4242 {2}stage → 142 {2}FAILED {2}close_convert_lead, purchase {2}\[GA4_REJECTED\]/,
    );

    const replayed = await cli(['replay', '--all'], env);
    assert.equal(replayed.code, 0, replayed.err);
    assert.match(replayed.out, /Replaying 1 delivery/);
    await waitFor(() => ga4.collected().length === 1, {
      timeoutMs: 5000,
      message: 'the replay was not sent',
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(ga4.collected().length, 1);
    assert.deepEqual(await service.store.queue.listFailed('deliver', 10), []);
    assert.equal((await cli(['replay', '--all'], env)).out, 'Nothing to replay.');

    const json = await cli(['deliveries', '--lead', '4242', '--json'], env);
    const rows = json.out.split('\n').map((l) => JSON.parse(l) as { outcome: string });
    assert.deepEqual(
      rows.map((r) => r.outcome),
      ['sent', 'failed'],
    );
  });

  it('refuses unknown ids and arguments', async () => {
    const env = { CLOSELOOP_DATA_DIR: dir };
    const r = await cli(['replay', 'no-such-id'], env);
    assert.equal(r.code, 1);
    assert.match(r.err, /no failed delivery with id no-such-id/);
    const d = await cli(['deliveries', '--outcome', 'bogus'], env);
    assert.equal(d.code, 2);
    assert.match(d.err, /^closeloop deliveries: bogus is not an outcome; one of sent, dry_run,/);
    const o = await cli(['replay', '--everything'], env);
    assert.equal(o.code, 2);
    assert.match(o.err, /^closeloop replay: unknown option '--everything'/);
  });
});

describe('CLI: start with a bad config', () => {
  it('refuses to start and lists every problem with file, line, key and fix', function () {
    this.timeout(20_000);
    const file = 'test/fixtures/config/invalid/several-problems.yaml';
    const r = spawnSync(process.execPath, ['bin/closeloop.js', 'start'], {
      env: { PATH: process.env.PATH, CLOSELOOP_CONFIG: file, PORT: '0' },
      encoding: 'utf8',
      timeout: 15_000,
    });
    assert.equal(r.status, 1);
    const expected = fs.readFileSync(file.replace(/\.yaml$/, '.expected.txt'), 'utf8').trim();
    assert.equal(r.stderr.trim(), `closeloop cannot start: ${expected}`);
  });

  it('names an unknown command, suggests one, and exits 2', async () => {
    const r = await cli(['bogus'], {});
    assert.equal(r.code, 2);
    assert.equal(
      r.err,
      "closeloop: unknown command 'bogus'\nSee `closeloop --help` for the commands.",
    );
    const typo = await cli(['delivery'], {});
    assert.equal(typo.code, 2);
    assert.match(typo.err, /^closeloop: unknown command 'delivery'\n\(Did you mean deliveries\?\)/);
  });
});

describe('CLI: replay of failed lead creations', () => {
  it('lists them without the visitor’s data and puts them back on the queue', async function () {
    this.timeout(10_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-cli-leads-'));
    const { createSqliteStore } = await import('../../src/adapters/store/sqlite');
    const store = createSqliteStore({ dataDir: dir, deliveryLogMaxRows: 1000, pollIntervalMs: 20 });
    try {
      await store.queue.add('create_lead', [
        {
          id: 'lead:abc',
          payload: { form: { name: 'Анна', phone: '+79001234567' }, receivedAt: 1 },
        },
      ]);
      store.queue.process(
        'create_lead',
        () => Promise.resolve({ status: 'failed', error: 'AMOCRM_REQUEST_REJECTED: 400' }),
        {
          concurrency: 1,
        },
      );
      await waitFor(async () => (await store.queue.counts('create_lead')).failed === 1, {
        message: 'not failed',
      });
      await store.close();

      const env = { CLOSELOOP_DATA_DIR: dir };
      const listed = await cli(['replay'], env);
      assert.match(listed.out, /1 failed lead creation from site forms/);
      assert.match(listed.out, /lead:abc/);
      assert.match(listed.out, /AMOCRM_REQUEST_REJECTED: 400/);
      assert.equal(/Анна|79001234567/.test(listed.out), false, 'personal data printed');

      const replayed = await cli(['replay', 'lead:abc'], env);
      assert.equal(replayed.code, 0, replayed.err);
      assert.match(replayed.out, /Replaying 1 lead creation;/);
      const again = createSqliteStore({ dataDir: dir, deliveryLogMaxRows: 1000, lock: false });
      assert.deepEqual(await again.queue.counts('create_lead'), {
        waiting: 1,
        delayed: 0,
        active: 0,
        failed: 0,
      });
      await again.close();
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
