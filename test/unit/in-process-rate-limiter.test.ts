/**
 * InProcessRateLimiter on a fake clock: `sleep` registers a timer, `run()` fires the timers in
 * time order, letting promise callbacks settle between them. Every time recorded is the fake
 * clock's reading when an acquisition resolved, so the windows checked are exact.
 */
import assert from 'node:assert/strict';
import { InProcessRateLimiter } from '../../src/adapters/rate-limit/in-process-rate-limiter';

class FakeClock {
  private t = 0;
  private seq = 0;
  private timers: Array<{ at: number; seq: number; resolve: () => void }> = [];

  readonly now = (): number => this.t;

  readonly sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      this.timers.push({ at: this.t + ms, seq: this.seq++, resolve });
    });

  /** Fires timers in order until none is due at or before `until`; the clock ends at `until`. */
  async run(until = Number.POSITIVE_INFINITY): Promise<void> {
    for (;;) {
      await settle();
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.resolve();
    }
    if (Number.isFinite(until)) this.t = Math.max(this.t, until);
    await settle();
  }
}

/** Lets every pending promise callback run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The most times found in any half-open window `[t, t + windowMs)`. */
function busiestWindow(times: readonly number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] as number) - (sorted[j] as number) >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

function setup(perSecond: number, marginMs?: number) {
  const clock = new FakeClock();
  const limiter = new InProcessRateLimiter(perSecond, {
    now: clock.now,
    sleep: clock.sleep,
    ...(marginMs !== undefined && { marginMs }),
  });
  const served: Array<{ label: string; at: number }> = [];
  const take = (key: string, label: string): Promise<void> =>
    limiter.acquire(key).then(() => {
      served.push({ label, at: clock.now() });
    });
  return { clock, limiter, served, take };
}

describe('InProcessRateLimiter', () => {
  it('lets 50 concurrent callers through at 7/s: never more than 7 in any 1000 ms', async () => {
    const { clock, served, take } = setup(7, 0);
    const all = Promise.all(Array.from({ length: 50 }, (_, i) => take('acme', `c${i}`)));
    await clock.run();
    await all;
    const times = served.map((s) => s.at);
    assert.equal(times.length, 50);
    assert.equal(busiestWindow(times), 7);
    // No slower than the limit: seven at 0, seven at 1000, …, the 50th at 7000.
    assert.deepEqual(
      times.filter((_, i) => i % 7 === 0),
      [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000],
    );
  });

  it('keeps a safety margin by default, so 7 never land within 1050 ms', async () => {
    const { clock, served, take } = setup(7);
    const all = Promise.all(Array.from({ length: 30 }, (_, i) => take('acme', `c${i}`)));
    await clock.run();
    await all;
    const times = served.map((s) => s.at);
    assert.equal(busiestWindow(times, 1000), 7);
    assert.equal(busiestWindow(times, 1050), 7);
    assert.equal(times[7], 1050);
  });

  it('serves callers in the order they asked, including those who came while it waited', async () => {
    const { clock, served, take } = setup(2, 0);
    const first = [take('acme', 'a'), take('acme', 'b'), take('acme', 'c'), take('acme', 'd')];
    await clock.run(400);
    const later = [take('acme', 'e'), take('acme', 'f')];
    await clock.run();
    await Promise.all([...first, ...later]);
    assert.deepEqual(
      served.map((s) => `${s.label}@${s.at}`),
      ['a@0', 'b@0', 'c@1000', 'd@1000', 'e@2000', 'f@2000'],
    );
  });

  it('pause makes the next acquisition wait at least that long', async () => {
    const { clock, limiter, served, take } = setup(7, 0);
    await take('acme', 'before');
    limiter.pause('acme', 5000);
    const waiting = take('acme', 'after');
    await clock.run();
    await waiting;
    assert.deepEqual(
      served.map((s) => `${s.label}@${s.at}`),
      ['before@0', 'after@5000'],
    );
  });

  it('a pause that arrives while callers wait for a slot holds them too', async () => {
    const { clock, limiter, served, take } = setup(2, 0);
    const all = [take('acme', 'a'), take('acme', 'b'), take('acme', 'c')];
    await clock.run(500);
    // `c` was due at 1000; a 429 at 500 asks for 3 s.
    limiter.pause('acme', 3000);
    await clock.run();
    await Promise.all(all);
    assert.deepEqual(
      served.map((s) => `${s.label}@${s.at}`),
      ['a@0', 'b@0', 'c@3500'],
    );
  });

  it('a shorter pause never cuts a longer one short', async () => {
    const { clock, limiter, served, take } = setup(7, 0);
    limiter.pause('acme', 600_000);
    limiter.pause('acme', 1000);
    limiter.pause('acme', 0);
    const waiting = take('acme', 'x');
    await clock.run();
    await waiting;
    assert.deepEqual(served, [{ label: 'x', at: 600_000 }]);
  });

  it('keeps keys independent: a busy or paused account does not slow another', async () => {
    const { clock, limiter, served, take } = setup(2, 0);
    limiter.pause('blocked', 60_000);
    const all = [
      take('busy', 'busy1'),
      take('busy', 'busy2'),
      take('busy', 'busy3'),
      take('blocked', 'blocked1'),
      take('quiet', 'quiet1'),
      take('quiet', 'quiet2'),
    ];
    await clock.run();
    await Promise.all(all);
    const at = Object.fromEntries(served.map((s) => [s.label, s.at]));
    assert.deepEqual(at, {
      busy1: 0,
      busy2: 0,
      busy3: 1000,
      blocked1: 60_000,
      quiet1: 0,
      quiet2: 0,
    });
  });

  it('counts slots already used when callers come back later', async () => {
    const { clock, served, take } = setup(2, 0);
    await take('acme', 'a');
    await clock.run(900);
    await take('acme', 'b');
    const c = take('acme', 'c');
    await clock.run();
    await c;
    assert.deepEqual(
      served.map((s) => `${s.label}@${s.at}`),
      ['a@0', 'b@900', 'c@1000'],
    );
  });

  it('rejects the waiters if the injected sleep fails, instead of leaving them hanging', async () => {
    const limiter = new InProcessRateLimiter(1, {
      now: () => 0,
      sleep: () => Promise.reject(new Error('clock broke')),
      marginMs: 0,
    });
    await limiter.acquire('acme');
    await assert.rejects(limiter.acquire('acme'), /clock broke/);
  });

  it('refuses a rate that is not a whole number of 1 or more', () => {
    assert.throws(() => new InProcessRateLimiter(0), RangeError);
    assert.throws(() => new InProcessRateLimiter(1.5), RangeError);
    assert.throws(() => new InProcessRateLimiter(7, { marginMs: -1 }), RangeError);
  });
});
