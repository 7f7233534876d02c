/**
 * CLOSELOOP_ROLE with real processes: `web` and `worker` need Redis and say so; a web process only
 * takes webhooks (its jobs wait for a worker), a worker only processes them and, without PORT,
 * serves no HTTP at all.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createRedisStore } from '../../src/adapters/store/redis';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { webhookBody } from '../helpers/amocrm-webhook';
import { waitFor } from '../helpers/wait-for';
import {
  kill9,
  postWebhook,
  startCloseloopProcess,
  terminate,
  type CloseloopProcess,
} from '../helpers/closeloop-process';
import {
  deleteRedisKeys,
  REDIS_URL,
  uniqueRedisPrefix,
  itNeedsRedis,
} from '../helpers/redis-test-prefix';

const SECRET = 'roles-webhook-secret-0123456';

describe('CLOSELOOP_ROLE', function () {
  this.timeout(30_000);

  for (const role of ['web', 'worker']) {
    it(`refuses to start as ${role} without REDIS_URL, saying how to fix it`, () => {
      const r = spawnSync(process.execPath, [path.resolve('bin/closeloop.js'), 'start'], {
        env: {
          PATH: process.env.PATH,
          CLOSELOOP_ROLE: role,
          CLOSELOOP_CONFIG: path.resolve('config/closeloop.example.yaml'),
        },
        encoding: 'utf8',
        timeout: 15_000,
      });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`CLOSELOOP_ROLE=${role} needs REDIS_URL.*Fix: set REDIS_URL`),
      );
    });
  }

  it('a command says so when Redis cannot be reached', () => {
    const r = spawnSync(process.execPath, [path.resolve('bin/closeloop.js'), 'deliveries'], {
      env: { PATH: process.env.PATH, REDIS_URL: 'redis://:hunter22@127.0.0.1:9/0' },
      encoding: 'utf8',
      timeout: 15_000,
    });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /closeloop deliveries: cannot reach Redis at redis:\/\/127\.0\.0\.1:9\/0/,
    );
    assert.equal(r.stderr.includes('hunter22'), false, 'the password must not be printed');
  });

  it('refuses a role it does not know', () => {
    const r = spawnSync(process.execPath, [path.resolve('bin/closeloop.js'), 'start'], {
      env: {
        PATH: process.env.PATH,
        CLOSELOOP_ROLE: 'workers',
        CLOSELOOP_CONFIG: path.resolve('config/closeloop.example.yaml'),
      },
      encoding: 'utf8',
      timeout: 15_000,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /CLOSELOOP_ROLE="workers" is not a role.*web.*worker.*all/);
  });

  describe('on Redis', () => {
    let ga4: Ga4StandIn;
    let prefix: string;
    const children: CloseloopProcess[] = [];

    if (!REDIS_URL) {
      itNeedsRedis();
      return;
    }
    const redisUrl = REDIS_URL;

    beforeEach(async () => {
      ga4 = await startGa4StandIn();
      prefix = uniqueRedisPrefix('roles');
    });
    afterEach(async () => {
      for (const c of children.splice(0)) await kill9(c);
      await ga4.close();
      await deleteRedisKeys(redisUrl, prefix);
    });

    it('a web process only takes webhooks; a worker without PORT only processes them', async () => {
      const env = {
        REDIS_URL: redisUrl,
        CLOSELOOP_REDIS_PREFIX: prefix,
        CLOSELOOP_WEBHOOK_SECRET: SECRET,
        GA4_MEASUREMENT_ID: 'G-ROLES',
        GA4_API_SECRET: 'roles-api-secret',
        GA4_ENDPOINT: ga4.url,
      };
      const web = await startCloseloopProcess({ ...env, CLOSELOOP_ROLE: 'web' });
      children.push(web);
      assert.equal(await postWebhook(web.port, SECRET, webhookBody('status', [{ id: 61 }])), 200);
      const health = (await (await fetch(`http://127.0.0.1:${web.port}/healthz`)).json()) as {
        role: string;
        store: string;
      };
      assert.deepEqual([health.role, health.store], ['web', 'redis']);

      const store = await createRedisStore({ url: redisUrl, prefix, deliveryLogMaxRows: 100 });
      try {
        await new Promise((r) => setTimeout(r, 300)); // a web process that processed would now
        assert.equal((await store.queue.counts('inbound')).waiting, 1);
        assert.equal(ga4.attempts().length, 0);

        const worker = await startCloseloopProcess({
          ...env,
          CLOSELOOP_ROLE: 'worker',
          PORT: undefined,
        });
        children.push(worker);
        assert.equal(worker.port, 0, 'a worker without PORT serves no HTTP');
        await waitFor(() => ga4.collected().length === 1, {
          timeoutMs: 10_000,
          message: 'the worker to deliver the web process’s job',
        });
        await waitFor(
          async () =>
            (await store.deliveryLog.list({ dealId: '61' })).map((r) => r.outcome).join() ===
            'sent',
          { message: 'the delivery log to say sent' },
        );
        assert.equal(await terminate(worker), 0);
        assert.equal(await terminate(web), 0);

        // Commands read the same store when REDIS_URL is set, from any machine.
        const listed = spawnSync(
          process.execPath,
          [path.resolve('bin/closeloop.js'), 'deliveries', '--json'],
          {
            env: { PATH: process.env.PATH, REDIS_URL: redisUrl, CLOSELOOP_REDIS_PREFIX: prefix },
            encoding: 'utf8',
            timeout: 15_000,
          },
        );
        assert.equal(listed.status, 0, listed.stderr);
        assert.match(listed.stdout, /"dealId":"61"/);
        assert.match(listed.stdout, /"outcome":"sent"/);
      } finally {
        await store.close();
      }
    });
  });
});
