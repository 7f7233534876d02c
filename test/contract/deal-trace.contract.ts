/**
 * The DealTrace contract (src/ports/deal-trace.ts), as one suite every backend runs. The factory
 * gives a fresh, empty trace store with the given limits.
 */
import assert from 'node:assert/strict';
import {
  MAX_TRACE_DETAIL_CHARS,
  type DealTrace,
  type DealTraceLimits,
  type TraceStep,
} from '../../src/ports/deal-trace';

export interface DealTraceBackend {
  trace: DealTrace;
  /** Runs the backend's pruning now (both prune every few hundred records otherwise). */
  prune: () => Promise<void>;
  cleanup: () => Promise<void>;
}

const T0 = 1_700_000_000_000;

function step(i: number, overrides: Partial<TraceStep> = {}): TraceStep {
  return {
    at: T0 + i * 1000,
    kind: 'webhook',
    title: `amocrm stage_changed → stage ${i}`,
    detail: {
      stageId: String(i),
      deal: { id: '4711', amount: { amount: '120000', currency: 'RUB' } },
    },
    ...overrides,
  };
}

export function describeDealTraceContract(
  name: string,
  factory: (limits: DealTraceLimits, now: () => number) => Promise<DealTraceBackend>,
): void {
  describe(`DealTrace contract: ${name}`, function () {
    let opened: DealTraceBackend[];
    let now: number;
    const open = async (limits: Partial<DealTraceLimits> = {}): Promise<DealTraceBackend> => {
      const b = await factory(
        { maxStepsPerDeal: 50, maxDeals: 1000, maxAgeMs: Number.POSITIVE_INFINITY, ...limits },
        () => now,
      );
      opened.push(b);
      return b;
    };
    beforeEach(() => {
      opened = [];
      now = T0;
    });
    afterEach(async () => {
      await Promise.all(opened.map((b) => b.cleanup()));
    });

    it('gives back a deal’s steps oldest first, as recorded, and none for another deal', async function () {
      const { trace } = await open();
      await trace.record('4711', [step(1), step(2, { kind: 'rule', detail: null, won: true })]);
      await trace.record('4712', [step(3)]);
      await trace.record('4711', [step(4, { kind: 'identities', detail: { gaClientId: '1.2' } })]);
      assert.deepEqual(await trace.list('4711'), [
        step(1),
        step(2, { kind: 'rule', detail: null, won: true }),
        step(4, { kind: 'identities', detail: { gaClientId: '1.2' } }),
      ]);
      assert.deepEqual(await trace.list('nobody'), []);
    });

    it('keeps at most maxStepsPerDeal steps of a deal, the newest', async function () {
      const { trace } = await open({ maxStepsPerDeal: 5 });
      for (let i = 0; i < 12; i++) await trace.record('4711', [step(i)]);
      const steps = await trace.list('4711');
      assert.deepEqual(
        steps.map((s) => s.at),
        [7, 8, 9, 10, 11].map((i) => T0 + i * 1000),
      );
    });

    it('cuts a long detail and says so', async function () {
      const { trace } = await open();
      await trace.record('4711', [
        step(1, { detail: { text: 'x'.repeat(MAX_TRACE_DETAIL_CHARS * 2) } }),
      ]);
      const [s] = await trace.list('4711');
      const detail = s!.detail as { truncated: boolean; chars: number; start: string };
      assert.equal(detail.truncated, true);
      assert.ok(detail.chars > MAX_TRACE_DETAIL_CHARS * 2);
      assert.ok(JSON.stringify(detail).length <= MAX_TRACE_DETAIL_CHARS + 100);
    });

    it('names the deals seen won in a time, each once', async function () {
      const { trace } = await open();
      await trace.record('1', [step(1, { won: true })]);
      await trace.record('1', [step(2, { won: true })]);
      await trace.record('2', [step(5, { won: true })]);
      await trace.record('3', [step(6)]);
      assert.deepEqual((await trace.wonDeals(T0, T0 + 10_000, 100)).sort(), ['1', '2']);
      assert.deepEqual(await trace.wonDeals(T0 + 3000, T0 + 10_000, 100), ['2']);
      assert.equal((await trace.wonDeals(T0, T0 + 10_000, 1)).length, 1);
    });

    it('prunes by deal count (the least recently touched go) and by age', async function () {
      const b = await open({ maxDeals: 2, maxAgeMs: 60_000 });
      await b.trace.record('old', [step(0, { won: true })]);
      await b.trace.record('a', [step(1)]);
      await b.trace.record('b', [step(2)]);
      await b.prune();
      assert.deepEqual(await b.trace.list('old'), []);
      assert.equal((await b.trace.list('a')).length, 1);
      assert.deepEqual(await b.trace.wonDeals(0, T0 + 10_000, 100), []);
      now = T0 + 61_500;
      await b.prune();
      assert.deepEqual(await b.trace.list('a'), []);
      assert.equal((await b.trace.list('b')).length, 1);
    });
  });
}
