/**
 * Deal trails in Redis, shared by every process on the same Redis and prefix. Keys, under
 * `<prefix>tr:`: `d:<deal>` (a list of steps as JSON, oldest first, trimmed to the limit and
 * expiring `maxAgeMs` after its newest step), `seen` (deals by their newest step, for pruning by
 * count), `won` (deal ids by when they were first seen won, for the funnel). Appending, trimming
 * and indexing are one transaction (MULTI), so a reader never sees a trail past its bound.
 */
import type { Redis } from 'ioredis';
import {
  traceDetailText,
  type DealTrace,
  type DealTraceLimits,
  type TraceStep,
} from '../../../ports/deal-trace';

const PRUNE_EVERY = 500;

export class RedisDealTrace implements DealTrace {
  private readonly base: string;
  private sincePrune = 0;

  constructor(
    private readonly redis: Redis,
    private readonly limits: DealTraceLimits,
    prefix = 'closeloop:',
    private readonly now: () => number = Date.now,
  ) {
    this.base = `${prefix}tr:`;
  }

  async record(dealId: string, steps: readonly TraceStep[]): Promise<void> {
    if (steps.length === 0) return;
    const key = `${this.base}d:${dealId}`;
    const texts = steps.map((s) =>
      JSON.stringify({
        at: s.at,
        kind: s.kind,
        title: s.title,
        detail: traceDetailText(s.detail),
        ...(s.won ? { won: true } : {}),
      }),
    );
    const newest = Math.max(...steps.map((s) => s.at));
    const tx = this.redis
      .multi()
      .rpush(key, ...texts)
      .ltrim(key, -this.limits.maxStepsPerDeal, -1)
      .zadd(`${this.base}seen`, newest, dealId);
    if (Number.isFinite(this.limits.maxAgeMs)) tx.pexpire(key, Math.ceil(this.limits.maxAgeMs));
    for (const s of steps) if (s.won) tx.zadd(`${this.base}won`, 'NX', s.at, dealId);
    await tx.exec();
    if (++this.sincePrune >= PRUNE_EVERY) {
      this.sincePrune = 0;
      await this.prune();
    }
  }

  async list(dealId: string): Promise<TraceStep[]> {
    const texts = await this.redis.lrange(`${this.base}d:${dealId}`, 0, -1);
    return texts.map((t) => {
      const s = JSON.parse(t) as TraceStep & { detail: string | null };
      return { ...s, detail: s.detail === null ? null : (JSON.parse(s.detail) as unknown) };
    });
  }

  async wonDeals(since: number, until: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(`${this.base}won`, since, `(${until}`, 'LIMIT', 0, limit);
  }

  /** Trails past the age, then the oldest past the count, go with their index entries. */
  async prune(): Promise<void> {
    const seen = `${this.base}seen`;
    const gone: string[] = [];
    if (Number.isFinite(this.limits.maxAgeMs)) {
      const oldest = this.now() - this.limits.maxAgeMs;
      gone.push(
        ...(await this.redis.zrangebyscore(seen, '-inf', `(${oldest}`, 'LIMIT', 0, 10_000)),
      );
    }
    const over = (await this.redis.zcard(seen)) - gone.length - this.limits.maxDeals;
    if (over > 0)
      gone.push(...(await this.redis.zrange(seen, gone.length, gone.length + over - 1)));
    if (gone.length === 0) return;
    await this.redis
      .multi()
      .del(...gone.map((d) => `${this.base}d:${d}`))
      .zrem(seen, ...gone)
      .zrem(`${this.base}won`, ...gone)
      .exec();
  }
}
