/**
 * The service's log stays readable and small under floods, as operators run it (`closeloop start`
 * in a child process, JSON logs on stdout): wrong-secret requests by the thousand write one line,
 * a 900 kB field in a refused webhook is not echoed, and BullMQ's console warnings are JSON lines.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  startCloseloopProcess,
  terminate,
  type CloseloopProcess,
} from '../helpers/closeloop-process';
import { hasRedisServer, startPrivateRedis, type PrivateRedis } from '../helpers/private-redis';
import { skipBecause } from '../helpers/skip-because';
import { waitFor } from '../helpers/wait-for';

const SECRET = 'log-flood-webhook-secret-0123';

describe('log floods (real process)', function () {
  this.timeout(30_000);
  let dir: string;
  let child: CloseloopProcess | null = null;
  let redis: PrivateRedis | null = null;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-log-flood-'));
  });
  afterEach(async () => {
    if (child) await terminate(child);
    child = null;
    await redis?.stop();
    redis = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Every line the process printed, which must each be a JSON object. */
  function jsonLines(output: string): Array<Record<string, unknown>> {
    return output
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          assert.fail(`a line of the log is not JSON: ${l.slice(0, 300)}`);
        }
      });
  }

  it('writes one line for 2,000 wrong-secret requests, and never echoes a 900 kB field', async () => {
    child = await startCloseloopProcess({
      CLOSELOOP_DATA_DIR: dir,
      CLOSELOOP_WEBHOOK_SECRET: SECRET,
    });
    const before = child.output().length;
    const base = `http://127.0.0.1:${child.port}`;
    for (let i = 0; i < 2000; i += 100) {
      const batch = Array.from({ length: 100 }, (_, j) =>
        fetch(`${base}/webhooks/amocrm/guess-${i + j}-aaaaaaaaaaaaaaaa`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'leads[status][0][id]=1&account[id]=1',
        }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      );
      assert.deepEqual(new Set(await Promise.all(batch)), new Set([404]));
    }
    // An index of 900 kB: the parser's message names the key it refuses.
    const huge = 'A'.repeat(900_000);
    const refused = await fetch(`${base}/webhooks/amocrm/${SECRET}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `account[id]=1&leads[status][${huge}]=x`,
    });
    assert.equal(refused.status, 400);
    const answer = await refused.text();
    assert.ok(answer.length < 10_000, `the answer is ${answer.length} characters`);
    await waitFor(() => child!.output().includes('"code":"WEBHOOK_NOT_AMOCRM"'), {
      timeoutMs: 5000,
    });

    const flood = child.output().slice(before);
    const lines = jsonLines(flood);
    const notFound = lines.filter((l) => l.code === 'HTTP_NOT_FOUND');
    assert.equal(notFound.length, 1, `${notFound.length} lines for 2,000 wrong-secret requests`);
    assert.ok(flood.length < 20_000, `the flood wrote ${flood.length} characters of log`);
    const echo = lines.find((l) => l.code === 'WEBHOOK_NOT_AMOCRM');
    assert.match(String(echo?.message), /more characters cut\]$/);
  });

  it("writes BullMQ's console warnings (the eviction policy) as JSON lines", async function () {
    if (!hasRedisServer()) skipBecause(this, 'redis-server is not installed');
    // A Redis of its own: the shared test Redis must keep noeviction.
    redis = await startPrivateRedis(['--maxmemory-policy', 'allkeys-lru']);
    child = await startCloseloopProcess({
      CLOSELOOP_WEBHOOK_SECRET: SECRET,
      REDIS_URL: redis.url,
    });
    await waitFor(() => child!.output().includes('Eviction policy'), {
      timeoutMs: 10_000,
      message: () => `BullMQ's eviction warning:\n${child!.output()}`,
    });
    const lines = jsonLines(child.output());
    const warning = lines.find((l) => String(l.message).includes('Eviction policy'));
    assert.equal(warning?.level, 'warn');
    assert.equal(warning?.origin, 'console');
    assert.equal(
      warning?.message,
      'IMPORTANT! Eviction policy is allkeys-lru. It should be "noeviction"',
    );
  });
});
