/**
 * A webhook that got 200 is delivered after a SIGKILL and a restart, exactly once. Real processes:
 * `closeloop start` as operators run it, the example config, the embedded store on disk.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { webhookBody } from '../helpers/amocrm-webhook';
import { waitFor } from '../helpers/wait-for';

const SECRET = 'crash-test-webhook-secret-42';

interface Child {
  proc: ChildProcess;
  port: number;
  output: () => string;
}

async function startCloseloop(dataDir: string, ga4Endpoint: string): Promise<Child> {
  const proc = spawn(process.execPath, [path.resolve('bin/closeloop.js'), 'start'], {
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      CLOSELOOP_CONFIG: path.resolve('config/closeloop.example.yaml'),
      CLOSELOOP_DATA_DIR: dataDir,
      CLOSELOOP_WEBHOOK_SECRET: SECRET,
      GA4_MEASUREMENT_ID: 'G-CRASHTEST',
      GA4_API_SECRET: 'crash-test-api-secret',
      GA4_ENDPOINT: ga4Endpoint,
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  let port = 0;
  await waitFor(
    () => {
      const m =
        /"message":"closeloop started"[^\n]*"port":(\d+)|"port":(\d+)[^\n]*"message":"closeloop started"/.exec(
          out,
        );
      if (m) port = Number(m[1] ?? m[2]);
      if (proc.exitCode !== null) throw new Error(`closeloop exited early:\n${out}`);
      return port > 0;
    },
    { timeoutMs: 15_000, message: 'closeloop did not start' },
  );
  return { proc, port, output: () => out };
}

function kill9(child: Child): Promise<void> {
  return new Promise((resolve) => {
    child.proc.once('exit', () => resolve());
    child.proc.kill('SIGKILL');
  });
}

describe('crash recovery (real processes, SIGKILL)', function () {
  this.timeout(60_000);
  let dir: string;
  let ga4: Ga4StandIn;
  const children: Child[] = [];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-crash-'));
    ga4 = await startGa4StandIn();
  });
  afterEach(async () => {
    for (const c of children.splice(0))
      if (c.proc.exitCode === null && c.proc.signalCode === null) await kill9(c);
    await ga4.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('delivers acknowledged webhooks exactly once after SIGKILL and restart', async () => {
    // First life: GA4 unreachable (a closed port), so nothing acknowledged can be delivered yet.
    const first = await startCloseloop(dir, 'http://127.0.0.1:9');
    children.push(first);
    const leads = Array.from({ length: 20 }, (_, i) => ({ id: 7000 + i }));
    for (let i = 0; i < leads.length; i += 5) {
      const res = await fetch(`http://127.0.0.1:${first.port}/webhooks/amocrm/${SECRET}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: webhookBody('status', leads.slice(i, i + 5)),
      });
      assert.equal(res.status, 200);
    }
    // a repeat of the first webhook, acknowledged too
    await fetch(`http://127.0.0.1:${first.port}/webhooks/amocrm/${SECRET}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: webhookBody('status', leads.slice(0, 5)),
    });
    await new Promise((r) => setTimeout(r, 300));
    await kill9(first);
    assert.equal(ga4.attempts().length, 0);

    // Second life: GA4 is back.
    const second = await startCloseloop(dir, ga4.url);
    children.push(second);
    await waitFor(() => ga4.collected().length >= leads.length, {
      timeoutMs: 30_000,
      message: `delivered ${ga4.collected().length} of ${leads.length}`,
    });
    await new Promise((r) => setTimeout(r, 1000)); // anything extra would arrive now
    const purchases = ga4
      .collected()
      .flatMap(
        (r) =>
          (r.json as { events: Array<{ name: string; params: { transaction_id?: string } }> })
            .events,
      )
      .filter((e) => e.name === 'purchase')
      .map((e) => e.params.transaction_id)
      .sort();
    assert.deepEqual(purchases, leads.map((l) => String(l.id)).sort());
    assert.equal(ga4.collected().length, leads.length);
    assert.equal(second.output().includes('crash-test-api-secret'), false);

    // and SIGTERM stops it cleanly
    const code = await new Promise<number | null>((resolve) => {
      second.proc.once('exit', (c) => resolve(c));
      second.proc.kill('SIGTERM');
    });
    assert.equal(code, 0);
  });
});
