/**
 * Metrica upload loops on a real store against the Metrica stand-in, for tests: `open()` gives one
 * more loop on its own store connection (another worker: on Redis a new connection of the same
 * prefix, on the embedded store a second connection to the same file), all sharing the store's
 * request gate for the token, and `entries(n)` makes conversions to add to the outbox.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MetricaUploader } from '../../src/adapters/destinations/metrica/metrica-uploader';
import { MetricaUploadClient } from '../../src/adapters/destinations/metrica/metrica-upload-client';
import type { MetricaSettings } from '../../src/adapters/destinations/metrica/metrica-settings';
import { createRedisStore } from '../../src/adapters/store/redis';
import { createSqliteStore } from '../../src/adapters/store/sqlite';
import type { OutboxEntry } from '../../src/ports/conversion-outbox';
import type { RequestGate } from '../../src/ports/request-gate';
import type { Store } from '../../src/ports/store';
import { gateName } from '../../src/adapters/destinations/metrica/metrica-uploads';
import { captureLogger } from './capture-logger';
import { deleteRedisKeys, uniqueRedisPrefix } from './redis-test-prefix';

export const RIG_TOKEN = 'y0_rig-metrica-token';
export const RIG_COUNTER = '55667788';

export interface UploaderRig {
  /** The first store connection (the service's). */
  store: Store;
  open(over?: Partial<MetricaSettings>): Promise<{ uploader: MetricaUploader; store: Store }>;
  entries(from: number, n: number, over?: Partial<OutboxEntry>): OutboxEntry[];
  /** Every loop's log, as text. */
  logs(): string;
  close(): Promise<void>;
}

export async function uploaderRig(
  redisUrl: string | null,
  endpoint: string,
  now: () => number = Date.now,
): Promise<UploaderRig> {
  const prefix = uniqueRedisPrefix('uploaders');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-uploaders-'));
  const stores: Store[] = [];
  const log = captureLogger();
  const uploaders: MetricaUploader[] = [];
  let sqliteGate: RequestGate | null = null;
  const openStore = async (): Promise<Store> => {
    const s = redisUrl
      ? await createRedisStore({ url: redisUrl, prefix, deliveryLogMaxRows: 10_000 })
      : createSqliteStore({ dataDir: dir, deliveryLogMaxRows: 10_000, lock: stores.length === 0 });
    stores.push(s);
    return s;
  };
  const store = await openStore();
  const settings: MetricaSettings = {
    counterId: RIG_COUNTER,
    token: RIG_TOKEN,
    endpoint,
    flushMs: 0,
    pollMs: 60_000,
    batchRows: 5,
    timeoutMs: 10_000,
    goals: { close_convert_lead: 'deal_won' },
    dailyRequests: 5000,
    dryRun: false,
    mode: 'conversions',
    orderStatuses: {},
    timeZone: 'Europe/Moscow',
  };
  return {
    store,
    async open(over = {}) {
      const s = stores.length === 1 && uploaders.length === 0 ? store : await openStore();
      const all = { ...settings, ...over };
      // One process owns the embedded store: its loops share one in-process gate.
      const gate = redisUrl
        ? s.createRequestGate(gateName(RIG_TOKEN), 2, all.dailyRequests)
        : (sqliteGate ??= s.createRequestGate(gateName(RIG_TOKEN), 2, all.dailyRequests));
      const uploader = new MetricaUploader({
        queue: 'metrica',
        settings: all,
        outbox: s.outbox,
        client: new MetricaUploadClient({
          endpoint,
          counterId: RIG_COUNTER,
          token: RIG_TOKEN,
          timeoutMs: all.timeoutMs,
          now,
        }),
        deliveryLog: s.deliveryLog,
        logger: log.logger,
        now,
        gate,
      });
      uploaders.push(uploader);
      return { uploader, store: s };
    },
    logs: () => log.text(),
    entries(from, n, over = {}) {
      return Array.from({ length: n }, (_, i): OutboxEntry => {
        const k = from + i;
        return {
          key: `metrica:generic:shop:D-${k}:close_convert_lead`,
          queue: 'metrica',
          idType: 'ClientId',
          visitor: `1764583200${String(k).padStart(9, '0')}`,
          target: 'deal_won',
          dateTime: Math.floor(now() / 1000) - 60,
          price: '100',
          currency: 'RUB',
          addedAt: now() - 60_000 + k, // in the past: a flush of 0 s takes them at once
          trace: {
            at: now(),
            account: 'default',
            source: 'generic',
            crmAccount: 'shop',
            dealId: `D-${k}`,
            kind: 'stage_changed',
            stageId: null,
            jobId: `job-${k}`,
            destination: 'metrica',
            attempts: 1,
            key: `metrica:D-${k}`,
          },
          ...over,
        };
      });
    },
    async close() {
      await Promise.all(uploaders.map((u) => u.stop()));
      for (const s of stores.reverse()) await s.close();
      if (redisUrl) await deleteRedisKeys(redisUrl, prefix);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
