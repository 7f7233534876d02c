/**
 * Queue depths for /metrics, read from the store in the background and served from a cache: a
 * scrape never waits for the store. Counting jobs is a scan (SQLite: GROUP BY over the jobs
 * table; Redis: a few commands per queue), and doing it on every scrape made webhook answers take
 * 7.7 s (median) with an 80,000-job backlog scraped hard. Here a scrape that finds the values older
 * than `maxAgeMs` (5 s) starts one refresh, and answers with what it has; so the store is asked at
 * most once per `maxAgeMs`, however often /metrics is scraped, and never when nobody scrapes.
 *
 * The first scrape waits for the first read (there is nothing to serve before it). A failed read
 * keeps the last values, and `ageMs` grows, so a stale depth is visible as such.
 */
import type { QueueCounts } from '../../ports/job-queue';

export type AllQueueCounts = ReadonlyArray<{ queue: string; counts: QueueCounts }>;

export interface QueueDepthsOptions {
  /** Reads every queue's counts from the store. */
  read: () => Promise<AllQueueCounts>;
  /**
   * How old served values may be before a scrape starts a refresh (default 5 s). 0: every scrape
   * waits for a fresh read, as before this cache existed (bench/metrics.ts compares the two).
   */
  maxAgeMs?: number;
  now?: () => number;
  onError?: (e: unknown) => void;
}

export const DEFAULT_QUEUE_DEPTHS_MAX_AGE_MS = 5000;

export class QueueDepths {
  private snapshot: { at: number; counts: AllQueueCounts } | null = null;
  private inFlight: Promise<void> | null = null;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(private readonly options: QueueDepthsOptions) {
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_QUEUE_DEPTHS_MAX_AGE_MS;
    this.now = options.now ?? Date.now;
  }

  /** The values to serve now, and how old they are; null before the first read succeeded. */
  async current(): Promise<{ counts: AllQueueCounts; ageMs: number } | null> {
    const stale = this.snapshot === null || this.now() - this.snapshot.at >= this.maxAgeMs;
    if (stale) {
      const refresh = this.refresh();
      if (this.snapshot === null || this.maxAgeMs === 0) await refresh;
    }
    if (this.snapshot === null) return null;
    return { counts: this.snapshot.counts, ageMs: Math.max(0, this.now() - this.snapshot.at) };
  }

  private refresh(): Promise<void> {
    this.inFlight ??= this.options
      .read()
      .then(
        (counts) => {
          this.snapshot = { at: this.now(), counts };
        },
        (e: unknown) => this.options.onError?.(e),
      )
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }
}
