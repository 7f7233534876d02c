/**
 * RequestGate: at most `maxInFlight` calls of one API credential at once, and at most
 * `dailyRequests` a UTC day (a vendor's quotas per login: Yandex Metrica's 3 parallel requests and
 * 5,000 a day, research yandex-metrica.md §4).
 *
 * Contract:
 * - `run(nowMs, work)` counts one request against the UTC day of `nowMs` and resolves null, without
 *   calling `work`, when the day's budget was spent already; otherwise it waits for a free slot,
 *   runs `work` and frees the slot when it settles (whatever it settles with).
 * - Both limits hold for every process sharing the store (the embedded store: this process; Redis:
 *   the whole deployment). A slot held by a process that died is freed after a lease (Redis), so
 *   a killed worker never keeps a slot for good; the day's count expires after the day.
 * - It rejects when the store cannot answer.
 */
export interface RequestGate {
  readonly maxInFlight: number;
  readonly dailyRequests: number;
  run<T>(nowMs: number, work: () => Promise<T>): Promise<T | null>;
  /** Requests counted for the UTC day of `nowMs` (for tests and status lines). */
  used(nowMs: number): Promise<number>;
}

/** The UTC day of a moment, as `2026-12-04`: the daily budget's key. */
export function utcDayOf(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}
