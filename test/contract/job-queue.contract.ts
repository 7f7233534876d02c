/**
 * The JobQueue contract (src/ports/job-queue.ts), as one suite every backend runs: a spec file per
 * backend calls `describeJobQueueContract(name, factory)` with a factory that gives a fresh, empty
 * queue per test (model: taskforcesh/bullmq tests/utils/cleanup-queue.ts and its swappable setup).
 *
 * Waits poll for the expected state (test/helpers/wait-for.ts). The few fixed `sleep`s only give
 * something that must NOT happen (a second run, a job taken after close) the chance to happen.
 */
import { skipBecause } from '../helpers/skip-because';
import assert from 'node:assert/strict';
import type { Job, JobOutcome, JobQueue, QueueCounts, QueueName } from '../../src/ports/job-queue';
import { waitFor } from '../helpers/wait-for';

export interface JobQueueBackend {
  /** A fresh queue with nothing in it. */
  queue: JobQueue;
  /**
   * Closes the backend cleanly (`queue.close()` may already have been called) and opens it again on
   * the same data, as a restart does; returns the new queue. Absent: the durability tests skip.
   */
  reopen?: () => Promise<JobQueue>;
  /**
   * Simulates the process dying while handlers are in flight: the current queue takes no more jobs
   * and whatever its stuck handlers record later must not matter; returns the queue a restarted
   * process sees on the same data. The test releases the stuck handlers before `cleanup`. Absent:
   * the crash test skips.
   */
  restartAfterCrash?: () => Promise<JobQueue>;
  /** Closes everything opened (waiting for handlers in flight) and removes the data. */
  cleanup: () => Promise<void>;
}

const Q: QueueName = 'deliver';
const EMPTY: QueueCounts = { waiting: 0, delayed: 0, active: 0, failed: 0 };

/** Only for giving something that must not happen the time to happen anyway. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Gate {
  promise: Promise<void>;
  open: () => void;
}

function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const done = (): Promise<JobOutcome> => Promise.resolve({ status: 'done' });

async function waitForCounts(
  queue: JobQueue,
  expected: Partial<QueueCounts>,
  queueName: QueueName = Q,
): Promise<void> {
  const want = { ...EMPTY, ...expected };
  let last: QueueCounts | undefined;
  await waitFor(
    async () => {
      last = await queue.counts(queueName);
      return (Object.keys(want) as Array<keyof QueueCounts>).every((k) => last![k] === want[k]);
    },
    { message: () => `counts ${JSON.stringify(want)}, last seen ${JSON.stringify(last)}` },
  );
}

export function describeJobQueueContract(
  name: string,
  factory: () => Promise<JobQueueBackend>,
): void {
  describe(`JobQueue contract: ${name}`, function () {
    let backend: JobQueueBackend;
    let queue: JobQueue;
    let gates: Gate[];

    /** A gate opened at the latest after the test, so a failing test never leaves a handler stuck. */
    function heldGate(): Gate {
      const g = gate();
      gates.push(g);
      return g;
    }

    beforeEach(async function () {
      gates = [];
      backend = await factory();
      queue = backend.queue;
    });

    afterEach(async function () {
      for (const g of gates) g.open();
      try {
        await backend.cleanup();
      } catch (e) {
        // After a failed test, cleanup may fail as a consequence (a job left broken); the test
        // already reports the cause, and the rest of the suite must still run.
        if (this.currentTest?.state !== 'failed') throw e;
      }
    });

    it('hands each of many jobs to exactly one handler, with concurrency > 1', async function () {
      const ids = Array.from({ length: 200 }, (_, i) => `job-${String(i).padStart(3, '0')}`);
      // Four producers in the same turn: the backend may batch them, and must keep every job.
      await Promise.all(
        [0, 1, 2, 3].map((p) =>
          queue.add(
            Q,
            ids.slice(p * 50, p * 50 + 50).map((id, i) => ({ id, payload: { n: p * 50 + i } })),
          ),
        ),
      );
      assert.deepEqual(await queue.counts(Q), { ...EMPTY, waiting: 200 });

      const handled = new Map<string, number>();
      let inFlight = 0;
      let maxInFlight = 0;
      queue.process<{ n: number }>(
        Q,
        async (job) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          handled.set(job.id, (handled.get(job.id) ?? 0) + 1);
          await sleep(job.payload.n % 3); // finish out of order
          inFlight--;
          return { status: 'done' };
        },
        { concurrency: 8 },
      );

      await waitFor(() => handled.size === 200, {
        timeoutMs: 5000,
        message: () => `200 jobs handled, got ${handled.size}`,
      });
      await waitForCounts(queue, EMPTY);
      await sleep(60); // a duplicate hand-out would show up now
      assert.deepEqual([...handled.keys()].sort(), ids);
      assert.deepEqual(
        [...handled].filter(([, n]) => n !== 1),
        [],
      );
      assert.ok(maxInFlight > 1, `handlers ran one at a time (max in flight ${maxInFlight})`);
      assert.ok(maxInFlight <= 8, `more handlers in flight than the concurrency: ${maxInFlight}`);
    });

    it('hands the payload over unchanged, whatever JSON it is', async function () {
      const payloads: Record<string, unknown> = {
        object: {
          lead: {
            id: 30307415,
            name: 'Сделка №1 «Ёлка» — тест',
            price: 150000.5,
            tags: ['горячий', 'VIP', ''],
            customFields: [
              { code: 'GCLIENTID', values: [{ value: 'GA1.1.123.456', enumId: null }] },
            ],
          },
          nested: { deep: { deeper: [1, 'два', null, true, false, { x: -0.25 }, []] } },
          nothing: null,
          yes: true,
          no: false,
          zero: 0,
          negative: -42,
          maxSafe: Number.MAX_SAFE_INTEGER,
          emoji: '🚀 ok',
          escapes: '"quotes" \\ back\nnew line\ttab &amp; <b>',
          empty: {},
        },
        string: 'просто строка',
        number: 42.125,
        null: null,
        boolean: false,
        array: [{ a: 1 }, 'б', [null]],
      };
      await queue.add(
        Q,
        Object.entries(payloads).map(([id, payload]) => ({ id, payload })),
      );
      const seen = new Map<string, unknown>();
      queue.process(
        Q,
        (job) => {
          seen.set(job.id, job.payload);
          return done();
        },
        { concurrency: 2 },
      );
      await waitFor(() => seen.size === 6, { message: () => `6 payloads, got ${seen.size}` });
      for (const [id, payload] of Object.entries(payloads)) {
        assert.deepEqual(seen.get(id), payload, `payload of job ${id}`);
      }
    });

    it('gives a new job attempts 0, firstAttemptAt and createdAt of now, and its queue', async function () {
      const before = Date.now();
      await queue.add(Q, [{ id: 'fresh', payload: { a: 1 } }]);
      const afterAdd = Date.now();
      const jobs: Array<{ job: Job<unknown>; at: number }> = [];
      queue.process(
        Q,
        (job) => {
          jobs.push({ job, at: Date.now() });
          return done();
        },
        { concurrency: 1 },
      );
      await waitFor(() => jobs.length === 1);
      const { job, at } = jobs[0]!;
      assert.equal(job.id, 'fresh');
      assert.equal(job.queue, Q);
      assert.equal(job.attempts, 0);
      assert.ok(
        job.createdAt >= before && job.createdAt <= afterAdd,
        `createdAt ${job.createdAt} not in [${before}, ${afterAdd}]`,
      );
      assert.ok(
        job.firstAttemptAt >= job.createdAt && job.firstAttemptAt <= at,
        `firstAttemptAt ${job.firstAttemptAt} not in [${job.createdAt}, ${at}]`,
      );
    });

    it('keeps queues apart', async function () {
      await queue.add('inbound', [{ id: 'in-1', payload: 'inbound' }]);
      await queue.add(Q, [{ id: 'out-1', payload: 'deliver' }]);
      const seen: Array<Job<unknown>> = [];
      queue.process(
        Q,
        (job) => {
          seen.push(job);
          return done();
        },
        { concurrency: 4 },
      );
      await waitForCounts(queue, EMPTY);
      await sleep(60);
      assert.deepEqual(
        seen.map((j) => [j.id, j.queue, j.payload]),
        [['out-1', Q, 'deliver']],
      );
      assert.deepEqual(await queue.counts('inbound'), { ...EMPTY, waiting: 1 });
    });

    it('brings a `retry` job back after delayMs, attempts + 1, firstAttemptAt unchanged', async function () {
      const delayMs = 300;
      await queue.add(Q, [{ id: 'r', payload: { lead: 'Ёж' } }]);
      const calls: Array<{ job: Job<unknown>; at: number }> = [];
      queue.process(
        Q,
        (job) => {
          calls.push({ job, at: Date.now() });
          return Promise.resolve<JobOutcome>(
            calls.length === 1
              ? { status: 'retry', delayMs, error: 'GA4 answered 503' }
              : { status: 'done' },
          );
        },
        { concurrency: 1 },
      );
      await waitFor(() => calls.length === 1);
      await waitForCounts(queue, { delayed: 1 });
      await waitFor(() => calls.length === 2, { message: 'the retried job to run again' });
      await waitForCounts(queue, EMPTY);

      const [first, second] = [calls[0]!, calls[1]!];
      assert.equal(first.job.attempts, 0);
      assert.equal(second.job.attempts, 1);
      assert.equal(second.job.id, 'r');
      assert.deepEqual(second.job.payload, { lead: 'Ёж' });
      assert.equal(second.job.firstAttemptAt, first.job.firstAttemptAt);
      assert.equal(second.job.createdAt, first.job.createdAt);
      const gap = second.at - first.at;
      assert.ok(gap >= delayMs, `ran again after ${gap} ms, before delayMs ${delayMs}`);
      assert.ok(gap < delayMs + 1000, `ran again only after ${gap} ms (delayMs ${delayMs})`);
      await sleep(60);
      assert.equal(calls.length, 2);
    });

    it('retries a handler that throws (a bug, not a policy) after about a second', async function () {
      this.timeout(5000);
      await queue.add(Q, [{ id: 'throws', payload: null }]);
      const calls: Array<{ job: Job<unknown>; at: number }> = [];
      queue.process(
        Q,
        (job) => {
          calls.push({ job, at: Date.now() });
          if (calls.length === 1)
            throw new Error('handler bug: cannot read properties of undefined');
          return done();
        },
        { concurrency: 1 },
      );
      await waitFor(() => calls.length === 1);
      await waitForCounts(queue, { delayed: 1 });
      await waitFor(() => calls.length === 2, {
        timeoutMs: 3000,
        message: 'the job whose handler threw to run again',
      });
      await waitForCounts(queue, EMPTY);
      assert.equal(calls[1]!.job.attempts, 1);
      assert.equal(calls[1]!.job.firstAttemptAt, calls[0]!.job.firstAttemptAt);
      const gap = calls[1]!.at - calls[0]!.at;
      assert.ok(gap >= 1000 && gap < 2000, `ran again after ${gap} ms, expected about 1000`);
    });

    it('retries a handler that rejects with no reason at all (undefined)', async function () {
      this.timeout(5000);
      await queue.add(Q, [{ id: 'rejects-undefined', payload: 1 }]);
      const calls: Array<Job<unknown>> = [];
      queue.process(
        Q,
        (job) => {
          calls.push(job);
          // A bare `Promise.reject()` from some library: still a throw, still retried.
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          if (calls.length === 1) return Promise.reject(undefined);
          return done();
        },
        { concurrency: 1 },
      );
      await waitFor(() => calls.length === 1);
      await waitFor(() => calls.length === 2, {
        timeoutMs: 3000,
        message: async () =>
          `the job to run again; counts ${JSON.stringify(await queue.counts(Q))}`,
      });
      assert.equal(calls[1]!.attempts, 1);
      await waitForCounts(queue, EMPTY);
    });

    it('keeps a `failed` job, never runs it again, lists it, and retryFailed brings it back', async function () {
      const t0 = Date.now();
      await queue.add(Q, [
        { id: 'f1', payload: { n: 1 } },
        { id: 'f2', payload: { n: 2 } },
      ]);
      const calls: Array<Job<{ n: number }>> = [];
      const runsOf = (id: string): Array<Job<{ n: number }>> => calls.filter((j) => j.id === id);
      queue.process<{ n: number }>(
        Q,
        (job) => {
          calls.push(job);
          return Promise.resolve<JobOutcome>(
            runsOf(job.id).length === 1
              ? { status: 'failed', error: `GA4 refused ${job.id}: 400 «неверный запрос»` }
              : { status: 'done' },
          );
        },
        { concurrency: 2 },
      );
      await waitForCounts(queue, { failed: 2 });
      const t1 = Date.now();
      await sleep(100); // several poll intervals: a failed job must stay put
      assert.equal(calls.length, 2);
      assert.deepEqual(await queue.counts(Q), { ...EMPTY, failed: 2 });

      const listed = (await queue.listFailed(Q, 10)).sort((a, b) => a.id.localeCompare(b.id));
      assert.deepEqual(
        listed.map(({ failedAt: _, ...rest }) => rest),
        [
          {
            id: 'f1',
            queue: Q,
            payload: { n: 1 },
            attempts: 1,
            error: 'GA4 refused f1: 400 «неверный запрос»',
          },
          {
            id: 'f2',
            queue: Q,
            payload: { n: 2 },
            attempts: 1,
            error: 'GA4 refused f2: 400 «неверный запрос»',
          },
        ],
      );
      for (const f of listed) {
        assert.ok(
          f.failedAt >= t0 && f.failedAt <= t1,
          `failedAt ${f.failedAt} not in [${t0}, ${t1}]`,
        );
      }
      assert.equal((await queue.listFailed(Q, 1)).length, 1);
      assert.deepEqual(await queue.listFailed('inbound', 10), []);

      // By id: only failed jobs of this queue count.
      const beforeRetry = Date.now();
      assert.equal(await queue.retryFailed('inbound', ['f1']), 0);
      assert.equal(await queue.retryFailed(Q, ['f1', 'no-such-job']), 1);
      await waitFor(() => runsOf('f1').length === 2, { message: 'f1 to run again' });
      await waitForCounts(queue, { failed: 1 });
      const again = runsOf('f1')[1]!;
      assert.equal(again.attempts, 0);
      assert.deepEqual(again.payload, { n: 1 });
      assert.ok(
        again.firstAttemptAt >= beforeRetry,
        `firstAttemptAt ${again.firstAttemptAt} is from before retryFailed (${beforeRetry})`,
      );
      assert.deepEqual(
        (await queue.listFailed(Q, 10)).map((f) => f.id),
        ['f2'],
      );

      // removeFailed deletes only failed jobs of the named queue (a replay re-enqueued their work).
      assert.equal(await queue.removeFailed('inbound', ['f2']), 0);
      assert.equal(await queue.removeFailed(Q, ['f1', 'no-such-job']), 0, 'f1 is not failed now');

      // All of the queue.
      assert.equal(await queue.retryFailed(Q), 1);
      await waitFor(() => runsOf('f2').length === 2, { message: 'f2 to run again' });
      await waitForCounts(queue, EMPTY);
      assert.equal(runsOf('f2')[1]!.attempts, 0);
      assert.equal(await queue.retryFailed(Q), 0);
      assert.equal(calls.length, 4);
    });

    it('removeFailed deletes failed jobs for good', async function () {
      await queue.add(Q, [
        { id: 'r1', payload: { n: 1 } },
        { id: 'r2', payload: { n: 2 } },
      ]);
      queue.process<{ n: number }>(
        Q,
        (job) => Promise.resolve<JobOutcome>({ status: 'failed', error: `no ${job.id}` }),
        { concurrency: 2 },
      );
      await waitForCounts(queue, { failed: 2 });
      assert.equal(await queue.removeFailed(Q, ['r1']), 1);
      assert.deepEqual(
        (await queue.listFailed(Q, 10)).map((f) => f.id),
        ['r2'],
      );
      assert.deepEqual(await queue.counts(Q), { ...EMPTY, failed: 1 });
      // the id is free again: a new job with it is accepted
      await queue.add(Q, [{ id: 'r1', payload: { n: 3 } }]);
      await waitForCounts(queue, { failed: 2 });
    });

    it('rejects a payload that is not JSON for its own caller only', async function () {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const good = queue.add(Q, [{ id: 'good', payload: { n: 1 } }]);
      const bad = queue.add(Q, [{ id: 'bad', payload: circular }]);
      const worse = queue.add(Q, [{ id: 'worse', payload: 10n }]);
      await good;
      await assert.rejects(bad, TypeError);
      await assert.rejects(worse, TypeError);
      assert.deepEqual(await queue.counts(Q), { ...EMPTY, waiting: 1 });
    });

    it('ignores a job whose id is already waiting or delayed', async function () {
      await queue.add(Q, [{ id: 'dup', payload: { version: 1 } }]);
      await queue.add(Q, [{ id: 'dup', payload: { version: 2 } }]);
      await queue.add(Q, [
        { id: 'dup-later', payload: { version: 1 }, runAt: Date.now() + 60_000 },
      ]);
      await queue.add(Q, [{ id: 'dup-later', payload: { version: 2 } }]);
      assert.deepEqual(await queue.counts(Q), { ...EMPTY, waiting: 1, delayed: 1 });

      const seen: Array<Job<unknown>> = [];
      queue.process(
        Q,
        (job) => {
          seen.push(job);
          return done();
        },
        { concurrency: 2 },
      );
      await waitForCounts(queue, { delayed: 1 });
      await sleep(60);
      assert.deepEqual(
        seen.map((j) => [j.id, j.payload]),
        [['dup', { version: 1 }]],
      );
    });

    it('ignores a job whose id is active', async function () {
      const release = heldGate();
      const seen: Array<Job<unknown>> = [];
      queue.process(
        Q,
        async (job) => {
          seen.push(job);
          await release.promise;
          return { status: 'done' };
        },
        { concurrency: 2 },
      );
      await queue.add(Q, [{ id: 'busy', payload: { version: 1 } }]);
      await waitFor(() => seen.length === 1);
      await queue.add(Q, [{ id: 'busy', payload: { version: 2 } }]);
      assert.deepEqual(await queue.counts(Q), { ...EMPTY, active: 1 });
      release.open();
      await waitForCounts(queue, EMPTY);
      await sleep(60);
      assert.deepEqual(
        seen.map((j) => [j.id, j.payload]),
        [['busy', { version: 1 }]],
      );
    });

    it('ignores a job whose id has failed', async function () {
      const seen: Array<Job<unknown>> = [];
      queue.process(
        Q,
        (job) => {
          seen.push(job);
          return Promise.resolve<JobOutcome>({ status: 'failed', error: 'refused' });
        },
        { concurrency: 1 },
      );
      await queue.add(Q, [{ id: 'gone-bad', payload: { version: 1 } }]);
      await waitForCounts(queue, { failed: 1 });
      await queue.add(Q, [{ id: 'gone-bad', payload: { version: 2 } }]);
      await sleep(60);
      assert.deepEqual(await queue.counts(Q), { ...EMPTY, failed: 1 });
      assert.deepEqual(
        seen.map((j) => [j.id, j.payload]),
        [['gone-bad', { version: 1 }]],
      );
      const failed = await queue.listFailed(Q, 10);
      assert.deepEqual(
        failed.map((f) => [f.id, f.attempts, f.error]),
        [['gone-bad', 1, 'refused']],
      );
    });

    it('starts jobs in insertion order with concurrency 1', async function () {
      const ids = Array.from({ length: 30 }, (_, i) => `o${String(i).padStart(2, '0')}`);
      for (let i = 0; i < 30; i += 10) {
        await queue.add(
          Q,
          ids.slice(i, i + 10).map((id) => ({ id, payload: id })),
        );
      }
      const started: string[] = [];
      queue.process(
        Q,
        (job) => {
          started.push(job.id);
          return done();
        },
        { concurrency: 1 },
      );
      await waitFor(() => started.length === 30, {
        message: () => `30 jobs started, got ${started.length}`,
      });
      assert.deepEqual(started, ids);
    });

    it('starts jobs in order of readiness; a runAt in the past does not jump the queue', async function () {
      const now = Date.now();
      await queue.add(Q, [
        { id: 'a', payload: 1 },
        { id: 'b', payload: 2 },
      ]);
      await queue.add(Q, [{ id: 'c', payload: 3, runAt: now - 60_000 }]);
      await queue.add(Q, [{ id: 'd', payload: 4, runAt: now - 30_000 }]);
      const started: string[] = [];
      queue.process(
        Q,
        (job) => {
          started.push(job.id);
          return done();
        },
        { concurrency: 1 },
      );
      await waitFor(() => started.length === 4, {
        message: () => `4 jobs started, got ${started.join(', ')}`,
      });
      assert.deepEqual(started, ['a', 'b', 'c', 'd']);
    });

    it('does not start a delayed job before its runAt, and counts it as delayed', async function () {
      const runAt = Date.now() + 300;
      await queue.add(Q, [
        { id: 'later', payload: 'later', runAt },
        { id: 'now', payload: 'now' },
      ]);
      assert.deepEqual(await queue.counts(Q), { ...EMPTY, waiting: 1, delayed: 1 });
      const started: Array<{ id: string; at: number }> = [];
      queue.process(
        Q,
        (job) => {
          started.push({ id: job.id, at: Date.now() });
          return done();
        },
        { concurrency: 2 },
      );
      await waitFor(() => started.length === 1);
      assert.equal(started[0]!.id, 'now');
      await waitForCounts(queue, { delayed: 1 });
      await waitFor(() => started.length === 2, { message: 'the delayed job to start' });
      assert.equal(started[1]!.id, 'later');
      assert.ok(started[1]!.at >= runAt, `started ${runAt - started[1]!.at} ms before its runAt`);
      assert.ok(started[1]!.at < runAt + 1000, `started ${started[1]!.at - runAt} ms after runAt`);
      await waitForCounts(queue, EMPTY);
    });

    it('close() waits for handlers in flight, records their outcome, and takes no new job', async function () {
      const release = heldGate();
      let finished = false;
      const started: string[] = [];
      await queue.add(Q, [
        { id: 'slow', payload: 1 },
        { id: 'next', payload: 2 },
      ]);
      queue.process(
        Q,
        async (job) => {
          started.push(job.id);
          await release.promise;
          await sleep(20); // still busy a little after being released
          finished = true;
          return { status: 'failed', error: 'slow one failed' };
        },
        { concurrency: 1 },
      );
      await waitFor(() => started.length === 1);

      let closed = false;
      const closing = queue.close().then(() => (closed = true));
      await sleep(50);
      assert.equal(closed, false, 'close() resolved while a handler was in flight');
      release.open();
      await closing;
      assert.equal(finished, true, 'close() resolved before the handler finished');
      await sleep(100); // several poll intervals: nothing new may start
      assert.deepEqual(started, ['slow']);

      const after = backend.reopen ? await backend.reopen() : queue;
      assert.deepEqual(await after.counts(Q), { ...EMPTY, waiting: 1, failed: 1 });
      assert.deepEqual(
        (await after.listFailed(Q, 10)).map((f) => [f.id, f.error]),
        [['slow', 'slow one failed']],
      );
    });

    it('lets a handler in flight during close() add its follow-up jobs, and keeps them', async function () {
      const release = heldGate();
      let added: string | null = null;
      queue.process(
        Q,
        async (job) => {
          await release.promise;
          // e.g. a created lead's add event, or an inbound job's delivery
          added = await queue.add('inbound', [{ id: `after-${job.id}`, payload: { n: 1 } }]).then(
            () => 'resolved',
            (e: unknown) => `rejected: ${String(e)}`,
          );
          return { status: 'done' };
        },
        { concurrency: 1 },
      );
      await queue.add(Q, [{ id: 'creates-a-lead', payload: 1 }]);
      await waitForCounts(queue, { active: 1 });
      const closing = queue.close();
      await sleep(30);
      release.open();
      await closing;
      assert.equal(added, 'resolved');
      await assert.rejects(queue.add('inbound', [{ id: 'too-late', payload: 2 }]));
      const after = backend.reopen ? await backend.reopen() : queue;
      if (backend.reopen) assert.deepEqual(await after.counts('inbound'), { ...EMPTY, waiting: 1 });
    });

    it('a second close() also waits for handlers in flight', async function () {
      const release = heldGate();
      let finished = false;
      queue.process(
        Q,
        async () => {
          await release.promise;
          finished = true;
          return { status: 'done' };
        },
        { concurrency: 1 },
      );
      await queue.add(Q, [{ id: 'slow', payload: 1 }]);
      await waitForCounts(queue, { active: 1 });

      const first = queue.close();
      let secondResolved = false;
      const second = queue.close().then(() => (secondResolved = true));
      await sleep(50);
      assert.equal(secondResolved, false, 'the second close() resolved with a handler in flight');
      release.open();
      await Promise.all([first, second]);
      assert.equal(finished, true);
    });

    it('keeps jobs across a restart', async function () {
      if (!backend.reopen) skipBecause(this, `${name}: the factory cannot reopen its data`);
      await queue.add(Q, [
        { id: 'd1', payload: { n: 1, text: 'Привет' } },
        { id: 'd2', payload: { n: 2 }, runAt: Date.now() + 150 },
      ]);
      await queue.add('inbound', [{ id: 'i1', payload: 'raw body' }]);
      const reopened = await backend.reopen();
      assert.deepEqual(await reopened.counts(Q), { ...EMPTY, waiting: 1, delayed: 1 });
      const seen: Array<Job<unknown>> = [];
      reopened.process(
        Q,
        (job) => {
          seen.push(job);
          return done();
        },
        { concurrency: 2 },
      );
      await waitFor(() => seen.length === 2, { message: 'both jobs after the restart' });
      assert.deepEqual(
        seen.map((j) => [j.id, j.payload, j.attempts]),
        [
          ['d1', { n: 1, text: 'Привет' }, 0],
          ['d2', { n: 2 }, 0],
        ],
      );
      assert.deepEqual(await reopened.counts('inbound'), { ...EMPTY, waiting: 1 });
    });

    it('keeps a job whose add resolved while the queue was closing', async function () {
      if (!backend.reopen) skipBecause(this, `${name}: the factory cannot reopen its data`);
      const adding = queue.add(Q, [{ id: 'last-minute', payload: 'x' }]).then(
        () => 'resolved',
        () => 'rejected',
      );
      await queue.close();
      const addResult = await adding;
      const reopened = await backend.reopen();
      // Rejecting is allowed; resolving promises durability.
      if (addResult === 'resolved') {
        assert.deepEqual(await reopened.counts(Q), { ...EMPTY, waiting: 1 });
      } else {
        skipBecause(this, `${name}: the backend refused the add, so there is nothing to check`);
      }
    });

    it('hands out again, after a restart, a job that was active when the process died', async function () {
      if (!backend.restartAfterCrash)
        skipBecause(this, `${name}: the factory cannot simulate a crash`);
      const stuck = heldGate();
      const started: string[] = [];
      queue.process(
        Q,
        async (job) => {
          started.push(job.id);
          await stuck.promise;
          return { status: 'done' };
        },
        { concurrency: 1 },
      );
      await queue.add(Q, [{ id: 'in-flight', payload: { lead: 30307415, name: 'Ёлка' } }]);
      await waitFor(() => started.length === 1);

      const restarted = await backend.restartAfterCrash();
      const seen: Array<Job<unknown>> = [];
      restarted.process(
        Q,
        (job) => {
          seen.push(job);
          return done();
        },
        { concurrency: 1 },
      );
      await waitFor(() => seen.length === 1, {
        message: 'the orphaned job to be handed out again',
      });
      await waitForCounts(restarted, EMPTY);
      assert.deepEqual(
        seen.map((j) => [j.id, j.payload]),
        [['in-flight', { lead: 30307415, name: 'Ёлка' }]],
      );
      assert.deepEqual(started, ['in-flight']);
    });
  });
}
