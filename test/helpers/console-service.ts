/**
 * The service with its console on, for the console's tests (API over HTTP, and in Chromium): the
 * test config with GA4 pointed at a GA4 stand-in, a fresh data folder, the embedded store or Redis
 * under a prefix of its own, on a loopback port. `close` stops it all and deletes what it made.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import { loopbackService, testConfig } from './builders';
import { captureLogger } from './capture-logger';
import { startGa4StandIn, type Ga4StandIn } from './ga4-stand-in';
import { deleteRedisKeys, uniqueRedisPrefix } from './redis-test-prefix';
import { waitForDrained } from './wait-for-drained';

export interface ConsoleServiceOptions {
  /** Redis to store in; the embedded store (SQLite) when undefined. */
  redisUrl: string | null | undefined;
  /** Names the Redis key prefix, so a leftover key says which test left it. */
  name: string;
  password: string;
  apiToken: string | null;
}

export interface ConsoleService {
  service: RunningService;
  ga4: Ga4StandIn;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** POSTs an amoCRM webhook body (200 expected) and waits until the queue is drained. */
  postWebhook: (body: string) => Promise<void>;
  close(): Promise<void>;
}

export async function startConsoleService(options: ConsoleServiceOptions): Promise<ConsoleService> {
  const { redisUrl } = options;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-console-'));
  const prefix = uniqueRedisPrefix(options.name);
  let ga4: Ga4StandIn | undefined;
  const cleanUp = async () => {
    await ga4?.close();
    fs.rmSync(dir, { recursive: true, force: true });
    if (redisUrl) await deleteRedisKeys(redisUrl, prefix);
  };
  let service: RunningService;
  try {
    ga4 = await startGa4StandIn();
    const config = testConfig();
    service = await startService(
      loopbackService(
        { ...config, ga4: { ...config.ga4, endpoint: ga4.url } },
        captureLogger(),
        dir,
        {
          redis: redisUrl ? { url: redisUrl, prefix } : undefined,
          console: { password: options.password, apiToken: options.apiToken },
        },
      ),
    );
  } catch (error) {
    await cleanUp();
    throw error;
  }
  const base = `http://127.0.0.1:${service.port}`;
  return {
    service,
    ga4,
    base,
    postWebhook: async (body) => {
      const res = await fetch(`${base}${service.webhookPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      assert.equal(res.status, 200);
      await waitForDrained(service.store.queue);
    },
    close: async () => {
      await service.close();
      await cleanUp();
    },
  };
}
