/**
 * The JobQueue contract against BullMQ on Redis, each test on its own queue-name prefix. Runs only
 * when REDIS_URL is set (CI sets it); without it the suite shows as skipped rather than vanishing.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { BullmqJobQueue } from '../../src/adapters/store/redis/bullmq-job-queue';
import { QUEUE_NAMES, type JobQueue } from '../../src/ports/job-queue';
import assert from 'node:assert/strict';
import { describeJobQueueContract } from './job-queue.contract';
import { waitFor } from '../helpers/wait-for';
import type { JobQueueBackend } from './job-queue.contract';
import { itNeedsRedis } from '../helpers/redis-test-prefix';

const url = process.env.REDIS_URL;

/**
 * One test's Redis: its own prefix, and every connection it opened, so a "crash" can drop the
 * connections of one process at once (its locks then expire and a live worker takes the jobs).
 */
function bullmqBackend(
  redisUrl: string,
  locks: { lockDuration: number; stalledInterval: number } = {
    // Short locks, so a job of a dead worker is handed out again within the test's patience.
    lockDuration: 400,
    stalledInterval: 100,
  },
): JobQueueBackend & { prefix: string } {
  const prefix = `closeloop-test-${randomUUID()}-`;
  let connections: Redis[] = [];
  const open = (): BullmqJobQueue => {
    const mine: Redis[] = [];
    connections = mine;
    return new BullmqJobQueue({
      prefix,
      ...locks,
      createConnection: (role) => {
        const c = new Redis(redisUrl, role === 'worker' ? { maxRetriesPerRequest: null } : {});
        mine.push(c);
        return c;
      },
    });
  };
  let queue: JobQueue = open();
  return {
    prefix,
    queue,
    reopen: async () => {
      await queue.close();
      return (queue = open());
    },
    restartAfterCrash: () => {
      // The process dies: its connections drop, nothing it does later reaches Redis.
      for (const c of connections) c.disconnect();
      return Promise.resolve((queue = open()));
    },
    cleanup: async () => {
      // A crashed queue is left as a dead process is: its connections are gone, closing it would
      // only retry against them.
      const results = await Promise.allSettled([queue.close()]);
      const admin = new Redis(redisUrl);
      try {
        for (const name of QUEUE_NAMES) {
          const q = new Queue(prefix + name, { connection: admin });
          await q.obliterate({ force: true });
          await q.close();
        }
      } finally {
        await admin.quit();
      }
      for (const r of results) if (r.status === 'rejected') throw r.reason;
    },
  };
}

if (url === undefined) {
  describe('BullMQ job queue contract', () => {
    itNeedsRedis();
  });
} else {
  describeJobQueueContract('bullmq', () => Promise.resolve(bullmqBackend(url)));

  describe('BullMQ specifics', () => {
    it('counts stalls in a row: a run that finishes clears the count', async () => {
      // Locks far longer than the test: on a loaded machine a 400 ms lock can expire while the
      // held run waits, and the stall checker would then count a stall this test did not make.
      const backend = bullmqBackend(url, { lockDuration: 30_000, stalledInterval: 5_000 });
      const admin = new Redis(url);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      try {
        const { queue } = backend;
        // As if the job's workers had died four times (maxStalledCount is 5).
        await queue.add('deliver', [{ id: 'often-stalled', payload: 1 }]);
        const jobKey = `bull:${backend.prefix}deliver:often-stalled`;
        assert.equal(await admin.exists(jobKey), 1, `the job hash ${jobKey}`);
        await admin.hset(jobKey, 'stc', '4');
        let runs = 0;
        queue.process(
          'deliver',
          async () => {
            if (++runs === 1) return { status: 'retry', delayMs: 0, error: 'GA4 answered 503' };
            await held; // the job (and its hash) stays while the count is checked
            return { status: 'done' };
          },
          { concurrency: 1 },
        );
        await waitFor(() => runs === 2, {
          timeoutMs: 10_000,
          message: () => `the retried job to run again (runs: ${runs})`,
        });
        assert.equal(await admin.exists(jobKey), 1);
        assert.equal(await admin.hget(jobKey, 'stc'), null, 'the finished run cleared the count');
      } finally {
        // Always let the held run finish: closing the queue waits for it.
        release();
        await admin.quit();
        await backend.cleanup();
      }
    });
  });
}
