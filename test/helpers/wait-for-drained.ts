import type { JobQueue } from '../../src/ports/job-queue';
import { waitFor } from './wait-for';

/** Waits until the inbound and delivery queues hold nothing waiting, delayed or running. */
export async function waitForDrained(queue: JobQueue, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    async () => {
      const [i, d] = await Promise.all([queue.counts('inbound'), queue.counts('deliver')]);
      return i.waiting + i.active + i.delayed + d.waiting + d.active + d.delayed === 0;
    },
    { timeoutMs, message: 'the queues to drain' },
  );
}
