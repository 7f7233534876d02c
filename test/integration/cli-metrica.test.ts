/**
 * `closeloop metrica check`, `create-goal` and `resume`: the real binary (bin/closeloop.js) in a
 * child process against the Metrica stand-in on loopback, configured by METRICA_* variables from
 * the environment or a `.env` file, and (resume) the embedded store of a data folder. The token
 * must never be printed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMetricaStandIn, type MetricaStandIn } from '../helpers/metrica-stand-in';
import { createSqliteStore } from '../../src/adapters/store/sqlite';
import { outboxEntry } from '../contract/outbox.contract';

const BIN = path.resolve('bin/closeloop.js');
const COUNTER = '24242424';
const FULL = 'y0_AgAAAAAfullTokenWithEveryScope';
const UPLOADER = 'y0_AgAAAAAuploaderTokenReadAndOffline';
const READER = 'y0_AgAAAAAreaderTokenOnlyRead';

interface Run {
  code: number;
  out: string;
  err: string;
}

describe('CLI: closeloop metrica', function () {
  this.timeout(20_000);
  let m: MetricaStandIn;
  let cwd: string;
  beforeEach(async () => {
    m = await startMetricaStandIn({
      tokens: {
        [FULL]: { scopes: ['metrika:read', 'metrika:write'] },
        [UPLOADER]: { scopes: ['metrika:read', 'metrika:offline_data'] },
        [READER]: { scopes: ['metrika:read'] },
      },
      counters: [COUNTER],
    });
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-cli-metrica-'));
  });
  afterEach(async () => {
    await m.close();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  function closeloop(args: string[], env: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        {
          cwd,
          env: { PATH: process.env.PATH, METRICA_ENDPOINT: m.url, ...env },
          encoding: 'utf8',
          timeout: 15_000,
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
          for (const token of [FULL, UPLOADER, READER]) {
            assert.equal(`${stdout}${stderr}`.includes(token), false, 'the token was printed');
          }
          resolve({ code, out: stdout, err: stderr });
        },
      );
    });
  }

  it('check: a counter without the goal is not ready, and says how to create it', async () => {
    m.addGoal(COUNTER, 'deal_won', {
      type: 'url',
      conditions: [{ type: 'contain', url: 'deal_won' }],
    });
    const r = await closeloop(['metrica', 'check'], {
      METRICA_COUNTER_ID: COUNTER,
      METRICA_TOKEN: UPLOADER,
    });
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /Goals of counter 24242424: 1/);
    assert.match(r.out, /not this one: goal \d+ names deal_won but is not a JavaScript event/);
    assert.match(r.out, /missing: no JavaScript-event goal with identifier deal_won/);
    assert.match(r.out, /closeloop metrica create-goal/);
    assert.match(r.out, /ok: the token may upload offline conversions/);
    assert.equal(m.uploads().length, 0, 'the probe uploads nothing');
    const probe = m.requests.find((q) => q.endpoint === 'upload');
    assert.equal(probe?.authorization, `OAuth ${UPLOADER}`);
  });

  it('check: in orders mode no goal is needed; the token is still checked', async () => {
    const r = await closeloop(['metrica', 'check'], {
      METRICA_COUNTER_ID: COUNTER,
      METRICA_TOKEN: UPLOADER,
      METRICA_MODE: 'orders',
    });
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /ok: METRICA_MODE=orders: deals go to Metrica as CRM orders/);
    assert.doesNotMatch(r.out, /missing:/);
    assert.match(r.out, /ok: the token may upload/);
  });

  it('check: ready when the goal exists as an exact JavaScript event; settings from .env', async () => {
    m.addGoal(COUNTER, 'deal_won');
    fs.writeFileSync(
      path.join(cwd, '.env'),
      `METRICA_COUNTER_ID=${COUNTER}\nMETRICA_TOKEN=${UPLOADER}\nMETRICA_ENDPOINT=${m.url}\n`,
    );
    const r = await closeloop(['metrica', 'check']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /ok: goal deal_won is the JavaScript-event goal \d+ \(exact\)/);
    assert.match(r.out, /Ready for offline conversions\./);
  });

  it('check: a read-only token cannot upload, and the answer names the scope', async () => {
    m.addGoal(COUNTER, 'deal_won');
    const r = await closeloop(['metrica', 'check', '--counter', COUNTER], {
      METRICA_TOKEN: READER,
    });
    assert.equal(r.code, 1);
    assert.match(r.out, /cannot upload: .*403 access_denied: "Access is denied"/);
    assert.match(r.out, /lacks the scope metrika:offline_data \(or metrika:write\)/);
  });

  it('check: an unknown token is refused with what to do; a missing setting is named', async () => {
    const bad = await closeloop(['metrica', 'check'], {
      METRICA_COUNTER_ID: COUNTER,
      METRICA_TOKEN: 'y0_revoked',
    });
    assert.equal(bad.code, 1);
    assert.match(
      bad.err,
      /403 invalid_token: "Invalid oauth_token"\. The token is missing, expired or revoked: get a new token/,
    );
    const none = await closeloop(['metrica', 'check']);
    assert.equal(none.code, 1);
    assert.match(none.err, /no counter: set METRICA_COUNTER_ID/);
    assert.match(none.err, /no token: set METRICA_TOKEN/);
    const usage = await closeloop(['metrica', 'check', '--counter', 'abc']);
    assert.equal(usage.code, 2);
  });

  it('create-goal: creates the exact JavaScript-event goal once; needs metrika:write', async () => {
    const env = { METRICA_COUNTER_ID: COUNTER, METRICA_TOKEN: FULL };
    const made = await closeloop(['metrica', 'create-goal'], env);
    assert.equal(made.code, 0, made.out + made.err);
    assert.match(
      made.out,
      /created: goal \d+ "Сделка выиграна \(closeloop\)", JavaScript event deal_won \(exact\)/,
    );
    assert.deepEqual(
      m.goals(COUNTER).map((g) => [g.type, g.conditions]),
      [['action', [{ type: 'exact', url: 'deal_won' }]]],
    );
    const again = await closeloop(['metrica', 'create-goal'], env);
    assert.match(again.out, /exists: goal deal_won/);
    assert.equal(m.goals(COUNTER).length, 1);
    const readOnly = await closeloop(['metrica', 'create-goal', '--goal', 'lead_won'], {
      METRICA_COUNTER_ID: COUNTER,
      METRICA_TOKEN: UPLOADER,
    });
    assert.equal(readOnly.code, 1);
    assert.match(readOnly.err, /lacks the scope metrika:write/);
  });

  it('reports a 503 as Metrica being unavailable, to try again later', async () => {
    m.setFault({ kind: 'status', status: 503 }, { endpoint: 'goals' });
    const r = await closeloop(['metrica', 'check'], {
      METRICA_COUNTER_ID: COUNTER,
      METRICA_TOKEN: UPLOADER,
    });
    assert.equal(r.code, 1);
    assert.match(r.err, /503 backend_error.*Try again later/);
  });
  it('resume: lifts a stopped queue shown by deliveries, queues the refused batch again once', async function () {
    this.timeout(45_000); // seven runs of the binary
    const dataDir = path.join(cwd, 'data');
    const env = { CLOSELOOP_DATA_DIR: dataDir };
    const store = createSqliteStore({ dataDir, deliveryLogMaxRows: 1000, lock: false });
    try {
      await store.outbox.add([outboxEntry(1, { trace: null }), outboxEntry(2, { trace: null })]);
      await store.outbox.cut('metrica', 'ClientId', 'closeloop-b1', 10, Date.now());
      await store.outbox.update('closeloop-b1', { state: 'rejected', attempts: 1 }, Date.now());
      const reason = 'Metrica answered 400 invalid_uploading: Metrica could not read the file';
      await store.outbox.stop({
        queue: 'metrica',
        target: COUNTER,
        reason,
        batchId: 'closeloop-b1',
        at: Date.UTC(2026, 11, 4, 10),
      });
      const listed = await closeloop(['deliveries'], env);
      assert.equal(listed.code, 0, listed.err);
      assert.match(
        listed.out,
        /STOPPED: the upload queue of metrica \(counter 24242424\) since 2026-12-04T10:00:00\.000Z: Metrica answered 400/,
      );
      assert.match(listed.out, /closeloop metrica resume --counter 24242424/);
      const other = await closeloop(['metrica', 'resume', '--counter', '11111111'], env);
      assert.equal(other.code, 0);
      assert.match(other.out, /counter 11111111 is not stopped; nothing to resume/);
      const r = await closeloop(['metrica', 'resume', '--counter', COUNTER], env);
      assert.equal(r.code, 0, r.out + r.err);
      assert.match(
        r.out,
        /resumed: counter 24242424 \(metrica\), stopped since 2026-12-04T10:00:00\.000Z/,
      );
      assert.match(r.out, /2 conversions of the refused batch are queued again/);
      assert.deepEqual(await store.outbox.stops(), []);
      assert.equal((await store.outbox.pending('metrica')).count, 2);
      const again = await closeloop(['metrica', 'resume'], env);
      assert.match(again.out, /No Metrica upload queue is stopped/);
      assert.equal((await store.outbox.pending('metrica')).count, 2, 'nothing queued twice');
      assert.doesNotMatch((await closeloop(['deliveries'], env)).out, /STOPPED/);
      assert.equal((await closeloop(['metrica', 'resume', '--counter', 'abc'], env)).code, 2);
      assert.match((await closeloop(['metrica', '--help'])).out, /resume/);
    } finally {
      await store.close();
    }
  });
});
