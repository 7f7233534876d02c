/**
 * What the two Redis-backed limiters share: callers of a key chained in the order they asked
 * within one process (the next asks Redis only after the previous got its slot, so races are
 * between processes only), and the pause key every acquisition of the key waits out.
 */
import type { Redis } from 'ioredis';

/** KEYS: the pause key. ARGV: milliseconds. Sets the pause unless a longer one is running. */
const PAUSE = `
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
end
return 0
`;

export class KeyChain {
  /** Per key, the promise of the latest caller's slot: the next caller waits for it first. */
  private readonly tails = new Map<string, Promise<void>>();

  run(key: string, take: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const mine = previous.then(take);
    // The chain goes on whether this caller got its slot or failed (Redis unreachable).
    const tail = mine.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return mine;
  }
}

/**
 * Pauses `pauseKey` for `ms`. Sent on the same connection before any later acquire() of this
 * process, so that one sees it. A limiter's pause() cannot fail; a lost pause only means the next
 * refusal pauses again. Plain EVAL (a refusal is rare): EVALSHA's NOSCRIPT fallback could reorder
 * it behind an acquire.
 */
export function pauseInRedis(redis: Redis, pauseKey: string, ms: number): void {
  if (!(ms > 0)) return;
  redis.eval(PAUSE, 1, pauseKey, String(Math.ceil(ms))).catch(() => undefined);
}
