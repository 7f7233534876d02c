/**
 * RequestGate for one process (the embedded store, where one process owns the data): a counter of
 * requests in flight with a queue of waiters, and a count per UTC day.
 */
import { utcDayOf, type RequestGate } from '../../ports/request-gate';

export class InProcessRequestGate implements RequestGate {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private day = '';
  private count = 0;

  constructor(
    readonly maxInFlight: number,
    readonly dailyRequests: number,
  ) {}

  async run<T>(nowMs: number, work: () => Promise<T>): Promise<T | null> {
    this.roll(nowMs);
    if (this.count >= this.dailyRequests) return null;
    this.count++;
    while (this.inFlight >= this.maxInFlight) await new Promise<void>((r) => this.waiting.push(r));
    this.inFlight++;
    try {
      return await work();
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  used(nowMs: number): Promise<number> {
    this.roll(nowMs);
    return Promise.resolve(this.count);
  }

  private roll(nowMs: number): void {
    const day = utcDayOf(nowMs);
    if (day !== this.day) [this.day, this.count] = [day, 0];
  }
}
