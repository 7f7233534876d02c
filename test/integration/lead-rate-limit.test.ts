/**
 * The `/leads` limit per client address (lead_intake.per_ip_per_minute, 10 by default) holds for
 * the whole deployment on Redis, not per web process, and is keyed by the real client address
 * behind the trusted proxies (CLOSELOOP_TRUSTED_PROXIES; loopback by default). Real services on
 * loopback, on each store.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import type { ServiceOptions } from '../../src/service-options';
import { parseTrustedProxies, type TrustedProxies } from '../../src/http/client-address';
import { loopbackService, testConfig } from '../helpers/builders';
import { captureLogger } from '../helpers/capture-logger';
import {
  deleteRedisKeys,
  describeOnEachStore,
  uniqueRedisPrefix,
} from '../helpers/redis-test-prefix';

describeOnEachStore('lead intake: the limit per address', (storeName, redisUrl) => {
  describe(`lead intake: the limit per address (${storeName})`, function () {
    this.timeout(20_000);
    let dir: string;
    let prefix: string;
    let services: RunningService[] = [];

    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-lead-limit-'));
      prefix = uniqueRedisPrefix('lead-limit');
    });
    afterEach(async () => {
      for (const s of services) await s.close();
      services = [];
      fs.rmSync(dir, { recursive: true, force: true });
      if (redisUrl) await deleteRedisKeys(redisUrl, prefix);
    });

    async function start(extra: Partial<ServiceOptions> = {}): Promise<RunningService> {
      const base = testConfig();
      const config = { ...base, leadIntake: { ...base.leadIntake, enabled: true } };
      const service = await startService(
        loopbackService(config, captureLogger(), dir, {
          ...(redisUrl ? { redis: { url: redisUrl, prefix }, role: 'web' as const } : {}),
          ...extra,
        }),
      );
      services.push(service);
      return service;
    }

    async function post(service: RunningService, forwardedFor: string): Promise<number> {
      const res = await fetch(`http://127.0.0.1:${service.port}/leads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
        body: JSON.stringify({ phone: '89161234567' }),
      });
      await res.arrayBuffer();
      return res.status;
    }

    if (redisUrl) {
      it('counts the posts of an address across web processes', async () => {
        const a = await start();
        const b = await start();
        const statuses: number[] = [];
        for (let i = 0; i < 10; i++) statuses.push(await post(i % 2 === 0 ? a : b, '203.0.113.7'));
        assert.deepEqual(statuses, Array(10).fill(202));
        // The 11th, on either process: over the address's 10 a minute.
        assert.equal(await post(a, '203.0.113.7'), 429);
        assert.equal(await post(b, '203.0.113.7'), 429);
        assert.equal(await post(b, '198.51.100.20'), 202);
      });
    }

    it('keys by the client behind a trusted proxy, and by the peer behind any other', async () => {
      // Loopback is trusted by default: each X-Forwarded-For address has its own 10.
      const behindLocalProxy = await start();
      for (let i = 0; i < 12; i++) {
        assert.equal(await post(behindLocalProxy, `203.0.113.${i}`), 202);
      }
      await behindLocalProxy.close();
      services = [];
      // Trusting only 192.0.2.1: the loopback peer's header is not believed, all share its 10.
      const elsewhere = await start({
        trustedProxies: parseTrustedProxies(['192.0.2.1']) as TrustedProxies,
      });
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) statuses.push(await post(elsewhere, `198.51.100.${i}`));
      assert.deepEqual(statuses, [...Array<number>(10).fill(202), 429]);
    });
  });
});
