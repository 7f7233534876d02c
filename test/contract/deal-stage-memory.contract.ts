/**
 * The DealStageMemory contract (src/ports/deal-stage-memory.ts): a new stage is a change, the same
 * stage is not, an observer sees its own change again after a crash, and of several processes
 * observing one new stage exactly one sees the change. Run on each store by
 * deal-stage-memory.test.ts.
 */
import assert from 'node:assert/strict';
import type { DealStageMemory } from '../../src/ports/deal-stage-memory';

export interface StageMemoryBackend {
  memory: DealStageMemory;
  /** The same memory as another process opens it (the same file, the same Redis and prefix). */
  another(): Promise<DealStageMemory>;
  /** Closes and opens it again, as after a restart. */
  reopen(): Promise<DealStageMemory>;
  cleanup(): Promise<void>;
}

const WON = { pipelineId: '0', stageId: 'WON' };
const NEW = { pipelineId: '0', stageId: 'NEW' };
const C1_WON = { pipelineId: '1', stageId: 'C1:WON' };

export function describeDealStageMemoryContract(
  name: string,
  factory: () => Promise<StageMemoryBackend>,
): void {
  describe(`DealStageMemory contract: ${name}`, () => {
    let backend: StageMemoryBackend;
    beforeEach(async () => (backend = await factory()));
    afterEach(() => backend.cleanup());

    it('calls a first stage a change from nothing, and the same stage again no change', async () => {
      const m = backend.memory;
      assert.deepEqual(await m.observe('bitrix24:default:42', NEW, 'job-1', 1), {
        changed: true,
        previous: null,
      });
      assert.deepEqual(await m.observe('bitrix24:default:42', NEW, 'job-2', 2), {
        changed: false,
        previous: NEW,
      });
      assert.deepEqual(await m.get('bitrix24:default:42'), NEW);
      assert.equal(await m.get('bitrix24:default:43'), null, 'keys are apart');
    });

    it('calls a new stage a change from the one before, pipelines included', async () => {
      const m = backend.memory;
      await m.observe('k', NEW, 'job-1', 1);
      assert.deepEqual(await m.observe('k', WON, 'job-2', 2), { changed: true, previous: NEW });
      assert.deepEqual(await m.observe('k', C1_WON, 'job-3', 3), { changed: true, previous: WON });
      assert.deepEqual(await m.observe('k', WON, 'job-4', 4), { changed: true, previous: C1_WON });
    });

    it('gives an observer its own change again (a job re-run after a crash), and keeps it over a restart', async () => {
      await backend.memory.observe('k', NEW, 'job-1', 1);
      await backend.memory.observe('k', WON, 'job-2', 2);
      const reopened = await backend.reopen();
      assert.deepEqual(await reopened.observe('k', WON, 'job-2', 3), {
        changed: true,
        previous: NEW,
      });
      assert.deepEqual(await reopened.observe('k', WON, 'job-3', 4), {
        changed: false,
        previous: WON,
      });
    });

    it('lets exactly one of several processes see one new stage as a change', async () => {
      const others = [await backend.another(), await backend.another()];
      const all = [backend.memory, ...others];
      await backend.memory.observe('race', NEW, 'job-0', 1);
      const answers = await Promise.all(
        all.flatMap((m, i) => [
          m.observe('race', WON, `job-${i}-a`, 2),
          m.observe('race', WON, `job-${i}-b`, 2),
        ]),
      );
      assert.equal(answers.filter((a) => a.changed).length, 1, JSON.stringify(answers));
    });
  });
}
