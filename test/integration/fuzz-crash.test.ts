/**
 * kill -9 at random points of a 2,000-deal run, for the embedded store (one process) and for Redis
 * (two processes sharing the work), as test/fuzz/crash-run.ts describes: nothing acknowledged is
 * lost, no lead event is sent twice, a purchase is repeated only with its transaction_id, and the
 * uncertain are counted and printed. One kill per run here; `npm run fuzz` kills several times
 * (FUZZ_KILLS). The deterministic kills at known moments are in crash-recovery.test.ts and
 * scale-out.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import {
  deleteRedisKeys,
  itNeedsRedis,
  uniqueRedisPrefix,
  REDIS_URL,
} from '../helpers/redis-test-prefix';
import { Random, fuzzSeed, isLongFuzz } from '../fuzz/random';
import { formatCounts, runCrashRun, type CrashRunCounts } from '../fuzz/crash-run';

const SECRET = 'fuzz-crash-webhook-secret-8Hw3';
const DEALS = 2000;
/** GA4 answers after this long, so sends are in flight when a kill lands. */
const GA4_ANSWER_MS = 15;

function kills(): number {
  const given = Number(process.env.FUZZ_KILLS);
  if (Number.isInteger(given) && given > 0) return given;
  return isLongFuzz() ? 6 : 1;
}

function assertPromise(c: CrashRunCounts): void {
  assert.equal(c.lost, 0, 'nothing acknowledged is lost');
  assert.equal(c.leadEventsRepeated, 0, 'no lead event reaches GA4 twice');
  assert.equal(c.purchasesWithOtherTransactionId, 0, 'a purchase keeps its transaction_id');
  assert.equal(c.uncertainNotLeadEvents, 0, 'only lead events are held; purchases are resent');
  assert.ok(
    c.purchasesRepeated <= c.uncertain,
    'a purchase repeats only after an interrupted send',
  );
}

describe('fault: SIGKILL at random points of a 2,000-deal run', function () {
  this.timeout(180_000 * kills());
  let ga4: Ga4StandIn;
  beforeEach(async () => {
    ga4 = await startGa4StandIn();
    ga4.hangNext(1_000_000, GA4_ANSWER_MS);
  });
  afterEach(async () => {
    await ga4.close();
  });

  const env = (store: Record<string, string>): Record<string, string> => ({
    ...store,
    CLOSELOOP_WEBHOOK_SECRET: SECRET,
    GA4_MEASUREMENT_ID: 'G-FUZZCRASH',
    GA4_API_SECRET: 'fuzz-crash-api-secret',
    GA4_ENDPOINT: ga4.url,
    LOG_LEVEL: 'warn',
  });

  it('embedded store: lost 0, lead events never twice, the uncertain held', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-fuzz-crash-'));
    const seed = fuzzSeed();
    try {
      const counts = await runCrashRun({
        rnd: new Random(seed),
        ga4,
        env: env({ CLOSELOOP_DATA_DIR: dir }),
        processes: 1,
        deals: DEALS,
        kills: kills(),
        webhookSecret: SECRET,
        firstDeal: 200_000,
      });
      console.log(`      ${formatCounts('embedded store', counts, seed)}`);
      assertPromise(counts);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  if (REDIS_URL === undefined) {
    describe('Redis', () => itNeedsRedis());
  } else {
    const redisUrl = REDIS_URL;
    it('Redis, two processes: lost 0, lead events never twice, the uncertain held', async () => {
      const prefix = uniqueRedisPrefix('fuzzcrash');
      const seed = fuzzSeed();
      try {
        const counts = await runCrashRun({
          rnd: new Random(seed),
          ga4,
          env: env({
            REDIS_URL: redisUrl,
            CLOSELOOP_REDIS_PREFIX: prefix,
            CLOSELOOP_REDIS_LOCK_MS: '2000',
          }),
          processes: 2,
          deals: DEALS,
          kills: kills(),
          webhookSecret: SECRET,
          firstDeal: 400_000,
        });
        console.log(`      ${formatCounts('Redis', counts, seed)}`);
        assertPromise(counts);
      } finally {
        await deleteRedisKeys(redisUrl, prefix);
      }
    });
  }
});
